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
    """The public loop methods the watcher uses, driven by a fake clock."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock = clock
        self.timers: list[tuple[float, Callable[..., object], tuple[Any, ...]]] = []
        self.running = True
        self.closed = False

    def call_soon_threadsafe(self, callback: Callable[..., object], *args: Any) -> None:
        if self.closed:
            raise RuntimeError("Event loop is closed")
        self.timers.append((self.clock.now, callback, args))

    def call_later(self, delay: float, callback: Callable[..., object], *args: Any) -> None:
        self.timers.append((self.clock.now + delay, callback, args))

    def is_running(self) -> bool:
        return self.running

    def is_closed(self) -> bool:
        return self.closed

    def run_late(self, lateness: float) -> None:
        """Jump to the next timer plus ``lateness`` and run what is due by then."""
        self.clock.now = max(self.clock.now, min(t for t, _, _ in self.timers) + lateness)
        due = [timer for timer in self.timers if timer[0] <= self.clock.now]
        self.timers = [timer for timer in self.timers if timer[0] > self.clock.now]
        for _, callback, args in due:
            callback(*args)


LOOP_THREAD = 7


def _watch(clock: FakeClock, loop: FakeLoop, stall_s: float = 0.1) -> LoopWatch:
    return LoopWatch(loop, LOOP_THREAD, "loop-thread", clock, stall_s, interval_s=0.01)


def _started(stall_s: float = 0.1) -> tuple[FakeClock, FakeLoop, LoopWatch]:
    clock = FakeClock()
    loop = FakeLoop(clock)
    watch = _watch(clock, loop, stall_s)
    assert watch.check(clock.now, {})  # the sampler starts the heartbeat chain
    loop.run_late(0.0)
    return clock, loop, watch


def test_heartbeat_chain_measures_lag_on_the_loop() -> None:
    _, loop, watch = _started()
    for _ in range(10):
        loop.run_late(0.002)  # each beat runs 2 ms after it was due
    assert watch.lag.count == 11
    assert watch.lag.percentile(0.9) == pytest.approx(0.002, rel=0.1)
    assert watch.stalls_total == 0


def test_stall_records_the_stack_seen_while_stalled() -> None:
    clock, loop, watch = _started()
    blocked = FakeFrame(at_sleep().f_code, at_sleep().f_lasti, f_back=at_spin())
    for _ in range(30):  # the loop is stuck: its next beat (due in 10 ms) cannot run
        watch.check(clock.advance(0.01), {LOOP_THREAD: blocked})  # type: ignore[dict-item]
    loop.run_late(0.0)
    assert watch.stalls_total == 1
    (stall,) = watch.stalls
    assert stall.duration == pytest.approx(0.29)
    assert 19 <= stall.samples <= 21  # ticks at or past the 100 ms threshold
    assert stall.stack[0][0] is at_sleep().f_code


def test_a_stall_keeps_the_thread_that_held_the_gil_even_where_its_line_was_unseen() -> None:
    clock, loop, watch = _started()
    clock.advance(0.1)  # the beat is a stall's length late: each check samples it
    queued = FakeFrame(at_sleep().f_code, at_sleep().f_lasti)
    for holder_thread in ("", "pool-0", "pool-0", "pool-1"):
        cause = "gil" if holder_thread else "callback"
        frames = {LOOP_THREAD: queued}
        watch.check(clock.advance(0.01), frames, cause, None, holder_thread)  # type: ignore[arg-type]
    loop.run_late(0.0)
    (stall,) = watch.stalls
    assert stall.causes == (1, 3, 0)
    assert stall.gil_holder is None
    assert stall.gil_holder_thread == "pool-0"


def test_stall_without_samples_is_still_counted() -> None:
    clock, loop, watch = _started()
    clock.advance(0.5)
    loop.run_late(0.0)
    assert watch.stalls_total == 1
    assert watch.stalls[0].samples == 0


def test_beat_due_while_the_loop_was_stopped_is_not_lag() -> None:
    clock, loop, watch = _started()
    loop.running = False
    watch.check(clock.advance(1.0), {})
    loop.running = True
    loop.run_late(0.0)  # the old beat runs only when the loop restarts
    assert (watch.lag.count, watch.stalls_total) == (1, 0)
    loop.run_late(0.003)  # and the chain goes on measuring
    assert watch.lag.count == 2


def test_closed_loop_ends_the_watch() -> None:
    clock, loop, watch = _started()
    loop.closed = True
    assert not watch.check(clock.now, {})


def test_stall_still_going_at_close_is_recorded() -> None:
    clock, _, watch = _started()
    watch.close(clock.advance(0.5))
    assert watch.stalls_total == 1
    assert watch.stalls[0].duration == pytest.approx(0.49)
    # and as the lag it was: a trio run ending on a blocking call takes no late beat
    assert watch.lag.max == pytest.approx(0.49)


def test_loop_closed_before_its_next_beat_is_not_a_stall() -> None:
    clock, loop, watch = _started()
    loop.closed = True  # asyncio.run closed it; the sampler notices a while later
    clock.advance(0.3)
    assert not watch.check(clock.now, {})
    watch.close(clock.now)
    assert watch.stalls_total == 0


def test_stall_seen_before_the_loop_closed_lasts_until_the_last_sample() -> None:
    clock, loop, watch = _started()
    blocked = FakeFrame(at_sleep().f_code, at_sleep().f_lasti, f_back=at_spin())
    for _ in range(20):
        watch.check(clock.advance(0.01), {LOOP_THREAD: blocked})  # type: ignore[dict-item]
    loop.closed = True
    watch.close(clock.advance(0.5))
    (stall,) = watch.stalls
    assert stall.duration == pytest.approx(0.19)
    assert stall.stack[0][0] is at_sleep().f_code


@pytest.mark.parametrize(
    ("starved", "stalls", "busy"),
    [
        (0.0, 1, 0),  # a quiet machine: 300 ms late is the program's stall
        (0.15, 1, 0),  # half of it waiting for a CPU: still 150 ms of its own
        (0.28, 0, 1),  # late only because other processes held the CPU
        (None, 1, 0),  # no scheduler counters: every late beat is a stall, as before
    ],
)
def test_lateness_from_waiting_for_a_cpu_is_not_a_stall(
    starved: float | None, stalls: int, busy: int
) -> None:
    clock = FakeClock()
    loop = FakeLoop(clock)
    run_queue = [0.0]
    watch = LoopWatch(
        loop,
        LOOP_THREAD,
        "loop-thread",
        clock,
        0.1,
        interval_s=0.01,
        starvation=lambda: None if starved is None else run_queue[0],
    )
    watch.check(clock.now, {})
    loop.run_late(0.0)
    run_queue[0] += starved or 0.0
    loop.run_late(0.3)
    assert (watch.stalls_total, watch.busy_machine_stalls) == (stalls, busy)
    assert watch.lag.max == pytest.approx(0.3)  # the lag callers felt counts either way


def test_only_the_longest_stalls_are_kept() -> None:
    _, loop, watch = _started()
    for i in range(MAX_STALLS_KEPT + 20):
        loop.run_late(0.1 + i * 0.001)
    assert watch.stalls_total == MAX_STALLS_KEPT + 20
    assert len(watch.stalls) == MAX_STALLS_KEPT
    assert min(s.duration for s in watch.stalls) >= 0.1 + 19 * 0.001 - 1e-9


# --- end to end: real loops, real threads; margins wide enough for a loaded 2-core box ---


def library_call_that_blocks() -> None:
    time.sleep(0.5)  # the culprit line


async def handler() -> None:
    library_call_that_blocks()


async def request() -> None:
    await asyncio.create_task(handler(), name="handler-task")  # awaits the stalled task


async def blocking_program() -> None:
    await asyncio.sleep(0.3)  # give the sampler time to find the loop
    await asyncio.create_task(request(), name="request-task")
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
    _check_task_chain(stall)


def _check_task_chain(stall: gilwise.Stall) -> None:
    """The stalled task by name, and on 3.14+ the tasks awaiting it with their await lines."""
    names = [task.name for task in stall.tasks]
    assert names[0] == "handler-task"
    assert stall.tasks[0].where is not None
    assert stall.tasks[0].where.function == "handler"
    if not hasattr(asyncio, "capture_call_graph"):
        assert len(names) == 1
        return
    assert names[1] == "request-task"
    awaiting = stall.tasks[1].where
    assert awaiting is not None
    assert (awaiting.function, awaiting.line) == ("request", request.__code__.co_firstlineno + 1)
    assert len(names) == 3  # and the program's main task awaits request-task


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
