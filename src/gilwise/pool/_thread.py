"""The thread backend: a small pool of daemon threads, one task (chunk size 1) at a time.

Not ``ThreadPoolExecutor``: a thread whose item passes its ``timeout`` cannot be
stopped, so it is abandoned (reported as ``ItemTimeout``, its eventual result
dropped) and a new thread takes its place to keep ``workers`` threads working. The
threads are daemons so that an abandoned call never holds up interpreter exit
(``ThreadPoolExecutor`` joins its threads at exit).
"""

from __future__ import annotations

import itertools
import queue
import threading
import time
from dataclasses import dataclass

from ._engine import failed
from ._registry import BackendOptions
from ._timeouts import earliest, timeout_error
from ._types import Outcome, Run, RunSettings, Task


@dataclass(frozen=True)
class _Running:
    task: Task
    started: float
    generation: int


class ThreadBackend:
    name = "thread"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._jobs: queue.SimpleQueue[tuple[int, RunSettings, Task] | None] = queue.SimpleQueue()
        self._outcomes: queue.SimpleQueue[tuple[int, Outcome]] = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._running: dict[int, _Running] = {}
        self._tokens = itertools.count()
        self._threads: list[threading.Thread] = []
        self._abandoned = False
        self._generation = 0
        self._in_flight = 0
        self._settings: RunSettings | None = None

    def begin(self, settings: RunSettings) -> None:
        self._settings = settings
        self._generation += 1
        self._in_flight = 0
        while len(self._threads) < self.workers:
            self._start_thread()

    def _start_thread(self) -> None:
        thread = threading.Thread(target=self._work, name="gilwise-thread", daemon=True)
        thread.start()
        self._threads.append(thread)

    def _work(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            generation, settings, task = job
            token = next(self._tokens)
            with self._lock:
                self._running[token] = _Running(task, time.monotonic(), generation)
            try:
                outcome = Outcome(task, settings.fn(task.item))
            except BaseException as exc:
                outcome = failed(task, exc)
            with self._lock:
                abandoned = self._running.pop(token, None) is None
            if abandoned:
                # Timed out: the parent reported it and started a thread in our place.
                return
            self._outcomes.put((generation, outcome))
            del outcome

    def capacity(self) -> int:
        return max(0, 2 * self.workers - self._in_flight)

    def submit(self, runs: list[Run]) -> None:
        assert self._settings is not None
        for run in runs:
            for task in run.tasks():
                self._jobs.put((self._generation, self._settings, task))
            self._in_flight += len(run.items)

    def poll(self, timeout: float | None) -> list[Outcome]:
        wait = earliest(timeout, self._next_deadline_in())
        out = self._timed_out()
        try:
            if not out:
                out.append(self._accept(self._outcomes.get(timeout=wait)))
            while True:
                out.append(self._accept(self._outcomes.get_nowait()))
        except queue.Empty:
            pass
        out.extend(self._timed_out())
        kept = [o for o in out if o is not _STALE]
        self._in_flight -= len(kept)
        return kept

    def _accept(self, entry: tuple[int, Outcome]) -> Outcome:
        generation, outcome = entry
        return outcome if generation == self._generation else _STALE

    def _next_deadline_in(self) -> float | None:
        limit = self._settings.timeout if self._settings else None
        if limit is None:
            return None
        with self._lock:
            starts = [r.started for r in self._running.values() if r.generation == self._generation]
        first_deadline = max(0.0, min(starts) + limit - time.monotonic()) if starts else None
        if len(starts) < self._in_flight:
            # Items start without a message: one may start (and its clock run) while we
            # wait for an outcome. Seen on a loaded machine: every other item finished
            # before the slow one's thread got to run, and nobody looked at it again.
            return earliest(first_deadline, _LOOK_AGAIN_S)
        return first_deadline

    def _timed_out(self) -> list[Outcome]:
        limit = self._settings.timeout if self._settings else None
        if limit is None:
            return []
        now = time.monotonic()
        with self._lock:
            late = [
                token
                for token, r in self._running.items()
                if r.generation == self._generation and now - r.started > limit
            ]
            tasks = [self._running.pop(token).task for token in late]
        for _ in tasks:
            self._threads = [t for t in self._threads if t.is_alive()]
            self._start_thread()
        return [failed(task, timeout_error(task, limit, "thread")) for task in tasks]

    def end(self, *, abandon: bool) -> None:
        # Calls already running cannot be stopped; their outcomes carry an old
        # generation and are dropped. Queued ones are taken back.
        self._generation += 1
        self._drain_jobs()
        self._in_flight = 0
        self._abandoned = abandon

    def _drain_jobs(self) -> None:
        try:
            while True:
                self._jobs.get_nowait()
        except queue.Empty:
            pass

    def close(self) -> None:
        self._drain_jobs()
        for _ in self._threads:
            self._jobs.put(None)
        # After an error or a consumer that stopped, calls still running are abandoned:
        # the map raises now (they are daemon threads and exit when their call returns).
        # A map that ended normally gives them a moment to exit cleanly.
        grace = 0.0 if self._abandoned else 1.0
        deadline = time.monotonic() + grace
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self._threads = []

    def chunksize(self) -> int:
        return 1

    def deaths(self) -> int:
        return 0


_STALE = Outcome(Task(-1, None))

#: How often to look for items that started since the last look, while some wait to start.
_LOOK_AGAIN_S = 0.05


def make_backend(options: BackendOptions) -> ThreadBackend:
    return ThreadBackend(options.worker_count())
