"""Overhead workload: four pure-Python CPU-bound threads, each with a fixed amount of work.

The work is a fixed number of iterations (scaled by ``--seconds`` against a reference rate),
never "loop until N seconds pass": a tool that slows the program down must make this run take
longer, because the benchmark measures overhead as a ratio of wall times.

Standard library only, so every profiler under test can run it unmodified.
"""

from __future__ import annotations

import argparse
import threading

THREADS = 4
# Iterations of ``mix`` per second of wall time for all four threads together, measured with
# CPython 3.11 on a 2-core development machine. It only sizes the run; the exact rate is
# irrelevant because every tool runs the same fixed count.
ITERATIONS_PER_SECOND = 14_500_000


def mix(value: int, step: int) -> int:
    """One unit of work; a real function call so call-tracing profilers pay their per-call cost."""
    return (value * 31 + step) & 0xFFFF_FFFF


def burn(iterations: int, seed: int, results: list[int], slot: int) -> None:
    """Run ``iterations`` units of work and store the checksum so the loop is not dead code."""
    value = seed
    for step in range(iterations):
        value = mix(value, step)
    results[slot] = value


def run(total_iterations: int, threads: int = THREADS) -> int:
    """Split a fixed amount of work across ``threads`` threads and return a combined checksum."""
    per_thread = total_iterations // threads
    results = [0] * threads
    workers = [
        threading.Thread(target=burn, args=(per_thread, index, results, index), name=f"cpu-{index}")
        for index in range(threads)
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return sum(results) & 0xFFFF_FFFF


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=3.0,
        help="approximate uninstrumented run time; sets a fixed iteration count (default 3)",
    )
    parser.add_argument(
        "--iterations", type=int, default=None, help="total iterations (overrides --seconds)"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    total = args.iterations or max(THREADS, int(args.seconds * ITERATIONS_PER_SECOND))
    print(f"cpu_threads: {total} iterations, checksum {run(total)}")


if __name__ == "__main__":
    main()
