"""Lesson 5: when processes lose. A large argument costs more to send than to process."""

from __future__ import annotations

from .._lesson import Context, Finding, speedup, throughput_row

TITLE = "When processes lose: a large argument per task"
CLAIM = (
    "Every item sent to a process pool is pickled, copied through a pipe and unpickled; "
    "when that costs more than the work, processes are slower than a plain loop."
)


def checksum(blob: bytes) -> int:
    """Cheap work on a large argument."""
    return blob[0] + blob[len(blob) // 2] + blob[-1]


def run(ctx: Context) -> Finding:
    n = ctx.workers
    size = (1 << 20) if ctx.quick else (4 << 20)
    blob = bytes(range(256)) * (size // 256)
    items = [blob] * (40 if ctx.quick else 100)
    serial, threads, processes = ctx.compare(
        checksum, [("serial", 1, 1), ("thread", n, 1), ("process", n, 1)], items
    )
    rows = (
        throughput_row("serial", serial, serial),
        throughput_row(f"{n} threads", threads, serial),
        throughput_row(f"{n} processes", processes, serial),
    )
    p = speedup(processes, serial)
    measured = (
        f"With a {size >> 20} MiB argument per item, {n} processes were {1 / p:,.0f} times "
        "slower than a plain loop."
        if p < 1
        else f"With a {size >> 20} MiB argument per item, {n} processes ran at {p:.2f}x serial."
    )
    return Finding(rows, measured, _MEANING, _CHECK, held=p < 1)


_MEANING = (
    "Send processes small descriptions of work (a path, an id, a range), not the data; or "
    "keep cheap per-item work serial. `gilwise advise` reports the pickle cost per item."
)
_CHECK = "gilwise advise yourmodule:work --inputs yourmodule:items"
