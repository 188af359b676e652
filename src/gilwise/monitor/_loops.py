"""asyncio event loops: finding every loop in the process, heartbeats, and stalls.

Each watched loop runs a heartbeat callback, started with the public, thread-safe
``loop.call_soon_threadsafe`` and kept going with ``loop.call_later``; how late each
beat runs is the loop's lag. When a beat is overdue by the stall threshold, the loop
thread is stuck in one callback, and the sampler records that thread's stack *while*
it is stuck, so the report names the blocking line itself (asyncio's debug mode names
only the task and the next ``await``). Nothing private is patched, so uvloop works the
same way.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections import Counter, deque
from collections.abc import Callable
from types import CodeType, FrameType

from ._histogram import LatencyHistogram
from ._stacks import StackKey, is_async_code, sample_stack
from ._tasks import TaskLinkData, task_chain

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Stalls kept per loop with their stacks (the longest ones); all are counted.
MAX_STALLS_KEPT = 100

#: Finished stalls waiting to be logged, per loop; older ones are only counted.
MAX_STALLS_PENDING = 16


#: What a stalled loop thread was doing at a sample: running its own callback (Python,
#: or native code on a CPU), waiting for the GIL another thread held, or blocked in a
#: system call (I/O, a sleep, a lock).
STALL_CAUSES = ("callback", "gil", "blocked")

#: A line that held the GIL: code, instruction offset, thread name.
Holder = tuple[CodeType, int, str]


class StallRecord:
    """A finished stall, stacks still as code objects (resolved at report time)."""

    # Plain, not a dataclass: `gilwise run` imports this module before the program starts.
    __slots__ = (
        "causes",
        "duration",
        "gil_holder",
        "gil_holder_thread",
        "samples",
        "stack",
        "started_at",
        "tasks",
    )

    def __init__(
        self,
        duration: float,
        started_at: float,
        samples: int,
        stack: StackKey,
        tasks: tuple[TaskLinkData, ...] = (),
        causes: tuple[int, ...] = (0, 0, 0),
        gil_holder: Holder | None = None,
        gil_holder_thread: str = "",
    ) -> None:
        self.duration = duration
        self.started_at = started_at
        self.samples = samples
        self.stack = stack
        #: The task the loop was running and the tasks awaiting it, innermost first.
        self.tasks = tasks
        #: Samples per cause, in ``STALL_CAUSES`` order (all zero without the kernel's view).
        self.causes = causes
        #: The line that held the GIL most often while the loop thread waited for it.
        self.gil_holder = gil_holder
        #: The thread that held it most often, its line seen or not ("": unknown).
        self.gil_holder_thread = gil_holder_thread

    def explained(
        self,
        causes: tuple[int, ...],
        gil_holder: Holder | None,
        stack: StackKey,
        gil_holder_thread: str = "",
    ) -> StallRecord:
        """This stall with its cause found afterwards (from the sampler's record of long holds)."""
        return StallRecord(
            self.duration,
            self.started_at,
            self.samples,
            stack,
            self.tasks,
            causes,
            gil_holder,
            gil_holder_thread,
        )


class _StallInProgress:
    def __init__(self, tasks: tuple[TaskLinkData, ...]) -> None:
        self.stacks: Counter[StackKey] = Counter()
        # A stall is one step of one task: its chain is read once, at the first sample.
        self.tasks = tasks
        self.causes: Counter[str] = Counter()
        self.holders: Counter[Holder] = Counter()
        self.holder_threads: Counter[str] = Counter()
        self.last_seen_at: float | None = None

    def add(
        self,
        now: float,
        stack: StackKey,
        cause: str | None = None,
        holder: Holder | None = None,
        holder_thread: str = "",
    ) -> None:
        self.last_seen_at = now
        if len(self.stacks) < 256 or stack in self.stacks:
            self.stacks[stack] += 1
        if cause is not None:
            self.causes[cause] += 1
        if holder is not None and (len(self.holders) < 64 or holder in self.holders):
            self.holders[holder] += 1
        if holder_thread and (
            len(self.holder_threads) < 64 or holder_thread in self.holder_threads
        ):
            self.holder_threads[holder_thread] += 1

    def cause_counts(self) -> tuple[int, ...]:
        return tuple(self.causes[c] for c in STALL_CAUSES)

    def main_holder(self) -> Holder | None:
        return self.holders.most_common(1)[0][0] if self.holders else None

    def main_holder_thread(self) -> str:
        return self.holder_threads.most_common(1)[0][0] if self.holder_threads else ""

    def culprit_stack(self) -> tuple[StackKey, int]:
        """The stack seen most often while stalled, and the number of samples."""
        total = sum(self.stacks.values())
        if not total:
            return (), 0
        stack, _ = self.stacks.most_common(1)[0]
        return stack, total


class LoopWatch:
    """Heartbeat and stall bookkeeping for one event loop.

    The heartbeat lives on the loop itself: each beat reschedules the next one with
    ``loop.call_later(interval)`` and records how late it ran (the lag). A thread
    outside the loop would have to win the GIL from the loop thread to send each beat,
    and a busy loop that polls its selector between callbacks keeps retaking the GIL
    (CPython's GIL is not fair to waiting threads), so such a sampler starves exactly
    on busy services. The sampler only starts the chain and, when a beat is overdue by
    the stall threshold, samples the loop thread's stack: a stalled loop is not polling,
    so then the sampler does get the GIL.
    """

    def __init__(
        self,
        loop: Any,
        thread_ident: int,
        thread_name: str,
        clock: Callable[[], float],
        stall_s: float,
        interval_s: float = 0.01,
        starvation: Callable[[], float | None] | None = None,
    ) -> None:
        self._ref = weakref.ref(loop)
        self.loop_id = id(loop)
        # An adapter over another framework's run (trio) names that framework.
        self.loop_class = getattr(
            type(loop), "LOOP_CLASS", f"{type(loop).__module__}.{type(loop).__qualname__}"
        )
        self.thread_ident = thread_ident
        self.thread_name = thread_name
        self._clock = clock
        self._stall_s = stall_s
        self._interval = interval_s
        # Cumulative seconds the loop thread sat runnable without a CPU (Linux schedstat).
        self._starvation = starvation
        self._starved_at_beat: float | None = None
        self._lock = threading.Lock()
        self._chain = 0  # generation of the running heartbeat chain; 0 = none
        self._due: float | None = None  # when the next beat should run
        self._stopped_since_due = False
        self._current: _StallInProgress | None = None
        self._closed = False
        self.lag = LatencyHistogram()
        self.window_max_lag = 0.0
        self.stalls: list[StallRecord] = []
        self.stalls_total = 0
        self.stalled_seconds = 0.0
        self.busy_machine_stalls = 0
        self._fresh: deque[StallRecord] = deque(maxlen=MAX_STALLS_PENDING)
        self._fresh_total = 0

    def loop(self) -> Any | None:
        return self._ref()

    def check(
        self,
        now: float,
        frames: dict[int, FrameType],
        cause: str | None = None,
        holder: Holder | None = None,
        holder_thread: str = "",
    ) -> bool:
        """One sampler tick: start the heartbeat or sample a stall. False once the loop is gone.

        ``cause`` says what the loop thread was doing at this tick (one of
        ``STALL_CAUSES``, where the kernel shows it), ``holder`` which line held the GIL
        if it was waiting for it, and ``holder_thread`` which thread (its line seen or not).
        """
        loop = self._ref()
        if loop is None or loop.is_closed():
            return False
        with self._lock:
            if not loop.is_running():
                # A beat that was due while the loop stood still runs only when it is
                # restarted, and would read as a huge lag: it must not count.
                self._stopped_since_due = True
                self._current = None
                return True
            if self._due is None:
                self._start_chain(loop, now)
            elif now - self._due >= self._stall_s:
                frame = frames.get(self.thread_ident)
                if frame is not None:
                    if self._current is None:
                        self._current = _StallInProgress(task_chain(loop))
                    self._current.add(now, sample_stack(frame), cause, holder, holder_thread)
        return True

    def _start_chain(self, loop: Any, now: float) -> None:
        self._chain += 1
        try:
            loop.call_soon_threadsafe(self._beat, self._chain)
        except RuntimeError:  # closed between our check and the call
            return
        self._due = now
        self._stopped_since_due = False

    def _beat(self, chain: int) -> None:
        # Runs on the loop's own thread, holding the GIL already.
        now = self._clock()
        starved_total = self._read_starvation()
        with self._lock:
            if self._closed or chain != self._chain or self._due is None:
                return
            due = self._due
            if not self._stopped_since_due:
                starved = counter_increase(self._starved_at_beat, starved_total)
                self._record_lag(due, now - due, starved)
            self._starved_at_beat = starved_total
            self._stopped_since_due = False
            self._current = None
            self._due = now + self._interval
        loop = self._ref()
        if loop is not None:
            loop.call_later(self._interval, self._beat, chain)

    def _read_starvation(self) -> float | None:
        try:
            return self._starvation() if self._starvation is not None else None
        except Exception:  # a thread gone mid-read; the next beat reads again
            return None

    def _record_lag(self, due: float, lag: float, starved: float = 0.0) -> None:
        # The lag is what the service's callers felt, whatever its cause: all of it counts.
        self.lag.add(lag)
        self.window_max_lag = max(self.window_max_lag, lag)
        if lag < self._stall_s:
            return
        if lag - starved < self._stall_s:
            # Late only because other processes held the CPU the loop thread was ready to
            # run on: no line of the program blocked it, so no stall is blamed on one.
            # (``starved`` runs from the previous beat, so it may include up to one
            # interval of waiting from before this beat fell due.)
            self.busy_machine_stalls += 1
            self._current = None
            return
        self._finish_stall(due, lag)

    def _finish_stall(self, started_at: float, duration: float) -> None:
        current = self._current
        stack, samples = current.culprit_stack() if current else ((), 0)
        tasks = current.tasks if current else ()
        causes = current.cause_counts() if current else (0, 0, 0)
        holder = current.main_holder() if current else None
        holder_thread = current.main_holder_thread() if current else ""
        self.stalls_total += 1
        self.stalled_seconds += duration
        record = StallRecord(
            duration, started_at, samples, stack, tasks, causes, holder, holder_thread
        )
        self.stalls.append(record)
        if len(self.stalls) > MAX_STALLS_KEPT:
            self.stalls.remove(min(self.stalls, key=lambda s: s.duration))
        self._fresh.append(record)
        self._fresh_total += 1

    def take_fresh_stalls(self) -> tuple[list[StallRecord], int]:
        """Stalls finished since the last call, and how many more finished but were not kept."""
        with self._lock:
            fresh = list(self._fresh)
            missed = self._fresh_total - len(fresh)
            self._fresh.clear()
            self._fresh_total = 0
            return fresh, missed

    def close(self, now: float) -> None:
        """Stop watching; a stall still going on is recorded up to ``now``.

        Once the loop is closed, an overdue beat says only that the loop ended before
        running it (the sampler notices a closed loop up to a tick late): the stall is
        recorded only as far as a sample saw the loop thread stuck in it.
        """
        with self._lock:
            self._closed = True
            due = self._due
            end = self._last_stalled_at() if self._ended() else now
            if (
                due is not None
                and end is not None
                and not self._stopped_since_due
                and end - due >= self._stall_s
            ):
                # Its lag too: a trio run that ends on a blocking call takes no late beat,
                # and a test's summary read "max lag 0.9 ms, 1 stall of 257 ms".
                self._record_lag(due, end - due)
            self._due = None
            self._current = None

    def _ended(self) -> bool:
        loop = self._ref()
        return loop is None or bool(loop.is_closed())

    def _last_stalled_at(self) -> float | None:
        return self._current.last_seen_at if self._current is not None else None

    def take_window_max_lag(self) -> float:
        with self._lock:
            value, self.window_max_lag = self.window_max_lag, 0.0
            return value


def counter_increase(before: float | None, after: float | None) -> float:
    """How much a cumulative counter grew between two readings (0 if either is missing)."""
    if before is None or after is None:
        return 0.0
    return max(0.0, after - before)


class LoopFinder:
    """Finds the event loop a thread is running by looking at its Python stack.

    asyncio's own loops show ``BaseEventLoop.run_forever`` on the stack; loops run
    through ``asyncio.run`` / ``asyncio.Runner`` (uvloop's ``run`` included) show the
    runner. As a last resort, the frame that entered the loop (just below the outermost
    coroutine frame) is searched for a running loop object. Only code objects are
    compared on the hot path; frame locals are read once, when a loop is found.
    """

    def __init__(self) -> None:
        self._entry_codes: dict[CodeType, str] = {}

    def find(self, frame: FrameType) -> Any | None:
        asyncio = sys.modules.get("asyncio")
        if asyncio is None:
            return None
        self._refresh_entry_codes()
        outermost_async: FrameType | None = None
        f: FrameType | None = frame
        while f is not None:
            if f.f_code in self._entry_codes:
                loop = _loop_in_locals(f, asyncio)
                if loop is not None:
                    return loop
            if is_async_code(f.f_code):
                outermost_async = f
            f = f.f_back
        if outermost_async is not None and outermost_async.f_back is not None:
            return _loop_in_locals(outermost_async.f_back, asyncio)
        return None

    def _refresh_entry_codes(self) -> None:
        found = _entry_codes()
        if len(found) != len(self._entry_codes):
            self._entry_codes = found


#: Where each loop entry point lives; a module may be half-imported when we look, so
#: every step is a getattr that may come back empty.
_ENTRY_POINTS = (
    ("asyncio.base_events", "BaseEventLoop", "run_forever"),
    ("asyncio.base_events", "BaseEventLoop", "run_until_complete"),
    ("asyncio.runners", None, "run"),
    ("asyncio.runners", "Runner", "run"),
    ("uvloop", None, "run"),
)


def _entry_codes() -> dict[CodeType, str]:
    codes: dict[CodeType, str] = {}
    for module_name, class_name, function_name in _ENTRY_POINTS:
        owner: object = sys.modules.get(module_name)
        if owner is not None and class_name is not None:
            owner = getattr(owner, class_name, None)
        code = getattr(getattr(owner, function_name, None), "__code__", None)
        if isinstance(code, CodeType):
            codes[code] = f"{module_name}.{function_name}"
    return codes


def _loop_in_locals(frame: FrameType, asyncio: Any) -> Any | None:
    try:
        values = list(frame.f_locals.values())
    except Exception:  # a frame mid-teardown; try again on a later tick
        return None
    for value in values:
        loop = _as_running_loop(value, asyncio)
        if loop is not None:
            return loop
    return None


def _as_running_loop(value: object, asyncio: Any) -> Any | None:
    runner_cls = getattr(asyncio, "Runner", None)
    if runner_cls is not None and isinstance(value, runner_cls):
        # Reading the runner's loop attribute; Runner.get_loop() would create one.
        value = getattr(value, "_loop", None)
    if isinstance(value, asyncio.AbstractEventLoop):
        try:
            return value if value.is_running() else None
        except Exception:
            return None
    return None
