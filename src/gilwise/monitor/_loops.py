"""asyncio event loops: finding every loop in the process, heartbeats, and stalls.

Each watched loop gets a heartbeat callback through the public, thread-safe
``loop.call_soon_threadsafe``; the delay until it runs is the loop's lag. When a
heartbeat has been pending for the stall threshold, the loop thread is stuck in one
callback, and the sampler records that thread's stack *while* it is stuck, so the
report names the blocking line itself (asyncio's debug mode names only the task and
the next ``await``). Nothing private is patched, so uvloop works the same way.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Any

from ._histogram import LatencyHistogram
from ._stacks import StackKey, is_async_code, sample_stack

#: Stalls kept per loop with their stacks (the longest ones); all are counted.
MAX_STALLS_KEPT = 100


@dataclass(frozen=True)
class StallRecord:
    """A finished stall, stacks still as code objects (resolved at report time)."""

    duration: float
    started_at: float
    samples: int
    stack: StackKey


class _StallInProgress:
    def __init__(self) -> None:
        self.stacks: Counter[StackKey] = Counter()

    def add(self, stack: StackKey) -> None:
        if len(self.stacks) < 256 or stack in self.stacks:
            self.stacks[stack] += 1

    def culprit_stack(self) -> tuple[StackKey, int]:
        """The stack seen most often while stalled, and the number of samples."""
        total = sum(self.stacks.values())
        if not total:
            return (), 0
        stack, _ = self.stacks.most_common(1)[0]
        return stack, total


class LoopWatch:
    """Heartbeat and stall bookkeeping for one event loop."""

    def __init__(
        self,
        loop: Any,
        thread_ident: int,
        thread_name: str,
        clock: Callable[[], float],
        stall_s: float,
    ) -> None:
        self._ref = weakref.ref(loop)
        self.loop_id = id(loop)
        self.loop_class = f"{type(loop).__module__}.{type(loop).__qualname__}"
        self.thread_ident = thread_ident
        self.thread_name = thread_name
        self._clock = clock
        self._stall_s = stall_s
        self._lock = threading.Lock()
        self._token = 0
        self._pending: tuple[int, float] | None = None
        self._current: _StallInProgress | None = None
        self._closed = False
        self.lag = LatencyHistogram()
        self.window_max_lag = 0.0
        self.stalls: list[StallRecord] = []
        self.stalls_total = 0
        self.stalled_seconds = 0.0

    def loop(self) -> Any | None:
        return self._ref()

    def check(self, now: float, frames: dict[int, FrameType]) -> bool:
        """One sampler tick: send a heartbeat or sample a stall. False once the loop is gone."""
        loop = self._ref()
        if loop is None or loop.is_closed():
            return False
        if not loop.is_running():
            # A heartbeat queued on a stopped loop would only run when it restarts and
            # would read as a huge lag: forget it.
            with self._lock:
                self._pending = None
                self._current = None
            return True
        with self._lock:
            if self._pending is None:
                self._send(loop, now)
            elif now - self._pending[1] >= self._stall_s:
                frame = frames.get(self.thread_ident)
                if frame is not None:
                    if self._current is None:
                        self._current = _StallInProgress()
                    self._current.add(sample_stack(frame))
        return True

    def _send(self, loop: Any, now: float) -> None:
        self._token += 1
        token = self._token
        try:
            loop.call_soon_threadsafe(self._beat, token)
        except RuntimeError:  # closed between our check and the call
            return
        self._pending = (token, now)

    def _beat(self, token: int) -> None:
        # Runs on the loop's own thread.
        now = self._clock()
        with self._lock:
            if self._closed or self._pending is None or self._pending[0] != token:
                return
            sent_at = self._pending[1]
            self._pending = None
            lag = now - sent_at
            self.lag.add(lag)
            self.window_max_lag = max(self.window_max_lag, lag)
            if lag >= self._stall_s:
                self._finish_stall(sent_at, lag)
            self._current = None

    def _finish_stall(self, started_at: float, duration: float) -> None:
        stack, samples = self._current.culprit_stack() if self._current else ((), 0)
        self.stalls_total += 1
        self.stalled_seconds += duration
        self.stalls.append(StallRecord(duration, started_at, samples, stack))
        if len(self.stalls) > MAX_STALLS_KEPT:
            self.stalls.remove(min(self.stalls, key=lambda s: s.duration))

    def close(self, now: float) -> None:
        """Stop watching; a stall still going on is recorded up to ``now``."""
        with self._lock:
            self._closed = True
            if self._pending is not None and now - self._pending[1] >= self._stall_s:
                self._finish_stall(self._pending[1], now - self._pending[1])
            self._pending = None
            self._current = None

    def take_window_max_lag(self) -> float:
        with self._lock:
            value, self.window_max_lag = self.window_max_lag, 0.0
            return value


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
