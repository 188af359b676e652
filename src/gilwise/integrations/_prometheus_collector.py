"""The Prometheus collector: reads the monitor at scrape time, nothing pushed in between.

Each scrape calls :meth:`Monitor.statistics` once and builds the metric families from
it. Names follow Prometheus conventions: base units in the name (``_seconds``),
``_total`` on counters, histograms for latencies. docs/integrations.md lists them.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ._metrics import BUCKETS_S, LoopSeries, ThreadLabels, loop_series

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..monitor import Monitor
    from ..monitor._histogram import HistogramCounts
    from ..monitor._statistics import MonitorStatistics


class GilwiseCollector(Collector):
    """A prometheus_client collector reading one monitor at scrape time."""

    def __init__(self, monitor: Monitor) -> None:
        self._monitor = monitor
        self._labels = ThreadLabels()
        self._stall_threshold_s = monitor.config.stall_ms / 1000

    def describe(self) -> Iterator[Metric]:
        # Described without reading the monitor, so registering costs nothing.
        return _families(None, (), self._stall_threshold_s)

    def collect(self) -> Iterator[Metric]:
        stats = self._monitor.statistics()
        loops = loop_series(stats, self._labels)
        return _families(stats, loops, self._stall_threshold_s)


def _families(
    stats: MonitorStatistics | None, loops: tuple[LoopSeries, ...], stall_threshold_s: float
) -> Iterator[Metric]:
    lag = HistogramMetricFamily(
        "gilwise_loop_lag_seconds",
        "How late gilwise's heartbeat ran on each event loop (the loop's responsiveness).",
        labels=["thread"],
    )
    stalls = CounterMetricFamily(
        "gilwise_loop_stalls",
        "Event-loop stalls: heartbeats late by at least the stall threshold.",
        labels=["thread"],
    )
    stalled = CounterMetricFamily(
        "gilwise_loop_stalled_seconds",
        "Time event loops spent stalled (in stalls of at least the threshold).",
        labels=["thread"],
    )
    watched = GaugeMetricFamily(
        "gilwise_loops",
        "Event loops gilwise watches now.",
        labels=["thread"],
    )
    for series in loops:
        label = [series.thread]
        lag.add_metric(label, _buckets(series.lag), series.lag.sum_s)
        stalls.add_metric(label, series.stalls_total)
        stalled.add_metric(label, series.stalled_seconds)
        watched.add_metric(label, series.loops_watched)
    yield lag
    yield stalls
    yield stalled
    yield watched
    yield GaugeMetricFamily(
        "gilwise_loop_stall_threshold_seconds",
        "Lag from which gilwise counts a stall and records the blocking stack.",
        value=stall_threshold_s if stats is not None else None,
    )

    gil_wait = HistogramMetricFamily(
        "gilwise_gil_wait_seconds",
        "Wait to take the GIL back after each wake-up, as paid by gilwise's probe thread "
        "(what a thread returning from I/O pays; includes ~0.1 ms of timer slack).",
    )
    if stats is not None:
        gil_wait.add_metric([], _buckets(stats.gil_wait), stats.gil_wait.sum_s)
    yield gil_wait
    for name, doc, value in (
        (
            "gilwise_gil_contended_seconds",
            "Estimated time during which at least one thread waited for the GIL; "
            "divide its rate by gilwise_gil_observed_seconds_total's for the wait fraction.",
            stats.gil_contended_seconds if stats else None,
        ),
        (
            "gilwise_gil_waiting_thread_seconds",
            "Estimated time threads spent waiting for the GIL, added over threads; "
            "its rate is the mean number of threads waiting.",
            stats.gil_waiting_thread_seconds if stats else None,
        ),
        (
            "gilwise_gil_observed_seconds",
            "Time covered by the GIL estimates (closed 0.25 s windows).",
            stats.gil_observed_seconds if stats else None,
        ),
        (
            "gilwise_monitor_cpu_seconds",
            "CPU time used by gilwise's sampler thread (the monitor's own cost).",
            stats.monitor_cpu_seconds if stats else None,
        ),
        (
            "gilwise_monitor_samples",
            "Samples the monitor took.",
            stats.samples if stats else None,
        ),
    ):
        yield CounterMetricFamily(name, doc, value=value)
    yield GaugeMetricFamily(
        "gilwise_threads",
        "Python threads alive at the monitor's last sample (its own not counted).",
        value=stats.threads_alive if stats else None,
    )


def _buckets(counts: HistogramCounts) -> list[tuple[str, float]]:
    cumulative = counts.cumulative(BUCKETS_S)
    rows: list[tuple[str, float]] = [
        (repr(float(bound)), n) for bound, n in zip(BUCKETS_S, cumulative, strict=True)
    ]
    rows.append(("+Inf", counts.count))
    return rows
