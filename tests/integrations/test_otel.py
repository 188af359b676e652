"""OpenTelemetry export, read through opentelemetry-sdk's InMemoryMetricReader."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import gilwise
from gilwise.integrations._metrics import BUCKETS_S
from gilwise.integrations._otel import _histogram

from .helpers import FakeMonitor, loop_stats, main_thread_stalls, stalls_once, statistics

INSTRUMENTS = {
    "gilwise.loop.lag": "s",
    "gilwise.loop.stalls": "{stall}",
    "gilwise.loop.stalled_time": "s",
    "gilwise.loops": "{loop}",
    "gilwise.gil.wait": "s",
    "gilwise.gil.contended_time": "s",
    "gilwise.gil.waiting_thread_time": "s",
    "gilwise.gil.observed_time": "s",
    "gilwise.monitor.cpu_time": "s",
    "gilwise.monitor.samples": "{sample}",
    "gilwise.threads": "{thread}",
}


def _metrics(reader: InMemoryMetricReader) -> dict[str, Any]:
    data = reader.get_metrics_data()
    if data is None:  # nothing observed at all
        return {}
    return {
        metric.name: metric
        for resource in data.resource_metrics
        for scope in resource.scope_metrics
        if scope.scope.name == "gilwise"
        for metric in scope.metrics
    }


def _point(metrics: dict[str, Any], name: str, **attributes: str) -> Any:
    for point in metrics[name].data.data_points:
        if dict(point.attributes) == attributes:
            return point
    raise LookupError(f"{name} {attributes}")


@pytest.fixture
def provider_and_reader() -> Iterator[tuple[MeterProvider, InMemoryMetricReader]]:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    yield provider, reader
    provider.shutdown()


@pytest.mark.e2e
@pytest.mark.timeout(30)
def test_a_stall_reaches_the_reader(
    provider_and_reader: tuple[MeterProvider, InMemoryMetricReader],
) -> None:
    provider, reader = provider_and_reader
    gilwise.start(metrics=gilwise.OpenTelemetryExporter(meter_provider=provider), stall_ms=100)
    try:
        asyncio.run(stalls_once())
        metrics = _metrics(reader)
    finally:
        report = gilwise.stop()
    assert {name: metric.unit for name, metric in metrics.items()} == INSTRUMENTS
    thread = {"thread.name": "MainThread"}
    # The injected stall at least; a long test process may add a GC pause of its own,
    # so the exporter is held to the monitor's own count rather than to exactly one.
    stalls = _point(metrics, "gilwise.loop.stalls", **thread).value
    assert stalls >= 1
    assert stalls == main_thread_stalls(report)
    assert _point(metrics, "gilwise.loop.stalled_time", **thread).value >= 0.2
    lag = _point(metrics, "gilwise.loop.lag", **thread)
    assert lag.count >= 2
    assert lag.max >= 0.2
    assert tuple(lag.explicit_bounds) == BUCKETS_S
    assert _point(metrics, "gilwise.monitor.samples").value > 0


def test_histograms_are_brought_up_to_date_once_per_collection(
    provider_and_reader: tuple[MeterProvider, InMemoryMetricReader],
) -> None:
    provider, reader = provider_and_reader
    monitor = FakeMonitor(statistics((loop_stats(lag=(0.001, 0.002, 0.3)),), gil=(0.0001,)))
    exporter = gilwise.OpenTelemetryExporter(meter_provider=provider)
    exporter._attach(monitor)  # type: ignore[arg-type]
    try:
        first = _metrics(reader)
        second = _metrics(reader)  # nothing new: nothing replayed twice
        monitor.stats = statistics((loop_stats(lag=(0.001, 0.002, 0.3, 0.004, 1.5)),))
        third = _metrics(reader)
    finally:
        exporter._detach()
    thread = {"thread.name": "MainThread"}
    assert _point(first, "gilwise.loop.lag", **thread).count == 3
    assert _point(second, "gilwise.loop.lag", **thread).count == 3
    grown = _point(third, "gilwise.loop.lag", **thread)
    assert grown.count == 5
    # Bucket counts match the monitor's: 0.001, 0.002, 0.004 | 0.3 | 1.5.
    counts = dict(zip([*BUCKETS_S, float("inf")], grown.bucket_counts, strict=True))
    assert counts[0.001] + counts[0.0025] + counts[0.005] == 3
    assert counts[0.5] == 1
    assert counts[2.5] == 1
    assert _point(first, "gilwise.gil.wait").count == 1


def test_detached_exporter_observes_nothing(
    provider_and_reader: tuple[MeterProvider, InMemoryMetricReader],
) -> None:
    provider, reader = provider_and_reader
    exporter = gilwise.OpenTelemetryExporter(meter_provider=provider)
    monitor = FakeMonitor(statistics((loop_stats(stalls=2),)))
    exporter._attach(monitor)  # type: ignore[arg-type]
    exporter._detach()
    reads = monitor.reads
    metrics = _metrics(reader)
    assert monitor.reads == reads
    assert (
        "gilwise.loop.stalls" not in metrics or not metrics["gilwise.loop.stalls"].data.data_points
    )


def test_one_collection_reads_the_monitor_once(
    provider_and_reader: tuple[MeterProvider, InMemoryMetricReader],
) -> None:
    provider, reader = provider_and_reader
    monitor = FakeMonitor()
    exporter = gilwise.OpenTelemetryExporter(meter_provider=provider)
    exporter._attach(monitor)  # type: ignore[arg-type]
    try:
        _metrics(reader)
    finally:
        exporter._detach()
    assert monitor.reads == 1


@pytest.mark.timeout(30)
def test_without_an_sdk_the_api_alone_costs_nothing() -> None:
    # No meter provider configured: the global one is the API's no-op proxy.
    with gilwise.watch(metrics=gilwise.OpenTelemetryExporter()) as w:
        pass
    assert w.report.complete


class _OldMeter:
    """A meter from opentelemetry-api before 1.30: no bucket advice."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def create_histogram(self, name: str, unit: str = "", description: str = "") -> str:
        self.calls.append({"name": name, "unit": unit})
        return name


def test_older_api_without_bucket_advice_still_gets_a_histogram() -> None:
    meter = _OldMeter()
    made: object = _histogram(meter, "gilwise.loop.lag", "lag")  # type: ignore[arg-type]
    assert made == "gilwise.loop.lag"
    assert meter.calls == [{"name": "gilwise.loop.lag", "unit": "s"}]


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry.metrics", None)
    with pytest.raises(gilwise.ExtraNotInstalled, match=r"pip install gilwise\[otel\]"):
        gilwise.OpenTelemetryExporter()
