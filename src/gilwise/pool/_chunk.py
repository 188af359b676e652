"""One chunk of items run where the map cannot see inside: a dask worker, another interpreter.

``run_chunk`` runs there and returns plain data; ``chunk_outcomes`` turns that back
into the map's outcomes here. A per-item timeout is kept there by running the call
in a helper thread and abandoning it (its result dropped) when it runs too long:
neither a dask task nor a sub-interpreter can be stopped from outside.
"""

from __future__ import annotations

import concurrent.futures
import time
from collections.abc import Callable
from typing import Any

from ._remote import pack_error, unpack_error
from ._timeouts import timeout_error
from ._types import ChunkDone, Outcome, Run

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
