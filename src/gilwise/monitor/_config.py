"""The monitor's settings (:class:`MonitorConfig`) and where the sampler gets its
readings (:class:`Sources`).

Both are made before the watched program starts; the kernel's readers are found on
first use, in the sampler's thread.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import EllipsisType, FrameType

from .._core._clocks import (
    SchedStatReader,
    ThreadAgeReader,
    busy_cpu_seconds,
    children_cpu_seconds,
    native_id_of,
    process_cpu_seconds,
    process_user_cpu_seconds,
    thread_cpu_seconds,
)
from .._errors import InvalidOption
from ._kernel import KernelStates


class MonitorConfig:
    """Settings of one monitoring session (immutable).

    ``max_duty``: most of the time the sampler may hold the GIL; ticks are spaced out
    beyond this. ``stall_logs_per_minute``: stalls written to the ``gilwise`` logger, at
    most this many a minute (0: none). ``record_spans``: keep per-thread spans for a trace
    file (``gilwise run --trace``), at most ``max_spans``. ``gil_watcher``: count GIL waits
    from a child process reading the kernel's thread states (Linux), which sees them at
    the program's own instants rather than the sampler's (``_watcher.py``).

    Example:
        >>> MonitorConfig(interval_s=0.005).stall_ms
        100.0
    """

    # A plain class, not a dataclass: `gilwise run` builds it before the program starts,
    # and importing dataclasses and building one cost several milliseconds there.
    __slots__ = (
        "gil_watcher",
        "gil_window_s",
        "interval_s",
        "loop_scan_every",
        "max_duty",
        "max_spans",
        "max_threads_kept",
        "max_timeline_points",
        "min_window_samples",
        "record_spans",
        "stall_logs_per_minute",
        "stall_ms",
        "timeline_window_s",
    )

    def __init__(
        self,
        interval_s: float = 0.01,
        stall_ms: float = 100.0,
        gil_window_s: float = 0.25,
        timeline_window_s: float = 0.25,
        min_window_samples: int = 8,
        max_duty: float = 0.01,
        loop_scan_every: int = 5,
        max_threads_kept: int = 64,
        max_timeline_points: int = 1800,
        stall_logs_per_minute: float = 0.0,
        record_spans: bool = False,
        max_spans: int = 200_000,
        gil_watcher: bool = True,
    ) -> None:
        values = locals()
        for name in self.__slots__:
            object.__setattr__(self, name, values[name])
        self._check()

    # The attributes, for type checkers (the slots hold them).
    interval_s: float
    stall_ms: float
    gil_window_s: float
    timeline_window_s: float
    min_window_samples: int
    max_duty: float
    loop_scan_every: int
    max_threads_kept: int
    max_timeline_points: int
    stall_logs_per_minute: float
    record_spans: bool
    max_spans: int
    gil_watcher: bool

    def __setattr__(self, name: str, value: object) -> None:
        raise AttributeError(f"MonitorConfig is immutable: make a new one to change {name}")

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, MonitorConfig):
            return NotImplemented
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"MonitorConfig({fields})"

    def _values(self) -> tuple[object, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def _check(self) -> None:
        if not (0.0005 <= self.interval_s <= 10.0):
            raise InvalidOption(
                f"interval must be between 0.0005 and 10 seconds, got {self.interval_s}; "
                "try 0.01 (100 Hz)"
            )
        if not (1.0 <= self.stall_ms <= 600_000):
            raise InvalidOption(
                f"stall threshold must be between 1 ms and 10 minutes, got {self.stall_ms}; try 100"
            )
        if not (0.0 <= self.stall_logs_per_minute <= 60_000):
            raise InvalidOption(
                "stall logs per minute must be between 0 (off) and 60000, "
                f"got {self.stall_logs_per_minute}; try 6"
            )


SchedStat = Callable[[int], "tuple[float, int] | None"]
ThreadAge = Callable[[int], "float | None"]


class Sources:
    """Where the sampler gets its readings; tests replace these with fakes.

    ``native_id``: the kernel's id of a thread ``threading`` does not know (started with
    ``_thread``). ``busy_cpu``: busy seconds of the CPUs the process may use, whoever used
    them (None: unknown). ``children_cpu``: CPU seconds of the process's child processes.
    ``schedstat``, ``thread_age`` (seconds since a thread, by native id, started) and
    ``kernel`` are found on this machine unless given (None: not available).
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.perf_counter,
        frames: Callable[[], dict[int, FrameType]] = sys._current_frames,
        threads: Callable[[], list[threading.Thread]] = threading.enumerate,
        thread_cpu: Callable[[int, int | None], float | None] = thread_cpu_seconds,
        native_id: Callable[[int], int | None] = native_id_of,
        process_cpu: Callable[[], float] = process_cpu_seconds,
        process_user_cpu: Callable[[], float] = process_user_cpu_seconds,
        busy_cpu: Callable[[], float | None] = busy_cpu_seconds,
        children_cpu: Callable[[], float] = children_cpu_seconds,
        schedstat: SchedStat | EllipsisType | None = ...,
        thread_age: ThreadAge | EllipsisType | None = ...,
        kernel: KernelStates | EllipsisType | None = ...,
    ) -> None:
        self.clock = clock
        self.frames = frames
        self.threads = threads
        self.thread_cpu = thread_cpu
        self.native_id = native_id
        self.process_cpu = process_cpu
        self.process_user_cpu = process_user_cpu
        self.busy_cpu = busy_cpu
        self.children_cpu = children_cpu
        self._schedstat = schedstat
        self._thread_age = thread_age
        self._kernel = kernel

    # These are found on first use, normally in the sampler's own thread: reading /proc
    # with the GIL held takes ctypes, whose import (~3 ms) would otherwise add to the
    # start-up of every watched program, and a program that ends at once needs none of them.

    @property
    def schedstat(self) -> SchedStat | None:
        if isinstance(self._schedstat, EllipsisType):
            self._schedstat = _schedstat_reader()
        return self._schedstat

    @property
    def thread_age(self) -> ThreadAge | None:
        if isinstance(self._thread_age, EllipsisType):
            self._thread_age = _thread_age_reader()
        return self._thread_age

    @property
    def kernel(self) -> KernelStates | None:
        if isinstance(self._kernel, EllipsisType):
            self._kernel = _kernel_states()
        return self._kernel

    @property
    def kernel_if_found(self) -> KernelStates | None:
        """:attr:`kernel` if it was looked for already (a report must not go looking)."""
        return None if isinstance(self._kernel, EllipsisType) else self._kernel


def _schedstat_reader() -> SchedStat | None:
    try:
        reader = SchedStatReader()
    except Exception:  # found in the sampler's thread, which must not die of it
        return None
    return reader.read if reader.available else None


def _thread_age_reader() -> ThreadAge | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        reader = ThreadAgeReader()
    except Exception:  # found in the sampler's thread, which must not die of it
        return None
    return reader.read if reader.available else None


def _kernel_states() -> KernelStates | None:
    if not sys.platform.startswith("linux"):
        return None
    try:
        states = KernelStates()
    except Exception:  # found in the sampler's thread, which must not die of it
        return None
    return states if states.available else None
