"""The sampler driven tick by tick with fake clocks, frames and CPU clocks."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pytest

from gilwise.monitor import Monitor, MonitorConfig, Sources
from gilwise.monitor import _config as config
from gilwise.monitor import _sampler as sampler
from gilwise.monitor._assembly import GIL_METHOD_KERNEL
from gilwise.monitor._kernel import KernelState, KernelStates
from gilwise.monitor._sampler import MAX_INTERVAL_S, next_tick_at

from .fakes import FakeClock, FakeCpu, FakeFrame, FakeThread, at_acquire, at_hash, at_sleep, at_spin

TICK = 0.01


class FakeKernel(KernelStates):
    """The kernel's view of each thread, as a test scripts it (native id = ident + 10,000)."""

    def __init__(
        self,
        states: dict[int, KernelState],
        settled: dict[int, KernelState] | None = None,
        clock: FakeClock | None = None,
    ) -> None:
        super().__init__(reader=lambda native_id: None, machine="x86_64", gil_enabled=True)
        self.states = states
        #: Where threads read on a CPU are once they have had a chance to settle.
        self.settled = settled or {}
        #: Seconds of the world's clock each settling takes (the sampler yielding).
        self.settle_takes = 0.0
        self.clock = clock

    def read(self, native_id: int) -> KernelState | None:
        return self.states.get(native_id - 10_000)

    def settle(self, native_ids: list[int]) -> dict[int, KernelState | None]:
        if self.clock is not None:
            self.clock.advance(self.settle_takes)
        return {n: self.settled.get(n - 10_000, self.read(n)) for n in native_ids}


@dataclass
class World:
    """A fake process: threads with frames and CPU clocks that tests script."""

    clock: FakeClock = field(default_factory=FakeClock)
    cpu: FakeCpu = field(default_factory=FakeCpu)
    frames: dict[int, FakeFrame] = field(default_factory=dict)
    threads: dict[int, FakeThread] = field(default_factory=dict)
    process_cpu: float = 0.0
    run_queue: dict[int, float] = field(default_factory=dict)
    wakeups: dict[int, int] = field(default_factory=dict)
    #: What the kernel shows of each thread (by ident); None: no kernel view at all.
    kernel: dict[int, KernelState] | None = None
    #: Where threads the kernel shows on a CPU settle when the sampler yields (by ident).
    settled: dict[int, KernelState] = field(default_factory=dict)
    #: CPU seconds other processes used on our cores so far (None: the counters are unknown).
    busy_cpu: float | None = None
    #: CPU seconds the process's child processes used so far.
    children_cpu: float = 0.0
    #: How long ago each thread started, as the kernel says (by ident; missing: unknown).
    started_ago: dict[int, float] = field(default_factory=dict)

    def add(self, ident: int, frame: Callable[[], FakeFrame], name: str = "") -> None:
        self.threads[ident] = FakeThread(ident, ident + 10_000, name or f"t{ident}")
        self.frames[ident] = frame()
        self.cpu.clocks[ident] = 0.0

    def add_raw(self, ident: int, frame: Callable[[], FakeFrame]) -> None:
        """A thread started with ``_thread``: it runs, but ``threading`` does not list it."""
        self.frames[ident] = frame()
        self.cpu.clocks[ident] = 0.0

    def remove(self, ident: int) -> None:
        del self.threads[ident], self.frames[ident]

    def sources(self) -> Sources:
        return Sources(
            clock=self.clock,
            frames=lambda: dict(self.frames),  # type: ignore[arg-type]
            threads=lambda: list(self.threads.values()),  # type: ignore[arg-type]
            thread_cpu=self.cpu,
            native_id=lambda ident: ident + 10_000,
            process_cpu=lambda: self.process_cpu,
            process_user_cpu=lambda: self.process_cpu,
            busy_cpu=lambda: (
                None
                if self.busy_cpu is None
                else self.busy_cpu + self.process_cpu + self.children_cpu
            ),
            children_cpu=lambda: self.children_cpu,
            schedstat=self.schedstat,
            thread_age=lambda native_id: self.started_ago.get(native_id - 10_000),
            kernel=None
            if self.kernel is None
            else FakeKernel(self.kernel, self.settled, self.clock),
        )

    def _kernel(self) -> FakeKernel | None:
        return None if self.kernel is None else FakeKernel(self.kernel, self.settled, self.clock)

    def schedstat(self, native_id: int) -> tuple[float, int]:
        ident = native_id - 10_000
        return self.run_queue.get(ident, 0.0), self.wakeups.get(ident, 0)

    def step(self, monitor: Monitor, cpu_share: dict[int, float], ticks: int = 1) -> None:
        for _ in range(ticks):
            self.clock.advance(TICK)
            for ident, share in cpu_share.items():
                self.cpu.run(ident, share * TICK)
                self.process_cpu += share * TICK
            monitor.tick()


def _monitor(world: World, **config: float) -> Monitor:
    monitor = Monitor(MonitorConfig(**config), world.sources())  # type: ignore[arg-type]
    monitor.begin()
    return monitor


def test_four_gil_bound_threads() -> None:
    world = World()
    for ident in (1, 2, 3, 4):
        world.add(ident, at_spin)
    monitor = _monitor(world)
    world.step(monitor, {1: 0.25, 2: 0.25, 3: 0.25, 4: 0.25}, ticks=200)
    report = monitor.stop()
    assert report.gil.wait_fraction == pytest.approx(1.0)
    assert report.gil.mean_waiting_threads == pytest.approx(3.0, rel=0.05)
    for thread in report.threads:
        assert thread.gil_wait_fraction == pytest.approx(0.75, abs=0.03)
        assert thread.cpu_fraction == pytest.approx(0.25, abs=0.02)
    assert [v.code for v in report.verdicts] == ["GIL_BOUND"]


def test_one_cpu_bound_thread_waits_for_nothing() -> None:
    world = World()
    world.add(1, at_spin)
    monitor = _monitor(world)
    world.step(monitor, {1: 1.0}, ticks=100)
    report = monitor.stop()
    assert report.gil.wait_fraction == pytest.approx(0.0, abs=0.01)
    assert report.threads[0].running_fraction == 1.0
    assert [v.code for v in report.verdicts] == ["NO_ISSUE"]


@pytest.mark.parametrize(("others_per_tick", "expected"), [(0.0, 0.0), (0.6, 0.6), (None, None)])
def test_other_processes_cpu_is_the_machines_busy_time_less_ours_and_our_childrens(
    others_per_tick: float | None, expected: float | None
) -> None:
    # A process pool's workers (0.8 cores here) are the program's: not other processes.
    world = World()
    world.add(1, at_spin)
    world.busy_cpu = None if others_per_tick is None else 0.0
    monitor = _monitor(world)
    for _ in range(100):
        world.children_cpu += 0.8 * TICK
        world.step(monitor, {1: 1.0})
        if world.busy_cpu is not None and others_per_tick is not None:
            world.busy_cpu += others_per_tick * TICK
    report = monitor.stop()
    if expected is None:
        assert report.process.other_cores_used is None
    else:
        assert report.process.other_cores_used == pytest.approx(expected, abs=0.01)
    assert report.process.cpu_cores_used == pytest.approx(1.0, abs=0.02)  # ours alone
    assert report.process.children_cores_used == pytest.approx(0.8, abs=0.01)


def test_sleeping_threads_are_io_bound() -> None:
    world = World()
    for ident in (1, 2, 3):
        world.add(ident, at_sleep)
    world.add(4, at_acquire, name="MainThread")
    monitor = _monitor(world)
    world.step(monitor, {1: 0.01, 2: 0.01, 3: 0.01}, ticks=100)
    report = monitor.stop()
    assert report.gil.wait_fraction == pytest.approx(0.0, abs=0.01)
    assert all(t.waiting_fraction == 1.0 for t in report.threads)
    assert [v.code for v in report.verdicts] == ["IO_BOUND"]


def test_native_parallel_threads() -> None:
    world = World()
    world.add(1, at_spin)
    world.add(2, at_spin)
    monitor = _monitor(world)
    world.step(monitor, {1: 0.95, 2: 0.95}, ticks=100)
    report = monitor.stop()
    assert report.process.cpu_cores_used == pytest.approx(1.9, abs=0.05)
    assert "NATIVE_PARALLEL" in [v.code for v in report.verdicts]
    assert "GIL_BOUND" not in [v.code for v in report.verdicts]


def test_run_queue_time_is_starvation_not_gil_wait() -> None:
    world = World()
    for ident in (1, 2, 3, 4):
        world.add(ident, at_spin)
    monitor = _monitor(world)
    for _ in range(100):
        for ident in (1, 2, 3, 4):
            world.run_queue[ident] = world.run_queue.get(ident, 0.0) + 0.5 * TICK
        world.step(monitor, {1: 0.5, 2: 0.5, 3: 0.5, 4: 0.5})
    report = monitor.stop()
    assert report.process.run_queue_fraction == pytest.approx(0.5, abs=0.1)
    assert report.gil.wait_fraction == pytest.approx(0.0, abs=0.15)
    assert "OVERSUBSCRIBED" in [v.code for v in report.verdicts]


def test_thousands_of_short_threads_stay_bounded() -> None:
    world = World()
    monitor = _monitor(world, max_threads_kept=8)
    for ident in range(1, 2001):
        world.add(ident, at_spin)
        world.step(monitor, {ident: 1.0}, ticks=2)
        world.remove(ident)
    world.step(monitor, {})
    report = monitor.stop()
    assert report.process.threads_seen == 2000
    assert len(report.threads) <= 2 * 8 + 1
    merged = [t for t in report.threads if t.threads_merged > 1]
    assert merged
    assert sum(t.threads_merged for t in report.threads) == 2000


def test_reused_ident_starts_a_new_thread() -> None:
    world = World()
    world.add(1, at_spin, name="first")
    monitor = _monitor(world)
    world.step(monitor, {1: 1.0}, ticks=3)
    world.threads[1] = FakeThread(1, 99_999, "second")
    world.step(monitor, {1: 1.0}, ticks=3)
    names = {t.name for t in monitor.stop().threads}
    assert names == {"first", "second"}


def test_tick_errors_are_reported_not_raised() -> None:
    world = World()
    world.add(1, at_spin)
    monitor = _monitor(world)

    def broken() -> dict[int, FakeFrame]:
        raise RuntimeError("frames unavailable")

    monitor.sources.frames = broken  # type: ignore[assignment]
    monitor._safe_tick(world.clock.advance(TICK))
    assert monitor.stop().monitor_errors == ("RuntimeError: frames unavailable",)


def test_timeline_windows() -> None:
    world = World()
    world.add(1, at_spin)
    world.add(2, at_spin)
    monitor = _monitor(world, timeline_window_s=0.5)
    world.step(monitor, {1: 0.5, 2: 0.5}, ticks=300)
    points = monitor.stop().timeline
    assert len(points) >= 5  # 3 s in 0.5 s windows, the last may still be open
    assert all(p.cpu_cores_used == pytest.approx(1.0, abs=0.05) for p in points)
    assert all(p.gil_wait_fraction == pytest.approx(1.0, abs=0.05) for p in points)


def test_io_threads_pay_the_probe_latency_per_wake_up() -> None:
    # Two threads waiting in time.sleep that wake 100 times a second, while the
    # sampler's own wake-ups come 2 ms late (1.9 ms above the idle baseline).
    world = World()
    world.add(1, at_sleep)
    world.add(2, at_sleep)
    monitor = _monitor(world)
    monitor._windows.wake_baseline = 0.0001
    for _ in range(100):
        for ident in (1, 2):
            world.wakeups[ident] = world.wakeups.get(ident, 0) + 1
        monitor._record_probe(0.002)
        world.step(monitor, {1: 0.001, 2: 0.001})
    report = monitor.stop()
    # each wake-up cost 1.9 ms of a 10 ms interval: 19% per thread, 38% together
    assert report.gil.mean_waiting_threads == pytest.approx(0.38, abs=0.05)
    assert report.threads[0].gil_wait_fraction == pytest.approx(0.19, abs=0.03)


def test_silence_after_the_last_tick_is_not_counted_as_no_wait() -> None:
    # Behind CPU-bound threads the sampler may get no turn for a long stretch; the
    # threads then finish. The window must not count that stretch as wait-free.
    world = World()
    world.add(1, at_spin)
    world.add(2, at_spin)
    monitor = _monitor(world)
    world.step(monitor, {1: 0.5, 2: 0.5}, ticks=50)
    world.remove(1)
    world.remove(2)
    world.clock.advance(2.0)  # no ticks while the threads ran to the end
    report = monitor.stop()
    assert report.gil.wait_fraction == pytest.approx(1.0, abs=0.05)


def test_nested_frames_are_sampled_with_their_callers() -> None:
    world = World()
    world.threads[1] = FakeThread(1, 10_001, "t1")
    world.frames[1] = FakeFrame(at_sleep().f_code, at_sleep().f_lasti, f_back=at_spin())
    world.cpu.clocks[1] = 0.0
    monitor = _monitor(world)
    world.step(monitor, {}, ticks=5)
    thread = monitor.stop().threads[0]
    assert {f.function for f in thread.top_functions} == {"sleeper", "spinner"}
    assert thread.top_lines[0].function == "sleeper"


def test_counted_waits_and_the_holder_from_the_kernels_view() -> None:
    # Three threads queue on the GIL's futex at every tick; thread 1 is the one that ran
    # (the holder the sampler displaced), so two wait, and their wait is charged to it.
    world = World(kernel={1: KernelState.GIL, 2: KernelState.GIL, 3: KernelState.GIL})
    world.add(1, at_spin, name="holder")
    world.add(2, at_spin)
    world.add(3, at_spin)
    world.add(4, at_acquire, name="MainThread")
    world.kernel[4] = KernelState.LOCK  # type: ignore[index]
    monitor = _monitor(world)
    world.step(monitor, {1: 0.9, 2: 0.0, 3: 0.0}, ticks=100)
    report = monitor.stop()
    assert report.gil.method == GIL_METHOD_KERNEL
    # (the first tick only meets the threads)
    assert report.gil.wait_fraction == pytest.approx(1.0, abs=0.02)
    assert report.gil.mean_waiting_threads == pytest.approx(2.0, abs=0.05)
    assert [(h.thread_name, h.function) for h in report.gil.holders] == [("holder", "spinner")]
    assert report.gil.holders[0].wait_share == pytest.approx(1.0)
    main = next(t for t in report.threads if t.name == "MainThread")
    assert main.gil_wait_fraction == 0.0


@pytest.mark.parametrize(
    ("third", "sampler_waited", "waiting"),
    [
        (at_spin, False, 2.0),
        (at_hash, False, 2.0),
        (at_sleep, False, 1.0),
        (at_sleep, True, 2.0),
    ],
)
def test_a_thread_on_a_cpu_counts_if_it_settles_on_the_gil_unless_back_to_a_free_gil(
    third: Callable[[], FakeFrame], sampler_waited: bool, waiting: float
) -> None:
    # Thread 3 is runnable as the tick reads it and then sleeps on the GIL's futex. Woken
    # mid-hand-over (Python code) or back from native code, it wanted the GIL. Back from
    # sleep() (or recv, acquire ...) it was in the system call at the tick's instant: it
    # queues behind the sampler alone if the sampler found the GIL free, and waits for
    # whoever held it if the sampler had to wait too.
    world = World(
        kernel={1: KernelState.GIL, 2: KernelState.GIL, 3: KernelState.ON_CPU},
        settled={3: KernelState.GIL},
    )
    world.add(1, at_spin, name="holder")
    world.add(2, at_spin)
    world.add(3, third)
    monitor = _monitor(world)
    monitor._gil_was_busy = sampler_waited  # what the sampler's wake-up lateness says
    world.step(monitor, {1: 0.9, 2: 0.0, 3: 0.0}, ticks=100)
    report = monitor.stop()
    assert report.gil.mean_waiting_threads == pytest.approx(waiting, abs=0.05)


def test_threads_unknown_to_threading_are_counted_too() -> None:
    # pytest-xdist's workers run tests in threads started with _thread: their native id
    # comes from their CPU clock, so the kernel's view (and the count) covers them.
    world = World(kernel={1: KernelState.GIL, 2: KernelState.GIL})
    world.add_raw(1, at_spin)
    world.add_raw(2, at_spin)
    monitor = _monitor(world)
    world.step(monitor, {1: 0.9, 2: 0.0}, ticks=100)
    report = monitor.stop()
    assert report.gil.method == GIL_METHOD_KERNEL
    assert report.gil.mean_waiting_threads == pytest.approx(1.0, abs=0.05)
    assert sorted(t.name for t in report.threads) == ["thread-1", "thread-2"]


def test_a_lock_waiter_in_a_with_statement_is_not_counted() -> None:
    # `with lock:` blocks between instructions, where a preempted thread stops too: only
    # the kernel tells them apart.
    world = World(kernel={1: KernelState.LOCK, 2: KernelState.LOCK})
    world.add(1, at_spin)
    world.add(2, at_spin)
    monitor = _monitor(world)
    world.step(monitor, {1: 0.0, 2: 0.0}, ticks=100)
    report = monitor.stop()
    assert report.gil.wait_fraction == 0.0
    assert all(t.running_fraction == 0.0 for t in report.threads)


@pytest.mark.parametrize(
    ("held", "gap"),
    [
        (0.00001, 0.01),  # a cheap tick: the interval
        (0.0003, 0.03),  # 0.3 ms held at a 1% duty: 30 ms until the next
        (0.002, MAX_INTERVAL_S),  # however costly, stalls must still be seen
    ],
)
def test_ticks_are_spaced_to_keep_the_gil_held_under_the_duty(held: float, gap: float) -> None:
    assert next_tick_at(5.0, 0.01, held, 0.01) == pytest.approx(5.0 + gap)


def test_time_spent_yielding_with_the_gil_held_counts_as_held() -> None:
    world = World(kernel={1: KernelState.ON_CPU}, settled={1: KernelState.GIL})
    world.add(1, at_spin)
    monitor = _monitor(world)
    world.step(monitor, {1: 0.5})  # the first tick only meets the thread
    kernel = monitor.sources.kernel
    assert isinstance(kernel, FakeKernel)
    kernel.settle_takes = 0.004
    world.step(monitor, {1: 0.5})
    assert monitor._settle_s == pytest.approx(0.004)


def test_a_report_before_any_sample_does_not_set_up_the_kernels_readers(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unwanted() -> None:
        raise AssertionError("a report must not go looking for the kernel's readers")

    monkeypatch.setattr(config, "_kernel_states", unwanted)
    monkeypatch.setattr(config, "_schedstat_reader", unwanted)
    monitor = Monitor(MonitorConfig())
    monitor.begin()
    report = monitor.stop()
    assert report.gil.probe.count == 0


def test_threads_the_first_tick_meets_on_the_gil_count_as_queued() -> None:
    # The first tick can come late (the calibration before it is slow beside busy
    # threads): whatever it meets queued on the GIL stands for the time up to it.
    world = World(kernel={1: KernelState.GIL, 2: KernelState.GIL, 3: KernelState.GIL})
    for ident in (1, 2, 3):
        world.add(ident, at_spin)
    monitor = _monitor(world)
    world.clock.advance(0.5)
    monitor.tick()
    world.step(monitor, {1: 0.9}, ticks=50)
    report = monitor.stop()
    assert report.gil.wait_fraction == pytest.approx(1.0)
    assert report.gil.mean_waiting_threads == pytest.approx(2.0)


def _late_first_tick(world: World, monitor: Monitor, cpu: dict[int, float]) -> None:
    """0.4 s pass before the first tick (the sampler's set-up beside busy threads)."""
    world.clock.advance(0.4)
    for ident, seconds in cpu.items():
        world.cpu.run(ident, seconds)
    monitor.tick()


def test_a_late_first_tick_still_counts_each_threads_whole_life() -> None:
    world = World()
    world.add(1, at_spin, name="MainThread")
    world.cpu.run(1, 5.0)  # before the monitor began: not the run's
    monitor = _monitor(world)
    world.add(2, at_spin)  # started 0.3 s into the run, as the kernel says
    world.started_ago[2] = 0.1
    world.add(3, at_spin)  # started during the run; the kernel cannot say when
    _late_first_tick(world, monitor, {1: 0.2, 2: 0.05, 3: 0.1})
    world.step(monitor, {1: 0.5, 2: 0.5}, ticks=10)
    threads = {t.ident: t for t in monitor.stop().threads}
    assert threads[1].wall_seconds == pytest.approx(0.5)
    assert threads[1].cpu_seconds == pytest.approx(0.25)
    assert threads[2].wall_seconds == pytest.approx(0.2)
    assert threads[2].cpu_seconds == pytest.approx(0.1)
    assert threads[3].wall_seconds == pytest.approx(0.1)  # from its first sighting
    assert threads[3].cpu_seconds == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("started_ago", "cpu_used", "wall"),
    [
        (0.41, 0.1, 0.5),  # up to two clock ticks older than the run: started in it
        (0.05, 0.08, 0.18),  # it used more CPU than the kernel's age allows: it lived longer
        (3.0, 0.1, 0.1),  # much older than the run, unseen as it began: from its sighting
    ],
)
def test_a_thread_started_before_its_first_sighting_is_counted_from_its_start(
    started_ago: float, cpu_used: float, wall: float
) -> None:
    world = World()
    monitor = _monitor(world)
    world.add(1, at_spin)
    world.started_ago[1] = started_ago
    _late_first_tick(world, monitor, {1: cpu_used})
    world.step(monitor, {1: 1.0}, ticks=10)
    (thread,) = monitor.stop().threads
    assert thread.wall_seconds == pytest.approx(wall)


def test_gil_waits_are_shares_of_the_time_they_were_counted_over() -> None:
    # Four threads taking turns, first met 0.4 s late: each waited 3/4 of the time it
    # was watched; the time before (its waits not counted per thread) dilutes nothing.
    world = World(kernel=dict.fromkeys((1, 2, 3, 4), KernelState.GIL))
    monitor = _monitor(world)
    for ident in (1, 2, 3, 4):
        world.add(ident, at_spin)
        world.started_ago[ident] = 0.4
    _late_first_tick(world, monitor, dict.fromkeys((1, 2, 3, 4), 0.1))
    world.step(monitor, dict.fromkeys((1, 2, 3, 4), 0.25), ticks=40)
    for thread in monitor.stop().threads:
        assert thread.wall_seconds == pytest.approx(0.8)
        assert thread.cpu_fraction == pytest.approx(0.25)
        assert thread.gil_wait_fraction == pytest.approx(0.75)


@pytest.mark.timeout(30)
def test_a_program_that_ends_at_once_sets_up_no_kernel_reader(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The sampler's thread waits a little before it imports ctypes and calibrates: an
    # empty script is over by then. (A long first wait here: a loaded machine may hold
    # the test up between start and stop, and the point is what happens on a stop.)
    found: list[str] = []
    monkeypatch.setattr(sampler, "FIRST_WAIT_S", 10.0)
    monkeypatch.setattr(config, "_kernel_states", lambda: found.append("kernel"))
    monkeypatch.setattr(config, "_schedstat_reader", lambda: found.append("schedstat"))
    monitor = Monitor(MonitorConfig(interval_s=10.0))
    monitor.start()
    monitor.halt()
    assert found == []


def test_the_count_covers_the_run_up_to_stop_not_up_to_the_final_report() -> None:
    # Beside two CPU-bound threads the sampler's thread and the watcher took 0.5-1 s to
    # stop; counted up to the report, a 3 s watch() fell short of the coverage.
    world = World(kernel={1: KernelState.GIL, 2: KernelState.GIL})
    world.add(1, at_spin)
    world.add(2, at_spin)
    monitor = _monitor(world)
    world.step(monitor, {1: 0.5, 2: 0.5}, ticks=30)  # 0.3 s counted

    def slow_stop() -> bool:
        world.clock.advance(1.0)
        return True

    monitor._stop_thread = slow_stop  # type: ignore[method-assign]
    gil = monitor.stop().gil
    assert gil.method.startswith("counted")
    assert gil.wait_fraction == pytest.approx(1.0, abs=0.05)


def test_the_count_begins_after_the_monitors_set_up_not_at_one_look_over_it() -> None:
    # The set-up took 0.6 s beside two CPU-bound threads; the first tick, which stood for
    # all of it, caught one of them on its way into the GIL: 0.6 s of "nobody waits"
    # where one always did (0.66 against 0.98 by construction).
    world = World(kernel={1: KernelState.GIL, 2: KernelState.ON_CPU})
    world.add(1, at_spin)
    world.add(2, at_spin)
    monitor = _monitor(world)
    world.clock.advance(0.6)
    monitor._first_set_up_done()
    world.step(monitor, {1: 0.5, 2: 0.5})  # that look: thread 2 not yet queued
    world.kernel[2] = KernelState.GIL  # type: ignore[index]
    world.step(monitor, {1: 0.5, 2: 0.5}, ticks=50)
    gil = monitor.stop().gil
    assert gil.method.startswith("counted")  # 0.51 s counted of 1.11: since the set-up
    assert gil.counted_from_s == pytest.approx(0.6)
    assert gil.wait_fraction == pytest.approx(50 / 51, abs=0.01)


@pytest.mark.parametrize(("set_up_s", "counted"), [(0.05, True), (1.5, False)])
def test_a_count_that_began_late_in_the_run_is_not_given_as_the_runs(
    set_up_s: float, counted: bool
) -> None:
    # Beside threads holding the GIL the set-up took 1.2-1.6 s of a 1.6 s run, and one
    # read at its end counted "nobody waits" for three CPU-bound threads: NO_ISSUE.
    world = World(kernel={1: KernelState.ON_CPU, 2: KernelState.ON_CPU})
    world.add(1, at_spin)
    world.add(2, at_spin)
    monitor = _monitor(world)
    world.clock.advance(set_up_s)
    monitor._first_set_up_done()
    world.step(monitor, {1: 0.5, 2: 0.5}, ticks=10)  # 0.1 s counted, nobody seen queued
    report = monitor.stop()
    assert report.gil.method.startswith("counted") is counted
    late = [e for e in report.monitor_errors if "counted from" in e]
    assert bool(late) is not counted
