"""Heartbeats and stalls: unit tests on a fake loop, end-to-end on asyncio and uvloop."""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

import gilwise
from gilwise.monitor._loops import MAX_STALLS_KEPT, LoopWatch

from .fakes import FakeClock, FakeFrame, at_sleep, at_spin


class FakeLoop:
    """The public loop methods the watcher uses, run by hand."""

    def __init__(self) -> None:
        self.ready: list[tuple[Callable[..., object], tuple[Any, ...]]] = []
        self.running = True
        self.closed = False

    def call_soon_threadsafe(self, callback: Callable[..., object], *args: Any) -> None:
        if self.closed:
            raise RuntimeError("Event loop is closed")
        self.ready.append((callback, args))

    def is_running(self) -> bool:
        return self.running

    def is_closed(self) -> bool:
        return self.closed

    def run_ready(self) -> None:
        ready, self.ready = self.ready, []
        for callback, args in ready:
            callback(*args)


LOOP_THREAD = 7


def _watch(clock: FakeClock, loop: FakeLoop, stall_s: float = 0.1) -> LoopWatch:
    return LoopWatch(loop, LOOP_THREAD, "loop-thread", clock, stall_s)


def test_heartbeat_lag_is_measured() -> None:
    clock, loop = FakeClock(), FakeLoop()
    watch = _watch(clock, loop)
    for _ in range(10):
        assert watch.check(clock.advance(0.01), {})
        clock.advance(0.002)
        loop.run_ready()
    assert watch.lag.count == 10
    assert watch.lag.percentile(0.5) == pytest.approx(0.002, rel=0.1)
    assert watch.stalls_total == 0


def test_stall_records_the_stack_seen_while_stalled() -> None:
    clock, loop = FakeClock(), FakeLoop()
    watch = _watch(clock, loop)
    watch.check(clock.now, {})  # heartbeat sent, the loop is now blocked
    blocked = FakeFrame(at_sleep().f_code, at_sleep().f_lasti, f_back=at_spin())
    for _ in range(30):
        watch.check(clock.advance(0.01), {LOOP_THREAD: blocked})  # type: ignore[dict-item]
    loop.run_ready()
    assert watch.stalls_total == 1
    (stall,) = watch.stalls
    assert stall.duration == pytest.approx(0.3)
    assert 20 <= stall.samples <= 21  # ticks at or past the 100 ms threshold
    assert stall.stack[0][0] is at_sleep().f_code


def test_stopped_loop_heartbeat_is_forgotten() -> None:
    clock, loop = FakeClock(), FakeLoop()
    watch = _watch(clock, loop)
    watch.check(clock.now, {})
    loop.running = False
    watch.check(clock.advance(1.0), {})
    loop.running = True
    loop.run_ready()  # the old heartbeat runs only when the loop restarts
    assert (watch.lag.count, watch.stalls_total) == (0, 0)


def test_closed_loop_ends_the_watch() -> None:
    clock, loop = FakeClock(), FakeLoop()
    watch = _watch(clock, loop)
    loop.closed = True
    assert not watch.check(clock.now, {})


def test_stall_still_going_at_close_is_recorded() -> None:
    clock, loop = FakeClock(), FakeLoop()
    watch = _watch(clock, loop)
    watch.check(clock.now, {})
    watch.close(clock.advance(0.5))
    assert watch.stalls_total == 1
    assert watch.stalls[0].duration == pytest.approx(0.5)


def test_only_the_longest_stalls_are_kept() -> None:
    clock, loop = FakeClock(), FakeLoop()
    watch = _watch(clock, loop)
    for i in range(MAX_STALLS_KEPT + 20):
        watch.check(clock.now, {})
        clock.advance(0.1 + i * 0.001)
        loop.run_ready()
    assert watch.stalls_total == MAX_STALLS_KEPT + 20
    assert len(watch.stalls) == MAX_STALLS_KEPT
    assert min(s.duration for s in watch.stalls) >= 0.1 + 19 * 0.001


# --- end to end: real loops, real threads; margins wide enough for a loaded 2-core box ---


def library_call_that_blocks() -> None:
    time.sleep(0.5)  # the culprit line


async def handler() -> None:
    library_call_that_blocks()


async def blocking_program() -> None:
    await asyncio.sleep(0.3)  # give the sampler time to find the loop
    await handler()
    await asyncio.sleep(0.05)


async def clean_program() -> None:
    async def task(i: int) -> None:
        for _ in range(20):
            await asyncio.sleep(0.005)

    await asyncio.gather(*(task(i) for i in range(100)))


def _culprit_line() -> int:
    return library_call_that_blocks.__code__.co_firstlineno + 1


def _run_watched(runner: Callable[[], None]) -> gilwise.Report:
    with gilwise.watch(interval=0.01, stall_ms=100) as w:
        runner()
    return w.report


def _check_blocking_report(report: gilwise.Report) -> None:
    stalls = [s for loop in report.loops for s in loop.stalls]
    assert len(stalls) == 1, report.loops
    stall = stalls[0]
    assert 400 <= stall.duration_ms <= 5000
    assert stall.culprit is not None
    assert stall.culprit.file == __file__
    assert stall.culprit.line == _culprit_line()
    assert stall.culprit.function == "library_call_that_blocks"
    assert stall.coroutine is not None
    assert stall.coroutine.function == "handler"
    assert report.verdicts[0].code == "LOOP_BLOCKED"


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_asyncio_run_stall_names_the_blocking_line() -> None:
    _check_blocking_report(_run_watched(lambda: asyncio.run(blocking_program())))


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_loop_in_another_thread_is_found() -> None:
    def in_thread() -> None:
        t = threading.Thread(target=asyncio.run, args=(blocking_program(),))
        t.start()
        t.join()

    report = _run_watched(in_thread)
    _check_blocking_report(report)
    assert report.loops[0].thread_name != "MainThread"


@pytest.mark.e2e
@pytest.mark.timeout(60)
@pytest.mark.skipif(importlib.util.find_spec("uvloop") is None, reason="uvloop not installed")
def test_uvloop_stall_names_the_blocking_line() -> None:
    import uvloop

    report = _run_watched(lambda: uvloop.run(blocking_program()))
    _check_blocking_report(report)
    assert "uvloop" in report.loops[0].loop_class


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_clean_program_reports_no_stall() -> None:
    report = _run_watched(lambda: asyncio.run(clean_program()))
    assert report.loops, "the loop should have been found"
    assert report.loops[0].heartbeats > 0
    # 100 ms is 20x the longest callback here; only a badly overloaded machine stalls it.
    assert all(loop.stalls_total == 0 for loop in report.loops)


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_watch_started_inside_a_coroutine_watches_that_loop() -> None:
    async def main() -> gilwise.Report:
        with gilwise.watch(stall_ms=100) as w:
            await asyncio.sleep(0.05)
            library_call_that_blocks()
            await asyncio.sleep(0.05)
        return w.report

    report = asyncio.run(main())
    stalls = [s for loop in report.loops for s in loop.stalls]
    assert stalls
    assert stalls[0].culprit is not None
    assert stalls[0].culprit.line == _culprit_line()
