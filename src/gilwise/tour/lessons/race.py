"""Lesson 7: a race. An unlocked check-then-act on shared state loses updates; a lock fixes it."""

from __future__ import annotations

import threading
import time

from .._lesson import Context, Finding, Row

TITLE = "A race: check-then-act without a lock loses updates"
CLAIM = (
    "The GIL makes single bytecodes atomic, not your logic: a read, some I/O, then a write "
    "lets another thread run in between, and one of the two updates is lost."
)
THREADS = 4


class Counter:
    def __init__(self) -> None:
        self.value = 0
        self.lock = threading.Lock()


def add_unsafely(counter: Counter, times: int) -> None:
    for _ in range(times):
        current = counter.value  # read
        time.sleep(0)  # any I/O here (a log line, a query) lets other threads run
        counter.value = current + 1  # write back: may overwrite another thread's update


def add_safely(counter: Counter, times: int) -> None:
    for _ in range(times):
        with counter.lock:  # the read and the write happen as one step
            current = counter.value
            time.sleep(0)
            counter.value = current + 1


def _run(target: object, times: int) -> int:
    counter = Counter()
    threads = [threading.Thread(target=target, args=(counter, times)) for _ in range(THREADS)]  # type: ignore[arg-type]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return counter.value


def run(ctx: Context) -> Finding:
    times = 300 if ctx.quick else 1000
    expected = THREADS * times
    unsafe, safe = _run(add_unsafely, times), _run(add_safely, times)
    rows = (
        Row("without a lock", unsafe, f"of {expected}", f"{expected - unsafe} updates lost"),
        Row("with a lock", safe, f"of {expected}", f"{expected - safe} updates lost"),
    )
    measured = (
        f"{THREADS} threads added 1 to a counter {times} times each: without a lock the total was "
        f"{unsafe} ({(expected - unsafe) / expected:.0%} lost); with a lock, {safe}."
    )
    return Finding(rows, measured, _MEANING, _CHECK, held=unsafe < expected and safe == expected)


_MEANING = (
    "Guard every read-modify-write of shared state with a lock (or give each thread its "
    "own state and combine at the end). The GIL is not a substitute, and free-threaded "
    "CPython removes even its accidental protection."
)
_CHECK = "no gilwise command finds races yet: review shared state that threads write"
