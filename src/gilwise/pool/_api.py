"""``pmap``, ``amap`` and ``Pool``: one parallel-map API over every backend."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import logging
import operator
import time
import weakref
from collections.abc import (
    AsyncIterable,
    AsyncIterator,
    Callable,
    Generator,
    Iterable,
    Iterator,
)
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, TypeVar

from .._core._backends import pool_backends
from .._errors import InvalidOption
from ._engine import REFRESH_S, Driver, IterFeed, MapOptions, MapState
from ._progress import ProgressBar, progress_bar
from ._registry import make_backend
from ._types import Backend, MapStatistics, OnError, ProgressMode, RunSettings

T = TypeVar("T")
R = TypeVar("R")

logger = logging.getLogger("gilwise")


@dataclass(frozen=True)
class _Plan:
    """How to run one map: which backend, and the options its backend reads."""

    backend: str
    workers: int | None
    chunksize: int | None
    timeout: float | None
    progress: ProgressMode
    start_method: str | None
    blas_threads: int | None
    client: Any


def _check_counts(**counts: int | None) -> None:
    for name, value in counts.items():
        if value is not None and (not isinstance(value, int) or value < 1):
            raise InvalidOption(f"{name}={value!r}: give a positive whole number, or None")


def _map_options(
    workers: int | None,
    chunksize: int | None,
    buffersize: int | None,
    timeout: float | None,
    retries: int,
    retry_on: type[BaseException] | tuple[type[BaseException], ...],
    backoff: float,
    on_error: OnError,
    ordered: bool,
) -> MapOptions:
    """The map's semantic options; ``InvalidOption`` naming the fix for one out of range."""
    _check_counts(workers=workers, chunksize=chunksize, buffersize=buffersize)
    if timeout is not None and not timeout > 0:
        raise InvalidOption(f"timeout={timeout!r}: give seconds above 0, or None for no limit")
    if retries < 0 or backoff < 0:
        raise InvalidOption("retries and backoff cannot be negative: give 0 or more")
    if on_error not in ("raise", "collect", "return"):
        raise InvalidOption(f"on_error={on_error!r}: use 'raise', 'collect' or 'return'")
    if not isinstance(ordered, bool):
        raise InvalidOption(f"ordered={ordered!r}: give True or False")
    retry_on = retry_on if isinstance(retry_on, tuple) else (retry_on,)
    return MapOptions(ordered, buffersize, retries, retry_on, backoff, on_error)


def _coroutines_under_auto(backend: str, fn: Callable[..., Any]) -> bool:
    """``auto`` runs a coroutine function on asyncio without calibrating."""
    return backend == "auto" and inspect.iscoroutinefunction(fn)


def _backend_name(backend: Any) -> tuple[str, Any]:
    """The backend's short name, and the dask client when a ``distributed.Client`` was given."""
    if isinstance(backend, str):
        names = pool_backends()
        if backend != "auto" and backend not in names:
            raise InvalidOption(
                f"unknown backend {backend!r}; use one of auto, {', '.join(names)}, "
                "or pass a distributed.Client"
            )
        return backend, None
    if type(backend).__name__ == "Client" and type(backend).__module__.startswith("distributed"):
        return "dask", backend
    raise InvalidOption(f"backend={backend!r}: give a backend name or a distributed.Client")


class _MapRun:
    """The moving parts of one map: its input, bookkeeping, backend and progress bar.

    Only the ``MapIterator`` and its results generator hold it (nothing it holds
    points back), so a map dropped unread is collected at once by refcount, and
    ``__del__`` stops its workers.
    """

    def __init__(
        self,
        fn: Callable[[Any], Any],
        items: Iterable[Any],
        options: MapOptions,
        plan: _Plan,
        shared: Backend | None,
        on_done: Callable[[], None] | None,
        adopt: Callable[[Backend], None] | None = None,
    ) -> None:
        self.fn = fn
        self.plan = plan
        self._items: Iterable[Any] | None = items
        self._options = options
        self._shared = shared
        self._on_done = on_done
        self._adopt = adopt
        self._settled = True
        self.backend: Backend | None = None
        self.state: MapState | None = None
        self._driver: Driver | None = None
        self.progress: ProgressBar | None = None
        self.finished = False
        self.chosen = plan.backend if plan.backend != "auto" else ""
        self.reason = ""
        self._last_refresh = 0.0

    def start(self) -> None:
        if self.state is not None or self.finished:
            return
        items, self._items = self._items, None
        assert items is not None
        total = operator.length_hint(items, -1)
        self.progress = progress_bar(
            self.plan.progress, None if total < 0 else total, f"pmap {_name(self.fn)}"
        )
        # A weak reference: the state must not keep this object alive (see the class).
        me = weakref.ref(self)

        def default_buffersize() -> int:
            run = me()
            return _default_buffersize(run.backend if run else None)

        self.state = MapState(
            IterFeed(iter(items)),
            self._options,
            default_buffersize=default_buffersize,
            progress=self.progress,
        )
        try:
            self._choose_backend()
            backend = self._shared or make_backend(
                self.chosen,
                self.plan.workers,
                start_method=self.plan.start_method,
                blas_threads=self.plan.blas_threads,
                client=self.plan.client,
                # A Pool keeps its backend for later maps, which may be longer.
                items=None if total < 0 or self._adopt is not None else total,
            )
            self.backend = backend
            if self._adopt is not None and self._shared is None and self._settled:
                # A Pool("auto") keeps what its first conclusive map chose.
                self._adopt(backend)
                self._shared = backend
            self._adopt = None
            logger.info(
                "pmap %s: backend=%s workers=%d: %s",
                _name(self.fn),
                self.chosen,
                backend.workers,
                self.reason,
            )
            plan = self.plan
            backend.begin(
                RunSettings(self.fn, plan.timeout, plan.chunksize, self._options.buffersize)
            )
        except BaseException:
            self.finish(abandon=True)
            raise
        self._driver = Driver(self.state, backend)

    def _choose_backend(self) -> None:
        assert self.state is not None
        if self.plan.backend == "auto":
            from ._auto import calibrate

            choice = calibrate(self.state, self.fn, self.plan.timeout)
            self.chosen, self.reason = choice.backend, choice.reason
            self._settled = choice.settled
        else:
            self.chosen = self.plan.backend
            self.reason = f"backend={self.chosen!r} was asked for"

    def next_batch(self) -> list[Any] | None:
        """The next results, counted as unread until the caller reads them; None at the end."""
        if self.finished:
            return None
        self.start()
        driver, state = self._driver, self.state
        assert driver is not None
        assert state is not None
        batch = driver.next_batch()
        if batch is None:
            return None
        # Hand workers their next items before the caller starts reading.
        state.outside = len(batch)
        driver.feed()
        self._last_refresh = time.monotonic()
        return batch

    def maybe_refresh(self) -> None:
        # A consumer slow on a large batch must not leave workers idle or deadlines
        # unchecked: look at the backend every few milliseconds while it reads.
        now = time.monotonic()
        if now - self._last_refresh > REFRESH_S and self._driver is not None:
            self._last_refresh = now
            self._driver.refresh()

    def finish(self, *, abandon: bool) -> None:
        if self.finished:
            return
        self.finished = True
        self._driver = None
        if self.state is not None:
            self.state.outside = 0
        try:
            if self.backend is not None:
                self.backend.end(abandon=abandon)
                if self._shared is None:
                    self.backend.close()
        finally:
            if self.progress is not None:
                self.progress.close()
            if self._on_done is not None:
                self._on_done()

    def __del__(self) -> None:
        # A map dropped unread must not leave workers running.
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.finish(abandon=True)


#: Results are read in slices of this many between looks at the backend: small enough
#: that a slow consumer still keeps workers fed, large enough to cost nothing per item.
_SLICE = 32


def _results(run: _MapRun) -> Generator[Any, None, None]:
    """The map's results, read from batches in C (``yield from`` a list) between refreshes."""
    try:
        while (batch := run.next_batch()) is not None:
            size = len(batch)
            state = run.state
            assert state is not None
            for start in range(0, size, _SLICE):
                # Counted unread until the whole slice is read: never under the truth.
                state.outside = size - start
                yield from batch[start : start + _SLICE]
                run.maybe_refresh()
            state.outside = 0
    except BaseException:
        run.finish(abandon=True)
        raise
    run.finish(abandon=False)


class MapIterator(Iterator[R], Generic[R]):
    """The results of ``pmap``; also a context manager that stops the map on exit.

    ``backend`` and ``reason`` say what runs the map and why (``auto`` decides on
    first use). ``close()`` stops the map: queued items are dropped, process workers
    busy on it are killed, threads are left to finish their current call.
    ``iter()`` of it is the generator it reads from (both advance together), so a
    ``for`` loop or ``list()`` reads results without a Python call per item.
    """

    def __init__(
        self,
        fn: Callable[[Any], R],
        items: Iterable[Any],
        options: MapOptions,
        plan: _Plan,
        *,
        shared: Backend | None = None,
        on_done: Callable[[], None] | None = None,
        adopt: Callable[[Backend], None] | None = None,
    ) -> None:
        self._run = _MapRun(fn, items, options, plan, shared, on_done, adopt)
        self._results: Generator[R, None, None] = _results(self._run)

    # -- what runs it ----------------------------------------------------------------

    @property
    def backend(self) -> str:
        """The backend's name (after ``auto`` chose one)."""
        self._run.start()
        return self._run.chosen

    @property
    def reason(self) -> str:
        """Why this backend: the caller's choice, or ``auto``'s measured reason."""
        self._run.start()
        return self._run.reason

    @property
    def workers(self) -> int:
        self._run.start()
        return self._run.backend.workers if self._run.backend else 0

    @property
    def progress(self) -> ProgressBar | None:
        """The progress bar, when one is shown."""
        return self._run.progress

    def statistics(self) -> MapStatistics:
        """Counts so far: items pulled, submitted, completed, failed, retried, yielded."""
        run = self._run
        state, backend = run.state, run.backend
        return MapStatistics(
            backend=run.chosen or run.plan.backend,
            workers=backend.workers if backend else 0,
            pulled=state.pulled if state else 0,
            submitted=state.submitted if state else 0,
            completed=state.completed if state else 0,
            failed=state.failed if state else 0,
            retried=state.retried if state else 0,
            timed_out=state.timed_out if state else 0,
            yielded=state.yielded - state.outside if state else 0,
            in_flight=state.in_flight if state else 0,
            held=state.held + state.outside if state else 0,
            worker_deaths=backend.deaths() if backend else 0,
            chunksize=backend.chunksize() if backend else 0,
        )

    # -- running ---------------------------------------------------------------------

    def __iter__(self) -> Iterator[R]:
        return self._results

    def __next__(self) -> R:
        return next(self._results)

    def close(self) -> None:
        """Stop the map and release what it holds; idempotent."""
        self._results.close()
        self._run.finish(abandon=True)

    def __enter__(self) -> MapIterator[R]:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _default_buffersize(backend: Backend | None) -> int:
    """In flight plus unread when the caller sets no bound: enough to keep workers busy."""
    if backend is None:
        # While auto calibrates: room for its serial calls and its threads' probe.
        return 256
    return max(16, 6 * backend.workers * backend.chunksize())


def _name(fn: Callable[..., Any]) -> str:
    return str(getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None) or repr(fn))


def pmap(
    fn: Callable[[T], R],
    items: Iterable[T],
    *,
    backend: str | Any = "auto",
    workers: int | None = None,
    ordered: bool = True,
    chunksize: int | None = None,
    buffersize: int | None = None,
    timeout: float | None = None,
    retries: int = 0,
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
    backoff: float = 0.1,
    on_error: OnError = "raise",
    progress: ProgressMode = False,
    start_method: str | None = None,
    blas_threads: int | None = 1,
) -> MapIterator[R]:
    """Map ``fn`` over ``items`` in parallel; iterate the result to get ``fn(item)`` each.

    ``items`` may be an endless iterator: at most ``buffersize`` items are in flight
    or done but unread at any time. See docs/pmap.md for each option per backend.

    Example:
        >>> import gilwise
        >>> list(gilwise.pmap(abs, [-1, -2, 3], backend="thread", workers=2))
        [1, 2, 3]
    """
    options = _map_options(
        workers, chunksize, buffersize, timeout, retries, retry_on, backoff, on_error, ordered
    )
    name, client = _backend_name(backend)
    if _coroutines_under_auto(name, fn):
        name = "asyncio"
    plan = _Plan(name, workers, chunksize, timeout, progress, start_method, blas_threads, client)
    return MapIterator(fn, items, options, plan)


class Pool:
    """Workers kept across maps: ``with Pool("process") as pool: pool.map(fn, items)``.

    One map runs at a time; a map left unread is stopped when the next one starts
    or the pool closes. ``Pool("auto")`` chooses its backend on its first map (the
    calibration of ``pmap(backend="auto")``) and keeps it for the maps after; a map
    whose input ends before the calibration can tell does not decide for the pool.

    Example:
        >>> import gilwise
        >>> with gilwise.Pool("thread", workers=2) as pool:
        ...     list(pool.map(abs, [-1, 2])), list(pool.map(str, [3]))
        ([1, 2], ['3'])
    """

    def __init__(
        self,
        backend: str | Any = "thread",
        *,
        workers: int | None = None,
        start_method: str | None = None,
        blas_threads: int | None = 1,
    ) -> None:
        _check_counts(workers=workers)
        name, client = _backend_name(backend)
        self._name = name
        self._plan = _Plan(name, workers, None, None, False, start_method, blas_threads, client)
        self._backend: Backend | None = None
        if name != "auto":
            self._backend = make_backend(
                name, workers, start_method=start_method, blas_threads=blas_threads, client=client
            )
        self._current: MapIterator[Any] | None = None
        self._closed = False

    @property
    def backend(self) -> str:
        """The backend's name; ``"auto"`` until a ``Pool("auto")`` has chosen one."""
        return self._backend.name if self._backend is not None else self._name

    @property
    def workers(self) -> int:
        """How many workers the pool holds (0 while a ``Pool("auto")`` has not chosen)."""
        return self._backend.workers if self._backend is not None else 0

    def map(
        self,
        fn: Callable[[T], R],
        items: Iterable[T],
        *,
        ordered: bool = True,
        chunksize: int | None = None,
        buffersize: int | None = None,
        timeout: float | None = None,
        retries: int = 0,
        retry_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
        backoff: float = 0.1,
        on_error: OnError = "raise",
        progress: ProgressMode = False,
    ) -> MapIterator[R]:
        """``pmap`` on this pool's workers."""
        if self._closed:
            raise InvalidOption("this Pool is closed; create a new one")
        options = _map_options(
            None, chunksize, buffersize, timeout, retries, retry_on, backoff, on_error, ordered
        )
        if self._current is not None:
            self._current.close()
        name = "asyncio" if _coroutines_under_auto(self.backend, fn) else self.backend
        plan = dataclasses.replace(
            self._plan, backend=name, chunksize=chunksize, timeout=timeout, progress=progress
        )
        it: MapIterator[R] = MapIterator(
            fn,
            items,
            options,
            plan,
            shared=self._backend,
            on_done=self._map_done,
            adopt=self._adopt if self._backend is None else None,
        )
        self._current = it
        return it

    def _adopt(self, backend: Backend) -> None:
        self._backend = backend

    def _map_done(self) -> None:
        self._current = None

    def close(self) -> None:
        """Stop any running map and release the workers; idempotent."""
        if self._closed:
            return
        self._closed = True
        if self._current is not None:
            self._current.close()
        if self._backend is not None:
            self._backend.close()

    def __enter__(self) -> Pool:
        return self

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # interpreter shutdown
            self.close()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncMapIterator(AsyncIterator[R], Generic[R]):
    """The results of ``amap``, for ``async for``; ``aclose()`` stops the map."""

    def __init__(
        self,
        results: AsyncIterator[R],
        backend: str,
        reason: str,
        inner: MapIterator[Any] | None = None,
    ) -> None:
        self._results = results
        self._backend = backend
        self._reason = reason
        self._inner = inner

    @property
    def backend(self) -> str:
        """The backend's name (a blocking map under ``auto``: known after the first result)."""
        if self._inner is not None and self._inner._run.chosen:
            return self._inner._run.chosen
        return self._backend

    @property
    def reason(self) -> str:
        if self._inner is not None and self._inner._run.reason:
            return self._inner._run.reason
        return self._reason

    def __aiter__(self) -> AsyncMapIterator[R]:
        return self

    async def __anext__(self) -> R:
        return await self._results.__anext__()

    async def aclose(self) -> None:
        closer = getattr(self._results, "aclose", None)
        if closer is not None:
            await closer()

    async def __aenter__(self) -> AsyncMapIterator[R]:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


def amap(
    fn: Callable[[T], Any],
    items: Iterable[T] | AsyncIterable[T],
    *,
    backend: str | Any = "auto",
    workers: int | None = None,
    ordered: bool = True,
    chunksize: int | None = None,
    buffersize: int | None = None,
    timeout: float | None = None,
    retries: int = 0,
    retry_on: type[BaseException] | tuple[type[BaseException], ...] = Exception,
    backoff: float = 0.1,
    on_error: OnError = "raise",
    progress: ProgressMode = False,
    start_method: str | None = None,
    blas_threads: int | None = 1,
) -> AsyncMapIterator[Any]:
    """``pmap`` for ``async for``: coroutine functions run as tasks on the running loop.

    With ``backend="auto"`` a coroutine function runs on this event loop (asyncio) and
    a blocking one is calibrated like ``pmap``. Other backends run as in ``pmap``, and
    the loop awaits their results without blocking. ``items`` may be an async iterable.

    Example:
        >>> import asyncio, gilwise
        >>> async def double(x):
        ...     return 2 * x
        >>> async def main():
        ...     return [y async for y in gilwise.amap(double, [1, 2])]
        >>> asyncio.run(main())
        [2, 4]
    """
    options = _map_options(
        workers, chunksize, buffersize, timeout, retries, retry_on, backoff, on_error, ordered
    )
    name, client = _backend_name(backend)
    if name == "asyncio" or _coroutines_under_auto(name, fn):
        from ._asyncio import run_on_loop

        results = run_on_loop(fn, items, options, workers, timeout, progress)
        reason = (
            "backend='asyncio' was asked for"
            if name == "asyncio"
            else "a coroutine function runs as tasks on the caller's event loop"
        )
        return AsyncMapIterator(results, "asyncio", reason)
    plan = _Plan(name, workers, chunksize, timeout, progress, start_method, blas_threads, client)
    loop_items: Iterable[Any]
    if isinstance(items, AsyncIterable):
        loop_items = _sync_bridge(items, asyncio.get_running_loop())
    else:
        loop_items = items
    it: MapIterator[Any] = MapIterator(fn, loop_items, options, plan)
    return AsyncMapIterator(_in_thread(it), name, "", inner=it)


def _sync_bridge(items: AsyncIterable[Any], loop: asyncio.AbstractEventLoop) -> Iterator[Any]:
    """Pull an async iterable from a helper thread while the loop awaits that thread."""
    source = items.__aiter__()
    while True:
        try:
            yield asyncio.run_coroutine_threadsafe(_anext(source), loop).result()
        except StopAsyncIteration:
            return


async def _anext(source: AsyncIterator[Any]) -> Any:
    return await source.__anext__()


async def _in_thread(it: MapIterator[Any]) -> AsyncIterator[Any]:
    """Step a blocking map in a helper thread, one result at a time."""
    done = object()
    try:
        while True:
            value = await asyncio.to_thread(next, it, done)
            if value is done:
                return
            yield value
    finally:
        await asyncio.to_thread(it.close)
