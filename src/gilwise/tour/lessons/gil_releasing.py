"""Lesson 3: C code that releases the GIL. Threads do run in parallel there."""

from __future__ import annotations

import functools
import hashlib
import importlib.util
import zlib

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
    if importlib.util.find_spec("numpy") is not None:
        rows += _numpy_rows(ctx, n, speedups)
    measured = (
        f"{n} threads ran "
        + ", ".join(
            f"{label.split(' of')[0]} {s:.2f}x"
            for (label, _, _), s in zip(cases, speedups, strict=False)
        )
        + " the serial speed"
        + (" (numpy included)" if len(speedups) > 2 else "")
        + "."
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


def _numpy_rows(ctx: Context, n: int, speedups: list[float]) -> list[Row]:
    import numpy as np  # type: ignore[import-not-found, unused-ignore]

    matrix = np.random.default_rng(0).random((300, 300))

    def matmul(_: int) -> float:
        return float((matrix @ matrix).sum())

    items = ctx.items_for(matmul, 0, ctx.seconds(0.5))
    serial, threads = ctx.compare(matmul, [("serial", 1, 1), ("thread", n, 1)], items)
    speedups.append(speedup(threads, serial))
    return [
        throughput_row("numpy 300x300 matmul, serial", serial, serial),
        throughput_row(f"numpy 300x300 matmul, {n} threads", threads, serial),
    ]


_MEANING = (
    "When the heavy part is a C library call that releases the GIL, a thread pool is the "
    "cheapest way to use every core. `gilwise run` calls this NATIVE_PARALLEL."
)
_CHECK = "gilwise advise yourmodule:compress_one --inputs files.jsonl"
