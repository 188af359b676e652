"""Prometheus export: the exporter object; the collector lives in ``_prometheus_collector``.

This module imports without prometheus_client, so a missing extra is reported by
the exporter's constructor with the command that installs it.
"""

from __future__ import annotations

from .._errors import ExtraNotInstalled, InvalidOption, MetricsExportFailed
from ._metrics import _Exporter

TYPE_CHECKING = False
if TYPE_CHECKING:
    import threading
    from wsgiref.simple_server import WSGIServer

    from prometheus_client.registry import CollectorRegistry

    from ..monitor import Monitor
    from ._prometheus_collector import GilwiseCollector


def _require_prometheus_client() -> None:
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        raise ExtraNotInstalled(
            "PrometheusExporter needs prometheus_client, which is not installed: "
            "pip install gilwise[prometheus]"
        ) from None


class PrometheusExporter(_Exporter):
    """Exports the monitor's figures to Prometheus through ``prometheus_client``.

    With ``port``, gilwise serves ``http://ADDR:PORT/metrics`` itself, on 127.0.0.1
    unless ``addr`` says otherwise (``port=0`` picks a free port; read it back from
    :attr:`port`). Without ``port``, the figures join ``registry`` (default: the
    process-wide ``prometheus_client.REGISTRY``), for the endpoint your service
    already serves. The series are read from the monitor at scrape time.

    Example:
        >>> import gilwise
        >>> exporter = gilwise.PrometheusExporter(port=0)  # doctest: +SKIP
        >>> gilwise.start(metrics=exporter)  # doctest: +SKIP
        >>> exporter.url  # doctest: +SKIP
        'http://127.0.0.1:43117/metrics'
    """

    def __init__(
        self,
        *,
        registry: CollectorRegistry | None = None,
        port: int | None = None,
        addr: str = "127.0.0.1",
    ) -> None:
        _require_prometheus_client()
        super().__init__()
        if port is not None and not (0 <= port <= 65535):
            raise InvalidOption(f"port must be between 0 and 65535, got {port}; 0 picks a free one")
        self._registry = registry
        self._requested_port = port
        self.addr = addr
        self._collector: GilwiseCollector | None = None
        self._active_registry: CollectorRegistry | None = None
        self._server: WSGIServer | None = None
        self._server_thread: threading.Thread | None = None
        self._bound_port: int | None = None

    @property
    def port(self) -> int | None:
        """The port the endpoint listens on while exporting (None without ``port``)."""
        return self._bound_port

    @property
    def url(self) -> str | None:
        """The metrics endpoint's address while exporting (None without ``port``)."""
        if self._bound_port is None:
            return None
        host = f"[{self.addr}]" if ":" in self.addr else self.addr
        return f"http://{host}:{self._bound_port}/metrics"

    def _start(self, monitor: Monitor) -> None:
        from prometheus_client import REGISTRY, start_http_server

        from ._prometheus_collector import GilwiseCollector

        registry = self._registry if self._registry is not None else REGISTRY
        collector = GilwiseCollector(monitor)
        try:
            registry.register(collector)
        except ValueError as exc:  # the names are taken: another gilwise exporter is there
            raise MetricsExportFailed(
                f"cannot add gilwise's metrics to the registry: {exc}; a registry takes one "
                "running gilwise exporter: stop the other one or pass another registry"
            ) from None
        if self._requested_port is not None:
            try:
                server, thread = start_http_server(
                    self._requested_port, addr=self.addr, registry=registry
                )
            except OSError as exc:
                registry.unregister(collector)
                raise MetricsExportFailed(
                    f"cannot serve metrics on {self.addr}:{self._requested_port}: "
                    f"{exc.strerror or exc}; pick a free port, or port=0 for any free one"
                ) from None
            self._server, self._server_thread = server, thread
            self._bound_port = int(server.server_address[1])
        self._collector = collector
        self._active_registry = registry

    def _stop(self) -> None:
        collector, self._collector = self._collector, None
        registry, self._active_registry = self._active_registry, None
        if collector is not None and registry is not None:
            registry.unregister(collector)
        server, self._server = self._server, None
        thread, self._server_thread = self._server_thread, None
        self._bound_port = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join(timeout=5.0)
