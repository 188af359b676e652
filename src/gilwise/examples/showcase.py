"""Two classic concurrency mistakes in one program, for ``gilwise run`` to find.

1. Four threads run pure-Python CPU work: they take turns on the GIL, so four threads
   finish no sooner than one would.
2. An asyncio service calls a blocking function from a coroutine: every other task on
   the loop freezes while it runs.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time


def count_primes(limit: int) -> int:
    """Pure-Python CPU work: holds the GIL the whole time."""
    found = 0
    for n in range(2, limit):
        if all(n % d for d in range(2, int(n**0.5) + 1)):
            found += 1
    return found


def cpu_threads(n_threads: int = 4, limit: int = 150_000) -> None:
    threads = [threading.Thread(target=count_primes, args=(limit,)) for _ in range(n_threads)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()


def legacy_lookup(key: str) -> str:
    """A 'library' call that blocks: the kind of line the stall report should name."""
    time.sleep(0.3)
    return key.upper()


async def handle(key: str) -> str:
    return legacy_lookup(key)  # noqa: GW101  (on purpose: the stall `gilwise run` must name)


async def ticker(ticks: list[float]) -> None:
    for _ in range(40):
        ticks.append(time.perf_counter())
        await asyncio.sleep(0.01)


async def service() -> None:
    ticks: list[float] = []
    await asyncio.gather(ticker(ticks), handle("a"), handle("b"))
    worst = max(b - a for a, b in itertools.pairwise(ticks))
    print(f"event loop: worst gap between 10 ms ticks was {worst * 1000:.0f} ms")


def main() -> None:
    started = time.perf_counter()
    cpu_threads()
    print(f"4 CPU-bound threads took {time.perf_counter() - started:.2f} s")
    asyncio.run(service())


if __name__ == "__main__":
    main()
