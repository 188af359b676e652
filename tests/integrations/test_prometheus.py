"""Prometheus export: a real endpoint on 127.0.0.1 scraped over HTTP, and the collector."""

from __future__ import annotations

import asyncio
import errno
import socket
import sys
import urllib.request
from typing import Any

import pytest
from hypothesis import strategies as st
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.parser import text_string_to_metric_families

import gilwise
from gilwise.integrations._metrics import BUCKETS_S, MAX_THREAD_LABELS, ThreadLabels
from gilwise.integrations._prometheus import _bind_failure
from gilwise.integrations._prometheus_collector import GilwiseCollector
from tests._hypothesis import given

from .helpers import FakeMonitor, loop_stats, main_thread_stalls, stalls_once, statistics

EXPECTED = {
    "gilwise_loop_lag_seconds": "histogram",
    "gilwise_loop_stalls": "counter",
    "gilwise_loop_stalled_seconds": "counter",
    "gilwise_loops": "gauge",
    "gilwise_loop_stall_threshold_seconds": "gauge",
    "gilwise_gil_wait_seconds": "histogram",
    "gilwise_gil_contended_seconds": "counter",
    "gilwise_gil_waiting_thread_seconds": "counter",
    "gilwise_gil_observed_seconds": "counter",
    "gilwise_monitor_cpu_seconds": "counter",
    "gilwise_monitor_samples": "counter",
    "gilwise_threads": "gauge",
}


def _families(text: str) -> dict[str, Any]:
    return {f.name: f for f in text_string_to_metric_families(text) if f.name.startswith("gilwise")}


def _sample(families: dict[str, Any], name: str, suffix: str = "", **labels: str) -> float:
    for sample in families[name].samples:
        if sample.name == name + suffix and all(
            sample.labels.get(k) == v for k, v in labels.items()
        ):
            return float(sample.value)
    raise LookupError(f"{name}{suffix} {labels}")


def _scrape(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.status == 200
        return str(response.read().decode())


@pytest.mark.e2e
@pytest.mark.timeout(30)
def test_endpoint_on_loopback_serves_the_stall() -> None:
    exporter = gilwise.PrometheusExporter(registry=CollectorRegistry(), port=0)
    gilwise.start(metrics=exporter, stall_ms=100)
    try:
        assert exporter.port
        assert exporter.url == f"http://127.0.0.1:{exporter.port}/metrics"
        asyncio.run(stalls_once())
        families = _families(_scrape(exporter.url))
    finally:
        report = gilwise.stop()
    assert {name: f.type for name, f in families.items()} == EXPECTED
    # The injected stall at least, and exactly what the monitor itself counted.
    stalls = _sample(families, "gilwise_loop_stalls", "_total", thread="MainThread")
    assert stalls >= 1
    assert stalls == main_thread_stalls(report)
    assert _sample(families, "gilwise_loop_stalled_seconds", "_total", thread="MainThread") >= 0.2
    count = _sample(families, "gilwise_loop_lag_seconds", "_count", thread="MainThread")
    inf = _sample(families, "gilwise_loop_lag_seconds", "_bucket", thread="MainThread", le="+Inf")
    assert count == inf >= 2
    assert _sample(families, "gilwise_loop_stall_threshold_seconds") == 0.1
    assert _sample(families, "gilwise_monitor_samples", "_total") > 0
    # stop() closed the endpoint.
    assert exporter.url is None


@pytest.mark.e2e
@pytest.mark.timeout(30)
def test_endpoint_binds_loopback_only_by_default() -> None:
    exporter = gilwise.PrometheusExporter(registry=CollectorRegistry(), port=0)
    gilwise.start(metrics=exporter)
    try:
        server = exporter._server
        assert server is not None
        assert server.server_address[0] == "127.0.0.1"
    finally:
        gilwise.stop()


@pytest.mark.timeout(30)
def test_existing_registry_gets_the_series_and_loses_them_at_stop() -> None:
    registry = CollectorRegistry()
    exporter = gilwise.PrometheusExporter(registry=registry)
    gilwise.start(metrics=exporter)
    try:
        assert exporter.port is None
        assert exporter.url is None
        assert "gilwise_monitor_samples_total" in generate_latest(registry).decode()
    finally:
        gilwise.stop()
    assert "gilwise" not in generate_latest(registry).decode()


@pytest.mark.e2e
@pytest.mark.timeout(30)
def test_exporter_can_be_used_again_after_stop() -> None:
    registry = CollectorRegistry()
    exporter = gilwise.PrometheusExporter(registry=registry, port=0)
    for _ in range(2):
        gilwise.start(metrics=exporter)
        try:
            assert "gilwise_threads" in _scrape(str(exporter.url))
        finally:
            gilwise.stop()


@pytest.mark.timeout(30)
def test_port_in_use_is_one_clear_error_and_nothing_keeps_running() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        registry = CollectorRegistry()
        exporter = gilwise.PrometheusExporter(registry=registry, port=port)
        with pytest.raises(
            gilwise.MetricsExportFailed,
            match=rf"127\.0\.0\.1:{port}: the address is in use.*port=0",
        ):
            gilwise.start(metrics=exporter)
    assert "gilwise" not in generate_latest(registry).decode()
    gilwise.start()  # the failed start left no monitor behind
    gilwise.stop()


@pytest.mark.timeout(30)
def test_second_exporter_on_one_registry_is_refused() -> None:
    registry = CollectorRegistry()
    first = gilwise.PrometheusExporter(registry=registry)
    gilwise.start(metrics=first)
    try:
        monitor = gilwise.Monitor()
        with pytest.raises(gilwise.MetricsExportFailed, match="one running gilwise exporter"):
            gilwise.PrometheusExporter(registry=registry)._attach(monitor)
        with pytest.raises(gilwise.MetricsExportFailed, match="already exports"):
            first._attach(monitor)
    finally:
        gilwise.stop()


@pytest.mark.timeout(30)
def test_a_failing_exporter_detaches_the_ones_before_it() -> None:
    registry = CollectorRegistry()
    good = gilwise.PrometheusExporter(registry=registry)
    clash = gilwise.PrometheusExporter(registry=registry)
    with pytest.raises(gilwise.MetricsExportFailed):
        gilwise.start(metrics=[good, clash])
    assert "gilwise" not in generate_latest(registry).decode()
    gilwise.start(metrics=good)
    gilwise.stop()


@pytest.mark.timeout(30)
def test_an_address_not_of_this_machine_says_to_use_a_local_one() -> None:
    # 203.0.113.0/24 is TEST-NET-3 (RFC 5737): never this machine's, so bind() fails here
    # with EADDRNOTAVAIL and no packet leaves. Skip where non-local binds are allowed.
    if _can_bind("203.0.113.7"):
        pytest.skip("this machine allows binding non-local addresses (ip_nonlocal_bind)")
    registry = CollectorRegistry()
    exporter = gilwise.PrometheusExporter(registry=registry, port=0, addr="203.0.113.7")
    with pytest.raises(gilwise.MetricsExportFailed) as caught:
        gilwise.start(metrics=exporter)
    message = str(caught.value)
    assert message.startswith("cannot serve metrics on 203.0.113.7:0: cannot bind to that address")
    assert "addr='127.0.0.1', addr='0.0.0.0' or an address of this machine" in message
    assert "free port" not in message
    assert "\n" not in message
    assert "gilwise" not in generate_latest(registry).decode()
    gilwise.start()  # the failed start left no monitor behind
    gilwise.stop()


def _can_bind(addr: str) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((addr, 0))
        except OSError as exc:
            if exc.errno != errno.EADDRNOTAVAIL:
                raise
            return False
    return True


@pytest.mark.parametrize(
    ("error", "words"),
    [
        (OSError(errno.EADDRINUSE, "Address already in use"), "in use; pick a free port"),
        (OSError(errno.EADDRNOTAVAIL, "Cannot assign"), "cannot bind to that address"),
        (socket.gaierror(socket.EAI_NONAME, "Name unknown"), "cannot bind to that address"),
        (OSError(errno.EACCES, "Permission denied"), "port from 1024 up"),
        (OSError(errno.ENOBUFS, "No buffer space"), "No buffer space; check addr and port"),
    ],
)
def test_each_bind_failure_gets_its_own_advice(error: OSError, words: str) -> None:
    message = str(_bind_failure("10.1.2.3", 9464, error))
    assert message.startswith("cannot serve metrics on 10.1.2.3:9464: ")
    assert words in message


@pytest.mark.parametrize("port", [-1, 65536, "65536"])
def test_port_out_of_range(port: int | str) -> None:
    with pytest.raises(gilwise.InvalidOption, match="0 picks a free one"):
        gilwise.PrometheusExporter(port=port)


@pytest.mark.e2e
@pytest.mark.timeout(30)
@pytest.mark.parametrize("port", ["0", " 0 "])
def test_a_numeric_string_port_is_taken(port: str) -> None:
    exporter = gilwise.PrometheusExporter(registry=CollectorRegistry(), port=port)
    gilwise.start(metrics=exporter)
    try:
        assert isinstance(exporter.port, int)
        assert "gilwise_threads" in _scrape(str(exporter.url))
    finally:
        gilwise.stop()


@pytest.mark.parametrize("port", ["http", "94.64", "", True, 9464.0, "\u00b2"])
def test_a_port_that_is_not_a_whole_number_says_what_to_pass(port: Any) -> None:
    with pytest.raises(gilwise.InvalidOption) as caught:
        gilwise.PrometheusExporter(port=port)
    assert str(caught.value) == (
        f"port must be a whole number from 0 to 65535, got {port!r}; "
        "pass e.g. port=9464, or port=0 for any free one"
    )


@pytest.mark.parametrize("metrics", ["prometheus", [object()], 3])
def test_metrics_takes_exporters_only(metrics: Any) -> None:
    with pytest.raises(gilwise.InvalidOption, match="PrometheusExporter"):
        gilwise.start(metrics=metrics)


def test_the_same_exporter_twice_is_refused() -> None:
    exporter = gilwise.PrometheusExporter(registry=CollectorRegistry())
    with pytest.raises(gilwise.InvalidOption, match="twice"):
        gilwise.start(metrics=[exporter, exporter])


def test_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "prometheus_client", None)  # import fails
    with pytest.raises(gilwise.ExtraNotInstalled, match=r"pip install gilwise\[prometheus\]"):
        gilwise.PrometheusExporter()


# -- the collector on synthetic statistics ------------------------------------------------


def _collect(monitor: FakeMonitor) -> dict[str, Any]:
    registry = CollectorRegistry()
    registry.register(GilwiseCollector(monitor))  # type: ignore[arg-type]
    return _families(generate_latest(registry).decode())


def test_registering_does_not_read_the_monitor() -> None:
    monitor = FakeMonitor()
    CollectorRegistry().register(GilwiseCollector(monitor))  # type: ignore[arg-type]
    assert monitor.reads == 0


def test_one_scrape_reads_the_monitor_once() -> None:
    monitor = FakeMonitor()
    _collect(monitor)
    assert monitor.reads == 1


def test_loops_of_one_thread_add_up() -> None:
    loops = (loop_stats(lag=(0.001, 0.2), stalls=1), loop_stats(lag=(0.003,), stalls=2))
    families = _collect(FakeMonitor(statistics(loops)))
    assert _sample(families, "gilwise_loop_stalls", "_total", thread="MainThread") == 3
    assert _sample(families, "gilwise_loop_lag_seconds", "_count", thread="MainThread") == 3
    assert _sample(families, "gilwise_loops", thread="MainThread") == 2


def test_thread_labels_are_bounded_and_stable() -> None:
    labels = ThreadLabels()
    names = [f"worker-{i}" for i in range(MAX_THREAD_LABELS + 5)]
    given_labels = [labels.label(name) for name in names]
    assert given_labels[:MAX_THREAD_LABELS] == names[:MAX_THREAD_LABELS]
    assert set(given_labels[MAX_THREAD_LABELS:]) == {"other"}
    assert labels.label("worker-0") == "worker-0"


@given(
    st.lists(st.floats(min_value=0, max_value=100), max_size=50),
    st.lists(st.floats(min_value=0, max_value=100), max_size=50),
)
def test_histograms_are_well_formed(lag: list[float], gil: list[float]) -> None:
    stats = statistics((loop_stats(lag=tuple(lag)),), gil=tuple(gil))
    families = _collect(FakeMonitor(stats))
    for name, labels, n in (
        ("gilwise_loop_lag_seconds", {"thread": "MainThread"}, len(lag)),
        ("gilwise_gil_wait_seconds", {}, len(gil)),
    ):
        buckets = [
            s
            for s in families[name].samples
            if s.name == name + "_bucket" and all(s.labels.get(k) == v for k, v in labels.items())
        ]
        assert [float(s.labels["le"]) for s in buckets] == [*BUCKETS_S, float("inf")]
        values = [s.value for s in buckets]
        assert values == sorted(values)
        assert values[-1] == n == _sample(families, name, "_count", **labels)
