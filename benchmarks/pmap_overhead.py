"""pmap against the pools people already use: tiny-task overhead, time to fail, flat memory.

Every ratio is against baselines measured in the same run, on the same machine:
``python benchmarks/pmap_overhead.py [--quick]``. Libraries that are not installed
(joblib, mpire) are skipped. Each timing is the best of ``REPEATS`` runs.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import contextlib
import multiprocessing
import os
import platform
import sys
import time
from collections.abc import Callable, Iterator

from gilwise.pool import pmap

REPEATS = 5
WORKERS = min(4, os.cpu_count() or 1)


def noop(x: int) -> int:
    return x


def fail_or_sleep(x: int) -> int:
    if x == 0:
        time.sleep(0.2)
        raise ValueError("item 0 fails")
    time.sleep(10)
    return x


def timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def best_interleaved(configs: list[tuple[str, Callable[[], object]]]) -> list[tuple[str, float]]:
    """The best of ``REPEATS`` runs of each configuration, taken in rounds.

    Round-robin rather than all repeats of one configuration in a row: a slow spell of
    the machine (a shared VM has them) then hits every configuration alike.
    """
    times: dict[str, list[float]] = {name: [] for name, _ in configs}
    for _ in range(REPEATS):
        for name, fn in configs:
            times[name].append(timed(fn))
    return [(name, min(times[name])) for name, _ in configs]


def overhead_rows(n: int) -> list[tuple[str, float]]:
    items = range(n)
    chunk = max(1, n // (WORKERS * 4))

    def ppe(chunksize: int) -> Callable[[], object]:
        def run() -> object:
            with cf.ProcessPoolExecutor(WORKERS) as ex:
                return list(ex.map(noop, items, chunksize=chunksize))

        return run

    def mp_pool() -> object:
        with multiprocessing.Pool(WORKERS) as pool:
            return pool.map(noop, items)

    def gilwise(backend: str, **options: object) -> Callable[[], object]:
        return lambda: list(pmap(noop, items, backend=backend, workers=WORKERS, **options))

    configs: list[tuple[str, Callable[[], object]]] = [
        ("gilwise process (adaptive chunks)", gilwise("process")),
        ("gilwise process, blas_threads=None", gilwise("process", blas_threads=None)),
        (f"ProcessPoolExecutor.map chunksize={chunk}", ppe(chunk)),
    ]
    if n <= 10_000:
        configs.append(("ProcessPoolExecutor.map chunksize=1 (default)", ppe(1)))
    if hasattr(cf, "InterpreterPoolExecutor"):
        # A sub-interpreter imports modules afresh and cannot see this script's noop:
        # these rows map the builtin abs, and so does one process row to compare with.
        def ipe() -> object:
            with cf.InterpreterPoolExecutor(WORKERS) as ex:  # type: ignore[attr-defined]
                return list(ex.map(abs, items, chunksize=chunk))

        configs += [
            (
                "gilwise interpreter (abs)",
                lambda: list(pmap(abs, items, backend="interpreter", workers=WORKERS)),
            ),
            (
                "gilwise process (abs)",
                lambda: list(pmap(abs, items, backend="process", workers=WORKERS)),
            ),
            (f"InterpreterPoolExecutor.map chunksize={chunk} (abs)", ipe),
        ]
    configs.append(("multiprocessing.Pool.map (auto chunks)", mp_pool))
    try:
        import joblib

        def run_joblib() -> object:
            return joblib.Parallel(n_jobs=WORKERS)(joblib.delayed(noop)(i) for i in items)

        configs.append(("joblib Parallel (loky, batch_size=auto)", run_joblib))
    except ImportError:
        pass
    try:
        import mpire

        def run_mpire() -> object:
            with mpire.WorkerPool(WORKERS) as pool:
                return pool.map(noop, items, progress_bar=False)

        configs.append(("mpire WorkerPool.map", run_mpire))
    except ImportError:
        pass

    def tpe() -> object:
        with cf.ThreadPoolExecutor(WORKERS) as ex:
            return list(ex.map(noop, items))

    configs += [
        ("gilwise thread", gilwise("thread")),
        ("ThreadPoolExecutor.map", tpe),
        ("plain loop (reference)", lambda: [noop(i) for i in items]),
    ]
    return best_interleaved(configs)


def time_to_raise() -> list[tuple[str, float]]:
    rows = []
    for backend in ("process", "thread"):
        started = time.perf_counter()
        with contextlib.suppress(ValueError):
            list(
                pmap(
                    fail_or_sleep, range(WORKERS + 2), backend=backend, workers=WORKERS, chunksize=1
                )
            )
        rows.append(
            (f"gilwise {backend}: error raised and pool stopped", time.perf_counter() - started)
        )
    started = time.perf_counter()
    try:
        with cf.ProcessPoolExecutor(WORKERS) as ex:
            list(ex.map(fail_or_sleep, range(WORKERS + 2)))
    except ValueError:
        pass
    rows.append(
        ("ProcessPoolExecutor.map in with: raised and exited", time.perf_counter() - started)
    )
    return rows


def rss_mib() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def endless() -> Iterator[bytes]:
    while True:
        yield os.urandom(16) * 4096  # 64 KiB per item


def flat_memory(backend: str, n: int) -> tuple[float, float, float]:
    """RSS before, after a fifth and at the end of ``n`` items read by a slow consumer."""
    before = rss_mib()
    fifth = before
    with pmap(len, endless(), backend=backend, workers=WORKERS, buffersize=64) as it:
        for k, _ in enumerate(it, start=1):
            time.sleep(0.0005)
            if k == n // 5:
                fifth = rss_mib()
            if k == n:
                break
    return before, fifth, rss_mib()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="1e4 items only")
    args = parser.parse_args()
    print(
        f"# pmap overhead: Python {platform.python_version()}, {os.cpu_count()} CPUs, "
        f"workers={WORKERS}, best of {REPEATS}"
    )
    # joblib and mpire import numpy: import them first so every row runs in the same
    # process state. With OpenBLAS loaded, gilwise's workers limit it (blas_threads=1,
    # the default), which the other pools do not do; the blas_threads=None row shows
    # that cost apart.
    for name in ("joblib", "mpire"):
        with contextlib.suppress(ImportError):
            __import__(name)
    print(f"# numpy loaded before the maps: {'numpy' in sys.modules}")
    for n in (10_000,) if args.quick else (10_000, 100_000):
        rows = overhead_rows(n)
        ref = min(
            s
            for name, s in rows
            if not name.startswith(("gilwise", "plain"))
            and "Thread" not in name
            and "Interpreter" not in name
        )
        tref = dict(rows)["ThreadPoolExecutor.map"]
        print(
            f"\n## {n:,} no-op items "
            "(ratio: time / best process baseline; threads / ThreadPoolExecutor)"
        )
        print(f"{'configuration':50} {'seconds':>9} {'ratio':>7}")
        for name, seconds in rows:
            base = tref if name.startswith(("gilwise thread", "ThreadPool")) else ref
            print(f"{name:50} {seconds:9.3f} {seconds / base:7.2f}")
    print("\n## time from an error in one item to the call raising (other items sleep 10 s)")
    for name, seconds in time_to_raise():
        print(f"{name:50} {seconds:9.2f} s")
    print("\n## endless input (64 KiB items), slow consumer, buffersize=64: RSS MiB")
    print(f"{'backend':10} {'before':>8} {'at 1/5':>8} {'at end':>8}")
    for backend in ("thread", "process"):
        before, fifth, end = flat_memory(backend, 3000)
        print(f"{backend:10} {before:8.1f} {fifth:8.1f} {end:8.1f}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
