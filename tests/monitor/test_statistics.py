"""Monitor.statistics(): live figures for metrics exporters, read without building a report."""

from __future__ import annotations

import asyncio
import time

import pytest

import gilwise
from gilwise.monitor import Monitor, MonitorConfig


def test_statistics_of_a_fresh_monitor_are_empty() -> None:
    monitor = Monitor()
    monitor.begin()
    stats = monitor.statistics()
    assert stats.loops == ()
    assert stats.samples == 0
    assert stats.gil_wait.count == 0
    assert stats.gil_observed_seconds == 0.0


@pytest.mark.e2e
@pytest.mark.timeout(30)
def test_statistics_agree_with_the_report() -> None:
    async def program(monitor: Monitor) -> None:
        monitor.add_loop(asyncio.get_running_loop())
        await asyncio.sleep(0.1)
        time.sleep(0.3)
        await asyncio.sleep(0.1)

    monitor = Monitor(MonitorConfig(stall_ms=100))
    monitor.start()
    try:
        asyncio.run(program(monitor))
        during = monitor.statistics()
    finally:
        report = monitor.stop()
    (loop,) = during.loops
    assert loop.thread_name == "MainThread"  # named at once, though added before any tick
    assert loop.stalls_total == 1
    assert loop.stalled_seconds >= 0.2
    assert loop.lag.count >= 2
    assert during.samples > 0
    assert during.uptime_seconds > 0.3
    (reported,) = report.loops
    assert reported.stalls_total == loop.stalls_total
    assert reported.heartbeats >= loop.lag.count
    assert report.gil.probe.count >= during.gil_wait.count


@pytest.mark.e2e
@pytest.mark.timeout(30)
def test_closed_loops_stay_counted() -> None:
    with gilwise.watch(stall_logs_per_minute=0) as w:
        asyncio.run(asyncio.sleep(0.2))
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:  # the sampler notices the closed loop
            stats = w._monitor.statistics()  # type: ignore[union-attr]
            if stats.loops and all(loop.closed for loop in stats.loops):
                break
            time.sleep(0.02)
    assert stats.loops
    assert all(loop.closed for loop in stats.loops)
    assert sum(loop.lag.count for loop in stats.loops) > 0
