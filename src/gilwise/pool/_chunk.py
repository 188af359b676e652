"""One chunk of items run where the map cannot see inside: a dask worker, another interpreter.

``run_chunk`` runs there and returns plain data; ``chunk_outcomes`` turns that back
into the map's outcomes here. A per-item timeout is kept there by running the call
in a helper thread and abandoning it (its result dropped) when it runs too long:
neither a dask task nor a sub-interpreter can be stopped from outside.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable, Iterable
from typing import Any

from ._chunking import ChunkSizer
from ._engine import failed
from ._remote import pack_error, unpack_error
from ._timeouts import timeout_error
from ._types import ChunkDone, Outcome, Run, RunSettings

#: Stands for "this item ran past its timeout" in a chunk's errors.
TIMED_OUT = "timeout"


def run_chunk(
    fn: Callable[[Any], Any], items: list[Any], timeout: float | None
) -> tuple[list[Any], dict[int, Any], float]:
    """The chunk's values (None where an item failed), its errors by position, its run time."""
    started = time.perf_counter()
    values: list[Any] = []
    errors: dict[int, Any] = {}
    for position, item in enumerate(items):
        try:
            values.append(fn(item) if timeout is None else _with_timeout(fn, item, timeout))
        except _TimedOut:
            values.append(None)
            errors[position] = TIMED_OUT
        except Exception as exc:
            values.append(None)
            errors[position] = pack_error(exc)
    return values, errors, time.perf_counter() - started


class _TimedOut(Exception):
    pass


def _with_timeout(fn: Callable[[Any], Any], item: Any, timeout: float) -> Any:
    pool = concurrent.futures.ThreadPoolExecutor(1)
    try:
        return pool.submit(fn, item).result(timeout)
    except concurrent.futures.TimeoutError:
        raise _TimedOut from None
    finally:
        pool.shutdown(wait=False)


def chunk_outcomes(
    chunk: Run,
    values: list[Any],
    errors: dict[int, Any],
    *,
    timeout: float | None,
    backend: str,
) -> list[Outcome | ChunkDone]:
    """What ``run_chunk`` returned for ``chunk``, as the map's outcomes."""
    if not errors:
        return [ChunkDone(chunk.start, values)]
    out: list[Outcome | ChunkDone] = []
    for k, task in enumerate(chunk.tasks()):
        if k not in errors:
            out.append(Outcome(task, values[k]))
        elif errors[k] == TIMED_OUT:
            out.append(Outcome(task, None, timeout_error(task, timeout or 0.0, backend)))
        else:
            out.append(Outcome(task, None, unpack_error(errors[k])))
    return out


class FutureChunks:
    """What the dask and interpreter backends share: chunks go out as futures of
    ``run_chunk``, sized like the process backend's, and come back as outcomes.

    A subclass sends a chunk (``_send``) and waits for futures (``poll``).
    """

    name: str
    workers: int

    def __init__(self) -> None:
        self._futures: dict[Any, Run] = {}
        self._settings: RunSettings | None = None
        self._sizer = ChunkSizer(None)

    def begin(self, settings: RunSettings) -> None:
        self._settings = settings
        self._sizer = ChunkSizer.for_map(settings.chunksize, settings.buffersize, self.workers)

    def capacity(self) -> int:
        held = sum(len(chunk.items) for chunk in self._futures.values())
        return max(0, 2 * self.workers * self._sizer.size() - held)

    def submit(self, runs: list[Run]) -> None:
        assert self._settings is not None
        size = self._sizer.size()
        for run in runs:
            while run.items:
                chunk, run = run.split(size)
                self._futures[self._send(self._settings, chunk.items)] = chunk

    def _send(self, settings: RunSettings, items: list[Any]) -> Any:
        """A future of ``run_chunk(settings.fn, items, settings.timeout)``."""
        raise NotImplementedError

    def _collect(self, done: Iterable[Any]) -> list[Outcome | ChunkDone]:
        """The outcomes of futures that are done."""
        out: list[Outcome | ChunkDone] = []
        for future in done:
            chunk = self._futures.pop(future)
            try:
                values, errors, elapsed = future.result()
            except Exception as exc:
                # The chunk did not run to its end (a dask worker lost too often, an item
                # that cannot be sent over): every item gets the error.
                out.extend(failed(task, exc) for task in chunk.tasks())
                continue
            self._sizer.observe(len(values), elapsed)
            limit = self._settings.timeout if self._settings else None
            out.extend(chunk_outcomes(chunk, values, errors, timeout=limit, backend=self.name))
        return out

    def chunksize(self) -> int:
        return self._sizer.size()

    def deaths(self) -> int:
        return 0
