"""The process backend: a small pool of worker processes that survives their deaths.

``ProcessPoolExecutor`` cannot: one dead worker breaks the pool (BrokenProcessPool)
and it cannot kill one worker whose item runs too long. Here each worker has its own
pipe; the parent waits on every pipe and every process sentinel with
``multiprocessing.connection.wait``. When a worker dies, the items of its chunk go
back to the front of the queue and a new worker takes its place; the item it was
running (read from shared memory) is blamed, and an item that killed three workers
is reported as ``PoisonItem``. A per-item ``timeout`` kills and replaces the worker.

Execution is at least once, delivery exactly once: items of a chunk that finished
before its worker died run again, but each item's result is handed out once.
"""

from __future__ import annotations

import collections
import contextlib
import ctypes
import multiprocessing
import multiprocessing.connection
import multiprocessing.sharedctypes
import os
import pickle
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from multiprocessing.context import BaseContext
from multiprocessing.process import BaseProcess
from typing import Any

from .._errors import PoisonItem, WorkersFailed
from .._processes import ctrl_c_held
from . import _worker
from ._chunking import ChunkSizer
from ._engine import failed, poisoned
from ._registry import BackendOptions
from ._remote import unpack_error
from ._timeouts import earliest, timeout_error
from ._types import ChunkDone, Outcome, Run, RunSettings, Task

#: Deaths an item may cause before it is reported as poison instead of run again.
POISON_DEATHS = 3
#: Deaths in a row with no item running before the pool gives up (a worker that
#: cannot even start, e.g. ``__main__`` fails to import under spawn).
STARTUP_DEATHS = 3
#: The end-of-input split never makes chunks shorter than this (in expected run time).
_MIN_SPLIT_S = 0.001
#: How long ``close`` lets a worker finish its exit before it is killed.
_EXIT_GRACE_S = 1.0


@dataclass(eq=False)
class _Worker:
    """Parent-side record of one worker process (mutable: it changes as chunks come and go)."""

    process: BaseProcess
    conn: Connection
    slot: Any
    fn_id: int = -1
    #: Chunks sent and not answered yet, oldest first (it runs them in this order).
    chunks: collections.deque[Run] = field(default_factory=collections.deque)
    chunks_done: int = 0

    def take_back(self) -> list[Run]:
        """The chunks it will not answer (it died or was killed), oldest first."""
        chunks = list(self.chunks)
        self.chunks.clear()
        return chunks

    def running_index(self) -> tuple[int, float] | None:
        """The index of the item the worker runs now and when it started, if any.

        The worker writes the start time, then the index. Reading the index on both
        sides of the time catches a read across two items; what remains (an old index
        with the next item's start) only makes a finished item look younger.
        """
        first, started, again = self.slot[0], self.slot[1], self.slot[0]
        if first < 0 or first != again:
            return None
        return int(first), started


def dumps_function(fn: Callable[[Any], Any]) -> bytes:
    """Pickle ``fn`` by reference when possible; by value (cloudpickle) when it cannot be.

    Lambdas, closures and functions defined in a notebook or in ``__main__`` under
    spawn cannot be pickled by reference; cloudpickle sends their code instead.
    """
    try:
        return pickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception:
        import cloudpickle  # type: ignore[import-untyped]

        return bytes(cloudpickle.dumps(fn, protocol=pickle.HIGHEST_PROTOCOL))


class ProcessBackend:
    name = "process"

    def __init__(
        self, workers: int, *, start_method: str | None = None, blas_threads: int | None = 1
    ) -> None:
        self.workers = workers
        self._context: BaseContext = multiprocessing.get_context(start_method)
        self._blas_threads = blas_threads
        self._pool: list[_Worker] = []
        self._queue: collections.deque[Run] = collections.deque()
        self._queued = 0
        self._settings: RunSettings | None = None
        self._fn_id = 0
        self._fn_blob = b""
        self._sizer = ChunkSizer(None)
        self._deaths_by_item: collections.Counter[int] = collections.Counter()
        self._startup_deaths = 0
        self._deaths = 0
        self._in_flight = 0

    # -- workers -------------------------------------------------------------------

    def _start_worker(self) -> None:
        parent_end, child_end = self._context.Pipe(duplex=True)
        slot = multiprocessing.sharedctypes.RawArray(ctypes.c_double, 2)
        slot[0] = -1.0
        process = self._context.Process(  # type: ignore[attr-defined]
            target=_worker.main,
            args=(child_end, slot, self._blas_threads),
            name="gilwise-worker",
            daemon=True,
        )
        with ctrl_c_held():
            # A Ctrl-C between the fork and this record would leave a worker nobody
            # knows to stop: it is delivered right after, with the worker recorded.
            process.start()
            self._pool.append(_Worker(process, parent_end, slot))
        child_end.close()

    def _fill_pool(self) -> None:
        while len(self._pool) < self.workers:
            self._start_worker()

    def _bury(self, worker: _Worker) -> None:
        """Forget a dead (or killed) worker and reap it, so no zombie is left."""
        if worker in self._pool:
            self._pool.remove(worker)
        worker.conn.close()
        worker.process.join(_EXIT_GRACE_S)

    # -- the backend protocol ------------------------------------------------------

    def begin(self, settings: RunSettings) -> None:
        self._settings = settings
        self._fn_id += 1
        self._fn_blob = dumps_function(settings.fn)
        self._sizer = ChunkSizer.for_map(settings.chunksize, settings.buffersize, self.workers)
        self._deaths_by_item.clear()
        self._startup_deaths = 0
        self._in_flight = 0
        self._fill_pool()

    def chunksize(self) -> int:
        return self._sizer.size()

    def deaths(self) -> int:
        return self._deaths

    def capacity(self) -> int:
        # What the workers hold, and a full chunk more each, ready when one is free.
        per_worker = self._depth() + 1
        return max(0, per_worker * self.workers * self._sizer.size() - self._in_flight)

    def submit(self, runs: list[Run]) -> None:
        self._queue.extend(runs)
        count = sum(len(run.items) for run in runs)
        self._queued += count
        self._in_flight += count
        self._dispatch()

    def poll(self, timeout: float | None) -> list[Outcome | ChunkDone]:
        give_up = None if timeout is None else time.monotonic() + timeout
        out: list[Outcome | ChunkDone] = []
        while True:
            self._dispatch()
            wait_s = earliest(_left(give_up), self._next_deadline_in())
            by_conn = {w.conn: w for w in self._pool if w.chunks}
            by_sentinel = {w.process.sentinel: w for w in self._pool}
            ready = multiprocessing.connection.wait([*by_conn, *by_sentinel], wait_s)
            for obj in ready:
                if obj in by_conn:
                    out.extend(self._receive(by_conn[obj]))
            for obj in ready:
                if obj in by_sentinel and by_sentinel[obj] in self._pool:
                    out.extend(self._died(by_sentinel[obj]))
            out.extend(self._kill_late())
            if out or (give_up is not None and time.monotonic() >= give_up):
                self._dispatch()
                self._in_flight -= sum(
                    len(o.values) if isinstance(o, ChunkDone) else 1 for o in out
                )
                return out

    def end(self, *, abandon: bool) -> None:
        self._queue.clear()
        self._queued = 0
        self._in_flight = 0
        if abandon:
            # Work in progress belongs to a map nobody reads any more: stop it now
            # rather than wait for it (an item may run for minutes).
            for worker in [w for w in self._pool if w.chunks]:
                _kill(worker.process)
                self._bury(worker)

    def close(self) -> None:
        self._queue.clear()
        self._queued = 0
        for worker in self._pool:
            with contextlib.suppress(OSError):
                worker.conn.send(None)
        deadline = time.monotonic() + _EXIT_GRACE_S
        for worker in self._pool:
            worker.process.join(max(0.0, deadline - time.monotonic()))
            if worker.process.exitcode is None:
                _kill(worker.process)
                worker.process.join(_EXIT_GRACE_S)
            worker.conn.close()
        self._pool = []

    # -- inside poll -----------------------------------------------------------------

    def _dispatch(self) -> None:
        """Send chunks to workers while there is work queued and a worker has room."""
        depth = self._depth()
        for worker in list(self._pool):
            while self._queue and len(worker.chunks) < depth:
                chunk = self._take_chunk()
                worker.chunks.append(chunk)
                try:
                    if worker.fn_id != self._fn_id:
                        timed = self._settings is not None and self._settings.timeout is not None
                        worker.conn.send(("fn", self._fn_blob, timed))
                        worker.fn_id = self._fn_id
                    worker.conn.send(("run", chunk.start, chunk.items))
                except OSError:
                    # It died under us; its sentinel reports it and the chunk comes back then.
                    break

    def _depth(self) -> int:
        """Chunks each worker holds: two while a chunk runs shorter than a round trip matters.

        With tiny items a worker would otherwise wait for the parent to wake, read its
        results and send more, between every two chunks. Longer chunks get one at a
        time, so the last items are not queued behind a busy worker.
        """
        return 2 if self._sizer.runs_short() else 1

    def _take_chunk(self) -> Run:
        # Near the end of the input, split what is left evenly rather than leave one
        # worker with a full chunk and the others idle; but not below a millisecond's
        # worth of items, where the split would cost more round trips than it saves.
        full = self._sizer.size()
        even = -(-self._queued // self.workers)
        size = max(1, min(full, max(even, self._sizer.items_in(_MIN_SPLIT_S))))
        chunk = self._queue.popleft()
        # Runs arrive as the input was pulled (room by room): join the ones that
        # continue each other, so chunks stay full-sized.
        while len(chunk.items) < size and self._queue and _continues(chunk, self._queue[0]):
            chunk = Run(chunk.start, chunk.items + self._queue.popleft().items, chunk.attempt)
        if len(chunk.items) > size:
            chunk, rest = chunk.split(size)
            self._queue.appendleft(rest)
        self._queued -= len(chunk.items)
        return chunk

    def _requeue(self, runs: list[Run]) -> None:
        """Put runs back at the front of the queue, in order, to run before newer work."""
        runs = [run for run in runs if run.items]
        self._queue.extendleft(reversed(runs))
        self._queued += sum(len(run.items) for run in runs)

    def _receive(self, worker: _Worker) -> list[Outcome | ChunkDone]:
        try:
            _, values, errors, elapsed = worker.conn.recv()
        except (EOFError, OSError):
            return self._died(worker)
        chunk = worker.chunks.popleft()
        worker.chunks_done += 1
        self._startup_deaths = 0
        self._sizer.observe(len(values), elapsed)
        if not errors:
            return [ChunkDone(chunk.start, values)]
        return [
            failed(task, unpack_error(errors[k])) if k in errors else Outcome(task, values[k])
            for k, task in enumerate(chunk.tasks())
        ]

    def _died(self, worker: _Worker) -> list[Outcome | ChunkDone]:
        """A worker is gone: requeue its chunks, blame the item it ran, start another."""
        running = worker.running_index()
        chunks = worker.take_back()
        self._bury(worker)
        self._deaths += 1
        code = worker.process.exitcode
        out: list[Outcome | ChunkDone] = []
        blamed = None if running is None else running[0]
        if chunks and blamed is None and worker.chunks_done == 0:
            self._startup_deaths += 1
            if self._startup_deaths >= STARTUP_DEATHS:
                raise WorkersFailed(
                    f"{STARTUP_DEATHS} worker processes in a row died before running an item "
                    f"({_exit_words(code)}); check that the function's module imports in a "
                    "fresh interpreter, and under spawn or forkserver guard the script's "
                    "code with `if __name__ == '__main__':`"
                )
        rest, culprit = _without(chunks, blamed)
        if culprit is not None:
            self._deaths_by_item[culprit.index] += 1
            if self._deaths_by_item[culprit.index] >= POISON_DEATHS:
                out.append(poisoned(culprit, _poison_error(culprit, code)))
            else:
                # Alone in its chunk next time, so its next death blames nothing else.
                rest.insert(0, Run(culprit.index, [culprit.item], culprit.attempt))
        self._requeue(rest)
        self._start_worker()
        return out

    def _next_deadline_in(self) -> float | None:
        limit = self._settings.timeout if self._settings else None
        if limit is None:
            return None
        starts = [r[1] for w in self._pool if w.chunks and (r := w.running_index())]
        if not starts:
            # Items start without a message: look again soon to see them start.
            return 0.05 if any(w.chunks for w in self._pool) else None
        return max(0.0, min(starts) + limit - time.monotonic())

    def _kill_late(self) -> list[Outcome | ChunkDone]:
        limit = self._settings.timeout if self._settings else None
        if limit is None:
            return []
        out: list[Outcome | ChunkDone] = []
        now = time.monotonic()
        for worker in [w for w in self._pool if w.chunks]:
            running = worker.running_index()
            if running is None or now - running[1] <= limit:
                continue
            _kill(worker.process)
            rest, late = _without(worker.take_back(), running[0])
            self._bury(worker)
            self._requeue(rest)
            if late is not None:
                out.append(failed(late, timeout_error(late, limit, "process")))
            self._start_worker()
        return out


def _continues(run: Run, nxt: Run) -> bool:
    """Whether ``nxt`` holds the items right after ``run``'s, at the same attempt."""
    return nxt.start == run.start + len(run.items) and nxt.attempt == run.attempt


def _without(chunks: list[Run], index: int | None) -> tuple[list[Run], Task | None]:
    """The chunks with item ``index`` taken out (in order), and that item if one held it."""
    rest: list[Run] = []
    found = None
    for chunk in chunks:
        if index is None or not chunk.start <= index < chunk.start + len(chunk.items):
            rest.append(chunk)
            continue
        before, tail = chunk.split(index - chunk.start)
        item, after = tail.split(1)
        found = Task(index, item.items[0], chunk.attempt)
        rest += [before, after]
    return rest, found


def _kill(process: BaseProcess) -> None:
    if process.pid is not None and process.exitcode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGKILL)


def _exit_words(code: int | None) -> str:
    if code is None:
        return "exit status unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit code {code}"


def _poison_error(task: Task, code: int | None) -> PoisonItem:
    error = PoisonItem(
        f"item {task.index} killed {POISON_DEATHS} worker processes (the last one "
        f"{_exit_words(code)}), so it is not run again; run it alone with "
        "backend='serial' and faulthandler on (python -X faulthandler) to see where it crashes"
    )
    error.index = task.index
    return error


def _left(deadline: float | None) -> float | None:
    return None if deadline is None else max(0.0, deadline - time.monotonic())


def make_backend(options: BackendOptions) -> ProcessBackend:
    return ProcessBackend(
        options.worker_count(),
        start_method=options.start_method,
        blas_threads=options.blas_threads,
    )
