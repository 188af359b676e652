"""GIL contention from per-thread CPU clocks and thread states.

A thread that wants the GIL but does not hold it makes no progress: its CPU clock
stands still while it is neither blocked in I/O nor starved of a CPU. So over a
window, for each thread::

    demand = (share of samples in which it was running or asking for the GIL) * wall
    wait   = demand - cpu time - run-queue time          (clipped to [0, wall])

and the fraction of time at least one thread waited is estimated as
``min(1, sum(wait) / window)``: when threads queue for the GIL, one holds it while
the others wait, so their waits overlap little when contention is light and the
sum saturates when it is heavy.

A wake-up latency probe alone cannot tell these apart: with one CPU-bound thread the
probe waits a full switch interval each time although no program thread waits at all.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ._stacks import StackTable, ThreadState


@dataclass
class WindowCounts:
    """What one thread did during the current window."""

    wall: float = 0.0
    cpu: float = 0.0
    run_queue: float = 0.0
    samples: int = 0
    running: int = 0

    def wait(self) -> float:
        """Estimated seconds this thread waited for the GIL in the window."""
        if self.samples == 0 or self.wall <= 0:
            return 0.0
        demand = self.wall * self.running / self.samples
        return min(self.wall, max(0.0, demand - self.cpu - self.run_queue))


@dataclass
class ThreadAccount:
    """Everything the monitor accumulates about one thread (mutable, internal)."""

    ident: int
    native_id: int | None
    name: str
    wall: float = 0.0
    cpu: float | None = None
    last_cpu: float | None = None
    run_queue: float | None = None
    last_run_queue: float | None = None
    gil_wait: float = 0.0
    samples: int = 0
    running: int = 0
    alive: bool = True
    merged: int = 1
    window: WindowCounts = field(default_factory=WindowCounts)
    table: StackTable = field(default_factory=StackTable)

    def observe(self, dt: float, cpu_now: float | None, state: ThreadState) -> None:
        """Account one sampling interval of ``dt`` seconds ending in ``state``."""
        self.samples += 1
        self.window.samples += 1
        if state is ThreadState.RUNNING:
            self.running += 1
            self.window.running += 1
        if self.last_cpu is not None and cpu_now is not None:
            used = max(0.0, cpu_now - self.last_cpu)
            self.cpu = (self.cpu or 0.0) + used
            self.window.cpu += used
        elif cpu_now is not None and self.cpu is None:
            self.cpu = 0.0
        if cpu_now is not None:
            self.last_cpu = cpu_now
        self.wall += dt
        self.window.wall += dt

    def observe_run_queue(self, total: float | None) -> None:
        """Account the thread's cumulative run-queue wait read from the kernel."""
        if total is None:
            return
        if self.last_run_queue is not None:
            delta = max(0.0, total - self.last_run_queue)
            self.run_queue = (self.run_queue or 0.0) + delta
            self.window.run_queue += delta
        elif self.run_queue is None:
            self.run_queue = 0.0
        self.last_run_queue = total

    def close_window(self) -> float:
        """End the window: fold its GIL wait into the totals and return that wait."""
        wait = self.window.wait()
        self.gil_wait += wait
        self.window = WindowCounts()
        return wait

    def absorb(self, other: ThreadAccount) -> None:
        """Merge a finished thread into this aggregate account (bounded memory)."""
        self.wall += other.wall
        if other.cpu is not None:
            self.cpu = (self.cpu or 0.0) + other.cpu
        if other.run_queue is not None:
            self.run_queue = (self.run_queue or 0.0) + other.run_queue
        self.gil_wait += other.gil_wait
        self.samples += other.samples
        self.running += other.running
        self.merged += other.merged
        self.table.merge(other.table)


@dataclass
class GilTotals:
    """Process-wide GIL figures accumulated window by window."""

    window_time: float = 0.0
    any_wait_time: float = 0.0
    wait_thread_seconds: float = 0.0

    def add_window(self, length: float, waits: list[float]) -> float:
        """Fold one window in; return its estimated fraction with at least one waiter."""
        if length <= 0:
            return 0.0
        total = sum(waits)
        fraction = min(1.0, total / length)
        self.window_time += length
        self.any_wait_time += fraction * length
        self.wait_thread_seconds += total
        return fraction

    @property
    def wait_fraction(self) -> float | None:
        return self.any_wait_time / self.window_time if self.window_time > 0 else None

    @property
    def mean_waiting_threads(self) -> float | None:
        return self.wait_thread_seconds / self.window_time if self.window_time > 0 else None
