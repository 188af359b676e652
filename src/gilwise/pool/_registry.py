"""Backends by short name, imported only when a map asks for them.

Each pool backend's row in ``gilwise._core._backends`` names its module; the module
defines ``make_backend(options: BackendOptions) -> Backend``.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from .._core._backends import BACKENDS, BackendSpec, pool_backends
from .._errors import ExtraNotInstalled, InvalidOption
from ._types import Backend


def usable_cores() -> int:
    """Cores this process may use (affinity and cgroup quota), at least 1."""
    from .._core._clocks import core_budget

    return max(1, int(core_budget().usable))


def default_workers(name: str) -> int:
    """The worker count when the caller gives none: what each model can use well."""
    wanted = BACKENDS[name].default_workers
    if wanted == "cores":
        return usable_cores()
    if wanted == "threads":
        # concurrent.futures' own default for threads (bounded, I/O-friendly).
        return min(32, (os.cpu_count() or 1) + 4)
    if wanted is None:
        # The row leaves the count to its backend (dask: the cluster's), which never asks.
        raise LookupError(f"the {name} backend's row gives no default worker count")
    return wanted


@dataclass(frozen=True)
class BackendOptions:
    """What a backend module's ``make_backend`` is given: the map's pool settings."""

    name: str
    #: As the caller gave it; None: the row's default (:meth:`worker_count`).
    workers: int | None
    start_method: str | None
    blas_threads: int | None
    client: Any = None
    #: How many items the map has, where known (a list, a range): more workers than
    #: that would never get one (pmap of 3 items started 16 processes).
    items: int | None = None

    def worker_count(self) -> int:
        """The caller's worker count, else the backend's default; at most one per item."""
        workers = self.workers or default_workers(self.name)
        return workers if self.items is None else max(1, min(workers, self.items))


def make_backend(
    name: str,
    workers: int | None,
    *,
    start_method: str | None,
    blas_threads: int | None,
    client: Any = None,
    items: int | None = None,
) -> Backend:
    """A fresh backend with its workers not yet started (``items``: the map's length, if
    known, which caps them)."""
    make = _factory(_pool_spec(name))
    return make(BackendOptions(name, workers, start_method, blas_threads, client, items))


def _pool_spec(name: str) -> BackendSpec:
    spec = BACKENDS.get(name)
    if spec is None or spec.module is None:
        raise InvalidOption(
            f"unknown backend {name!r}; use one of auto, {', '.join(pool_backends())}"
        )
    return spec


def _factory(spec: BackendSpec) -> Callable[[BackendOptions], Backend]:
    """The row's ``make_backend``; an import that fails for a missing extra says so."""
    assert spec.module is not None
    try:
        module = importlib.import_module(spec.module)
    except ImportError as exc:
        if spec.extra is None:
            raise
        raise ExtraNotInstalled(
            f"the {spec.name} backend needs {spec.requires} ({exc}); "
            f"pip install gilwise[{spec.extra}]"
        ) from None
    make: Callable[[BackendOptions], Backend] = module.make_backend
    return make
