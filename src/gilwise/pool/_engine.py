"""The semantics of a parallel map, written once above every backend.

``MapState`` knows nothing of threads or processes: it pulls items from the input
while fewer than ``buffersize`` are in flight or unread, turns outcomes into results
(retrying with backoff, failing fast, collecting or returning errors), and hands
results out in input order or as they complete. ``drive`` and ``adrive`` run it
against a backend from a generator and from an async generator.
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
from ._types import Backend, ChunkDone, OnError, Outcome, Task

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
_MISSING = object()


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
    def advance(self, ok: bool) -> None: ...


class MapState:
    """Bookkeeping of one map: what to pull, what to retry, what to hand out next."""

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
        self._retry_heap: list[tuple[float, int, Task]] = []
        self._held: dict[int, Any] = {}
        self._unordered: deque[Any] = deque()
        self._errors: list[tuple[int, BaseException]] = []
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
        """Items done but not yet read by the caller (the reorder buffer included)."""
        return len(self._held) + len(self._unordered)

    def _in_hand(self) -> int:
        return self.in_flight + len(self._retry_heap) + self.held + self.outside()

    def outside(self) -> int:
        """Results handed out in a batch but not yet read (the iterator sets this)."""
        return 0

    def buffersize(self) -> int:
        return self._options.buffersize or self._default_buffersize()

    def tasks(self, capacity: int) -> list[Task]:
        """Up to ``capacity`` tasks to submit: retries that are due first, then new items."""
        out: list[Task] = []
        now = self._clock()
        while len(out) < capacity and self._retry_heap and self._retry_heap[0][0] <= now:
            out.append(heapq.heappop(self._retry_heap)[2])
        room = min(capacity - len(out), self.buffersize() - self._in_hand() - len(out))
        if room > 0 and not self._exhausted:
            out.extend(self._pull(room))
        self.in_flight += len(out)
        self.submitted += len(out)
        return out

    def _pull(self, n: int) -> list[Task]:
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
        return [Task(start + k, item, 0) for k, item in enumerate(items)]

    def room(self, capacity: int) -> int:
        """How many new items ``tasks(capacity)`` may pull now (an async feed fills this many)."""
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
        """Take a backend's outcomes; successes take the short path (tiny tasks add up)."""
        ordered = self._options.ordered
        held, progress = self._held, self._progress
        for outcome in outcomes:
            if isinstance(outcome, ChunkDone):
                self._record_chunk(outcome)
                continue
            if outcome.error is not None:
                self.record(outcome)
                continue
            self.in_flight -= 1
            self.completed += 1
            if progress is not None:
                progress.advance(True)
            if ordered:
                held[outcome.task.index] = outcome.value
            else:
                self._unordered.append(outcome.value)

    def _record_chunk(self, done: ChunkDone) -> None:
        count = len(done.values)
        self.in_flight -= count
        self.completed += count
        if self._progress is not None:
            for _ in range(count):
                self._progress.advance(True)
        if self._options.ordered:
            self._held.update(zip([t.index for t in done.tasks], done.values, strict=True))
        else:
            self._unordered.extend(done.values)

    def record(self, outcome: Outcome) -> None:
        """Take one outcome; raises the item's error at once when ``on_error="raise"``."""
        self.in_flight -= 1
        error = outcome.error
        task = outcome.task
        if error is None:
            self._finish(task.index, outcome.value, ok=True)
            return
        if isinstance(error, ItemTimeout):
            self.timed_out += 1
        if self._should_retry(outcome, error):
            self.retried += 1
            delay = min(_MAX_BACKOFF_S, self._options.backoff * 2**task.attempt)
            again = Task(task.index, task.item, task.attempt + 1)
            heapq.heappush(self._retry_heap, (self._clock() + delay, task.index, again))
            return
        add_note(error, f"gilwise: item {task.index}, attempt {task.attempt + 1}")
        if self._options.on_error == "raise":
            self._count(ok=False)
            raise error
        if self._options.on_error == "collect":
            self._errors.append((task.index, error))
            self._finish(task.index, _SKIPPED, ok=False)
        else:
            self._finish(task.index, error, ok=False)

    def _should_retry(self, outcome: Outcome, error: BaseException) -> bool:
        return (
            outcome.retryable
            and outcome.task.attempt < self._options.retries
            and isinstance(error, self._options.retry_on)
        )

    def _count(self, *, ok: bool) -> None:
        if ok:
            self.completed += 1
        else:
            self.failed += 1
        if self._progress is not None:
            self._progress.advance(ok)

    def _finish(self, index: int, value: Any, *, ok: bool) -> None:
        self._count(ok=ok)
        if self._options.ordered:
            self._held[index] = value
        elif value is not _SKIPPED:
            self._unordered.append(value)

    # -- handing out ---------------------------------------------------------------

    def ready(self) -> bool:
        """Whether a result can be handed out now."""
        if self._options.ordered:
            self._skip_collected()
            return self._next_out in self._held
        return bool(self._unordered)

    def pop_ready(self) -> list[Any]:
        """Every result that can be handed out now, in the order to hand them out."""
        if not self._options.ordered:
            out = list(self._unordered)
            self._unordered.clear()
        else:
            out = []
            held, index = self._held, self._next_out
            while True:
                value = held.pop(index, _MISSING)
                if value is _MISSING:
                    break
                index += 1
                if value is not _SKIPPED:
                    out.append(value)
            self._next_out = index
        self.yielded += len(out)
        return out

    def pop(self) -> Any:
        """The next result to hand out; call only after ``ready()`` said True."""
        self.yielded += 1
        if not self._options.ordered:
            return self._unordered.popleft()
        value = self._held.pop(self._next_out)
        self._next_out += 1
        return value

    def _skip_collected(self) -> None:
        while self._held.get(self._next_out, None) is _SKIPPED:
            del self._held[self._next_out]
            self._next_out += 1

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


def feed(state: MapState, backend: Backend) -> list[Task]:
    """Submit what the backend can take now; returns the tasks submitted."""
    tasks = state.tasks(backend.capacity())
    if tasks:
        backend.submit(tasks)
    return tasks


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

    def next_batch(self) -> list[Any]:
        """The next results (at least one); raises StopIteration at the end."""
        state, backend = self._state, self._backend
        while True:
            batch = state.pop_ready()
            if batch:
                # The caller counts the batch as unread (``outside``) and then feeds.
                return batch
            if state.finished:
                state.raise_collected()
                raise StopIteration
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

    def submit(self, tasks: list[Task]) -> None: ...

    async def poll(self, timeout: float | None) -> Sequence[Outcome | ChunkDone]: ...


async def adrive(
    state: MapState, backend: AsyncBackend, feed_: AsyncFeed | None
) -> AsyncIterator[Any]:
    """``drive`` for an event loop: the same steps, awaiting outcomes instead of blocking."""
    import asyncio

    async def top_up() -> None:
        capacity = backend.capacity()
        if feed_ is not None:
            await feed_.fill(state.room(capacity))
        tasks = state.tasks(capacity)
        if tasks:
            backend.submit(tasks)

    while True:
        while state.ready():
            yield state.pop()
            await top_up()
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
