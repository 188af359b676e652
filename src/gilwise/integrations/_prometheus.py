"""Prometheus export: the exporter object; the collector lives in ``_prometheus_collector``.

This module imports without prometheus_client, so a missing extra is reported by
the exporter's constructor with the command that installs it.
"""

from __future__ import annotations

import errno
import socket

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


def _port_number(port: int | str) -> int:
    """``port`` as a number; a numeric string is taken (ports often come from env vars)."""
    # bool is an int to Python, but port=True is a mistake, not port 1.
    if isinstance(port, str) and port.strip().isdecimal():
        number = int(port)
    elif isinstance(port, int) and not isinstance(port, bool):
        number = port
    else:
        raise InvalidOption(
            f"port must be a whole number from 0 to 65535, got {port!r}; "
            "pass e.g. port=9464, or port=0 for any free one"
        )
    if not 0 <= number <= 65535:
        raise InvalidOption(f"port must be between 0 and 65535, got {port}; 0 picks a free one")
    return number


def _bind_failure(addr: str, port: int, exc: OSError) -> MetricsExportFailed:
    """The error for a failed bind, with the advice that fits its cause."""
    where = f"cannot serve metrics on {addr}:{port}"
    if exc.errno == errno.EADDRINUSE:
        return MetricsExportFailed(
            f"{where}: the address is in use; pick a free port, or port=0 for any free one"
        )
    if exc.errno == errno.EACCES:
        return MetricsExportFailed(
            f"{where}: permission denied; pick a port from 1024 up, or port=0 for any free one"
        )
    # EADDRNOTAVAIL: an address of another machine; gaierror: a name that does not resolve.
    reason = exc.strerror or str(exc)
    if exc.errno == errno.EADDRNOTAVAIL or isinstance(exc, socket.gaierror):
        return MetricsExportFailed(
            f"{where}: cannot bind to that address ({reason}); use addr='127.0.0.1', "
            "addr='0.0.0.0' or an address of this machine"
        )
    return MetricsExportFailed(f"{where}: {reason}; check addr and port")


class PrometheusExporter(_Exporter):
    """Exports the monitor's figures to Prometheus through ``prometheus_client``.

    With ``port`` (a number, or a numeric string such as ``"9464"``), gilwise serves
    ``http://ADDR:PORT/metrics`` itself, on 127.0.0.1 unless ``addr`` says otherwise
    (``port=0`` picks a free port; read it back from :attr:`port`). Without ``port``,
    the figures join ``registry`` (default: the process-wide
    ``prometheus_client.REGISTRY``), for the endpoint your service already serves.
    The series are read from the monitor at scrape time.

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
        port: int | str | None = None,
        addr: str = "127.0.0.1",
    ) -> None:
        _require_prometheus_client()
        super().__init__()
        self._registry = registry
        self._requested_port = None if port is None else _port_number(port)
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
                raise _bind_failure(self.addr, self._requested_port, exc) from None
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
