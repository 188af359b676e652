"""The Prometheus collector: reads the monitor at scrape time, nothing pushed in between.

Each scrape calls :meth:`Monitor.statistics` once and builds from it one metric family
per row of the metrics' table (``_metrics.METRICS``). Names follow Prometheus
conventions: base units in the name (``_seconds``), ``_total`` on counters, histograms
for latencies. docs/integrations.md lists them.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ._metrics import BUCKETS_S, METRICS, MetricSpec, Reading, ThreadLabels, figures, read

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..monitor import HistogramCounts, Monitor

#: The label naming the thread a loop runs in.
THREAD_LABEL = "thread"


class GilwiseCollector(Collector):
    """A prometheus_client collector reading one monitor at scrape time."""

    def __init__(self, monitor: Monitor) -> None:
        self._monitor = monitor
        self._labels = ThreadLabels()

    def describe(self) -> Iterator[Metric]:
        # Described without reading the monitor, so registering costs nothing.
        return (_family(metric, None) for metric in METRICS)

    def collect(self) -> Iterator[Metric]:
        reading = read(self._monitor, self._labels)
        return (_family(metric, reading) for metric in METRICS)


def _family(metric: MetricSpec, reading: Reading | None) -> Metric:
    """The metric's family with its figures in ``reading`` (none without a reading)."""
    labels = [THREAD_LABEL] if metric.source == "loop" else []
    found = figures(metric, reading) if reading is not None else []
    name, doc = metric.prometheus, metric.meaning
    if metric.kind == "histogram":
        histogram = HistogramMetricFamily(name, doc, labels=labels)
        for thread, counts in found:
            histogram.add_metric(_label_values(thread), _buckets(counts), counts.sum_s)
        return histogram
    if metric.kind == "counter":
        counter = CounterMetricFamily(name, doc, labels=labels)
        for thread, value in found:
            counter.add_metric(_label_values(thread), value)
        return counter
    gauge = GaugeMetricFamily(name, doc, labels=labels)
    for thread, value in found:
        gauge.add_metric(_label_values(thread), value)
    return gauge


def _label_values(thread: str | None) -> list[str]:
    return [] if thread is None else [thread]


def _buckets(counts: HistogramCounts) -> list[tuple[str, float]]:
    cumulative = counts.cumulative(BUCKETS_S)
    rows: list[tuple[str, float]] = [
        (repr(float(bound)), n) for bound, n in zip(BUCKETS_S, cumulative, strict=True)
    ]
    rows.append(("+Inf", counts.count))
    return rows
