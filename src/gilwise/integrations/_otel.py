"""OpenTelemetry export: observable instruments read the monitor at collection time.

Counters and gauges are observable instruments whose callbacks read
:meth:`Monitor.statistics`. OpenTelemetry has no observable histogram, so the two
latency histograms are synchronous ones, brought up to date at collection time: the
first callback of each collection records the samples the monitor's histograms gained
since the last one (one ``record`` per sample, at its bucket's middle, so bucket counts
match within the monitor's ~9% bucket width), handing the GIL over every 100 records.
An SDK runs every observable callback before it aggregates, so those samples are part
of the same collection.

This module imports without opentelemetry-api, so a missing extra is reported by the
exporter's constructor with the command that installs it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence

from .._errors import ExtraNotInstalled
from .._version import __version__
from ._metrics import BUCKETS_S, LoopSeries, ThreadLabels, _Exporter, loop_series

TYPE_CHECKING = False
if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Histogram, Meter, MeterProvider, Observation

    from ..monitor import Monitor
    from ..monitor._histogram import HistogramCounts
    from ..monitor._statistics import MonitorStatistics

#: Callbacks of one collection run back to back: they share one reading of the monitor.
_READING_REUSE_S = 0.5

THREAD_ATTRIBUTE = "thread.name"

#: Histogram records replayed between two hand-overs of the GIL.
_RECORDS_PER_GIL_TURN = 100


def _require_opentelemetry() -> None:
    try:
        import opentelemetry.metrics  # noqa: F401
    except ImportError:
        raise ExtraNotInstalled(
            "OpenTelemetryExporter needs opentelemetry-api, which is not installed: "
            "pip install gilwise[otel] (and an SDK, e.g. opentelemetry-sdk, to export)"
        ) from None


class OpenTelemetryExporter(_Exporter):
    """Exports the monitor's figures as OpenTelemetry metrics (meter ``gilwise``).

    The instruments come from ``meter_provider``, by default the global one
    (``opentelemetry.metrics.set_meter_provider``); the provider's readers and
    exporters decide where the figures go and how often. Observable instruments are
    read at collection time; nothing runs between collections.

    Example:
        >>> from opentelemetry.sdk.metrics import MeterProvider  # doctest: +SKIP
        >>> from opentelemetry.sdk.metrics.export import InMemoryMetricReader  # doctest: +SKIP
        >>> reader = InMemoryMetricReader()  # doctest: +SKIP
        >>> exporter = gilwise.OpenTelemetryExporter(  # doctest: +SKIP
        ...     meter_provider=MeterProvider(metric_readers=[reader]))
        >>> gilwise.start(metrics=exporter)  # doctest: +SKIP
        >>> reader.get_metrics_data()  # doctest: +SKIP
    """

    def __init__(self, *, meter_provider: MeterProvider | None = None) -> None:
        _require_opentelemetry()
        super().__init__()
        self._meter_provider = meter_provider
        self._instruments: _Instruments | None = None
        self._labels = ThreadLabels()
        self._reading: tuple[float, MonitorStatistics, tuple[LoopSeries, ...]] | None = None
        self._replayed: dict[str, HistogramCounts] = {}

    def _start(self, monitor: Monitor) -> None:
        self._reading = None
        self._replayed = {}
        self._labels = ThreadLabels()
        if self._instruments is None:
            # Instruments live as long as the meter: made once, they read whichever
            # monitor is attached (none: they observe nothing).
            self._instruments = _Instruments(self)

    def _stop(self) -> None:
        self._reading = None

    # -- what the callbacks read ------------------------------------------------------

    def _read(self) -> tuple[MonitorStatistics, tuple[LoopSeries, ...]] | None:
        monitor = self._monitor
        if monitor is None:
            return None
        now = time.monotonic()
        reading = self._reading
        if reading is None or now - reading[0] > _READING_REUSE_S:
            stats = monitor.statistics()
            reading = (now, stats, loop_series(stats, self._labels))
            self._reading = reading
        return reading[1], reading[2]

    def _observe_samples(self, options: CallbackOptions) -> Iterable[Observation]:
        # The first instrument's callback: a new collection starts, so read afresh and
        # bring the histograms up to date before the SDK aggregates them.
        from opentelemetry.metrics import Observation

        self._reading = None
        read = self._read()
        if read is None:
            return []
        stats, loops = read
        instruments = self._instruments
        assert instruments is not None
        self._replay(instruments.gil_wait, "gil", stats.gil_wait, {})
        for series in loops:
            attributes = {THREAD_ATTRIBUTE: series.thread}
            self._replay(instruments.loop_lag, f"loop:{series.thread}", series.lag, attributes)
        return [Observation(stats.samples)]

    def _replay(
        self, histogram: Histogram, key: str, counts: HistogramCounts, attributes: dict[str, str]
    ) -> None:
        before = self._replayed.get(key)
        added = counts if before is None else counts.since(before)
        if added is None:  # not a later reading of the same counts: take them all as new
            added = counts
        self._replayed[key] = counts
        done = 0
        for value, n in added.points():
            for _ in range(n):
                histogram.record(value, attributes)
                done += 1
                if done % _RECORDS_PER_GIL_TURN == 0:
                    # An SDK record costs ~10-15 us: a minute of heartbeats holds the GIL
                    # for ~0.1 s. Hand it over now and then, so a busy event loop waits
                    # at most one batch (~1.5 ms) behind the replay, not the whole of it.
                    time.sleep(0)

    def _observe(self, figure: str) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        read = self._read()
        if read is None:
            return []
        stats, loops = read
        if figure in _LOOP_FIGURES:
            return [
                Observation(_LOOP_FIGURES[figure](series), {THREAD_ATTRIBUTE: series.thread})
                for series in loops
            ]
        value: float = getattr(stats, figure)
        return [Observation(value)]


_LOOP_FIGURES: dict[str, Callable[[LoopSeries], float]] = {
    "stalls_total": lambda s: s.stalls_total,
    "stalled_seconds": lambda s: s.stalled_seconds,
    "loops_watched": lambda s: s.loops_watched,
}


class _Instruments:
    """The instruments of one exporter, on the meter ``gilwise``."""

    def __init__(self, exporter: OpenTelemetryExporter) -> None:
        from opentelemetry.metrics import get_meter

        meter = get_meter("gilwise", __version__, meter_provider=exporter._meter_provider)
        # Created first so that its callback runs first in every collection.
        meter.create_observable_counter(
            "gilwise.monitor.samples",
            callbacks=[exporter._observe_samples],
            unit="{sample}",
            description="Samples the monitor took.",
        )
        self.loop_lag = _histogram(
            meter,
            "gilwise.loop.lag",
            "How late gilwise's heartbeat ran on each event loop (the loop's responsiveness).",
        )
        self.gil_wait = _histogram(
            meter,
            "gilwise.gil.wait",
            "Wait to take the GIL back after each wake-up, as paid by gilwise's probe thread.",
        )
        counters = (
            ("gilwise.loop.stalls", "stalls_total", "{stall}", "Event-loop stalls."),
            (
                "gilwise.loop.stalled_time",
                "stalled_seconds",
                "s",
                "Time event loops spent stalled.",
            ),
            (
                "gilwise.gil.contended_time",
                "gil_contended_seconds",
                "s",
                "Estimated time during which at least one thread waited for the GIL.",
            ),
            (
                "gilwise.gil.waiting_thread_time",
                "gil_waiting_thread_seconds",
                "s",
                "Estimated time threads spent waiting for the GIL, added over threads.",
            ),
            (
                "gilwise.gil.observed_time",
                "gil_observed_seconds",
                "s",
                "Time covered by the GIL estimates.",
            ),
            (
                "gilwise.monitor.cpu_time",
                "monitor_cpu_seconds",
                "s",
                "CPU time used by gilwise's sampler thread.",
            ),
        )
        for name, figure, unit, description in counters:
            meter.create_observable_counter(
                name,
                callbacks=[_callback(exporter, figure)],
                unit=unit,
                description=description,
            )
        for name, figure, unit, description in (
            ("gilwise.loops", "loops_watched", "{loop}", "Event loops gilwise watches now."),
            ("gilwise.threads", "threads_alive", "{thread}", "Python threads alive."),
        ):
            meter.create_observable_up_down_counter(
                name,
                callbacks=[_callback(exporter, figure)],
                unit=unit,
                description=description,
            )


def _callback(exporter: OpenTelemetryExporter, figure: str) -> _Callback:
    def observe(options: CallbackOptions) -> Iterable[Observation]:
        return exporter._observe(figure)

    return observe


if TYPE_CHECKING:
    _Callback = Callable[[CallbackOptions], Iterable[Observation]]


def _histogram(meter: Meter, name: str, description: str) -> Histogram:
    bounds: Sequence[float] = BUCKETS_S
    try:
        return meter.create_histogram(
            name, unit="s", description=description, explicit_bucket_boundaries_advisory=bounds
        )
    except TypeError:
        # opentelemetry-api before 1.30 takes no bucket advice: the SDK's default bounds
        # (0 to 10000, made for milliseconds) apply unless a View sets BUCKETS_S.
        return meter.create_histogram(name, unit="s", description=description)
