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
from ._metrics import (
    BUCKETS_S,
    METRICS,
    MetricSpec,
    Reading,
    ThreadLabels,
    _Exporter,
    figures,
    read,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from opentelemetry.metrics import CallbackOptions, Histogram, Meter, MeterProvider, Observation

    from ..monitor import HistogramCounts, Monitor

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
        self._reading: tuple[float, Reading] | None = None
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

    def _read(self) -> Reading | None:
        monitor = self._monitor
        if monitor is None:
            return None
        now = time.monotonic()
        reading = self._reading
        if reading is None or now - reading[0] > _READING_REUSE_S:
            reading = (now, read(monitor, self._labels))
            self._reading = reading
        return reading[1]

    def _observe(self, metric: MetricSpec, starts_collection: bool) -> Iterable[Observation]:
        from opentelemetry.metrics import Observation

        if starts_collection:
            # A new collection starts: read afresh, so its callbacks share a new reading.
            self._reading = None
        reading = self._read()
        if reading is None:
            return []
        if starts_collection:
            # Before the SDK aggregates the histograms, which it does after the callbacks.
            self._bring_histograms_up_to_date(reading)
        return [
            Observation(value, _attributes(thread)) for thread, value in figures(metric, reading)
        ]

    def _bring_histograms_up_to_date(self, reading: Reading) -> None:
        instruments = self._instruments
        assert instruments is not None
        for metric, histogram in instruments.histograms:
            for thread, counts in figures(metric, reading):
                key = f"{metric.otel}:{thread}"
                self._replay(histogram, key, counts, _attributes(thread))

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


def _attributes(thread: str | None) -> dict[str, str]:
    return {} if thread is None else {THREAD_ATTRIBUTE: thread}


class _Instruments:
    """The instruments of one exporter, on the meter ``gilwise``: one per row of the
    metrics' table that has an OpenTelemetry name."""

    def __init__(self, exporter: OpenTelemetryExporter) -> None:
        from opentelemetry.metrics import get_meter

        meter = get_meter("gilwise", __version__, meter_provider=exporter._meter_provider)
        self.histograms: list[tuple[MetricSpec, Histogram]] = []
        exported = [(metric, metric.otel) for metric in METRICS if metric.otel is not None]
        # An SDK runs the callbacks in the order their instruments were made, so the first
        # observable instrument's callback starts each collection.
        first = next(metric for metric, _ in exported if metric.kind != "histogram")
        for metric, name in exported:
            if metric.kind == "histogram":
                self.histograms.append((metric, _histogram(meter, name, metric.meaning)))
                continue
            callback = _callback(exporter, metric, starts_collection=metric is first)
            make = (
                meter.create_observable_counter
                if metric.kind == "counter"
                else meter.create_observable_up_down_counter
            )
            make(name, callbacks=[callback], unit=metric.unit, description=metric.meaning)


def _callback(
    exporter: OpenTelemetryExporter, metric: MetricSpec, *, starts_collection: bool
) -> _Callback:
    def observe(options: CallbackOptions) -> Iterable[Observation]:
        return exporter._observe(metric, starts_collection)

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
