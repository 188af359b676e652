"""Profile the function before any pool starts: what a call costs and what limits it.

Three questions decide between the models. Does a call compute or wait
(thread CPU time against wall time)? When it computes, does it let other threads
run (a few threads at once: does the process use more than one core)? And what
does a process pool pay to ship an item and its result (pickle size and time)?
"""

from __future__ import annotations

import asyncio
import pickle
import threading
import time
from collections.abc import Callable, Sequence
from typing import Any

from .._core._clocks import SchedStatReader, process_cpu_seconds
from .._core._probe import gil_evidence, pickle_costs
from ._backends import Job
from ._report import Profile
from ._target import user_error


def first_call(job: Job, item: Any) -> tuple[float, Any]:
    """Call the function once; its errors become the user's error, with their traceback."""
    started = time.perf_counter()
    try:
        result = asyncio.run(job.fn(item)) if job.is_coroutine else job.fn(item)
    except Exception as exc:
        raise user_error(exc, "the function, called on the first item,") from None
    return time.perf_counter() - started, result


def profile(
    job: Job,
    items: Sequence[Any],
    *,
    cores: float,
    first_call_s: float,
    first_result: Any,
    seconds: float,
) -> Profile:
    """Measure ``job`` for about ``2 * seconds``: serial calls, then a few threads at once."""
    starved = _RunQueueClock()
    wall, cpu, calls = _serial_calls(job, items, seconds)
    starved_s = starved.seconds()
    # Time runnable without a CPU is neither computing nor waiting for I/O: left out.
    runnable = wall - (starved_s or 0.0)
    item_wall = wall / calls
    probe_threads = min(4, max(2, int(cores)))
    parallel_cores = speedup = held = None
    releases = None
    if not job.is_coroutine:
        rate, parallel_cores = _threads_at_once(job, items, probe_threads, seconds)
        speedup = rate * item_wall
        releases, held = gil_evidence(
            _fraction(cpu, runnable), parallel_cores, speedup, probe_threads, cores
        )
    shipping = pickle_costs(items[0], first_result)
    picklable, reason = _function_picklable(job)
    if picklable and shipping[3] is not None:
        picklable, reason = False, shipping[3]
    return Profile(
        first_call_s=first_call_s,
        item_wall_s=item_wall,
        item_cpu_s=cpu / calls,
        cpu_fraction=_fraction(cpu, runnable),
        probe_threads=probe_threads,
        parallel_cpu_cores=parallel_cores,
        probe_speedup=speedup,
        gil_held_fraction=held,
        releases_gil=releases,
        item_pickle_bytes=shipping[0],
        result_pickle_bytes=shipping[1],
        pickle_s=shipping[2],
        pickle_share=shipping[2] / item_wall if shipping[2] is not None and item_wall else None,
        picklable=picklable,
        not_picklable_reason=reason,
        is_coroutine=job.is_coroutine,
        calibration_calls=calls,
        cpu_starved_fraction=None if starved_s is None else min(1.0, starved_s / wall),
    )


def _fraction(cpu: float, runnable: float) -> float:
    # CPU time can only exceed runnable time by clock granularity.
    return min(1.0, cpu / runnable) if runnable > 0 else 0.0


class _RunQueueClock:
    """Seconds this thread spent runnable but without a CPU since it was made (Linux)."""

    def __init__(self) -> None:
        self._reader = SchedStatReader()
        self._tid = threading.get_native_id()
        self._start = self._read()

    def _read(self) -> float | None:
        counters = self._reader.read(self._tid) if self._reader.available else None
        return None if counters is None else counters[0]

    def seconds(self) -> float | None:
        now = self._read()
        return None if now is None or self._start is None else max(0.0, now - self._start)


def _serial_calls(job: Job, items: Sequence[Any], seconds: float) -> tuple[float, float, int]:
    """Wall seconds, thread CPU seconds and number of calls of back-to-back serial calls."""
    if job.is_coroutine:
        return asyncio.run(_serial_awaits(job.fn, items, seconds))
    fn = job.fn
    calls = 0
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    deadline = wall0 + seconds
    try:
        while calls < 3 or time.perf_counter() < deadline:
            fn(items[calls % len(items)])
            calls += 1
    except Exception as exc:
        raise user_error(exc, f"the function, called on item {calls % len(items)},") from None
    return time.perf_counter() - wall0, time.thread_time() - cpu0, calls


async def _serial_awaits(
    fn: Callable[[Any], Any], items: Sequence[Any], seconds: float
) -> tuple[float, float, int]:
    calls = 0
    wall0, cpu0 = time.perf_counter(), time.thread_time()
    deadline = wall0 + seconds
    try:
        while calls < 3 or time.perf_counter() < deadline:
            await fn(items[calls % len(items)])
            calls += 1
    except Exception as exc:
        raise user_error(exc, f"the function, called on item {calls % len(items)},") from None
    return time.perf_counter() - wall0, time.thread_time() - cpu0, calls


def _threads_at_once(
    job: Job, items: Sequence[Any], threads: int, seconds: float
) -> tuple[float, float]:
    """Items per second and process CPU cores used while ``threads`` threads call the function."""
    counts = [0] * threads
    failures: list[BaseException] = []
    start = threading.Barrier(threads + 1)
    stop = threading.Event()

    def work(slot: int) -> None:
        start.wait()
        i = slot
        try:
            while not stop.is_set():
                job.fn(items[i % len(items)])
                counts[slot] += 1
                i += threads
        except Exception as exc:
            failures.append(exc)

    workers = [threading.Thread(target=work, args=(n,), daemon=True) for n in range(threads)]
    for worker in workers:
        worker.start()
    start.wait()
    wall0, cpu0 = time.perf_counter(), process_cpu_seconds()
    time.sleep(seconds)
    stop.set()
    for worker in workers:
        worker.join()
    wall, cpu = time.perf_counter() - wall0, process_cpu_seconds() - cpu0
    if failures:
        raise user_error(failures[0], "the function, called from several threads at once,")
    return sum(counts) / wall, cpu / wall


def _function_picklable(job: Job) -> tuple[bool, str | None]:
    """Whether a process pool can send the function, and the fix when it cannot."""
    if job.is_coroutine:
        return False, "a coroutine function needs an event loop, not a process pool"
    try:
        pickle.dumps(job.fn)
    except Exception:
        name = getattr(job.fn, "__qualname__", repr(job.fn))
        if name == "<lambda>":
            return False, "it is a lambda; define it with def at module level"
        if "<locals>" in name:
            return False, f"{name} is defined inside a function; move it to module level"
        return False, f"{name} cannot be pickled; define it at module level"
    return True, None
