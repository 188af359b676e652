"""GIL contention from per-thread CPU clocks, thread states, wake-ups and the probe.

Two kinds of waiting are estimated per thread and window:

* A thread that runs Python and is switched out makes no CPU progress while it waits
  for the GIL, unless it is starved of a CPU. So for the share of samples in which it
  was running (or asking for the GIL)::

      demand  = running share * wall
      deficit = demand - cpu time - run-queue time

* A thread that blocks in I/O, sleeps or locks pays, each time it wakes up, the wait
  to take the GIL back. The sampler's own wake-up latency probe pays exactly that, so
  for the share of samples in which it was waiting::

      io wait = wake-ups * (mean probe latency - lowest probe latency) * waiting share

The lowest latency seen stands for timer slack, which is not a GIL wait. The sum is
capped by the time the thread was neither on a CPU nor on a run queue. The fraction of
time at least one thread waited is estimated as ``min(1, sum(wait) / window)``: when
threads queue for the GIL, one holds it while the others wait, so their waits overlap
little when contention is light and the sum saturates when it is heavy.

The probe alone cannot stand for the wait fraction: with one CPU-bound thread it
waits a full switch interval each time although no program thread waits at all.

Where the kernel shows who sleeps on the GIL's futex (``_kernel.py``), the waits are
counted instead of estimated, tick by tick (:class:`QueueCounts`).
"""

from __future__ import annotations

from ._stacks import StackTable, ThreadState

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._kernel import KernelState
    from ._stacks import StackKey


# The classes here are plain, not dataclasses: `gilwise run` imports them before the
# program starts, and building dataclasses (and importing the module) cost ~10 ms there.


class WindowCounts:
    """What one thread did during the current window."""

    __slots__ = ("cpu", "run_queue", "running", "samples", "wakeups", "wall")

    def __init__(
        self,
        wall: float = 0.0,
        cpu: float = 0.0,
        run_queue: float = 0.0,
        wakeups: int = 0,
        samples: int = 0,
        running: int = 0,
    ) -> None:
        self.wall = wall
        self.cpu = cpu
        self.run_queue = run_queue
        self.wakeups = wakeups
        self.samples = samples
        self.running = running

    def wait(self, wake_cost: float = 0.0) -> float:
        """Estimated seconds this thread waited for the GIL in the window.

        ``wake_cost`` is what one wake-up paid to get the GIL back in this window.
        """
        if self.samples == 0 or self.wall <= 0:
            return 0.0
        running_share = self.running / self.samples
        deficit = max(0.0, self.wall * running_share - self.cpu - self.run_queue)
        io_wait = self.wakeups * wake_cost * (1 - running_share)
        idle = max(0.0, self.wall - self.cpu - self.run_queue)
        return min(idle, deficit + io_wait)


class ThreadAccount:
    """Everything the monitor accumulates about one thread (mutable, internal)."""

    __slots__ = (
        "alive",
        "cpu",
        "gil_wait",
        "ident",
        "last_cpu",
        "last_schedstat",
        "merged",
        "name",
        "native_id",
        "outside_held",
        "outside_wait",
        "queued_wait",
        "run_queue",
        "running",
        "samples",
        "table",
        "uncounted_wall",
        "unseen_wall",
        "wall",
        "window",
    )

    def __init__(
        self,
        ident: int,
        native_id: int | None,
        name: str,
        *,
        wall: float = 0.0,
        cpu: float | None = None,
        merged: int = 1,
    ) -> None:
        self.ident = ident
        self.native_id = native_id
        self.name = name
        self.wall = wall
        #: Of ``wall``, the time before the thread's first sighting (its run-queue time
        #: not counted), and of that, the time its GIL waits were not counted either.
        self.unseen_wall = 0.0
        self.uncounted_wall = 0.0
        self.cpu = cpu
        self.last_cpu: float | None = None
        self.run_queue: float | None = None
        self.last_schedstat: tuple[float, int] | None = None
        self.gil_wait = 0.0
        #: Seconds counted queueing for the GIL from the kernel's thread states.
        self.queued_wait = 0.0
        #: The same, counted by the watcher process (``_watcher.py``) once it runs, and by
        #: the sampler before.
        self.outside_wait = 0.0
        #: Seconds holding the GIL, where the watcher reads each thread's status (3.15+).
        self.outside_held = 0.0
        self.samples = 0
        self.running = 0
        self.alive = True
        self.merged = merged
        self.window = WindowCounts()
        self.table = StackTable()

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

    @property
    def observed_wall(self) -> float:
        """Seconds over which the thread's run-queue time was counted."""
        return self.wall - self.unseen_wall

    @property
    def counted_wall(self) -> float:
        """Seconds over which the thread's GIL waits were counted."""
        return self.wall - self.uncounted_wall

    def observe_schedstat(self, reading: tuple[float, int] | None) -> None:
        """Account the thread's cumulative run-queue time and wake-ups from the kernel."""
        if reading is None:
            return
        if self.last_schedstat is not None:
            delta = max(0.0, reading[0] - self.last_schedstat[0])
            self.run_queue = (self.run_queue or 0.0) + delta
            self.window.run_queue += delta
            self.window.wakeups += max(0, reading[1] - self.last_schedstat[1])
        elif self.run_queue is None:
            self.run_queue = 0.0
        self.last_schedstat = reading

    def close_window(self, wake_cost: float = 0.0) -> float:
        """End the window: fold its GIL wait into the totals and return that wait."""
        wait = self.window.wait(wake_cost)
        self.gil_wait += wait
        self.window = WindowCounts()
        return wait

    def absorb(self, other: ThreadAccount) -> None:
        """Merge a finished thread into this aggregate account (bounded memory)."""
        self.wall += other.wall
        self.unseen_wall += other.unseen_wall
        self.uncounted_wall += other.uncounted_wall
        if other.cpu is not None:
            self.cpu = (self.cpu or 0.0) + other.cpu
        if other.run_queue is not None:
            self.run_queue = (self.run_queue or 0.0) + other.run_queue
        self.gil_wait += other.gil_wait
        self.queued_wait += other.queued_wait
        self.outside_wait += other.outside_wait
        self.outside_held += other.outside_held
        self.samples += other.samples
        self.running += other.running
        self.merged += other.merged
        self.table.merge(other.table)


class TickSample:
    """One thread at one tick, as the GIL count sees it."""

    # A plain class, not a NamedTuple: typing costs `gilwise run` start-up time.
    __slots__ = ("account", "cpu_used", "kernel", "stack", "state")

    def __init__(
        self,
        account: ThreadAccount | None,
        kernel: KernelState | None,
        state: ThreadState,
        stack: StackKey = (),
        cpu_used: float = 0.0,
    ) -> None:
        self.account = account
        self.kernel = kernel
        self.state = state
        self.stack = stack
        #: CPU the thread used since the previous tick.
        self.cpu_used = cpu_used


class GilTotals:
    """Process-wide GIL figures accumulated window by window."""

    __slots__ = ("any_wait_time", "wait_thread_seconds", "window_time")

    def __init__(self) -> None:
        self.window_time = 0.0
        self.any_wait_time = 0.0
        self.wait_thread_seconds = 0.0

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


class QueueCounts:
    """GIL waits counted from the kernel's view of every thread at every tick.

    At a tick the sampler holds the GIL, so each thread that wants to run Python sleeps
    on the GIL's futex. Without the sampler one of them would hold the GIL: the one the
    sampler took it from, or the one that would have had it next. So one fewer than
    queued waits. Threads just back from a blocking call when the sampler got the GIL
    at once queue behind the sampler alone and are not counted (see ``classify``). Each
    tick stands for the time since the previous one.
    """

    __slots__ = (
        "any_wait_time",
        "ticks",
        "time",
        "waiting_thread_time",
        "window_any_wait_time",
        "window_time",
    )

    def __init__(self) -> None:
        self.ticks = 0
        self.time = 0.0
        self.any_wait_time = 0.0
        self.waiting_thread_time = 0.0
        self.window_time = 0.0
        self.window_any_wait_time = 0.0

    def add_tick(self, dt: float, queued: int) -> float:
        """Count one tick; return the share of ``dt`` each queued thread is charged."""
        waiting = max(0, queued - 1)
        self.ticks += 1
        self.time += dt
        self.window_time += dt
        if waiting:
            self.any_wait_time += dt
            self.window_any_wait_time += dt
            self.waiting_thread_time += dt * waiting
        return waiting / queued if queued else 0.0

    def add_span(
        self, seconds: float, any_wait: float, waiting_thread_seconds: float, readings: int
    ) -> None:
        """Count a stretch counted elsewhere (a watcher's window) as its totals say."""
        self.ticks += readings
        self.time += seconds
        self.window_time += seconds
        self.any_wait_time += any_wait
        self.window_any_wait_time += any_wait
        self.waiting_thread_time += waiting_thread_seconds

    def take_window(self) -> float | None:
        """The share of the time since the last call with a thread waiting, if counted."""
        fraction = self.window_any_wait_time / self.window_time if self.window_time > 0 else None
        self.window_time = self.window_any_wait_time = 0.0
        return fraction

    @property
    def wait_fraction(self) -> float | None:
        return self.any_wait_time / self.time if self.time > 0 else None

    @property
    def mean_waiting_threads(self) -> float | None:
        return self.waiting_thread_time / self.time if self.time > 0 else None


def busyness(account: ThreadAccount) -> float:
    """How much a thread did (CPU and GIL wait): threads are listed, and kept, busiest first."""
    return (account.cpu or 0.0) + account.gil_wait + account.samples * 1e-6


class GilWindows:
    """The estimate's windows: each closes after ``window_s`` and ``min_samples`` ticks.

    Over a window every thread's CPU clock, run-queue time and samples give its GIL wait
    (:meth:`WindowCounts.wait`); the sampler's own wake-up latency in the window prices
    each of a waiting thread's wake-ups.
    """

    __slots__ = (
        "_last_wake_cost",
        "_probe",
        "_spans_pending",
        "_ticks",
        "_waits_pending",
        "min_samples",
        "started",
        "wake_baseline",
        "window_s",
    )

    def __init__(self, window_s: float, min_samples: int) -> None:
        self.window_s = window_s
        self.min_samples = min_samples
        self.started = 0.0
        #: How late a timed wait wakes on this machine with the GIL free (timer slack).
        self.wake_baseline = 0.0
        self._ticks = 0
        self._waits_pending: list[float] = []
        self._spans_pending: list[float] = []
        self._probe: list[float] = []
        self._last_wake_cost = 0.0

    def record_probe(self, latency: float) -> None:
        """How late the sampler woke at this tick."""
        if latency >= 0 and len(self._probe) < 1024:
            self._probe.append(latency)

    def due(self, now: float) -> bool:
        """Count this tick; whether the window should close now."""
        # Under heavy GIL contention the sampler itself gets few turns; a window closes
        # only with enough samples for its running share to mean something.
        self._ticks += 1
        return now - self.started >= self.window_s and self._ticks >= self.min_samples

    def thread_ended(self, account: ThreadAccount) -> None:
        """A thread that ends mid-window still waited: its wait counts in the window."""
        self._spans_pending.append(account.window.wall)
        self._waits_pending.append(account.close_window(self._last_wake_cost))

    def close(
        self, now: float, accounts: list[ThreadAccount], totals: GilTotals
    ) -> tuple[float, float]:
        """End the window at ``now``: fold every thread's wait in; its length and fraction."""
        self._ticks = 0
        self.started = now
        # Behind CPU-bound threads the sampler can go without the GIL for a long time;
        # the window counts only the span its ticks covered, not the silence after.
        length = max([*(a.window.wall for a in accounts), *self._spans_pending], default=0.0)
        wake_cost = self._wake_cost()
        waits = [a.close_window(wake_cost) for a in accounts] + self._waits_pending
        self._waits_pending = []
        self._spans_pending = []
        return length, totals.add_window(length, waits)

    def _wake_cost(self) -> float:
        """What one wake-up paid for the GIL in this window, by the sampler's own probe."""
        latencies = sorted(self._probe)
        self._probe = []
        if latencies:
            # The median resists one slow tick; the wake-up latency measured before the
            # program ran is timer slack and scheduling, not a wait for the GIL.
            median = latencies[len(latencies) // 2]
            self._last_wake_cost = max(0.0, median - self.wake_baseline)
        return self._last_wake_cost
