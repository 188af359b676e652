"""Memory over a long run: the monitor's state must stay bounded.

The workload is built to grow a naive sampler's state without bound: endlessly new
code objects (exec'd functions), random recursion depths, thousands of short-lived
threads and a busy asyncio loop. The same workload runs twice in subprocesses, without
and with the monitor; RSS is printed as it goes, with the monitor's own table sizes.

    python benchmarks/memory_soak.py [--minutes 3] [--every 15]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import subprocess
import sys
import threading
import time


def rss_mib() -> float:
    with open("/proc/self/statm") as fh:
        pages = int(fh.read().split()[1])
    import os

    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def recurse(depth: int) -> int:
    return recurse(depth - 1) + 1 if depth else sum(range(20_000))


def short_lived(depth: int) -> None:
    time.sleep(0.015)  # long enough for a 100 Hz sampler to see it
    recurse(depth)


def churn_code(counter: list[int]) -> None:
    counter[0] += 1
    namespace: dict[str, object] = {}
    exec(f"def f{counter[0]}(n):\n    return sum(range(n))\n", namespace)
    namespace[f"f{counter[0]}"](500)  # type: ignore[operator]


def worker(stop: threading.Event) -> None:
    counter = [0]
    while not stop.is_set():
        recurse(random.randint(1, 60))
        churn_code(counter)
        t = threading.Thread(target=short_lived, args=(random.randint(1, 30),))
        t.start()
        t.join()


async def loop_load(stop: threading.Event) -> None:
    async def task() -> None:
        while not stop.is_set():
            recurse(random.randint(1, 20))
            await asyncio.sleep(0.001)

    await asyncio.gather(*(task() for _ in range(50)))


def child(minutes: float, every: float, watched: bool) -> None:
    import gilwise

    stop = threading.Event()
    threads = [threading.Thread(target=worker, args=(stop,)) for _ in range(2)]
    threads.append(threading.Thread(target=asyncio.run, args=(loop_load(stop),)))
    monitor = gilwise.start() if watched else None
    for t in threads:
        t.start()
    end = time.monotonic() + minutes * 60
    while time.monotonic() < end:
        time.sleep(min(every, max(0.0, end - time.monotonic())))
        row: dict[str, float] = {
            "t": round(minutes * 60 - (end - time.monotonic())),
            "rss": rss_mib(),
        }
        if monitor is not None:
            row.update(_monitor_sizes(monitor))
        print(json.dumps(row), flush=True)
    stop.set()
    for t in threads:
        t.join()
    if monitor is not None:
        report = gilwise.stop()
        print(json.dumps({"threads_seen": report.process.threads_seen}), flush=True)


def _monitor_sizes(monitor: object) -> dict[str, float]:
    accounts = [*monitor._accounts.values(), *monitor._finished]  # type: ignore[attr-defined]
    return {
        "stacks": sum(len(a.table.counts) for a in accounts),
        "threads_kept": len(accounts),
        "code_cache": len(monitor._call_sites._cache),  # type: ignore[attr-defined]
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=3.0)
    parser.add_argument("--every", type=float, default=15.0)
    parser.add_argument("--child", choices=["plain", "watched"])
    args = parser.parse_args()
    if args.child:
        child(args.minutes, args.every, args.child == "watched")
        return
    rows: dict[str, list[dict[str, float]]] = {}
    for mode in ("plain", "watched"):
        out = subprocess.run(
            [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--minutes",
                str(args.minutes),
                "--every",
                str(args.every),
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        rows[mode] = [json.loads(line) for line in out.splitlines()]
    print(f"{'t (s)':>6} {'RSS plain':>10} {'RSS watched':>12} {'stacks':>7} {'threads':>8}")
    for plain, watched in zip(rows["plain"], rows["watched"], strict=False):
        if "rss" not in watched:
            continue
        print(
            f"{watched['t']:6.0f} {plain['rss']:9.1f}M {watched['rss']:11.1f}M "
            f"{watched.get('stacks', 0):7.0f} {watched.get('threads_kept', 0):8.0f}"
        )
    print("threads seen:", rows["watched"][-1].get("threads_seen"))


if __name__ == "__main__":
    main()
