# Labelled corpus: "expect: CODE" marks a line that must be reported with CODE;
# "ok: CODE" marks a correct line that CODE must not report. Unmarked lines must be clean.
import asyncio
import os
import pathlib
import shutil
import socket
import subprocess
import sys
import time
import time as t
import urllib.request
from pathlib import Path
from time import sleep

import httpx
import requests
from requests import get as fetch


async def sleeps():
    time.sleep(1)  # expect: GW101
    t.sleep(1)  # expect: GW101
    sleep(1)  # expect: GW101
    await asyncio.sleep(1)  # ok: GW101
    await asyncio.to_thread(time.sleep, 1)  # ok: GW101

    def helper():
        time.sleep(1)  # ok: GW101  (a nested def does not run on the loop by itself)

    await asyncio.get_running_loop().run_in_executor(None, lambda: time.sleep(1))  # ok: GW101
    return helper


def sync_sleep():
    time.sleep(1)  # ok: GW101


async def http(url):
    requests.get(url)  # expect: GW102
    fetch(url)  # expect: GW102
    urllib.request.urlopen(url)  # expect: GW102
    httpx.post(url)  # expect: GW102
    session = requests.Session()
    session.get(url)  # expect: GW102
    with httpx.Client() as client:
        client.get(url)  # expect: GW102
    async with httpx.AsyncClient() as aclient:
        await aclient.get(url)  # ok: GW102
    await asyncio.to_thread(requests.get, url)  # ok: GW102


async def processes():
    subprocess.run(["ls"], check=True)  # expect: GW103
    os.system("ls")  # expect: GW103
    subprocess.Popen(["ls"])  # expect: GW103
    os.waitpid(-1, 0)  # expect: GW103
    os.waitpid(-1, os.WNOHANG)  # ok: GW103  (returns at once when no child has exited)
    proc = await asyncio.create_subprocess_exec("ls")  # ok: GW103
    await proc.wait()


async def files(name):
    with open(name) as f:  # expect: GW104
        f.read()
    Path(name).read_text()  # expect: GW104
    pathlib.Path(name).write_bytes(b"")  # expect: GW104
    shutil.copyfile(name, name + ".bak")  # expect: GW104
    await asyncio.to_thread(Path(name).read_text)  # ok: GW104


async def sockets(host):
    socket.getaddrinfo(host, 80)  # expect: GW105
    conn = socket.create_connection((host, 80))  # expect: GW105
    conn.sendall(b"x")  # expect: GW105
    reader, writer = await asyncio.open_connection(host, 80)  # ok: GW105
    return reader, writer


_NUMERIC = socket.AI_NUMERICHOST | socket.AI_NUMERICSERV


async def numeric_lookups(host, port):
    socket.getaddrinfo(host, port, flags=_NUMERIC)  # ok: GW105  (no resolver asked)
    socket.getaddrinfo("127.0.0.1", port)  # ok: GW105  (an IP literal)


async def sockets_non_blocking(loop, host):
    sock = socket.socket()
    sock.setblocking(False)
    await loop.sock_connect(sock, (host, 80))
    sock.send(b"x")  # ok: GW105  (a non-blocking socket)


async def terminal():
    input("name? ")  # expect: GW106
    sys.stdin.readline()  # expect: GW106
    await asyncio.to_thread(input, "name? ")  # ok: GW106
