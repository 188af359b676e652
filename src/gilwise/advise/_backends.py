"""Run a function over a batch of items under one concurrency model and time it.

Every trial has the same shape, so backends compare fairly: start the workers and
warm them with one item each (a worker's first call may import modules or fill
caches), time the batch alone, then time the shutdown. Steady-state throughput and
the fixed start/stop cost are reported apart, because which one matters depends on
how many items the user really has.
"""

from __future__ import annotations

import asyncio
import concurrent.futures as cf
import functools
import multiprocessing
import signal
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ._report import Measurement
from ._target import load_callable

#: Backends this interpreter can run at all (``interpreter`` needs CPython 3.14's pool).
HAS_INTERPRETER_POOL = hasattr(cf, "InterpreterPoolExecutor")


@dataclass(frozen=True)
class Job:
    """The function under study and how a worker process can find it.

    ``ref`` is the ``module:function`` or ``file.py:function`` the function was loaded
    from; a worker process loads it again before its first task, so functions defined
    in a script (not an importable module) still reach the pool.
    """

    fn: Callable[[Any], Any]
    is_coroutine: bool
    ref: str | None = None


def trial(
    job: Job,
    backend: str,
    workers: int,
    batch: Sequence[Any],
    *,
    chunksize: int = 1,
    start_method: str | None = None,
) -> Measurement:
    """Run ``batch`` through ``backend`` with ``workers`` workers; the speedup is left at 0."""
    runner = _RUNNERS[backend]
    warm = [batch[i % len(batch)] for i in range(workers)]
    started = time.perf_counter()
    timings = runner(job, workers, warm, batch, chunksize, start_method)
    total = time.perf_counter() - started
    wall = timings.batch_s
    return Measurement(
        backend=backend,
        workers=workers,
        chunksize=chunksize,
        items=len(batch),
        wall_s=wall,
        startup_s=timings.startup_s,
        shutdown_s=max(0.0, total - timings.startup_s - wall),
        items_per_s=len(batch) / wall if wall > 0 else float(len(batch)),
        speedup=0.0,
    )


@dataclass(frozen=True)
class _Timings:
    startup_s: float
    batch_s: float


class _Stopwatch:
    """Marks the end of the warm-up and the end of the batch inside a runner."""

    def __init__(self) -> None:
        self.origin = time.perf_counter()
        self.warmed = self.origin
        self.done = self.origin

    def warm_done(self) -> None:
        self.warmed = time.perf_counter()

    def batch_done(self) -> None:
        self.done = time.perf_counter()

    def timings(self) -> _Timings:
        return _Timings(startup_s=self.warmed - self.origin, batch_s=self.done - self.warmed)


def _serial(
    job: Job, workers: int, warm: list[Any], batch: Sequence[Any], chunksize: int, sm: str | None
) -> _Timings:
    if job.is_coroutine:
        return _run_asyncio(job, 1, warm, batch)
    clock = _Stopwatch()
    fn = job.fn
    for item in warm:
        fn(item)
    clock.warm_done()
    for item in batch:
        fn(item)
    clock.batch_done()
    return clock.timings()


def _executor_run(
    make: Callable[[], cf.Executor], job: Job, warm: list[Any], batch: Sequence[Any], chunksize: int
) -> _Timings:
    clock = _Stopwatch()
    with make() as pool:
        # One item per worker, all at once, so every worker has started and called once.
        for _ in pool.map(job.fn, warm):
            pass
        clock.warm_done()
        for _ in pool.map(job.fn, batch, chunksize=chunksize):
            pass
        clock.batch_done()
    return clock.timings()


def _thread(
    job: Job, workers: int, warm: list[Any], batch: Sequence[Any], chunksize: int, sm: str | None
) -> _Timings:
    return _executor_run(lambda: cf.ThreadPoolExecutor(workers), job, warm, batch, 1)


def _process(
    job: Job, workers: int, warm: list[Any], batch: Sequence[Any], chunksize: int, sm: str | None
) -> _Timings:
    context = multiprocessing.get_context(sm)

    def make() -> cf.Executor:
        return cf.ProcessPoolExecutor(
            workers, mp_context=context, initializer=start_worker, initargs=(job.ref,)
        )

    return _executor_run(make, job, warm, batch, chunksize)


def _interpreter(
    job: Job, workers: int, warm: list[Any], batch: Sequence[Any], chunksize: int, sm: str | None
) -> _Timings:
    pool_class: Callable[..., cf.Executor] = cf.InterpreterPoolExecutor  # type: ignore[attr-defined]

    def make() -> cf.Executor:
        # Each interpreter imports modules afresh: a function from a script file is
        # found only once the interpreter has loaded it by reference, as a spawned
        # process worker does.
        if job.ref is None:
            return pool_class(workers)
        return pool_class(workers, initializer=load_callable, initargs=(job.ref,))

    # InterpreterPoolExecutor.map ignores chunksize (it is a ThreadPoolExecutor): every
    # item would cross interpreters alone, ~90 us each (benchmarks/interpreters.py), which
    # no user of gilwise's chunking interpreter backend pays. Chunks go as one call each.
    chunks = [list(batch[i : i + chunksize]) for i in range(0, len(batch), chunksize)]
    chunked = Job(functools.partial(call_each, job.fn), job.is_coroutine, job.ref)
    return _executor_run(make, chunked, [[item] for item in warm], chunks, 1)


def _asyncio(
    job: Job, workers: int, warm: list[Any], batch: Sequence[Any], chunksize: int, sm: str | None
) -> _Timings:
    return _run_asyncio(job, workers, warm, batch)


def _run_asyncio(job: Job, workers: int, warm: list[Any], batch: Sequence[Any]) -> _Timings:
    clock = _Stopwatch()

    async def main() -> None:
        call: Callable[[Any], Awaitable[Any]]
        if job.is_coroutine:
            call = job.fn
        else:
            # A blocking function joins an event loop through to_thread; the loop's
            # default executor bounds how many run at once.
            asyncio.get_running_loop().set_default_executor(cf.ThreadPoolExecutor(workers))
            fn = job.fn

            def call(item: Any) -> Awaitable[Any]:
                return asyncio.to_thread(fn, item)

        await _drain(call, warm, workers)
        clock.warm_done()
        await _drain(call, batch, workers)
        clock.batch_done()

    asyncio.run(main())
    return clock.timings()


async def _drain(call: Callable[[Any], Awaitable[Any]], items: Iterable[Any], workers: int) -> None:
    """Await ``call`` on every item with at most ``workers`` calls in flight."""
    pending = iter(items)

    async def worker() -> None:
        for item in pending:
            await call(item)

    await asyncio.gather(*(worker() for _ in range(workers)))


_RUNNERS: dict[str, Callable[[Job, int, list[Any], Sequence[Any], int, str | None], _Timings]] = {
    "serial": _serial,
    "thread": _thread,
    "process": _process,
    "asyncio": _asyncio,
    "interpreter": _interpreter,
}


def start_worker(ref: str | None) -> None:
    """A process worker's start: Ctrl-C is left to the parent, which ends its workers
    (otherwise each would print a traceback), then the function is loaded by reference."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if ref is not None:
        load_callable(ref)


def call_each(fn: Callable[[Any], Any], items: list[Any]) -> list[Any]:
    """``fn`` on every item of a chunk, in the worker: one crossing for the whole chunk."""
    return [fn(item) for item in items]
