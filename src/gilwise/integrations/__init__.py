"""Integrations: metrics exporters (Prometheus, OpenTelemetry) and the pytest plugin.

The exporters load on first use, and their backends (``prometheus_client``,
``opentelemetry-api``) only when an exporter is made: the pytest plugin, loaded by
every pytest run where gilwise is installed, imports nothing heavy.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._otel import OpenTelemetryExporter
    from ._prometheus import PrometheusExporter

__all__ = ["OpenTelemetryExporter", "PrometheusExporter"]


def __getattr__(name: str) -> object:
    if name == "PrometheusExporter":
        from ._prometheus import PrometheusExporter

        return PrometheusExporter
    if name == "OpenTelemetryExporter":
        from ._otel import OpenTelemetryExporter

        return OpenTelemetryExporter
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
