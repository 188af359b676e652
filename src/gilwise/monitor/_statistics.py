"""Live figures of a running monitor, cheap enough to read on every metrics scrape.

:meth:`Monitor.statistics` returns these frozen records; metrics exporters turn them
into Prometheus or OpenTelemetry series. Every figure is cumulative since the monitor
started (counters and histograms) or a reading of the last sample (gauges), so a
scraper that comes every few seconds and one that comes every few minutes both read
the same truth.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._histogram import HistogramCounts


@dataclass(frozen=True)
class LoopStatistics:
    """One event loop the monitor watches, or watched until it closed (``closed``)."""

    loop_class: str
    thread_name: str
    closed: bool
    lag: HistogramCounts
    stalls_total: int
    stalled_seconds: float


@dataclass(frozen=True)
class MonitorStatistics:
    """The monitor's figures so far.

    ``gil_observed_seconds`` is the time covered by GIL estimates so far (closed
    windows); ``gil_contended_seconds`` the part of it during which at least one thread
    waited for the GIL; ``gil_waiting_thread_seconds`` the waits of all threads added
    up. Their ratios are the report's ``wait_fraction`` and ``mean_waiting_threads``.
    """

    uptime_seconds: float
    samples: int
    monitor_cpu_seconds: float
    threads_alive: int
    gil_wait: HistogramCounts
    gil_observed_seconds: float
    gil_contended_seconds: float
    gil_waiting_thread_seconds: float
    loops: tuple[LoopStatistics, ...]
    errors: int
