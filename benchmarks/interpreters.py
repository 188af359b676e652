"""Sub-interpreters against processes: start-up, per-call cost, memory per worker, what crosses.

CPython 3.14's ``InterpreterPoolExecutor`` runs each worker as a thread with its own
interpreter and GIL; the alternative for code that holds the GIL is a process pool.
Every figure is measured in this run, the process backend beside the interpreter one:
``python3.14 benchmarks/interpreters.py [--quick]`` (on CPython < 3.14 it says so and
exits). The functions and items are from modules both kinds of worker can import
(a sub-interpreter imports modules afresh and cannot see this script's ``__main__``).
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import os
import platform
import socket
import subprocess
import sys
import threading
import time

from gilwise.advise._backends import Job, trial
from gilwise.pool import pmap
from gilwise.tour.lessons.cpu_bound import count_primes

REPEATS = 5


def best_of(fn: object, repeats: int = REPEATS) -> float:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append(time.perf_counter() - started)
    return min(times)


def start_stop_rows(workers: int) -> list[tuple[str, float, float, float]]:
    """Start ``workers`` workers, one item each (they are warm), then shut down.

    The first pool of a process pays more: a forkserver (3.14's default start method)
    starts once and then serves every later pool, so the first run is shown apart
    from the best of the next ``REPEATS``.
    """
    rows = []
    for backend in ("interpreter", "process"):
        first, *runs = [trial(Job(abs, False), backend, workers, [1]) for _ in range(REPEATS + 1)]
        rows.append(
            (
                backend,
                first.startup_s + first.shutdown_s,
                min(r.startup_s for r in runs),
                min(r.startup_s + r.shutdown_s for r in runs),
            )
        )
    return rows


def per_call_rows(n: int, workers: int) -> list[tuple[str, float]]:
    """Time per item of ``n`` no-op calls through each pool, chunked as each pool allows."""
    items = range(n)
    chunk = max(1, n // (workers * 4))

    def executor(make: type[cf.Executor]) -> object:
        def run() -> None:
            with make(workers) as ex:  # type: ignore[call-arg]
                list(ex.map(abs, items, chunksize=chunk))

        return run

    configs = {
        "gilwise pmap backend='interpreter'": lambda: list(
            pmap(abs, items, backend="interpreter", workers=workers)
        ),
        "gilwise pmap backend='process'": lambda: list(
            pmap(abs, items, backend="process", workers=workers)
        ),
        f"InterpreterPoolExecutor.map chunksize={chunk}": executor(cf.InterpreterPoolExecutor),  # type: ignore[attr-defined]
        f"ProcessPoolExecutor.map chunksize={chunk}": executor(cf.ProcessPoolExecutor),
    }
    return [(name, best_of(run) / n) for name, run in configs.items()]


def throughput_rows(workers: int, seconds: float) -> list[tuple[str, float]]:
    """Lesson 1's pure-Python work: items per second, serial and on each pool (best of 3)."""
    per_call = best_of(lambda: count_primes(2_000), 3)
    items = [2_000] * max(8, int(seconds / per_call))
    rows = []
    for backend, w in (("serial", 1), ("interpreter", workers), ("process", workers)):
        chunk = 1 if backend == "serial" else max(1, len(items) // (8 * w))
        best = max(
            trial(Job(count_primes, False), backend, w, items, chunksize=chunk).items_per_s
            for _ in range(3)
        )
        rows.append((f"{backend} x{w}", best))
    return rows


def uss_mib(pid: int) -> float:
    """Memory only this process holds (private pages), from smaps_rollup."""
    private = 0
    with open(f"/proc/{pid}/smaps_rollup") as fh:
        for line in fh:
            if line.startswith(("Private_Clean:", "Private_Dirty:")):
                private += int(line.split()[1])
    return private / 1024


def memory_child(backend: str, workers: int) -> None:
    """In a fresh process: private memory before and with ``workers`` warm workers."""
    before = uss_mib(os.getpid())
    make = cf.InterpreterPoolExecutor if backend == "interpreter" else cf.ProcessPoolExecutor  # type: ignore[attr-defined]
    with make(workers) as ex:
        list(ex.map(count_primes, [500] * workers * 4, chunksize=1))
        here = uss_mib(os.getpid())
        children = [uss_mib(p) for p in _children(os.getpid())]
        print(f"{here - before + sum(children):.1f} {len(children)}")


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == str(pid):
                found.append(int(entry))
    return found


def memory_rows(workers: int) -> list[tuple[str, float, int]]:
    rows = []
    for backend in ("interpreter", "process"):
        out = subprocess.run(
            [sys.executable, __file__, "--memory-child", backend, str(workers)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        rows.append((backend, float(out[0]) / workers, int(out[1])))
    return rows


def crossing_rows() -> list[tuple[str, str, str]]:
    """What a map can send to each kind of worker: the function, and the items."""
    offset = 1
    cases: list[tuple[str, object, list[object]]] = [
        ("function: builtin (abs)", abs, [1]),
        ("function: lambda", lambda x: x, [1]),
        ("function: closure", lambda x: x + offset, [1]),
        ("item: 10 MB bytes", len, [b"x" * 10_000_000]),
        ("item: threading.Lock", repr, [threading.Lock()]),
        ("item: socket", repr, [socket.socket()]),
        ("item: generator", repr, [(i for i in range(3))]),
    ]
    rows = []
    for label, fn, items in cases:
        outcome = []
        for backend in ("interpreter", "process"):
            try:
                list(pmap(fn, items, backend=backend, workers=1))  # type: ignore[arg-type]
                outcome.append("crosses")
            except Exception as exc:
                outcome.append(f"{type(exc).__name__}")
        rows.append((label, outcome[0], outcome[1]))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--memory-child", nargs=2, metavar=("BACKEND", "WORKERS"))
    args = parser.parse_args()
    if args.memory_child:
        memory_child(args.memory_child[0], int(args.memory_child[1]))
        return
    if not hasattr(cf, "InterpreterPoolExecutor"):
        print(f"CPython {platform.python_version()} has no InterpreterPoolExecutor: run on 3.14+")
        return
    workers = min(4, os.cpu_count() or 1)
    print(
        f"# sub-interpreters vs processes: Python {platform.python_version()}, "
        f"{os.cpu_count()} CPUs, {workers} workers, start method "
        f"{__import__('multiprocessing').get_start_method()}"
    )
    print(
        "\n## start+stop of a pool (workers started, one call each), ms: the first pool of "
        f"this process, then the best of {REPEATS} more (start-up alone, start+stop)"
    )
    rows = start_stop_rows(workers)
    process_total = {b: t for b, _, _, t in rows}["process"]
    for backend, first, start, total in rows:
        print(
            f"{backend:12} first {first * 1e3:7.1f}   later {start * 1e3:7.1f} {total * 1e3:7.1f}"
            f"  ({total / process_total:.2f}x process)"
        )
    n = 10_000 if args.quick else 100_000
    print(f"\n## per call: {n:,} no-op items, best of {REPEATS}, µs per item")
    calls = per_call_rows(n, workers)
    reference = calls[1][1]
    for name, seconds in calls:
        print(f"{name:50} {seconds * 1e6:8.2f} ({seconds / reference:.2f}x gilwise process)")
    print("\n## lesson 1's pure-Python work, items/s (best of 3)")
    throughput = throughput_rows(workers, 0.5 if args.quick else 1.5)
    serial = throughput[0][1]
    for name, rate in throughput:
        print(f"{name:16} {rate:10.1f}  ({rate / serial:.2f}x serial)")
    print("\n## private memory per warm worker (USS, MiB)")
    for backend, per_worker, children in memory_rows(workers):
        print(f"{backend:12} {per_worker:8.1f}  (child processes: {children})")
    print("\n## what crosses to a worker (pmap, workers=1)")
    print(f"{'case':30} {'interpreter':>22} {'process':>22}")
    for label, interp, proc in crossing_rows():
        print(f"{label:30} {interp:>22} {proc:>22}")


if __name__ == "__main__":
    main()
