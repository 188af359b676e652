"""The data that crosses between the map's semantics and its backends."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple, Protocol

OnError = Literal["raise", "collect", "return"]
ProgressMode = Literal[False, True, "always"]


class Task(NamedTuple):
    """One call to make: ``fn(item)``, the ``attempt``-th time (0 for the first).

    A NamedTuple, not a dataclass: backends that run one item at a time make one per
    item, and a frozen dataclass costs about a microsecond more to build.
    """

    index: int  # type: ignore[assignment]  # shadows tuple.index, which no one calls on a Task
    item: Any
    attempt: int = 0


class Run(NamedTuple):
    """Items to call ``fn`` on: ``items[k]`` is item ``start + k``, all at one ``attempt``.

    The map hands backends runs, not one object per item: on maps of tiny tasks the
    parent's cost per item is the bottleneck, and a run keeps it to list slices that
    CPython does in C. A retry is a run of one item.
    """

    start: int
    items: list[Any]
    attempt: int = 0

    def tasks(self) -> list[Task]:
        """One task per item, for backends that run items one at a time."""
        attempt = self.attempt
        return [Task(self.start + k, item, attempt) for k, item in enumerate(self.items)]

    def split(self, size: int) -> tuple[Run, Run]:
        """The first ``size`` items, and the rest."""
        head = Run(self.start, self.items[:size], self.attempt)
        return head, Run(self.start + size, self.items[size:], self.attempt)


class Outcome(NamedTuple):
    """What a backend reports for one task: a value, or the exception it raised.

    ``retryable`` is False for errors that must not be retried whatever ``retry_on``
    says (a poison item has already been tried three times).
    """

    task: Task
    value: Any = None
    error: BaseException | None = None
    retryable: bool = True


class ChunkDone(NamedTuple):
    """Consecutive items that all succeeded: ``values[k]`` is the result of item ``start + k``.

    Backends that run chunks report them this way so the map files a chunk's results
    in one step instead of one outcome per item (the cost that dominates tiny tasks).
    """

    start: int
    values: list[Any]


@dataclass(frozen=True)
class RunSettings:
    """What a backend needs to know about one map: the function and its per-item limit."""

    fn: Callable[[Any], Any]
    timeout: float | None
    chunksize: int | None
    buffersize: int | None


@dataclass(frozen=True)
class MapStatistics:
    """Counts of one map so far; ``it.statistics()`` returns a fresh one.

    ``pulled`` counts items taken from the input, ``yielded`` results handed to the
    caller; ``in_flight`` are at a backend and ``held`` are done but not yet read.
    """

    backend: str
    workers: int
    pulled: int
    submitted: int
    completed: int
    failed: int
    retried: int
    timed_out: int
    yielded: int
    in_flight: int
    held: int
    worker_deaths: int
    chunksize: int


class Backend(Protocol):
    """One way of running tasks; the map's semantics live above it, in ``_engine``.

    A backend is driven from one thread at a time: ``begin`` once per map, then
    ``submit`` and ``poll`` in turns, then ``end`` (a map finished or abandoned), and
    ``close`` once when its workers are no longer wanted.
    """

    name: str
    workers: int

    def begin(self, settings: RunSettings) -> None: ...

    def capacity(self) -> int:
        """How many more tasks the backend wants now (0 when it has enough queued)."""
        ...

    def submit(self, runs: list[Run]) -> None: ...

    def poll(self, timeout: float | None) -> Sequence[Outcome | ChunkDone]:
        """Outcomes ready within ``timeout`` seconds (None: until at least one is)."""
        ...

    def end(self, *, abandon: bool) -> None:
        """Finish a map; ``abandon`` drops unfinished work as fast as the backend can."""
        ...

    def close(self) -> None: ...

    def chunksize(self) -> int: ...

    def deaths(self) -> int: ...
