"""Shared pieces of the integration tests: synthetic statistics and a stalling program."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

import gilwise
from gilwise.monitor import MonitorConfig
from gilwise.monitor._histogram import HistogramCounts, LatencyHistogram
from gilwise.monitor._statistics import LoopStatistics, MonitorStatistics

#: The line that blocks in :func:`stalls_once` (for asserting the culprit).
BLOCKING_LINE = "time.sleep(0.3)  # blocks the loop"


async def stalls_once() -> None:
    await asyncio.sleep(0.05)
    time.sleep(0.3)  # blocks the loop
    await asyncio.sleep(0.05)


def main_thread_stalls(report: gilwise.Report) -> int:
    """Stalls the monitor itself counted on loops of the main thread (closed ones too)."""
    return sum(loop.stalls_total for loop in report.loops if loop.thread_name == "MainThread")


def counts(*seconds: float) -> HistogramCounts:
    h = LatencyHistogram()
    for s in seconds:
        h.add(s)
    return h.snapshot()


def loop_stats(
    thread: str = "MainThread", lag: tuple[float, ...] = (0.001,), stalls: int = 0
) -> LoopStatistics:
    return LoopStatistics(
        loop_class="asyncio.unix_events._UnixSelectorEventLoop",
        thread_name=thread,
        closed=False,
        lag=counts(*lag),
        stalls_total=stalls,
        stalled_seconds=0.25 * stalls,
    )


def statistics(
    loops: tuple[LoopStatistics, ...] = (), gil: tuple[float, ...] = (), samples: int = 10
) -> MonitorStatistics:
    return MonitorStatistics(
        uptime_seconds=1.0,
        samples=samples,
        monitor_cpu_seconds=0.01,
        threads_alive=2,
        gil_wait=counts(*gil),
        gil_observed_seconds=1.0,
        gil_contended_seconds=0.25,
        gil_waiting_thread_seconds=0.5,
        loops=loops,
        errors=0,
    )


@dataclass
class FakeMonitor:
    """What exporters read from a monitor: ``statistics()`` and ``config``."""

    stats: MonitorStatistics = field(default_factory=statistics)
    config: MonitorConfig = field(default_factory=MonitorConfig)
    reads: int = 0

    def statistics(self) -> MonitorStatistics:
        self.reads += 1
        return self.stats
