"""Stall detection: inject event-loop stalls at known lines and check what is reported.

Every injected stall lasts at least twice the threshold. gilwise must report each one
with the blocking line as the culprit; a clean asyncio workload must report none. For
comparison, asyncio's debug mode is run on the same program and the line its
"Executing <Task ...> took N seconds" warning names is checked against the same answer.

    python benchmarks/stall_detection.py [--stall-ms 100] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import re
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import gilwise

LINES: dict[str, int] = {}


def _here(name: str) -> None:
    """Remember the caller's line as the expected culprit for ``name``."""
    import sys

    LINES[name] = sys._getframe(1).f_lineno + 1


def block_sleep(seconds: float) -> None:
    _here("sleep")
    time.sleep(seconds)


def block_cpu(seconds: float) -> None:
    end = time.perf_counter() + seconds
    _here("cpu")
    while time.perf_counter() < end:
        pass


def block_socket(seconds: float) -> None:
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname())
    peer, _ = server.accept()
    timer = threading.Timer(seconds, peer.sendall, args=(b"x",))
    timer.start()
    _here("socket")
    client.recv(1)
    timer.join()
    for s in (client, peer, server):
        s.close()


def block_lock(seconds: float) -> None:
    lock = threading.Lock()
    lock.acquire()
    threading.Timer(seconds, lock.release).start()
    _here("lock")
    lock.acquire()


def deep_library(seconds: float, depth: int = 6) -> None:
    if depth:
        deep_library(seconds, depth - 1)
        return
    _here("deep")
    time.sleep(seconds)


INJECTIONS: dict[str, Callable[[float], None]] = {
    "sleep": block_sleep,
    "cpu": block_cpu,
    "socket": block_socket,
    "lock": block_lock,
    "deep": deep_library,
}


async def handler(kind: str, seconds: float) -> None:
    INJECTIONS[kind](seconds)
    await asyncio.sleep(0)


async def background(stop: asyncio.Event) -> None:
    while not stop.is_set():
        await asyncio.sleep(0.005)


async def program(plan: list[tuple[str, float]]) -> None:
    stop = asyncio.Event()
    bg = [asyncio.create_task(background(stop)) for _ in range(50)]
    await asyncio.sleep(0.3)
    for kind, seconds in plan:
        await handler(kind, seconds)
        await asyncio.sleep(0.25)
    stop.set()
    await asyncio.gather(*bg)


async def clean_program() -> None:
    stop = asyncio.Event()
    bg = [asyncio.create_task(background(stop)) for _ in range(1000)]
    await asyncio.sleep(3.0)
    stop.set()
    await asyncio.gather(*bg)


@dataclass
class Outcome:
    kind: str
    seconds: float
    reported_ms: float | None
    gilwise_line_ok: bool
    debug_line: str


def run_gilwise(plan: list[tuple[str, float]], stall_ms: float) -> list[gilwise.Stall]:
    with gilwise.watch(stall_ms=stall_ms) as w:
        asyncio.run(program(plan))
    stalls = [s for loop in w.report.loops for s in loop.stalls]
    return sorted(stalls, key=lambda s: s.started_at_s)


def run_asyncio_debug(plan: list[tuple[str, float]], stall_ms: float) -> list[str]:
    messages: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            messages.append(record.getMessage())

    logger = logging.getLogger("asyncio")
    handler_ = Collect(logging.WARNING)
    logger.addHandler(handler_)

    async def main() -> None:
        asyncio.get_running_loop().slow_callback_duration = stall_ms / 1000
        await program(plan)

    try:
        asyncio.run(main(), debug=True)
    finally:
        logger.removeHandler(handler_)
    return [m for m in messages if "took" in m]


def compare(plan: list[tuple[str, float]], stall_ms: float) -> list[Outcome]:
    stalls = run_gilwise(plan, stall_ms)
    debug = run_asyncio_debug(plan, stall_ms)
    outcomes = []
    for index, (kind, seconds) in enumerate(plan):
        stall = stalls[index] if index < len(stalls) else None
        culprit = stall.culprit if stall else None
        ok = culprit is not None and culprit.file == __file__ and culprit.line == LINES[kind]
        named = _debug_line(debug[index]) if index < len(debug) else "(no warning)"
        outcomes.append(Outcome(kind, seconds, stall.duration_ms if stall else None, ok, named))
    if len(stalls) != len(plan):
        print(f"!! gilwise reported {len(stalls)} stalls for {len(plan)} injected")
    return outcomes


def _debug_line(message: str) -> str:
    found = re.search(r"running at (\S+):(\d+)", message)
    return f"line {found.group(2)}" if found else message[:60]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stall-ms", type=float, default=100.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    threshold = args.stall_ms / 1000
    plan = [(kind, 2 * threshold * m) for m in (1.0, 2.5) for kind in INJECTIONS]
    total = correct = 0
    print(f"{'kind':8} {'injected':>9} {'reported':>9}  gilwise culprit   asyncio debug names")
    for _ in range(args.repeat):
        for o in compare(plan, args.stall_ms):
            total += 1
            correct += o.gilwise_line_ok
            reported = "missed" if o.reported_ms is None else f"{o.reported_ms:.0f} ms"
            verdict = f"line {LINES[o.kind]} ok" if o.gilwise_line_ok else "WRONG"
            print(
                f"{o.kind:8} {o.seconds * 1000:7.0f}ms {reported:>9}  {verdict:16}  "
                f"{o.debug_line} (blocking line is {LINES[o.kind]})"
            )
    print(f"\ngilwise: {correct}/{total} injected stalls reported with the blocking line")
    with gilwise.watch(stall_ms=args.stall_ms) as w:
        asyncio.run(clean_program())
    false_stalls = sum(loop.stalls_total for loop in w.report.loops)
    heartbeats = sum(loop.heartbeats for loop in w.report.loops)
    print(f"clean workload (1,000 tasks, 3 s): {false_stalls} stalls, {heartbeats} heartbeats")


if __name__ == "__main__":
    main()
