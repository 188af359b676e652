"""The library interface to the monitor: ``watch()``, ``start()`` and ``stop()``.

One monitor runs per process at a time (the sampler is process-wide state), guarded
by a lock, with the metrics exporters attached to it. After ``fork`` the child disables
the monitor it inherited: the child has no sampler thread (nor the parent's metrics
server thread), so it gets a fresh, stopped state and may start its own.
"""

from __future__ import annotations

import os
import threading
import warnings
from collections.abc import Iterable
from types import TracebackType

from ._errors import InvalidOption, MonitorAlreadyRunning, MonitorNotRunning
from .monitor import Monitor, MonitorConfig
from .monitor._sampler import import_set_up_modules

# Now, with this module: beside threads that hold the GIL, every file an import reads
# waits for the GIL, and the sampler's thread imported these after watch() started
# (counted from 0.3-0.45 s in beside two CPU-bound threads). A program that imports
# `watch` as it starts (`from gilwise import watch`) pays them then, 2-3 ms.
import_set_up_modules()

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TypeAlias

    from .integrations import OpenTelemetryExporter, PrometheusExporter
    from .monitor import Report

    #: What ``metrics=`` takes: one exporter, or several.
    Exporter: TypeAlias = "PrometheusExporter | OpenTelemetryExporter"
    Metrics: TypeAlias = "Exporter | Iterable[Exporter]"

#: Stall records logged a minute by ``start()`` and ``watch()``, by default.
STALL_LOGS_PER_MINUTE = 6.0

_lock = threading.Lock()
_active: Monitor | None = None
_exporters: tuple[Exporter, ...] = ()


def _reset_after_fork() -> None:
    # The parent's sampler thread does not exist in the child, and the lock may have
    # been held at fork time: start the child clean rather than inherit either.
    global _lock, _active, _exporters
    _lock = threading.Lock()
    _active = None
    _exporters = ()  # their servers live in the parent: drop them, never shut them down


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def start(
    *,
    interval: float = 0.01,
    stall_ms: float = 100.0,
    metrics: Metrics | None = None,
    stall_logs_per_minute: float = STALL_LOGS_PER_MINUTE,
) -> Monitor:
    """Start the process-wide monitor for a long-running service; :func:`stop` ends it.

    ``metrics`` exports the monitor's figures while it runs: a
    :class:`~gilwise.PrometheusExporter`, an :class:`~gilwise.OpenTelemetryExporter`,
    or several of them in a list. Each reads the monitor when its backend asks (a
    scrape, a collection), and :func:`stop` detaches it (and closes its endpoint).
    Stalls also go to the ``gilwise`` logger with their stack, at most
    ``stall_logs_per_minute`` records a minute (0: none). The monitor's set-up (its
    imports, finding the GIL's futex) is done before it returns, a few ms the first
    time in a process: left to its thread, beside threads that hold the GIL, it took
    0.1-0.15 s, and the GIL count began that late.

    Example:
        >>> import gilwise
        >>> monitor = gilwise.start(interval=0.01, stall_ms=100)
        >>> report = gilwise.stop()
        >>> report.verdicts[0].code
        'NO_ISSUE'

        A service with a Prometheus endpoint on 127.0.0.1:9464::

            gilwise.start(metrics=gilwise.PrometheusExporter(port=9464))
    """
    global _active, _exporters
    exporters = _exporters_of(metrics)
    monitor = Monitor(
        MonitorConfig(
            interval_s=interval, stall_ms=stall_ms, stall_logs_per_minute=stall_logs_per_minute
        )
    )
    with _lock:
        if _active is not None:
            raise MonitorAlreadyRunning(
                "a gilwise monitor is already running in this process; "
                "call gilwise.stop() first or use its report"
            )
        _active = monitor
    monitor.set_up_early()  # before the caller's threads start, where they have not yet
    monitor.start()
    try:
        _attach_all(exporters, monitor)
    except BaseException:
        with _lock:
            if _active is monitor:
                _active = None
        monitor.stop()
        raise
    with _lock:
        _exporters = exporters
    _watch_running_loop(monitor)
    return monitor


def stop() -> Report:
    """Stop the monitor started by :func:`start`, detach its exporters, return its report."""
    global _active, _exporters
    with _lock:
        monitor, _active = _active, None
        exporters, _exporters = _exporters, ()
    if monitor is None:
        raise MonitorNotRunning("no gilwise monitor is running; call gilwise.start() first")
    _detach_all(exporters)
    return monitor.stop()


def _exporters_of(metrics: Metrics | None) -> tuple[Exporter, ...]:
    if metrics is None:
        return ()
    from .integrations._metrics import _Exporter

    if isinstance(metrics, _Exporter):
        items: tuple[object, ...] = (metrics,)
    elif isinstance(metrics, Iterable) and not isinstance(metrics, (str, bytes)):
        items = tuple(metrics)
    else:
        items = (metrics,)
    for item in items:
        if not isinstance(item, _Exporter):
            raise InvalidOption(
                f"metrics= takes gilwise.PrometheusExporter or gilwise.OpenTelemetryExporter "
                f"objects (or a list of them), got {type(item).__name__}"
            )
    if len({id(item) for item in items}) != len(items):
        raise InvalidOption("metrics= lists the same exporter twice; give each one once")
    return items  # type: ignore[return-value]  # each item checked above


def _attach_all(exporters: tuple[Exporter, ...], monitor: Monitor) -> None:
    attached: list[Exporter] = []
    try:
        for exporter in exporters:
            exporter._attach(monitor)
            attached.append(exporter)
    except BaseException:
        _detach_all(tuple(attached))
        raise


def _detach_all(exporters: tuple[Exporter, ...]) -> None:
    for exporter in exporters:
        try:
            exporter._detach()
        except Exception as exc:  # the report matters more than a clean endpoint shutdown
            warnings.warn(
                f"gilwise: could not stop the {type(exporter).__name__}: {exc}",
                RuntimeWarning,
                stacklevel=3,
            )


def _watch_running_loop(monitor: Monitor) -> None:
    # Started from inside a coroutine: watch that loop at once rather than wait for
    # the sampler to find it on the stack.
    import sys

    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return
    try:
        loop = asyncio.get_running_loop()
    except RuntimeError:
        return
    monitor.add_loop(loop)


class Watch:
    """A monitoring session as a context manager; see :func:`watch`."""

    def __init__(
        self,
        interval: float,
        stall_ms: float,
        metrics: Metrics | None = None,
        stall_logs_per_minute: float = STALL_LOGS_PER_MINUTE,
    ) -> None:
        self._config = MonitorConfig(
            interval_s=interval, stall_ms=stall_ms, stall_logs_per_minute=stall_logs_per_minute
        )
        self._metrics = metrics
        self._monitor: Monitor | None = None
        self._report: Report | None = None

    def __enter__(self) -> Watch:
        self._monitor = start(
            interval=self._config.interval_s,
            stall_ms=self._config.stall_ms,
            metrics=self._metrics,
            stall_logs_per_minute=self._config.stall_logs_per_minute,
        )
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        global _active, _exporters
        monitor = self._monitor
        if monitor is None:
            return
        exporters: tuple[Exporter, ...] = ()
        with _lock:
            if _active is monitor:
                _active = None
                exporters, _exporters = _exporters, ()
        _detach_all(exporters)
        self._report = monitor.stop()

    @property
    def report(self) -> Report:
        """The report, available once the ``with`` block has ended."""
        if self._report is None:
            raise MonitorNotRunning(
                "the report is ready when the `with gilwise.watch()` block ends; "
                "use .snapshot() for figures so far"
            )
        return self._report

    def snapshot(self) -> Report:
        """The figures so far, without stopping the monitor."""
        if self._monitor is None:
            raise MonitorNotRunning("enter the `with gilwise.watch()` block first")
        return self._monitor.report()

    def add_loop(self, loop: Any) -> None:
        """Watch an event loop the sampler may not find by itself (run by this thread)."""
        if self._monitor is None:
            raise MonitorNotRunning("enter the `with gilwise.watch()` block first")
        self._monitor.add_loop(loop)


def watch(
    *,
    interval: float = 0.01,
    stall_ms: float = 100.0,
    metrics: Metrics | None = None,
    stall_logs_per_minute: float = STALL_LOGS_PER_MINUTE,
) -> Watch:
    """Monitor the code in a ``with`` block; the report is on the result afterwards.

    ``metrics`` and ``stall_logs_per_minute`` work as in :func:`start`. Import it as
    the program starts (``from gilwise import watch``): loaded for the first time beside
    threads that hold the GIL, its modules took 1.3-1.7 s to import.

    Example:
        >>> import gilwise, threading
        >>> with gilwise.watch(interval=0.01) as w:
        ...     t = threading.Thread(target=sum, args=(range(10_000),))
        ...     t.start(); t.join()
        >>> w.report.schema
        'gilwise.run/1'
    """
    return Watch(
        interval=interval,
        stall_ms=stall_ms,
        metrics=metrics,
        stall_logs_per_minute=stall_logs_per_minute,
    )
