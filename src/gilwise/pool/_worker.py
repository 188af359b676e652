"""The child side of the process backend: receive chunks on a pipe, run them, send results.

Kept small and free of gilwise's heavier imports; the parent learns which item is
running from ``slot`` (shared memory: the item's index and when it started), so it
can blame the right item when the worker dies and time out the one that runs too long
without a message per item.
"""

from __future__ import annotations

import os
import pickle
import signal
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from ._remote import pack_error

#: Native thread pools (OpenBLAS, MKL, OpenMP) read these when they load: set before
#: the user's function imports numpy, they stop N workers x N BLAS threads.
_BLAS_ENV = (
    "OMP_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "MKL_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
    "NUMEXPR_NUM_THREADS",
)


def main(conn: Connection, slot: Any, blas_threads: int | None) -> None:
    """Serve chunks until the parent sends None or goes away."""
    # Ctrl-C reaches the whole process group; the parent decides what stops, and kills us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if blas_threads is not None:
        for name in _BLAS_ENV:
            os.environ[name] = str(blas_threads)
        _limit_blas(blas_threads)
    fn: Callable[[Any], Any] | None = None
    load_error: BaseException | None = None
    while True:
        try:
            message = conn.recv()
        except (EOFError, OSError):
            return
        if message is None:
            return
        if message[0] == "fn":
            fn, load_error = None, None
            try:
                fn = pickle.loads(message[2])
            except Exception as exc:
                load_error = exc
            if blas_threads is not None:
                # Unpickling imported the function's modules, maybe numpy: limit what loaded.
                _limit_blas(blas_threads)
            continue
        _, chunk_id, tasks = message
        started = time.perf_counter()
        values, errors = _run_chunk(fn, load_error, tasks, slot)
        _send(conn, ("done", chunk_id, values, errors, time.perf_counter() - started))


def _run_chunk(
    fn: Callable[[Any], Any] | None,
    load_error: BaseException | None,
    tasks: list[tuple[int, Any]],
    slot: Any,
) -> tuple[list[Any], dict[int, Any]]:
    """The values of a chunk (None where an item failed) and the errors by position."""
    values: list[Any] = []
    errors: dict[int, Any] = {}
    clock = time.monotonic
    for position, (index, item) in enumerate(tasks):
        slot[0] = -1.0
        slot[1] = clock()
        slot[0] = index
        try:
            if fn is None:
                raise RuntimeError(f"the function could not be loaded in the worker: {load_error}")
            values.append(fn(item))
        except Exception as exc:
            values.append(None)
            errors[position] = pack_error(exc)
    slot[0] = -1.0
    return values, errors


def _send(conn: Connection, message: tuple[Any, ...]) -> None:
    try:
        conn.send(message)
        return
    except (pickle.PicklingError, TypeError, AttributeError):
        pass
    # Some result cannot be pickled: send the others, and an error in its place.
    kind, chunk_id, values, errors, elapsed = message
    for position, value in enumerate(values):
        try:
            pickle.dumps(value)
        except Exception as exc:
            error = TypeError(f"the result cannot be pickled to send it back: {exc}")
            values[position] = None
            errors[position] = pack_error(error)
    conn.send((kind, chunk_id, values, errors, elapsed))


def _limit_blas(threads: int) -> None:
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - a dependency; env vars still apply
        return
    threadpool_limits(limits=threads)
