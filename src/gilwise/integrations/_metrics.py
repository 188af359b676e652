"""What the metrics exporters share: the metrics' table, the exporter base, histogram
bounds, loop series.

Exporters read :meth:`Monitor.statistics` when their backend asks (a Prometheus scrape,
an OpenTelemetry collection), so nothing is pushed and an idle endpoint costs nothing.
Every figure there is cumulative since the monitor started, which maps directly onto
Prometheus counters and histograms and OpenTelemetry cumulative instruments.

:data:`METRICS` is the one list of what is exported: both exporters are built from it,
and docs/integrations.md's tables are generated from it
(``python -m tests.integrations.test_metric_docs``).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any, Literal

from .._errors import MetricsExportFailed
from ..monitor import HistogramCounts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..monitor import Monitor, MonitorStatistics

#: Histogram bounds, in seconds, for loop lag and GIL wait: 0.1 ms to 10 s. A healthy
#: loop's lag sits in the first buckets; the default 100 ms stall threshold is a bound.
BUCKETS_S = (
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)

#: Distinct ``thread`` label values; loops in further threads share the label "other".
MAX_THREAD_LABELS = 20
OTHER_THREADS = "other"

#: Where a metric's figure is read: each loop thread's :class:`LoopSeries` (one series per
#: thread label), the monitor's statistics, or :class:`Reading` itself (its settings).
Source = Literal["loop", "monitor", "settings"]


@dataclass(frozen=True)
class MetricSpec:
    """One exported figure: its names, its kind, where it is read and what it means.

    A ``counter`` is cumulative (Prometheus adds ``_total`` to its name); a ``gauge`` is
    a level, an OpenTelemetry up-down counter. ``meaning`` is both the Prometheus help
    and the OpenTelemetry description.
    """

    prometheus: str
    #: The OpenTelemetry instrument; None: Prometheus only.
    otel: str | None
    kind: Literal["histogram", "counter", "gauge"]
    #: OpenTelemetry's unit (UCUM); Prometheus names the unit in the metric's name.
    unit: str
    source: Source
    #: The attribute of the source that holds the figure.
    figure: str
    meaning: str


METRICS = (
    MetricSpec(
        prometheus="gilwise_loop_lag_seconds",
        otel="gilwise.loop.lag",
        kind="histogram",
        unit="s",
        source="loop",
        figure="lag",
        meaning="How late gilwise's heartbeat ran on each event loop (the loop's responsiveness).",
    ),
    MetricSpec(
        prometheus="gilwise_loop_stalls",
        otel="gilwise.loop.stalls",
        kind="counter",
        unit="{stall}",
        source="loop",
        figure="stalls_total",
        meaning="Event-loop stalls: heartbeats late by at least the stall threshold.",
    ),
    MetricSpec(
        prometheus="gilwise_loop_stalled_seconds",
        otel="gilwise.loop.stalled_time",
        kind="counter",
        unit="s",
        source="loop",
        figure="stalled_seconds",
        meaning="Time event loops spent stalled (in stalls of at least the threshold).",
    ),
    MetricSpec(
        prometheus="gilwise_loops",
        otel="gilwise.loops",
        kind="gauge",
        unit="{loop}",
        source="loop",
        figure="loops_watched",
        meaning="Event loops gilwise watches now.",
    ),
    MetricSpec(
        prometheus="gilwise_loop_stall_threshold_seconds",
        otel=None,
        kind="gauge",
        unit="s",
        source="settings",
        figure="stall_threshold_s",
        meaning="Lag from which gilwise counts a stall and records the blocking stack.",
    ),
    MetricSpec(
        prometheus="gilwise_gil_wait_seconds",
        otel="gilwise.gil.wait",
        kind="histogram",
        unit="s",
        source="monitor",
        figure="gil_wait",
        meaning="Wait to take the GIL back after each wake-up, as paid by gilwise's probe thread "
        "(what a thread returning from I/O pays; includes ~0.1 ms of timer slack).",
    ),
    MetricSpec(
        prometheus="gilwise_gil_contended_seconds",
        otel="gilwise.gil.contended_time",
        kind="counter",
        unit="s",
        source="monitor",
        figure="gil_contended_seconds",
        meaning="Estimated time during which at least one thread waited for the GIL; "
        "its rate divided by the observed time's is the wait fraction.",
    ),
    MetricSpec(
        prometheus="gilwise_gil_waiting_thread_seconds",
        otel="gilwise.gil.waiting_thread_time",
        kind="counter",
        unit="s",
        source="monitor",
        figure="gil_waiting_thread_seconds",
        meaning="Estimated time threads spent waiting for the GIL, added over threads; "
        "its rate is the mean number of threads waiting.",
    ),
    MetricSpec(
        prometheus="gilwise_gil_observed_seconds",
        otel="gilwise.gil.observed_time",
        kind="counter",
        unit="s",
        source="monitor",
        figure="gil_observed_seconds",
        meaning="Time covered by the GIL estimates (closed 0.25 s windows).",
    ),
    MetricSpec(
        prometheus="gilwise_threads",
        otel="gilwise.threads",
        kind="gauge",
        unit="{thread}",
        source="monitor",
        figure="threads_alive",
        meaning="Python threads alive at the monitor's last sample (its own not counted).",
    ),
    MetricSpec(
        prometheus="gilwise_monitor_cpu_seconds",
        otel="gilwise.monitor.cpu_time",
        kind="counter",
        unit="s",
        source="monitor",
        figure="monitor_cpu_seconds",
        meaning="CPU time used by gilwise's sampler thread (the monitor's own cost).",
    ),
    MetricSpec(
        prometheus="gilwise_monitor_samples",
        otel="gilwise.monitor.samples",
        kind="counter",
        unit="{sample}",
        source="monitor",
        figure="samples",
        meaning="Samples the monitor took.",
    ),
)


@dataclass(frozen=True)
class LoopSeries:
    """The loops of one ``thread`` label, added together."""

    thread: str
    loops_watched: int
    lag: HistogramCounts
    stalls_total: int
    stalled_seconds: float


class ThreadLabels:
    """Gives each loop thread a stable label, at most :data:`MAX_THREAD_LABELS` of them.

    A label once given is kept, so a thread's counters never move between series
    (which a scraper would read as a counter reset).
    """

    def __init__(self, limit: int = MAX_THREAD_LABELS) -> None:
        self._limit = limit
        self._given: set[str] = set()

    def label(self, thread_name: str) -> str:
        if thread_name in self._given:
            return thread_name
        if len(self._given) < self._limit:
            self._given.add(thread_name)
            return thread_name
        return OTHER_THREADS


def loop_series(stats: MonitorStatistics, labels: ThreadLabels) -> tuple[LoopSeries, ...]:
    """Loops grouped by thread label, closed loops included (their counts stay counted)."""
    grouped: dict[str, LoopSeries] = {}
    for loop in stats.loops:
        thread = labels.label(loop.thread_name)
        before = grouped.get(thread)
        if before is None:
            grouped[thread] = LoopSeries(
                thread=thread,
                loops_watched=0 if loop.closed else 1,
                lag=loop.lag,
                stalls_total=loop.stalls_total,
                stalled_seconds=loop.stalled_seconds,
            )
        else:
            grouped[thread] = LoopSeries(
                thread=thread,
                loops_watched=before.loops_watched + (0 if loop.closed else 1),
                lag=before.lag.merged(loop.lag),
                stalls_total=before.stalls_total + loop.stalls_total,
                stalled_seconds=before.stalled_seconds + loop.stalled_seconds,
            )
    return tuple(grouped[name] for name in sorted(grouped))


@dataclass(frozen=True)
class Reading:
    """One reading of a monitor: what every metric's figures are taken from."""

    stats: MonitorStatistics
    loops: tuple[LoopSeries, ...]
    stall_threshold_s: float


def read(monitor: Monitor, labels: ThreadLabels) -> Reading:
    """Read ``monitor`` once, its loops grouped by thread label."""
    stats = monitor.statistics()
    return Reading(stats, loop_series(stats, labels), monitor.config.stall_ms / 1000)


def figures(metric: MetricSpec, reading: Reading) -> list[tuple[str | None, Any]]:
    """The metric's figures in ``reading``, each with its thread label (None: not per thread).

    A figure is a number, or :class:`HistogramCounts` for a histogram.
    """
    if metric.source == "loop":
        return [(series.thread, getattr(series, metric.figure)) for series in reading.loops]
    source: object = reading.stats if metric.source == "monitor" else reading
    return [(None, getattr(source, metric.figure))]


class _Exporter:
    """Base of the metrics exporters: one monitor at a time, attached by ``gilwise.start``.

    Private until the interface is stable; users pass the public subclasses.
    """

    def __init__(self) -> None:
        self._state_lock = threading.Lock()
        self._monitor: Monitor | None = None

    def _attach(self, monitor: Monitor) -> None:
        """Start exporting ``monitor``'s figures."""
        with self._state_lock:
            if self._monitor is not None:
                raise MetricsExportFailed(
                    f"this {type(self).__name__} already exports a running monitor; "
                    "stop that one first (gilwise.stop()) or make another exporter"
                )
            self._start(monitor)
            self._monitor = monitor

    def _detach(self) -> None:
        """Stop exporting (idempotent)."""
        with self._state_lock:
            if self._monitor is None:
                return
            self._monitor = None
            self._stop()

    def _start(self, monitor: Monitor) -> None:
        raise NotImplementedError

    def _stop(self) -> None:
        raise NotImplementedError
