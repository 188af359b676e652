"""The semantics of a parallel map, written once above every backend.

``MapState`` knows nothing of threads or processes: it pulls items from the input
while fewer than ``buffersize`` are in flight or unread, turns outcomes into results
(retrying with backoff, failing fast, collecting or returning errors), and hands
results out in input order or as they complete. ``Driver`` and ``adrive`` run it
against a backend from the caller's thread and from an event loop.
"""

from __future__ import annotations

import heapq
import itertools
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from .._errors import ItemTimeout
from ._remote import add_note
from ._types import Backend, ChunkDone, OnError, Outcome, Run, Task

if sys.version_info >= (3, 11):
    _BaseExceptionGroup = BaseExceptionGroup  # noqa: F821 - a builtin from 3.11
else:  # pragma: no cover - exercised on 3.10 only
    from exceptiongroup import BaseExceptionGroup as _BaseExceptionGroup

#: While results are being handed out, look at the backend this often so that idle
#: workers get new work and per-item deadlines are checked during a slow consumer.
REFRESH_S = 0.005
#: No retry waits longer than this, whatever the attempt.
_MAX_BACKOFF_S = 30.0
_SKIPPED = object()


@dataclass(frozen=True)
class MapOptions:
    """The semantic options of one map (the backend-independent ones)."""

    ordered: bool = True
    buffersize: int | None = None
    retries: int = 0
    retry_on: tuple[type[BaseException], ...] = (Exception,)
    backoff: float = 0.1
    on_error: OnError = "raise"


_EXHAUSTED = object()
_NOT_YET = object()


class Feed(Protocol):
    """Where a map's items come from, one at a time."""

    def take(self) -> Any:
        """The next item, ``_EXHAUSTED`` at the end, or ``_NOT_YET`` (an async feed)."""
        ...


class IterFeed:
    """Items from a plain iterator, pulled only when the map has room for them."""

    def __init__(self, items: Iterator[Any]) -> None:
        self._items = items

    def take(self) -> Any:
        try:
            return next(self._items)
        except StopIteration:
            return _EXHAUSTED

    def take_many(self, n: int) -> tuple[list[Any], bool]:
        """Up to ``n`` items, and whether the input ended."""
        got = list(itertools.islice(self._items, n))
        return got, len(got) < n


class AsyncFeed:
    """Items from an async iterator: ``fill(n)`` awaits up to n of them, ``take`` hands them out."""

    def __init__(self, items: AsyncIterator[Any]) -> None:
        self._items = items
        self._buffer: deque[Any] = deque()
        self._done = False

    async def fill(self, n: int) -> None:
        while len(self._buffer) < n and not self._done:
            try:
                self._buffer.append(await self._items.__anext__())
            except StopAsyncIteration:
                self._done = True

    def take(self) -> Any:
        if self._buffer:
            return self._buffer.popleft()
        return _EXHAUSTED if self._done else _NOT_YET


class _Progress(Protocol):
    def advance(self, ok: bool, count: int = 1) -> None: ...


class MapState:
    """Bookkeeping of one map: what to pull, what to retry, what to hand out next.

    Results are filed by run (consecutive items a backend finished together), so a
    chunk of thousands of results costs one dictionary entry and one list extend, not
    one of each per item.
    """

    def __init__(
        self,
        items: Feed,
        options: MapOptions,
        *,
        default_buffersize: Callable[[], int],
        progress: _Progress | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._items = items
        self._options = options
        self._default_buffersize = default_buffersize
        self._progress = progress
        self._clock = clock
        self._exhausted = False
        self._next_index = 0
        self._next_out = 0
        self._retry_heap: list[tuple[float, int, Run]] = []
        # Ordered maps: results by the index of their run's first item.
        self._held: dict[int, list[Any]] = {}
        self._held_count = 0
        self._unordered: list[Any] = []
        self._errors: list[tuple[int, BaseException]] = []
        #: Results handed to the caller in a batch but not read yet; the driver that
        #: hands batches out keeps it current, and it counts against ``buffersize``.
        self.outside = 0
        self.in_flight = 0
        self.submitted = 0
        self.completed = 0
        self.failed = 0
        self.retried = 0
        self.timed_out = 0
        self.yielded = 0

    # -- pulling -------------------------------------------------------------------

    @property
    def pulled(self) -> int:
        return self._next_index

    @property
    def held(self) -> int:
        """Items done but not yet handed out (the reorder buffer included)."""
        return self._held_count + len(self._unordered)

    def _in_hand(self) -> int:
        return self.in_flight + len(self._retry_heap) + self.held + self.outside

    def buffersize(self) -> int:
        return self._options.buffersize or self._default_buffersize()

    def runs(self, capacity: int) -> list[Run]:
        """Up to ``capacity`` items to submit: retries that are due first, then new items."""
        out: list[Run] = []
        now = self._clock()
        heap = self._retry_heap
        while len(out) < capacity and heap and heap[0][0] <= now:
            out.append(heapq.heappop(heap)[2])
        count = len(out)  # a retry is a run of one item
        room = min(capacity - count, self.buffersize() - self._in_hand() - count)
        if room > 0 and not self._exhausted:
            run = self._pull(room)
            if run.items:
                out.append(run)
                count += len(run.items)
        self.in_flight += count
        self.submitted += count
        return out

    def _pull(self, n: int) -> Run:
        start = self._next_index
        if isinstance(self._items, IterFeed):
            items, self._exhausted = self._items.take_many(n)
        else:
            items = []
            while len(items) < n:
                item = self._items.take()
                if item is _NOT_YET:
                    break
                if item is _EXHAUSTED:
                    self._exhausted = True
                    break
                items.append(item)
        self._next_index += len(items)
        return Run(start, items)

    def room(self, capacity: int) -> int:
        """How many new items ``runs(capacity)`` may pull now (an async feed fills this many)."""
        due = sum(1 for when, _, _ in self._retry_heap if when <= self._clock())
        return max(0, min(capacity - due, self.buffersize() - self._in_hand() - due))

    def next_retry_in(self) -> float | None:
        """Seconds until the earliest retry is due, or None when none waits."""
        if not self._retry_heap:
            return None
        return max(0.0, self._retry_heap[0][0] - self._clock())

    @property
    def all_run(self) -> bool:
        """The input has ended and every item has run (results may still be unread)."""
        return self._exhausted and self.in_flight == 0 and not self._retry_heap

    @property
    def finished(self) -> bool:
        return self._exhausted and self._in_hand() == 0

    # -- outcomes ------------------------------------------------------------------

    def record_all(self, outcomes: Sequence[Outcome | ChunkDone]) -> None:
        """Take a backend's outcomes; raises an item's error at once when ``on_error="raise"``."""
        for outcome in outcomes:
            if isinstance(outcome, ChunkDone):
                self._file(outcome.start, outcome.values)
            elif outcome.error is None:
                self._file(outcome.task.index, [outcome.value])
            else:
                self._record_error(outcome, outcome.error)

    def _file(self, start: int, values: list[Any]) -> None:
        """File the results of items ``start``, ``start + 1``, ... that succeeded."""
        count = len(values)
        if not count:
            return
        self.in_flight -= count
        self.completed += count
        if self._progress is not None:
            self._progress.advance(True, count)
        if self._options.ordered:
            self._held[start] = values
            self._held_count += count
        else:
            self._unordered.extend(values)

    def _record_error(self, outcome: Outcome, error: BaseException) -> None:
        self.in_flight -= 1
        task = outcome.task
        if isinstance(error, ItemTimeout):
            self.timed_out += 1
        if self._should_retry(outcome, error):
            self.retried += 1
            delay = min(_MAX_BACKOFF_S, self._options.backoff * 2**task.attempt)
            again = Run(task.index, [task.item], task.attempt + 1)
            heapq.heappush(self._retry_heap, (self._clock() + delay, task.index, again))
            return
        add_note(error, f"gilwise: item {task.index}, attempt {task.attempt + 1}")
        self.failed += 1
        if self._progress is not None:
            self._progress.advance(False)
        if self._options.on_error == "raise":
            raise error
        if self._options.on_error == "collect":
            self._errors.append((task.index, error))
            value: Any = _SKIPPED
        else:
            value = error
        if self._options.ordered:
            self._held[task.index] = [value]
            self._held_count += 1
        elif value is not _SKIPPED:
            self._unordered.append(value)

    def _should_retry(self, outcome: Outcome, error: BaseException) -> bool:
        return (
            outcome.retryable
            and outcome.task.attempt < self._options.retries
            and isinstance(error, self._options.retry_on)
        )

    # -- handing out ---------------------------------------------------------------

    def pop_ready(self) -> list[Any]:
        """Every result that can be handed out now, in the order to hand them out."""
        if not self._options.ordered:
            out, self._unordered = self._unordered, []
        else:
            out = self._pop_in_order()
        self.yielded += len(out)
        return out

    def _pop_in_order(self) -> list[Any]:
        held, index = self._held, self._next_out
        run = held.pop(index, None)
        if run is None:
            return []
        out = run  # the common case, one run ready: hand its list out without a copy
        while run is not None:
            if run is not out:
                out.extend(run)
            index += len(run)
            self._held_count -= len(run)
            run = held.pop(index, None)
        self._next_out = index
        if self._errors:
            out = [value for value in out if value is not _SKIPPED]
        return out

    def raise_collected(self) -> None:
        """At the end of a ``collect`` map: raise the failures as one exception group."""
        if not self._errors:
            return
        errors = [exc for _, exc in sorted(self._errors, key=lambda pair: pair[0])]
        total = self.completed + self.failed
        raise _BaseExceptionGroup(f"{len(errors)} of {total} items failed", errors)


def failed(task: Task, error: BaseException) -> Outcome:
    """The outcome of ``task`` when it raised ``error``."""
    return Outcome(task, None, error)


def poisoned(task: Task, error: BaseException) -> Outcome:
    """An error that must not be retried (a poison item)."""
    return Outcome(task, None, error, retryable=False)


def feed(state: MapState, backend: Backend) -> None:
    """Submit what the backend can take now."""
    runs = state.runs(backend.capacity())
    if runs:
        backend.submit(runs)


class Driver:
    """Runs a map on a backend from the caller's thread, one batch of results at a time."""

    def __init__(self, state: MapState, backend: Backend) -> None:
        self._state = state
        self._backend = backend

    def refresh(self) -> None:
        """Collect what finished and hand out more work, without waiting."""
        self._state.record_all(self._backend.poll(0))
        feed(self._state, self._backend)

    def feed(self) -> None:
        feed(self._state, self._backend)

    def next_batch(self) -> list[Any] | None:
        """The next results (at least one), or None when the map is done."""
        state, backend = self._state, self._backend
        while True:
            batch = state.pop_ready()
            if batch:
                return batch
            if state.finished:
                state.raise_collected()
                return None
            feed(state, backend)
            retry_in = state.next_retry_in()
            if state.in_flight == 0:
                if retry_in is not None:
                    time.sleep(retry_in)
                continue
            state.record_all(backend.poll(retry_in))


class AsyncBackend(Protocol):
    """A backend whose tasks run on the caller's event loop (``amap`` on asyncio)."""

    def capacity(self) -> int: ...

    def submit(self, runs: list[Run]) -> None: ...

    async def poll(self, timeout: float | None) -> Sequence[Outcome | ChunkDone]: ...


async def adrive(
    state: MapState, backend: AsyncBackend, feed_: AsyncFeed | None
) -> AsyncIterator[Any]:
    """``Driver`` for an event loop: the same steps, awaiting outcomes instead of blocking."""
    import asyncio

    async def top_up() -> None:
        capacity = backend.capacity()
        if feed_ is not None:
            await feed_.fill(state.room(capacity))
        runs = state.runs(capacity)
        if runs:
            backend.submit(runs)

    while True:
        batch = state.pop_ready()
        state.outside = len(batch)
        for unread, value in enumerate(batch, start=1):
            yield value
            state.outside = len(batch) - unread
            await top_up()
        if batch:
            continue
        if state.finished:
            state.raise_collected()
            return
        await top_up()
        retry_in = state.next_retry_in()
        if state.in_flight == 0:
            if retry_in is not None:
                await asyncio.sleep(retry_in)
            continue
        state.record_all(await backend.poll(retry_in))
