# Labelled corpus: see asyncio_blocking.py for the markers.
# What a name holds, learned from annotations; blocking one call away; joins, results,
# busy-waits.
import asyncio
import concurrent.futures
import queue
import threading
import time
from pathlib import Path
from typing import Optional

import requests

executor = concurrent.futures.ThreadPoolExecutor()


# -- types from annotations -------------------------------------------------------------


async def annotated_parameters(
    c: threading.Condition, q: "queue.Queue[int]", p: Path, lock: Optional[threading.Lock]
):
    c.wait()  # expect: GW113 GW202
    q.get()  # expect: GW113
    q.put(1)  # ok: GW113  (an annotated queue may be unbounded)
    p.read_text()  # expect: GW104
    with lock:  # expect: GW113
        await asyncio.sleep(0)


async def annotated_unions(either: threading.Lock | asyncio.Lock, maybe: threading.Event | None):
    either.acquire()  # ok: GW113  (a union of different kinds: unknown)
    maybe.wait()  # expect: GW113


class Worker:
    _ready: threading.Event
    _path: Path

    def __init__(self) -> None:
        self._pending: queue.Queue[int] = queue.Queue()
        self._ready = threading.Event()

    async def run(self) -> None:
        self._ready.wait()  # expect: GW113
        self._pending.get()  # expect: GW113
        self._path.write_text("x")  # expect: GW104


def make_lock() -> threading.Lock:
    return threading.Lock()


def make_anything():
    return threading.Lock()


async def returned_kinds():
    lock = make_lock()
    other = make_anything()
    lock.acquire()  # expect: GW113  # ok: GW201
    other.acquire()  # ok: GW113  (no annotation: unknown)


# -- blocking one helper away ---------------------------------------------------------


def fetch(url):
    return requests.get(url)


def pause():
    time.sleep(1)


def load(path):
    return Path(path).read_text()


def two_levels(url):
    return fetch(url)


def lines(path):
    with open(path) as f:
        yield from f


def runs_it_in_a_thread():
    return executor.submit(time.sleep, 1)


class Client:
    def _sync_get(self, url):
        return requests.get(url)

    async def get(self, url):
        self._sync_get(url)  # expect: GW102
        await asyncio.to_thread(self._sync_get, url)  # ok: GW102


async def helpers(url, path):
    fetch(url)  # expect: GW102
    pause()  # expect: GW101
    load(path)  # expect: GW104
    two_levels(url)  # ok: GW102  (two calls away: not followed)
    lines(path)  # ok: GW104  (a generator: its body runs when iterated)
    runs_it_in_a_thread()  # ok: GW101  (the sleep runs in the executor)
    await asyncio.to_thread(pause)  # ok: GW101


# -- joins, results and busy-waits -------------------------------------------------------


def compute():
    return 1


async def joins(thread: threading.Thread):
    worker = threading.Thread(target=compute)
    worker.start()
    worker.join()  # expect: GW107
    thread.join(timeout=0)  # ok: GW107  (a poll)
    await asyncio.to_thread(worker.join)  # ok: GW107


async def results(loop, other_loop):
    executor.submit(compute).result()  # expect: GW108
    future = asyncio.run_coroutine_threadsafe(asyncio.sleep(1), other_loop)
    future.result()  # expect: GW108
    done = executor.submit(compute)
    await asyncio.wrap_future(done)
    done.result()  # ok: GW108  (awaited above: already done)
    task = loop.create_task(asyncio.sleep(1))
    await task
    task.result()  # ok: GW108  (an asyncio task's result() does not wait)


class Job:
    finished = False

    async def wait(self):
        while not self.finished:  # expect: GW109
            await asyncio.sleep(0.1)

    async def tick(self):
        while True:  # ok: GW109  (a timer, not a poll)
            await asyncio.sleep(1)

    async def drain(self, stream):
        while not self.finished:  # ok: GW109  (it does work between sleeps)
            await stream.read()
            await asyncio.sleep(0.1)
