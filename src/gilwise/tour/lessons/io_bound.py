"""Lesson 2: waiting on the network. Threads and asyncio overlap the waits; processes add cost."""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import signal
import socket
from multiprocessing.connection import Connection

from .._lesson import Context, Finding, Row, speedup, throughput_row

TITLE = "I/O on loopback sockets: threads and asyncio scale, processes only add cost"
CLAIM = (
    "A thread waiting on a socket releases the GIL, so many requests can be in flight "
    "at once; processes can do that too, but each costs far more to start."
)
#: How long the server takes to answer, standing in for a remote service.
SERVER_DELAY_S = 0.005
CONCURRENCY = 16


async def _answer_slowly(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    line = await reader.readline()
    await asyncio.sleep(SERVER_DELAY_S)
    writer.write(line)
    await writer.drain()
    writer.close()


async def _serve(ready: Connection) -> None:
    server = await asyncio.start_server(_answer_slowly, "127.0.0.1", 0, backlog=1024)
    ready.send(server.sockets[0].getsockname()[:2])
    async with server:
        await server.serve_forever()


def serve(ready: Connection) -> None:
    """The remote service: its own process, so it does not compete for our GIL."""
    # A terminal's Ctrl-C reaches the whole process group; the tour ends this server
    # itself, and the user should see one line, not the server's traceback.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    asyncio.run(_serve(ready))


def fetch(address: tuple[str, int], n: int) -> bytes:
    """One blocking request: connect, send a line, wait for the answer."""
    with socket.create_connection(address) as conn:
        conn.sendall(b"%d\n" % n)
        return conn.makefile("rb").readline()


async def fetch_async(address: tuple[str, int], n: int) -> bytes:
    """The same request on an event loop."""
    reader, writer = await asyncio.open_connection(*address)
    writer.write(b"%d\n" % n)
    answer = await reader.readline()
    writer.close()
    await writer.wait_closed()
    return answer


def run(ctx: Context) -> Finding:
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(theirs,), daemon=True)
    server.start()
    try:
        if not ours.poll(30):
            raise RuntimeError("the loopback server did not start within 30 s")
        return _measure(ctx, tuple(ours.recv()))
    finally:
        server.terminate()
        server.join()


def _measure(ctx: Context, address: tuple[str, int]) -> Finding:
    blocking = functools.partial(fetch, address)
    coroutine = functools.partial(fetch_async, address)
    serial_items = list(range(max(8, round(ctx.seconds(1.0) / SERVER_DELAY_S))))
    many = list(range(len(serial_items) * 8))
    serial = ctx.measure(blocking, "serial", 1, serial_items)
    threads = ctx.measure(blocking, "thread", CONCURRENCY, many)
    loop = ctx.measure(coroutine, "asyncio", CONCURRENCY, many, coroutine=True)
    processes = ctx.measure(blocking, "process", CONCURRENCY, many)
    rows: tuple[Row, ...] = (
        throughput_row("serial", serial, serial),
        throughput_row(f"{CONCURRENCY} threads", threads, serial),
        throughput_row(f"asyncio, {CONCURRENCY} in flight", loop, serial),
        throughput_row(f"{CONCURRENCY} processes", processes, serial),
    )
    t, a = speedup(threads, serial), speedup(loop, serial)
    thread_start = threads.startup_s + threads.shutdown_s
    process_start = processes.startup_s + processes.shutdown_s
    measured = (
        f"With a {SERVER_DELAY_S * 1e3:.0f} ms server, {CONCURRENCY} threads ran {t:.1f}x and "
        f"asyncio {a:.1f}x the serial rate; {CONCURRENCY} processes ran "
        f"{speedup(processes, serial):.1f}x but took {process_start * 1e3:.0f} ms to start and "
        f"stop against {thread_start * 1e3:.0f} ms for the threads."
    )
    held = t > 3 and a > 3 and process_start > 2 * thread_start
    return Finding(rows, measured, _MEANING, _CHECK, held=held)


_MEANING = (
    "For code that waits (HTTP calls, databases, files), use a thread pool or asyncio "
    "with enough requests in flight; processes buy nothing here and cost memory and start-up."
)
_CHECK = "gilwise advise yourmodule:fetch_one --inputs urls.jsonl"
