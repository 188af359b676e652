"""Lesson 8: free-threaded CPython and sub-interpreters, shown where this interpreter has them."""

from __future__ import annotations

import concurrent.futures as cf
import shutil
import sys
import sysconfig

from ..._core._backends import BACKENDS
from ...advise import Measurement
from .._lesson import Context, Finding, Row, speedup, throughput_row
from .cpu_bound import count_primes

TITLE = "Free-threaded CPython and sub-interpreters"
CLAIM = (
    "Free-threaded CPython (3.13t, 3.14t) runs Python threads in parallel without the GIL; "
    "sub-interpreter pools (3.14) give each worker its own GIL inside one process."
)


def gil_disabled() -> bool:
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return is_enabled is not None and not is_enabled()


def run(ctx: Context) -> Finding:
    free_threaded = gil_disabled()
    interpreters = hasattr(cf, "InterpreterPoolExecutor")
    if not (free_threaded or interpreters):
        return _how_to_try()
    n = ctx.workers
    items = ctx.items_for(count_primes, 2_000, ctx.seconds(0.75))
    chunk = max(1, len(items) // (8 * n))
    configs = [("serial", 1, 1)]
    configs += [("thread", n, 1)] if free_threaded else []
    configs += [("interpreter", n, chunk)] if interpreters else []
    # Processes are what these replace: measured beside them, start and stop included.
    configs += [("process", n, chunk)]
    serial, *others, processes = ctx.compare(count_primes, configs, items)
    rows: list[Row] = [throughput_row("serial", serial, serial)]
    parts = []
    for m in others:
        label = _label(m.backend)
        rows.append(throughput_row(f"{n} {label}", m, serial))
        parts.append(f"{n} {label} ran {speedup(m, serial):.2f}x")
    rows.append(throughput_row(f"{n} {_label('process')}", processes, serial))
    parts.append(f"{n} {_label('process')} {speedup(processes, serial):.2f}x")
    measured = "; ".join(parts) + " the serial speed on lesson 1's pure-Python work"
    measured += "".join(
        f"; {_label(m.backend)} started and stopped in {_start_stop_ms(m):.0f} ms"
        for m in (*others, processes)
    )
    best = max(speedup(m, serial) for m in others)
    held = None if ctx.cores < 2 else best > 1.3
    return Finding(tuple(rows), measured + ".", _MEANING, _CHECK, held=held)


def _label(backend: str) -> str:
    """What the workers of ``backend`` are, as the table names them."""
    label = BACKENDS[backend].workers_are
    # Threads are measured here only where this interpreter runs without the GIL.
    return f"{label}, GIL disabled" if backend == "thread" else label


def _start_stop_ms(m: Measurement) -> float:
    return (m.startup_s + m.shutdown_s) * 1e3


def _how_to_try() -> Finding:
    version = sys.version.split()[0]
    found = [p for p in ("python3.14t", "python3.13t") if shutil.which(p)]
    build = "free-threaded build" if sysconfig.get_config_var("Py_GIL_DISABLED") else "GIL build"
    hint = (
        f"{found[0]} is on your PATH: run `{found[0]} -m gilwise tour --only 1,8`."
        if found
        else "Install a free-threaded build (`uv python install 3.14t`, or the python.org "
        "installer's free-threaded option) and run `python3.14t -m gilwise tour --only 1,8`."
    )
    return Finding(
        rows=(),
        measured=f"This is CPython {version}, a {build}, without sub-interpreter pools.",
        meaning=hint + " Sub-interpreter pools need CPython 3.14.",
        check=_CHECK,
        held=None,
        not_shown="this interpreter has neither free threading nor sub-interpreter pools",
    )


_MEANING = (
    "On these interpreters the threads-or-processes answer changes: measure before you "
    "switch, since C extensions may re-enable the GIL or not support sub-interpreters."
)
_CHECK = "python3.14t -m gilwise advise yourmodule:work --inputs yourmodule:items"
