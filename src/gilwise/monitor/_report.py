"""The report: plain frozen data, and its JSON form (schema ``gilwise.run/1``).

Everything that leaves the monitor is one of these classes; renderers, the CLI and
tests consume them. The JSON form is derived from the classes
(:class:`~gilwise._core._json.JsonReport`), documented in ``docs/report-schema.md``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

from .._core._json import JsonReport

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing would add to every `gilwise run --json`
    from typing import Any

SCHEMA = "gilwise.run/1"


@dataclass(frozen=True)
class Frame:
    """A source location: absolute path as Python reports it, line, qualified function."""

    file: str
    line: int
    function: str


@dataclass(frozen=True)
class LineStat:
    """Samples that had a line innermost (``top_lines``) or a function anywhere."""

    file: str
    line: int
    function: str
    running: int
    waiting: int


@dataclass(frozen=True)
class Latency:
    """A latency distribution in milliseconds."""

    count: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float


@dataclass(frozen=True)
class GilHolder:
    """A line that held the GIL while other threads waited, and its share of their wait."""

    file: str
    line: int
    function: str
    #: The thread that held the GIL at this line the most (of ``threads``).
    thread_name: str
    #: Share of all thread-seconds spent waiting for the GIL that waited on this line.
    wait_share: float
    #: Those thread-seconds.
    wait_seconds: float
    #: How many threads held it at this line (a pool's workers running one function).
    threads: int = 1

    @property
    def held_by(self) -> str:
        """``worker-1``, or ``worker-1 and 3 other threads``."""
        if self.threads <= 1:
            return self.thread_name
        others = self.threads - 1
        return f"{self.thread_name} and {others} other thread{'s' if others > 1 else ''}"


@dataclass(frozen=True)
class GilReport:
    """GIL contention, two figures kept apart.

    ``wait_fraction`` estimates the fraction of time at least one thread was waiting
    for the GIL; ``mean_waiting_threads`` the average number waiting. ``probe`` is the
    latency the sampler thread itself suffered each time it asked for the GIL.
    ``holders`` (counted method only) names the lines holding the GIL while others
    waited, most wait first.
    """

    wait_fraction: float | None
    mean_waiting_threads: float | None
    probe: Latency
    method: str
    holders: tuple[GilHolder, ...] = ()
    #: Readings behind ``wait_fraction``: the watcher's reads of every thread (with the
    #: sampler's counted ticks before it took over), the sampler's counted ticks, or, for
    #: the estimate, its probes. 0 in reports saved before it was kept.
    samples: int = 0
    #: Share of the wait behind a holder whose line no sample saw (docs/report-schema.md).
    holder_unseen_share: float = 0.0
    #: The thread more than half of that wait was behind, its line unseen; or the name
    #: threads share, their numbers read as "N" ("" if neither: docs/report-schema.md).
    holder_unseen_thread: str = ""
    #: How many threads ``holder_unseen_thread`` names.
    holder_unseen_threads: int = 1
    #: Seconds into the run the count began, after the monitor's set-up (0 for the
    #: estimate): ``wait_fraction`` and ``mean_waiting_threads`` are over the time since.
    counted_from_s: float = 0.0


@dataclass(frozen=True)
class ProcessReport:
    """Whole-process CPU use against the cores the process may use."""

    pid: int
    wall_seconds: float
    cpu_seconds: float
    cpu_cores_used: float
    usable_cores: float
    affinity_cores: int | None
    cgroup_quota_cores: float | None
    utilisation: float
    run_queue_fraction: float | None
    threads_seen: int
    max_threads_alive: int
    monitor_cpu_seconds: float
    user_cores_used: float
    #: Cores' worth of CPU other processes took, on the cores this one may use, over the
    #: run (None where the system's counters cannot be read); this process's child
    #: processes (a process pool's workers) are not others.
    other_cores_used: float | None = None
    #: Cores' worth of CPU this process's child processes used over the run: those that
    #: ended and were waited for, and on Linux those alive at the report.
    children_cores_used: float = 0.0


@dataclass(frozen=True)
class ThreadReport:
    """One thread: CPU against wall time, GIL wait, and where its samples landed."""

    ident: int
    native_id: int | None
    name: str
    alive_at_end: bool
    wall_seconds: float
    cpu_seconds: float | None
    cpu_fraction: float | None
    gil_wait_fraction: float | None
    run_queue_fraction: float | None
    samples: int
    running_fraction: float
    waiting_fraction: float
    top_lines: tuple[LineStat, ...]
    top_functions: tuple[LineStat, ...]
    threads_merged: int = 1
    #: Share of its time holding the GIL, where the interpreter's own thread status was
    #: read (CPython 3.15+, ``gil.method``); None elsewhere.
    gil_held_fraction: float | None = None


@dataclass(frozen=True)
class TaskLink:
    """An asyncio task in a stall's await chain: its name and where its coroutine is."""

    name: str
    where: Frame | None


@dataclass(frozen=True)
class Stall:
    """A stretch when an event loop did not come back for at least the stall threshold.

    ``tasks`` is the task the loop was running, then the task awaiting it, and so on
    (the whole chain on CPython 3.14+, the running task alone before).
    """

    duration_ms: float
    started_at_s: float
    samples: int
    stack: tuple[Frame, ...]
    culprit: Frame | None
    coroutine: Frame | None
    tasks: tuple[TaskLink, ...] = ()
    #: What the loop thread was doing, as shares of the stall's samples (kernel's view,
    #: Linux; empty elsewhere): ``callback`` (its own code), ``gil`` (waiting for the GIL
    #: another thread held), ``blocked`` (a system call: I/O, a sleep, a lock).
    causes: dict[str, float] = field(default_factory=dict)
    #: When waiting for the GIL was most of the stall: the line holding it (None where no
    #: sample saw it), and the thread holding it ("" where unknown).
    gil_holder: Frame | None = None
    gil_holder_thread: str = ""

    def task_chain(self, where: Callable[[Frame], str]) -> str:
        """``task 'a' (where) awaited by 'b' (where) ...``; empty when no task was running."""
        parts = [f"{t.name!r}" + (f" ({where(t.where)})" if t.where else "") for t in self.tasks]
        return "task " + " awaited by ".join(parts) if parts else ""


@dataclass(frozen=True)
class LoopReport:
    """One asyncio event loop: heartbeat lag and stalls with the blocking stack."""

    loop_id: int
    loop_class: str
    thread_ident: int
    thread_name: str
    heartbeats: int
    lag: Latency
    stalls: tuple[Stall, ...]
    stalls_total: int
    stalled_seconds: float
    #: Beats late by the stall threshold only because the loop thread waited for a CPU
    #: that other processes held: not stalls of the program's making, so not in ``stalls``.
    busy_machine_stalls: int = 0


@dataclass(frozen=True)
class Verdict:
    """A plain-language finding, the figures behind it, and the fix to consider."""

    code: str
    title: str
    message: str
    fix: str
    evidence: dict[str, float | int | str]


@dataclass(frozen=True)
class TimelinePoint:
    """Figures over one window of the run (about a second)."""

    t_s: float
    gil_wait_fraction: float | None
    cpu_cores_used: float
    threads_alive: int
    loop_lag_max_ms: float | None


@dataclass(frozen=True)
class Span:
    """A stretch of one thread's samples in the same state and innermost function.

    Recorded only when asked for (``gilwise run --trace``); times are seconds since the
    monitor started.
    """

    thread_ident: int
    thread_name: str
    state: str
    start_s: float
    end_s: float
    file: str
    line: int
    function: str


@dataclass(frozen=True)
class Report(JsonReport):
    """Everything one monitoring session measured (JSON schema ``gilwise.run/1``)."""

    schema: str
    gilwise_version: str
    python: str
    platform: str
    started_at: str
    duration_s: float
    interval_s: float
    stall_ms: float
    command: tuple[str, ...] | None
    verdicts: tuple[Verdict, ...]
    gil: GilReport
    process: ProcessReport
    threads: tuple[ThreadReport, ...]
    loops: tuple[LoopReport, ...]
    timeline: tuple[TimelinePoint, ...]
    exit_code: int | None = None
    complete: bool = True
    monitor_errors: tuple[str, ...] = field(default_factory=tuple)
    spans: tuple[Span, ...] = field(default_factory=tuple)

    def with_updates(self, **changes: Any) -> Report:
        return dataclasses.replace(self, **changes)
