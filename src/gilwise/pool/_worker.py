"""The child side of the process backend: receive chunks on a pipe, run them, send results.

Kept small and free of gilwise's heavier imports; the parent learns which item is
running from ``slot`` (shared memory: the item's index and when it started), so it
can blame the right item when the worker dies and time out the one that runs too long
without a message per item.
"""

from __future__ import annotations

import importlib.machinery
import os
import pickle
import signal
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import Any

from ._remote import pack_error

#: How often an idle worker checks that its parent is still alive.
_PARENT_CHECK_S = 0.5

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
    # The map's process, or under forkserver the fork server, which exits with it.
    parent = os.getppid()
    # Ctrl-C reaches the whole process group; the parent decides what stops, and kills us.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        # The parent held Ctrl-C back while it forked us; we ignore it from now on.
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    if blas_threads is not None:
        for name in _BLAS_ENV:
            os.environ[name] = str(blas_threads)
    # Writes through a memoryview cost about half of ctypes' __setitem__, once per item.
    running = memoryview(slot).cast("B").cast("d")
    pools = _PoolLimit(blas_threads)
    fn: Callable[[Any], Any] | None = None
    load_error: BaseException | None = None
    timed = False
    while True:
        try:
            message = _next_message(conn, parent)
        except (EOFError, OSError):
            return
        if message is None:
            return
        if message[0] == "fn":
            _, blob, timed = message
            fn, load_error = None, None
            try:
                fn = pickle.loads(blob)
            except Exception as exc:
                load_error = exc
            pools.function_loaded()
            continue
        _, start, items = message
        started = time.perf_counter()
        if fn is None:
            values, errors = _unloaded(load_error, len(items))
        else:
            values, errors = _run_chunk(fn, start, items, running, timed)
        elapsed = time.perf_counter() - started
        try:
            _send(conn, ("done", values, errors, elapsed))
        except OSError:
            # The parent closed our pipe (the map was stopped or abandoned): nobody
            # wants these results, and a traceback about it would only be noise.
            return
        pools.ran(elapsed)


def _next_message(conn: Connection, parent: int) -> Any:
    """The parent's next message, or None once the parent is gone.

    The end of the pipe does not say so: a forked worker holds copies of the parent's
    ends of its own and earlier workers' pipes. So while waiting, look at who the
    parent is now: a parent killed outright (SIGKILL, OOM) leaves no worker behind.
    """
    while not conn.poll(_PARENT_CHECK_S):
        if os.getppid() != parent:
            return None
    return conn.recv()


def _run_chunk(
    fn: Callable[[Any], Any], start: int, items: list[Any], slot: Any, timed: bool
) -> tuple[list[Any], dict[int, Any]]:
    """The values of a chunk (None where an item failed) and the errors by position.

    The slot says which item runs (for blame when the worker dies) and, when a
    timeout applies, since when; tiny tasks make these writes part of the cost per item.
    """
    values: list[Any] = []
    errors: dict[int, Any] = {}
    clock = time.monotonic
    for index, item in enumerate(items, start):
        if timed:
            slot[1] = clock()
        slot[0] = index
        try:
            values.append(fn(item))
        except Exception as exc:
            values.append(None)
            errors[index - start] = pack_error(exc)
    slot[0] = -1.0
    return values, errors


def _unloaded(load_error: BaseException | None, count: int) -> tuple[list[Any], dict[int, Any]]:
    """Every item fails when the function could not be unpickled here."""
    message = f"the function could not be loaded in the worker: {load_error}"
    return [None] * count, {k: pack_error(RuntimeError(message)) for k in range(count)}


def _send(conn: Connection, message: tuple[Any, ...]) -> None:
    try:
        conn.send(message)
        return
    except (pickle.PicklingError, TypeError, AttributeError):
        pass
    # Some result cannot be pickled: send the others, and an error in its place.
    kind, values, errors, elapsed = message
    for position, value in enumerate(values):
        try:
            pickle.dumps(value)
        except Exception as exc:
            error = TypeError(f"the result cannot be pickled to send it back: {exc}")
            values[position] = None
            errors[position] = pack_error(error)
    conn.send((kind, values, errors, elapsed))


def _compiled_extension_loaded() -> bool:
    """Whether a compiled module from outside the standard library is loaded.

    BLAS and OpenMP pools come into a process with such a module (numpy, scipy,
    torch...). Without one, nothing has read the variables yet, and importing
    threadpoolctl (several ms in every worker) would only slow the start down.
    """
    suffixes = tuple(importlib.machinery.EXTENSION_SUFFIXES)
    stdlib = (sys.base_prefix, sys.base_exec_prefix)
    for module in list(sys.modules.values()):
        path = getattr(module, "__file__", None)
        if not isinstance(path, str) or not path.endswith(suffixes):
            continue
        if not path.startswith(stdlib) or "-packages" in path:
            return True
    return False


#: Seconds of work after which a worker limits the native pools it found loaded.
LIMIT_AFTER_S = 0.2


class _PoolLimit:
    """Limits the native thread pools that were loaded before the variables were set.

    Those (inherited by fork, or imported with ``__main__`` under spawn) ignore the
    environment, so threadpoolctl sets them directly, but only once the worker has
    worked for ``LIMIT_AFTER_S``: importing threadpoolctl and scanning the libraries
    takes several ms, and OpenBLAS answers the limit by starting a thread that spins
    for about 0.1 s; on 2 cores that made a 30 ms map take 1.5-2x as long (measured).
    Waiting bounds both costs: a short map never pays them, a long one runs at most
    its first 0.2 s per worker with the pool's own thread count.
    """

    def __init__(self, threads: int | None) -> None:
        self._threads = threads
        self._pending = False
        self._limited = False
        self._busy_s = 0.0

    def function_loaded(self) -> None:
        """Unpickling the function imported its modules: is any pool loaded now?

        Once limited, a worker stays limited: pools that load later read the variables.
        """
        if not self._limited:
            self._pending = self._threads is not None and _compiled_extension_loaded()

    def ran(self, seconds: float) -> None:
        self._busy_s += seconds
        if self._pending and self._threads is not None and self._busy_s >= LIMIT_AFTER_S:
            self._pending, self._limited = False, True
            _limit_blas(self._threads)


def _limit_blas(threads: int) -> None:
    try:
        from threadpoolctl import threadpool_limits  # type: ignore[import-untyped]
    except ImportError:  # pragma: no cover - a dependency; env vars still apply
        return
    threadpool_limits(limits=threads)
