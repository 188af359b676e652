"""Lesson 1: pure-Python CPU work. Threads take turns on the GIL; processes run in parallel."""

from __future__ import annotations

from .._lesson import Context, Finding, speedup, throughput_row

TITLE = "Pure-Python CPU work: serial, threads, processes"
CLAIM = (
    "Pure-Python code holds the GIL while it runs, so threads take turns on one core; "
    "each process has its own interpreter and GIL, so processes run in parallel."
)


def count_primes(limit: int) -> int:
    """Trial division in plain Python: every step is bytecode, so the GIL is never released."""
    count = 0
    for n in range(2, limit):
        if all(n % d for d in range(2, int(n**0.5) + 1)):
            count += 1
    return count


def run(ctx: Context) -> Finding:
    n = ctx.workers
    items = ctx.items_for(count_primes, 2_000, ctx.seconds(0.75))
    chunk = max(1, len(items) // (8 * n))
    serial, threads, processes = ctx.compare(
        count_primes, [("serial", 1, 1), ("thread", n, 1), ("process", n, chunk)], items
    )
    t, p = speedup(threads, serial), speedup(processes, serial)
    rows = (
        throughput_row("serial", serial, serial),
        throughput_row(f"{n} threads", threads, serial),
        throughput_row(f"{n} processes", processes, serial),
    )
    measured = f"{n} threads ran {t:.2f}x the serial speed; {n} processes ran {p:.2f}x."
    if ctx.cores < 2:
        return Finding(
            rows,
            measured,
            _MEANING,
            _CHECK,
            held=None,
            not_shown="one usable core: processes cannot run in parallel here either",
        )
    return Finding(rows, measured, _MEANING, _CHECK, held=t < 1.3 and p > 1.3)


_MEANING = (
    "If your hot loop is Python code, more threads will not make it faster; a process "
    "pool will, up to your core count. `gilwise run` calls this GIL_BOUND."
)
_CHECK = "gilwise run your_script.py   ·   gilwise advise yourmodule:work --inputs yourmodule:items"
