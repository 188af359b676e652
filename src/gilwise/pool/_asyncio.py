"""The asyncio backend: coroutine functions as tasks, blocking ones through ``to_thread``.

``amap`` runs the tasks on the caller's event loop; ``pmap(backend="asyncio")`` runs
an event loop of its own in a helper thread. ``workers`` bounds how many calls run
at once. A per-item ``timeout`` cancels the task; for a blocking function the
cancellation frees the slot but the thread runs its call to the end (threads cannot
be stopped).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import inspect
import queue
import threading
from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Iterable
from typing import Any

from ._engine import AsyncFeed, IterFeed, MapOptions, MapState, adrive, failed
from ._progress import progress_bar
from ._registry import BackendOptions, default_workers
from ._timeouts import timeout_error
from ._types import Outcome, ProgressMode, Run, RunSettings, Task


async def call(fn: Callable[[Any], Any], task: Task, timeout: float | None) -> Outcome:
    """Run one task on the running loop; cancel it when it passes ``timeout``."""
    awaitable: Awaitable[Any]
    if inspect.iscoroutinefunction(fn):
        awaitable = fn(task.item)
    else:
        awaitable = asyncio.to_thread(fn, task.item)
    running = asyncio.ensure_future(awaitable)
    try:
        # asyncio.wait, not wait_for: a TimeoutError raised by the function itself must
        # stay the function's error, not look like our deadline.
        done, _ = await asyncio.wait({running}, timeout=timeout)
    except asyncio.CancelledError:
        # The map is closing (the caller broke out, or failed): asyncio.wait leaves the
        # call it waits on running, and it would go on in the background.
        await _cancelled(running)
        raise
    if not done:
        await _cancelled(running)
        assert timeout is not None
        return failed(task, timeout_error(task, timeout, "asyncio"))
    try:
        return Outcome(task, running.result())
    except Exception as exc:
        return failed(task, exc)


async def _cancelled(running: asyncio.Future[Any]) -> None:
    """Cancel a call and wait until it has ended (whatever it raised)."""
    running.cancel()
    with contextlib.suppress(BaseException):
        await running


class _LoopTasks:
    """Tasks on the caller's loop, for ``amap``; outcomes arrive on an asyncio queue."""

    def __init__(self, fn: Callable[[Any], Any], workers: int, timeout: float | None) -> None:
        self._fn = fn
        self._workers = workers
        self._timeout = timeout
        self._outcomes: asyncio.Queue[Outcome] = asyncio.Queue()
        self._running: set[asyncio.Task[None]] = set()

    def capacity(self) -> int:
        return max(0, self._workers - len(self._running))

    def submit(self, runs: list[Run]) -> None:
        for task in (task for run in runs for task in run.tasks()):
            running = asyncio.ensure_future(self._run(task))
            self._running.add(running)
            running.add_done_callback(self._running.discard)

    async def _run(self, task: Task) -> None:
        self._outcomes.put_nowait(await call(self._fn, task, self._timeout))

    async def poll(self, timeout: float | None) -> list[Outcome]:
        try:
            first = await asyncio.wait_for(self._outcomes.get(), timeout)
        except asyncio.TimeoutError:
            return []
        out = [first]
        while not self._outcomes.empty():
            out.append(self._outcomes.get_nowait())
        return out

    async def cancel_all(self) -> None:
        for running in list(self._running):
            running.cancel()
        await asyncio.gather(*self._running, return_exceptions=True)


async def run_on_loop(
    fn: Callable[[Any], Any],
    items: Iterable[Any] | AsyncIterable[Any],
    options: MapOptions,
    workers: int | None,
    timeout: float | None,
    progress: ProgressMode,
) -> AsyncIterator[Any]:
    """The results of an ``amap`` on the running loop, with the semantics of every map."""
    feed: AsyncFeed | None = None
    if isinstance(items, AsyncIterable):
        feed = AsyncFeed(items.__aiter__())
    count = workers or default_workers("asyncio")
    bar = progress_bar(progress, _length(items), f"amap {getattr(fn, '__qualname__', fn)}")
    state = MapState(
        feed if feed is not None else IterFeed(iter(items)),  # type: ignore[arg-type]
        options,
        default_buffersize=lambda: max(16, 2 * count),
        progress=bar,
    )
    backend = _LoopTasks(fn, count, timeout)
    try:
        async for value in adrive(state, backend, feed):
            yield value
    finally:
        await backend.cancel_all()
        if bar is not None:
            bar.close()


def _length(items: object) -> int | None:
    try:
        return len(items)  # type: ignore[arg-type]
    except TypeError:
        return None


class LoopThreadBackend:
    """``pmap(backend="asyncio")``: an event loop in a helper thread runs the tasks."""

    name = "asyncio"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._executor: concurrent.futures.ThreadPoolExecutor | None = None
        self._outcomes: queue.SimpleQueue[tuple[int, Outcome]] = queue.SimpleQueue()
        self._futures: set[concurrent.futures.Future[None]] = set()
        self._generation = 0
        self._in_flight = 0
        self._settings: RunSettings | None = None

    def begin(self, settings: RunSettings) -> None:
        self._settings = settings
        self._generation += 1
        self._in_flight = 0
        if self._loop is None:
            self._start_loop()

    def _start_loop(self) -> None:
        loop = asyncio.new_event_loop()
        # Blocking functions run through to_thread: the default executor bounds them.
        self._executor = concurrent.futures.ThreadPoolExecutor(
            min(self.workers, 64), thread_name_prefix="gilwise-asyncio"
        )
        loop.set_default_executor(self._executor)
        self._thread = threading.Thread(
            target=loop.run_forever, name="gilwise-asyncio-loop", daemon=True
        )
        self._loop = loop
        self._thread.start()

    def capacity(self) -> int:
        return max(0, self.workers - self._in_flight)

    def submit(self, runs: list[Run]) -> None:
        assert self._loop is not None
        assert self._settings is not None
        tasks = [task for run in runs for task in run.tasks()]
        for task in tasks:
            future = asyncio.run_coroutine_threadsafe(
                self._run(task, self._generation, self._settings), self._loop
            )
            self._futures.add(future)
            future.add_done_callback(self._futures.discard)
        self._in_flight += len(tasks)

    async def _run(self, task: Task, generation: int, settings: RunSettings) -> None:
        self._outcomes.put((generation, await call(settings.fn, task, settings.timeout)))

    def poll(self, timeout: float | None) -> list[Outcome]:
        entries = []
        try:
            entries.append(self._outcomes.get(timeout=timeout))
            while True:
                entries.append(self._outcomes.get_nowait())
        except queue.Empty:
            pass
        out = [outcome for generation, outcome in entries if generation == self._generation]
        self._in_flight -= len(out)
        return out

    def end(self, *, abandon: bool) -> None:
        self._generation += 1
        self._in_flight = 0
        for future in list(self._futures):
            future.cancel()

    def close(self) -> None:
        self.end(abandon=True)
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        if thread.is_alive():
            with contextlib.suppress(Exception):
                asyncio.run_coroutine_threadsafe(_cancel_tasks(), loop).result(1.0)
            loop.call_soon_threadsafe(loop.stop)
        thread.join(1.0)
        if not thread.is_alive():
            loop.close()
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
        self._loop = self._thread = None

    def chunksize(self) -> int:
        return 1

    def deaths(self) -> int:
        return 0


async def _cancel_tasks() -> None:
    """Cancel every task on this loop but the caller, and let them unwind."""
    current = asyncio.current_task()
    tasks = [t for t in asyncio.all_tasks() if t is not current]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def make_backend(options: BackendOptions) -> LoopThreadBackend:
    return LoopThreadBackend(options.worker_count())
