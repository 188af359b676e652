"""The library interface to the monitor: ``watch()``, ``start()`` and ``stop()``.

One monitor runs per process at a time (the sampler is process-wide state), guarded
by a lock. After ``fork`` the child disables the monitor it inherited: the child has
no sampler thread, so it gets a fresh, stopped state and may start its own.
"""

from __future__ import annotations

import os
import threading
from types import TracebackType

from ._errors import MonitorAlreadyRunning, MonitorNotRunning
from .monitor import Monitor, MonitorConfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from .monitor import Report

_lock = threading.Lock()
_active: Monitor | None = None


def _reset_after_fork() -> None:
    # The parent's sampler thread does not exist in the child, and the lock may have
    # been held at fork time: start the child clean rather than inherit either.
    global _lock, _active
    _lock = threading.Lock()
    _active = None


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_reset_after_fork)


def start(*, interval: float = 0.01, stall_ms: float = 100.0) -> Monitor:
    """Start the process-wide monitor for a long-running service; :func:`stop` ends it.

    Example:
        >>> import gilwise
        >>> monitor = gilwise.start(interval=0.01, stall_ms=100)
        >>> report = gilwise.stop()
        >>> report.verdicts[0].code
        'NO_ISSUE'
    """
    global _active
    monitor = Monitor(MonitorConfig(interval_s=interval, stall_ms=stall_ms))
    with _lock:
        if _active is not None:
            raise MonitorAlreadyRunning(
                "a gilwise monitor is already running in this process; "
                "call gilwise.stop() first or use its report"
            )
        _active = monitor
    monitor.start()
    _watch_running_loop(monitor)
    return monitor


def stop() -> Report:
    """Stop the monitor started by :func:`start` and return its report."""
    global _active
    with _lock:
        monitor, _active = _active, None
    if monitor is None:
        raise MonitorNotRunning("no gilwise monitor is running; call gilwise.start() first")
    return monitor.stop()


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

    def __init__(self, interval: float, stall_ms: float) -> None:
        self._config = MonitorConfig(interval_s=interval, stall_ms=stall_ms)
        self._monitor: Monitor | None = None
        self._report: Report | None = None

    def __enter__(self) -> Watch:
        self._monitor = start(interval=self._config.interval_s, stall_ms=self._config.stall_ms)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        global _active
        monitor = self._monitor
        if monitor is None:
            return
        with _lock:
            if _active is monitor:
                _active = None
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


def watch(*, interval: float = 0.01, stall_ms: float = 100.0) -> Watch:
    """Monitor the code in a ``with`` block; the report is on the result afterwards.

    Example:
        >>> import gilwise, threading
        >>> with gilwise.watch(interval=0.01) as w:
        ...     t = threading.Thread(target=sum, args=(range(10_000),))
        ...     t.start(); t.join()
        >>> w.report.schema
        'gilwise.run/1'
    """
    return Watch(interval=interval, stall_ms=stall_ms)
