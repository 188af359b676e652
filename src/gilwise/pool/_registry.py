"""Backends by short name, imported only when a map asks for them."""

from __future__ import annotations

import os
from typing import Any

from .._errors import ExtraNotInstalled, InvalidOption
from ._types import Backend

NAMES = ("serial", "thread", "process", "asyncio", "interpreter", "dask")


def usable_cores() -> int:
    """Cores this process may use (affinity and cgroup quota), at least 1."""
    from ..monitor._cpu import core_budget

    return max(1, int(core_budget().usable))


def default_workers(name: str) -> int:
    """The worker count when the caller gives none: what each model can use well."""
    if name == "serial":
        return 1
    if name in ("process", "interpreter"):
        return usable_cores()
    if name == "asyncio":
        # Concurrency of a coroutine map: waits overlap; the event loop, not cores, limits it.
        return 64
    # concurrent.futures' own default for threads (bounded, I/O-friendly).
    return min(32, (os.cpu_count() or 1) + 4)


def make_backend(
    name: str,
    workers: int | None,
    *,
    start_method: str | None,
    blas_threads: int | None,
    client: Any = None,
) -> Backend:
    """A fresh backend with its workers not yet started."""
    if name == "serial":
        from ._serial import SerialBackend

        return SerialBackend()
    if name == "thread":
        from ._thread import ThreadBackend

        return ThreadBackend(workers or default_workers(name))
    if name == "process":
        from ._process import ProcessBackend

        return ProcessBackend(
            workers or default_workers(name), start_method=start_method, blas_threads=blas_threads
        )
    if name == "asyncio":
        from ._asyncio import LoopThreadBackend

        return LoopThreadBackend(workers or default_workers(name))
    if name == "interpreter":
        from ._interpreter import ExecutorBackend, interpreter_pool

        return ExecutorBackend(name, workers or default_workers(name), interpreter_pool)
    if name == "dask":
        try:
            from ._dask import DaskBackend
        except ImportError as exc:
            raise ExtraNotInstalled(
                f"the dask backend needs distributed ({exc}); pip install gilwise[dask]"
            ) from None
        return DaskBackend(workers, client=client)
    raise InvalidOption(f"unknown backend {name!r}; use one of auto, {', '.join(NAMES)}")
