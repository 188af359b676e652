"""Lesson 3: C code that releases the GIL. Threads do run in parallel there."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import time
import zlib
from collections.abc import Callable

from .._lesson import Context, Finding, Row, speedup, throughput_row

TITLE = "C code that releases the GIL: threads run in parallel"
CLAIM = (
    "hashlib, zlib and numpy release the GIL around long C loops, so threads running "
    "them use several cores at once, with no pickling and no process start-up."
)


@functools.lru_cache(maxsize=4)
def _buffer(size: int) -> bytes:
    # Compressible but not trivial: a repeating text with a counter in it.
    return b"".join(b"line %08d of the tour's buffer\n" % i for i in range(size // 32))[:size]


def sha256_of(size: int) -> str:
    """hashlib releases the GIL while it hashes buffers over 2 KiB."""
    return hashlib.sha256(_buffer(size)).hexdigest()


def compressed_size(size: int) -> int:
    """zlib releases the GIL while it compresses."""
    return len(zlib.compress(_buffer(size), 6))


def run(ctx: Context) -> Finding:
    n = ctx.workers
    rows: list[Row] = []
    speedups: list[float] = []
    cases = [("sha256 of 4 MiB", sha256_of, 4 << 20), ("zlib of 1 MiB", compressed_size, 1 << 20)]
    for label, fn, size in cases:
        _buffer(size)
        items = ctx.items_for(fn, size, ctx.seconds(0.5))
        serial, threads = ctx.compare(fn, [("serial", 1, 1), ("thread", n, 1)], items)
        rows += [throughput_row(f"{label}, serial", serial, serial)]
        rows += [throughput_row(f"{label}, {n} threads", threads, serial)]
        speedups.append(speedup(threads, serial))
    blas_cores = None
    if importlib.util.find_spec("numpy") is not None:
        numpy_rows, blas_cores = _numpy_rows(ctx, n, speedups)
        rows += numpy_rows
    measured = (
        f"{n} threads ran "
        + ", ".join(
            f"{label.split(' of')[0]} {s:.2f}x"
            for (label, _, _), s in zip(cases, speedups, strict=False)
        )
        + " the serial speed"
        + (" (numpy included)" if len(speedups) > 2 else "")
        + "."
        + _blas_note(blas_cores)
    )
    if ctx.cores < 2:
        return Finding(
            tuple(rows),
            measured,
            _MEANING,
            _CHECK,
            held=None,
            not_shown="one usable core: nothing can run in parallel here",
        )
    return Finding(tuple(rows), measured, _MEANING, _CHECK, held=min(speedups) > 1.3)


#: One thread's matmul using this many cores means numpy's BLAS runs threads of its own.
BLAS_PARALLEL_CORES = 1.5


def _numpy_rows(ctx: Context, n: int, speedups: list[float]) -> tuple[list[Row], float]:
    """numpy's rows, and the cores one thread's matmul used.

    Its speed-up counts toward the claim only where one thread's matmul used one core:
    with a multi-threaded BLAS (OpenBLAS, MKL) the serial run already has every core,
    and threads of our own cannot add any, GIL or not.
    """
    import numpy as np  # type: ignore[import-not-found, unused-ignore]

    matrix = np.random.default_rng(0).random((300, 300))

    def matmul(_: int) -> float:
        return float((matrix @ matrix).sum())

    items = ctx.items_for(matmul, 0, ctx.seconds(0.5))
    cores = _cores_used(matmul, items)
    serial, threads = ctx.compare(matmul, [("serial", 1, 1), ("thread", n, 1)], items)
    if not blas_runs_threads(cores):
        speedups.append(speedup(threads, serial))
    rows = [
        throughput_row("numpy 300x300 matmul, serial", serial, serial),
        throughput_row(f"numpy 300x300 matmul, {n} threads", threads, serial),
    ]
    return rows, cores


def _cores_used(fn: Callable[[int], object], items: list[int]) -> float:
    """Process CPU over wall time while one thread calls ``fn`` over ``items``."""
    wall, cpu = time.perf_counter(), time.process_time()
    for item in items:
        fn(item)
    return (time.process_time() - cpu) / max(1e-9, time.perf_counter() - wall)


def blas_runs_threads(cores: float | None) -> bool:
    """Whether one thread's matmul used more than a core: numpy's BLAS has threads."""
    return cores is not None and cores >= BLAS_PARALLEL_CORES


def _blas_note(cores: float | None) -> str:
    if not blas_runs_threads(cores):
        return ""
    return (
        f" numpy's matmul used {cores:.1f} cores from one thread (its BLAS runs threads of "
        "its own), so threads of ours could add nothing: left out of the claim."
    )


_MEANING = (
    "When the heavy part is a C library call that releases the GIL, a thread pool is the "
    "cheapest way to use every core. `gilwise run` calls this NATIVE_PARALLEL."
)
_CHECK = "gilwise advise yourmodule:compress_one --inputs files.jsonl"
