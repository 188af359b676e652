"""Overhead workload: 1,000 concurrent asyncio tasks doing small awaits with CPU in between.

Tasks come in producer/consumer pairs joined by a small ``asyncio.Queue``. Every round each task
does a short CPU burst, yields with ``asyncio.sleep(0)``, hands one item over its queue, and every
few rounds takes a short timer sleep. The number of rounds is fixed (scaled by ``--seconds``
against a reference rate), so a tool that slows the event loop down makes the run take longer.

Standard library only, so every profiler under test can run it unmodified.
"""

from __future__ import annotations

import argparse
import asyncio

TASKS = 1_000
# One timer sleep every this many rounds: enough to exercise the loop's timer heap without
# turning the workload into a sleep benchmark.
SLEEP_EVERY = 10
SHORT_SLEEP_S = 0.001
BURST_ITERATIONS = 40
QUEUE_SIZE = 4
# Rounds per task per second of uninstrumented wall time, measured with CPython 3.11 on a 2-core
# development machine. It only sizes the run; every tool runs the same fixed count.
ROUNDS_PER_SECOND = 290


def cpu_burst(seed: int) -> int:
    """A little pure-Python work between awaits, as a real handler would do."""
    value = seed
    for step in range(BURST_ITERATIONS):
        value = (value * 31 + step) & 0xFFFF
    return value


async def pause(round_index: int) -> None:
    """Yield to the loop; every ``SLEEP_EVERY`` rounds use a real timer instead of a bare yield."""
    if round_index % SLEEP_EVERY == 0:
        await asyncio.sleep(SHORT_SLEEP_S)
    else:
        await asyncio.sleep(0)


async def producer(queue: asyncio.Queue[int], rounds: int, seed: int) -> int:
    total = 0
    for round_index in range(rounds):
        value = cpu_burst(seed + round_index)
        await pause(round_index)
        await queue.put(value)
        total += value
    return total


async def consumer(queue: asyncio.Queue[int], rounds: int) -> int:
    total = 0
    for round_index in range(rounds):
        value = await queue.get()
        total += cpu_burst(value)
        await pause(round_index)
    return total


async def run(rounds: int, tasks: int = TASKS) -> int:
    """Run ``tasks`` tasks (half producers, half consumers) for ``rounds`` rounds each."""
    coroutines = []
    for pair in range(tasks // 2):
        queue: asyncio.Queue[int] = asyncio.Queue(maxsize=QUEUE_SIZE)
        coroutines.append(producer(queue, rounds, pair))
        coroutines.append(consumer(queue, rounds))
    results = await asyncio.gather(*coroutines)
    return sum(results) & 0xFFFF_FFFF


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=3.0,
        help="approximate uninstrumented run time; sets a fixed round count (default 3)",
    )
    parser.add_argument(
        "--rounds", type=int, default=None, help="rounds per task (overrides --seconds)"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    rounds = args.rounds or max(1, int(args.seconds * ROUNDS_PER_SECOND))
    checksum = asyncio.run(run(rounds))
    print(f"asyncio_tasks: {TASKS} tasks x {rounds} rounds, checksum {checksum}")


if __name__ == "__main__":
    main()
