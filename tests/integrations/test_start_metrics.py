"""gilwise.start(metrics=...) / watch(metrics=...): exporters follow the monitor's life."""

from __future__ import annotations

import os
import urllib.request

import pytest
from prometheus_client import CollectorRegistry, generate_latest

import gilwise
import gilwise._watch as watch_module
from gilwise.integrations._metrics import _Exporter
from gilwise.monitor import Monitor

from ..test_watch import _answer_from_child


def test_watch_block_exports_while_it_runs() -> None:
    registry = CollectorRegistry()
    with gilwise.watch(metrics=gilwise.PrometheusExporter(registry=registry)):
        assert "gilwise_threads" in generate_latest(registry).decode()
    assert "gilwise" not in generate_latest(registry).decode()


class _StuckExporter(_Exporter):
    def _start(self, monitor: Monitor) -> None:
        pass

    def _stop(self) -> None:
        raise OSError("socket wedged")


def test_an_exporter_that_cannot_stop_still_lets_stop_return_the_report() -> None:
    gilwise.start(metrics=_StuckExporter())  # type: ignore[arg-type]
    with pytest.warns(RuntimeWarning, match="socket wedged"):
        report = gilwise.stop()
    assert report.complete


@pytest.mark.e2e
@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.timeout(30)
def test_forked_child_leaves_the_parents_endpoint_alone() -> None:
    exporter = gilwise.PrometheusExporter(registry=CollectorRegistry(), port=0)

    def child() -> bytes:  # no exporters inherited; its own monitor starts and stops
        if watch_module._exporters:
            return b"inherited exporters"
        gilwise.start()
        gilwise.stop()
        return b"ok"

    gilwise.start(metrics=exporter)
    try:
        assert _answer_from_child(child) == b"ok"
        with urllib.request.urlopen(str(exporter.url), timeout=10) as response:
            assert response.status == 200  # the parent's server still answers
    finally:
        gilwise.stop()
