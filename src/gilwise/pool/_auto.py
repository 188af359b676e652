"""``backend="auto"``: run the first items in a short calibration, then pick the backend.

The calibration is the map itself: its first items run serially, then a few at once
in threads, through the same ``MapState``, so no call is made twice and their results
are the map's results. The questions and the thresholds are the advisor's, shared
through ``gilwise._core._probe``: does a call compute or wait, does it release the GIL,
and is it worth shipping to a process?
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._core._clocks import process_cpu_seconds
from .._core._probe import gil_evidence, pickle_costs
from ._engine import MapState
from ._registry import usable_cores
from ._serial import SerialBackend
from ._thread import ThreadBackend
from ._types import Outcome, RunSettings

#: Seconds each calibration phase runs for (at least one call each).
PHASE_S = 0.1
_MAX_SERIAL_CALLS = 100
#: What one item costs to send to a worker process and back, beyond pickling it: the
#: parent's share of a chunked map measured on the 2-core CI VM (about 2-3 us/item).
_PROCESS_ITEM_OVERHEAD_S = 3e-6
#: A process pool pays when a call costs this many times its shipping.
_PROCESS_PAYS_AT = 10.0

logger = logging.getLogger("gilwise")


@dataclass(frozen=True)
class Choice:
    """The backend ``auto`` picked and the measured reason, in words.

    ``settled`` is False when the input ended before the calibration could tell:
    right for this map, but no answer for the next (``Pool("auto")`` asks again).
    """

    backend: str
    reason: str
    settled: bool = True


@dataclass(frozen=True)
class _Serial:
    calls: int
    wall_s: float
    cpu_s: float
    sample: Outcome | None


def calibrate(state: MapState, fn: Callable[[Any], Any], timeout: float | None) -> Choice:
    """Run the map's first items to measure ``fn``, and choose where the rest run."""
    settings = RunSettings(fn, timeout, None, None)
    serial = _run_serially(state, settings)
    if state.all_run or serial.calls == 0:
        return Choice(
            "serial", f"the input ended during calibration ({serial.calls} items)", settled=False
        )
    item_s = serial.wall_s / serial.calls
    cpu_fraction = min(1.0, serial.cpu_s / serial.wall_s) if serial.wall_s > 0 else 1.0
    if cpu_fraction < 0.3:
        return Choice(
            "thread",
            f"a call waits {1 - cpu_fraction:.0%} of its {_ms(item_s)} (CPU {cpu_fraction:.0%}): "
            "threads overlap the waits",
        )
    cores = usable_cores()
    if cores < 2:
        return Choice("serial", "one usable core: no pool can run calls that compute in parallel")
    threads = min(4, cores)
    rate, parallel = _threads_at_once(state, settings, threads)
    if state.all_run:
        return Choice(
            "thread",
            "the input ended during calibration (threads ran the last items)",
            settled=False,
        )
    releases, _held = gil_evidence(cpu_fraction, parallel, rate * item_s, threads, cores)
    if releases:
        return Choice(
            "thread",
            f"{threads} threads kept {parallel:.1f} cores busy: the function releases the GIL, "
            "so threads run it in parallel without pickling",
        )
    return _process_or_serial(fn, serial, item_s, parallel, cores)


def _process_or_serial(
    fn: Callable[[Any], Any], serial: _Serial, item_s: float, parallel: float, cores: int
) -> Choice:
    from ._process import dumps_function

    try:
        dumps_function(fn)
    except Exception as exc:
        return Choice("serial", f"the function cannot be sent to a process ({exc})")
    pickle_s = 0.0
    if serial.sample is not None:
        # The least of three: one timing of a few microseconds is mostly noise.
        costs = [pickle_costs(serial.sample.task.item, serial.sample.value) for _ in range(3)]
        problem = costs[0][3]
        if problem is not None:
            return Choice("thread", f"processes cannot be used: {problem}")
        pickle_s = min(c[2] or 0.0 for c in costs)
    shipping = pickle_s + _PROCESS_ITEM_OVERHEAD_S
    if item_s < _PROCESS_PAYS_AT * shipping:
        return Choice(
            "serial",
            f"a call takes {_ms(item_s)}, close to the {_ms(shipping)} of sending it to a "
            "process: a plain loop is fastest",
        )
    return Choice(
        "process",
        f"a call computes and holds the GIL (threads used {parallel:.1f} cores), and takes "
        f"{_ms(item_s)} against {_ms(shipping)} to ship: processes use the {cores} cores",
    )


def _run_serially(state: MapState, settings: RunSettings) -> _Serial:
    backend = SerialBackend()
    backend.begin(settings)
    calls = 0
    sample = None
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    while calls < _MAX_SERIAL_CALLS and time.perf_counter() - wall0 < PHASE_S:
        runs = state.runs(1)
        if not runs:
            break
        backend.submit(runs)
        outcomes = backend.poll(None)
        calls += 1
        if outcomes and isinstance(outcomes[0], Outcome) and outcomes[0].error is None:
            sample = outcomes[0]
        state.record_all(outcomes)
    return _Serial(calls, time.perf_counter() - wall0, time.thread_time() - cpu0, sample)


def _threads_at_once(state: MapState, settings: RunSettings, threads: int) -> tuple[float, float]:
    """Items per second and CPU cores used while ``threads`` threads run the next items."""
    backend = ThreadBackend(threads)
    backend.begin(settings)
    done = 0
    try:
        wall0, cpu0 = time.perf_counter(), process_cpu_seconds()
        while time.perf_counter() - wall0 < PHASE_S:
            runs = state.runs(max(0, threads - state.in_flight))
            if runs:
                backend.submit(runs)
            if state.in_flight == 0:
                break
            outcomes = backend.poll(None)
            done += len(outcomes)
            state.record_all(outcomes)
        while state.in_flight:
            outcomes = backend.poll(None)
            done += len(outcomes)
            state.record_all(outcomes)
        wall, cpu = time.perf_counter() - wall0, process_cpu_seconds() - cpu0
    finally:
        backend.end(abandon=True)
        backend.close()
    return (done / wall if wall > 0 else 0.0), (cpu / wall if wall > 0 else 0.0)


def _ms(seconds: float) -> str:
    return f"{seconds * 1e3:.2f} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.1f} us"


__all__ = ["Choice", "calibrate"]
