"""What the metrics exporters share: the exporter base, histogram bounds, loop series.

Exporters read :meth:`Monitor.statistics` when their backend asks (a Prometheus scrape,
an OpenTelemetry collection), so nothing is pushed and an idle endpoint costs nothing.
Every figure there is cumulative since the monitor started, which maps directly onto
Prometheus counters and histograms and OpenTelemetry cumulative instruments.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from .._errors import MetricsExportFailed
from ..monitor._histogram import HistogramCounts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..monitor import Monitor
    from ..monitor._statistics import MonitorStatistics

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
