"""Integrations: metrics exporters (Prometheus, OpenTelemetry), the notebook magics and
the pytest plugin.

The exporters and the magics load on first use, and their backends
(``prometheus_client``, ``opentelemetry-api``, IPython) only when one is made: the pytest
plugin, loaded by every pytest run where gilwise is installed, imports nothing heavy.
"""

from __future__ import annotations

from .._core._lazy import attribute

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._ipython import load_ipython_extension as load_ipython_extension
    from ._otel import OpenTelemetryExporter
    from ._prometheus import PrometheusExporter

__all__ = ["OpenTelemetryExporter", "PrometheusExporter"]

_LAZY = {
    "OpenTelemetryExporter": "._otel",
    "PrometheusExporter": "._prometheus",
    # Not for users here: ``gilwise.load_ipython_extension`` is the public name.
    "load_ipython_extension": "._ipython",
}


def __getattr__(name: str) -> object:
    return attribute(__name__, _LAZY, name)
