"""The interpreter backend: chunks of items on CPython 3.14's ``InterpreterPoolExecutor``.

Each worker is a thread running its own interpreter with its own GIL, so calls that
hold the GIL run in parallel without worker processes. The function and the items
cross by pickle: the function must be importable by name (as under ``spawn``), and
cloudpickle is no help, since each interpreter imports modules afresh. A running
call cannot be interrupted: a per-item ``timeout`` abandons it in its interpreter
(a helper thread there) and drops its result, as on dask.

The backend only needs a ``concurrent.futures.Executor``: where the pool does not
exist, tests run it on a thread pool that pickles what it is given instead.
"""

from __future__ import annotations

import concurrent.futures as cf
import pickle
import time
from collections.abc import Callable, Sequence
from typing import Any

from .._errors import InvalidOption
from ._chunk import FutureChunks, run_chunk
from ._registry import BackendOptions
from ._types import ChunkDone, Outcome, RunSettings


def interpreter_pool(workers: int) -> cf.Executor:
    """CPython's pool of sub-interpreters, or an error that says what to use instead."""
    pool_class = getattr(cf, "InterpreterPoolExecutor", None)
    if pool_class is None:
        raise InvalidOption(
            "backend='interpreter' needs CPython 3.14's "
            "concurrent.futures.InterpreterPoolExecutor, which this Python lacks; use "
            "backend='process' for calls that hold the GIL, or run on CPython 3.14+"
        )
    executor: cf.Executor = pool_class(workers)
    return executor


def _check_importable(fn: Callable[[Any], Any]) -> None:
    try:
        pickle.dumps(fn)
    except Exception as exc:
        raise InvalidOption(
            f"{getattr(fn, '__qualname__', fn)!r} cannot be sent to another interpreter "
            f"({exc}): give a function defined at the top of a module, not a lambda, "
            "closure or local function, or use backend='process' (which sends those "
            "with cloudpickle) or 'thread'"
        ) from None


class ExecutorBackend(FutureChunks):
    """Chunks as futures of a ``concurrent.futures`` executor."""

    def __init__(
        self, name: str, workers: int, make_executor: Callable[[int], cf.Executor]
    ) -> None:
        super().__init__()
        self.name = name
        self.workers = workers
        self._executor = make_executor(workers)

    def begin(self, settings: RunSettings) -> None:
        _check_importable(settings.fn)
        super().begin(settings)

    def _send(self, settings: RunSettings, items: list[Any]) -> Any:
        return self._executor.submit(run_chunk, settings.fn, items, settings.timeout)

    def poll(self, timeout: float | None) -> Sequence[Outcome | ChunkDone]:
        if not self._futures:
            if timeout:
                time.sleep(timeout)
            return []
        done, _ = cf.wait(self._futures, timeout=timeout, return_when=cf.FIRST_COMPLETED)
        return self._collect(done)

    def end(self, *, abandon: bool) -> None:
        # Queued chunks are dropped; a chunk already running finishes in the background.
        for future in self._futures:
            future.cancel()
        self._futures.clear()

    def close(self) -> None:
        self.end(abandon=True)
        self._executor.shutdown(wait=False, cancel_futures=True)


def make_backend(options: BackendOptions) -> ExecutorBackend:
    # interpreter_pool is looked up here, at each call: tests before 3.14 replace it.
    return ExecutorBackend(options.name, options.worker_count(), interpreter_pool)
