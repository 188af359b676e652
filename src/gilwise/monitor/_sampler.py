"""The sampler: one background thread that measures the whole process at a fixed rate.

Every tick it takes every thread's stack and CPU clock under the GIL, classifies the
thread as running or waiting, feeds the GIL estimator and the stack tables, sends
heartbeats to event loops and samples stalled ones. Time, frames, CPU clocks and
/proc readers are injected (``_config.py``), so tests drive :meth:`Monitor.tick` with
fakes. Who held the GIL is told from the tick's samples in ``_holders.py``; the GIL
watcher's counts are taken in through ``_outside.py``.
"""

from __future__ import annotations

import _thread
import contextlib
import os
import threading
import time
from collections.abc import Callable, Collection
from types import FrameType

from .._core._clocks import core_budget
from .._core._signals import blocked_for_new_threads
from ._config import MonitorConfig, Sources
from ._gil import (
    GilTotals,
    GilWindows,
    QueueCounts,
    ThreadAccount,
    TickSample,
    busyness,
)
from ._histogram import LatencyHistogram
from ._holders import GilHolders
from ._kernel import KernelState, KernelStates
from ._loops import LoopFinder, LoopWatch, counter_increase
from ._spans import SpanRecorder
from ._stacks import (
    CallSites,
    FrameResolver,
    ThreadState,
    at_blocking_call,
    classify,
    is_async_code,
    sample_stack,
)
from ._timeline import Timeline
from ._trio import TrioLoop, find_trio_run, is_trio_run

TYPE_CHECKING = False
if TYPE_CHECKING:  # the report classes load only when a report is built
    from typing import Any

    from ._assembly import RunState
    from ._holders import Holding
    from ._loops import Holder, StallRecord
    from ._outside import WatcherLink
    from ._report import Report
    from ._stall_log import StallLog
    from ._statistics import MonitorStatistics

#: A wake-up later than this means the sampler queued for the GIL (timer slack and
#: scheduling alone stay well under it on an idle machine: ~0.05-0.1 ms measured here).
GIL_BUSY_LATENCY_S = 0.0005

#: However costly ticks get, sample at least this often (stalls must still be seen).
MAX_INTERVAL_S = 0.05

#: CPU a thread may use during a tick and still count as queueing since before it (a
#: runnable waiter going back to sleep on the GIL's futex uses a few microseconds).
ARRIVAL_CPU_S = 50e-6

#: Counting replaces the estimate when it covered at least this share of the run.
KERNEL_COVERAGE = 0.8
#: ...and when it began early enough to stand for the run: at most this share of it went
#: to the monitor's set-up. Beside threads holding the GIL the set-up (its imports, the
#: calibration, the watcher's start: each takes the GIL back many times) took 1.2-1.6 s
#: of a 1.6 s run, and one read at its end counted "nobody waits" (0.00).
MAX_SET_UP_SHARE = 0.8
#: Calibrations tried before the program starts (``set_up_early``), while no thread of
#: the program competes for the GIL.
EARLY_CALIBRATION_TRIES = 3
#: Runs from this long are told why their count is not given (shorter ones get
#: TOO_FEW_SAMPLES).
LATE_COUNT_MIN_RUN_S = 0.5
#: A thread's age, in the kernel's clock ticks (10 ms), may read this much older than
#: it is: one not alive as the monitor began and no older than the run plus this
#: started during the run.
THREAD_AGE_SLACK_S = 0.02
#: How long the sampler's thread waits before it sets up anything (see ``_run``).
FIRST_WAIT_S = 0.005


class Monitor:
    """Samples this process in a background thread; :meth:`stop` returns the report.

    Example:
        >>> m = Monitor(MonitorConfig(interval_s=0.01))
        >>> m.start()
        >>> report = m.stop()
        >>> report.schema
        'gilwise.run/1'
    """

    def __init__(self, config: MonitorConfig | None = None, sources: Sources | None = None):
        self.config = config or MonitorConfig()
        self.sources = sources or Sources()
        self._lock = threading.Lock()
        self._stop_lock = _thread.allocate_lock()
        self._thread_ident: int | None = None
        self._thread_done = _thread.allocate_lock()
        self._pid = os.getpid()
        self._accounts: dict[int, ThreadAccount] = {}
        #: Threads alive as the monitor began: their native id and CPU clock then.
        self._alive_at_start: dict[int, tuple[int | None, float | None]] = {}
        self._finished: list[ThreadAccount] = []
        self._others: ThreadAccount | None = None
        self._names: dict[int, tuple[int | None, str]] = {}
        self._loops: dict[int, LoopWatch] = {}
        self._finder = LoopFinder()
        self._trio_runs: dict[int, TrioLoop] = {}
        self._call_sites = CallSites()
        self._probe = LatencyHistogram()
        self._gil = GilTotals()
        self._windows = GilWindows(self.config.gil_window_s, self.config.min_window_samples)
        self._queues = QueueCounts()
        #: The GIL watcher process, once it runs (``_outside.py``).
        self._watcher: WatcherLink | None = None
        #: Native ids of hidden threads, known when they hid themselves.
        self._hidden_native_ids: set[int] = set()
        self._holders = GilHolders(self._call_sites, self.config.stall_ms, self._thread_name)
        #: This tick's samples and GIL holder, for the loop watches.
        self._tick_view: tuple[dict[int, TickSample], Holding | None] | None = None
        self._errors: dict[str, str] = {}
        self._ticks = 0
        self._max_alive = 0
        self._started_wall = time.time()
        self._started = 0.0
        self._last_tick = 0.0
        #: When the sampler last finished looking at the threads (a tick, or its set-up).
        self._looked_at = 0.0
        #: Where the GIL's waits begin to be counted: the end of the sampler's set-up.
        self._counting_from = 0.0
        self._process_cpu_start = 0.0
        self._user_cpu_start = 0.0
        self._busy_cpu_start: float | None = None
        self._children_cpu_start = 0.0
        self._timeline: Timeline | None = None
        self._stopped_report: Report | None = None
        #: When ``stop()`` was called: the GIL's count covers the run up to then.
        self._stop_asked_at: float | None = None
        self._monitor_cpu = 0.0
        #: Seconds this tick held the GIL while yielding the CPU (settling threads).
        self._settle_s = 0.0
        self._gil_was_busy = True
        #: How long the sampler last waited for the GIL (its lateness, less CPU starvation).
        self._gil_latency = 0.0
        self._foreign: set[int] = set()
        self._hidden: set[int] = set()
        self._closed_loops: list[LoopWatch] = []
        self._stall_log: StallLog | None = None
        self._stalls_to_log: list[tuple[LoopWatch, StallRecord]] = []
        self._stalls_missed = 0
        self._spans = SpanRecorder(self.config.max_spans) if self.config.record_spans else None

    # -- lifecycle -----------------------------------------------------------------

    def start(self) -> None:
        """Start the sampling thread (invisible to ``threading.enumerate()``)."""
        self._windows.wake_baseline = _idle_wake_latency()
        self.begin()
        self._stop_lock.acquire()
        self._thread_done.acquire()
        # A raw _thread keeps the sampler out of threading.enumerate() and
        # active_count(), so the watched program sees the same threads as without us;
        # blocking signals it starts with leaves every signal to the program's threads.
        with blocked_for_new_threads():
            self._thread_ident = _thread.start_new_thread(self._run, ())

    def begin(self) -> None:
        """Start accounting without a thread: tests then call :meth:`tick` themselves."""
        now = self.sources.clock()
        self._started = self._last_tick = self._looked_at = self._windows.started = now
        self._counting_from = now
        self._started_wall = time.time()
        self._process_cpu_start = self.sources.process_cpu()
        self._user_cpu_start = self.sources.process_user_cpu()
        self._busy_cpu_start = _read_or_none(self.sources.busy_cpu)
        self._children_cpu_start = self.sources.children_cpu()
        self._timeline = Timeline(now, self._process_cpu_start, self.config.max_timeline_points)
        self._alive_at_start = self._thread_clocks_now()

    def set_up_early(self) -> None:
        """Do the sampler's set-up now, in the caller's thread, before :meth:`start`: its
        imports (ctypes for reading /proc with the GIL held, dis for call sites, the
        watcher's link) and the GIL's calibration (once per process).

        The sampler does them after a short wait, so that a program that ends at once
        pays nothing; but beside threads that start busy, every file an import reads
        and every sighting the calibration needs waits for the GIL: two CPU-bound
        threads started at once were counted from 0.1-0.34 s in (the calibration
        20-150 ms of it, the watcher's import 10-90 ms), and three started inside
        ``gilwise.watch()`` from 0.10-0.15 s in. Done before they exist (``gilwise
        run``, ``gilwise.start()``, the pytest plugin), a few ms (``benchmarks/fixed_cost.py``).
        """
        import_set_up_modules()
        kernel = self.sources.kernel
        if kernel is not None and kernel.gil_window is None:
            # The switch interval is shortened for the calibration only where no other
            # thread runs Python: one could read or set it meanwhile.
            alone = len(self.sources.frames()) <= 1
            try:
                # Alone, a retry costs at most a calibration's 0.1 s; left to the sampler
                # beside the program's busy threads, each try takes longer, and 0.25 s
                # apart: the count can begin too late in the run to be given.
                for _ in range(EARLY_CALIBRATION_TRIES):
                    if kernel.calibrate(alone=alone):
                        break
            except Exception as exc:  # the monitor must never take the program down
                self._errors.setdefault("calibration", f"GIL futex calibration: {exc}")

    def _thread_clocks_now(self) -> dict[int, tuple[int | None, float | None]]:
        """Each thread's native id and CPU clock: where its account begins if the first
        tick is late (the sampler's set-up took long beside threads holding the GIL)."""
        # Only the idents are kept: the calling thread's own frame is in the dict, and a
        # local holding it would make this frame a reference cycle (see _tick).
        idents = tuple(self.sources.frames())
        self._refresh_names(idents)
        clocks = {}
        for ident in idents:
            native_id = self._names.get(ident, (None, ""))[0]
            clocks[ident] = (native_id, self.sources.thread_cpu(ident, native_id))
        return clocks

    def stop(self, exit_code: int | None = None, command: tuple[str, ...] | None = None) -> Report:
        """Stop sampling and return the report (idempotent)."""
        if self._stopped_report is not None:
            return self._stopped_report
        self._stop_asked_at = self.sources.clock()
        if os.getpid() != self._pid:
            # A forked child: the sampler lives in the parent, and our lock may have been
            # copied while held. Report what was recorded before the fork.
            self._lock = threading.Lock()
            self._errors["fork"] = "forked child: sampling stopped at fork (it runs in the parent)"
        joined = self._stop_thread()
        report = self.report(exit_code=exit_code, command=command, final=True)
        try:
            self._log_stalls(final=True)
        except Exception as exc:  # a broken log handler must not lose the report
            report = report.with_updates(
                monitor_errors=(*report.monitor_errors, f"stall log: {type(exc).__name__}: {exc}")
            )
        if not joined:
            report = report.with_updates(
                monitor_errors=(*report.monitor_errors, "sampler thread did not stop in time")
            )
        self._stopped_report = report
        return report

    def halt(self) -> None:
        """Stop sampling without building a report: nobody asked for one.

        The report's classes and verdicts are most of what a short program pays for the
        monitor; ``gilwise run --quiet`` with no output file needs none of them.
        """
        self._stop_thread()
        with contextlib.suppress(Exception):  # a broken log handler must not matter here
            self._log_stalls(final=True)

    def _stop_thread(self) -> bool:
        if self._thread_ident is None:
            return True
        if os.getpid() != self._pid:
            return True  # forked child: the sampler thread does not exist here
        if self._stop_lock.locked():
            self._stop_lock.release()
        if self._thread_ident == threading.get_ident():
            return True
        joined = self._thread_done.acquire(timeout=2.0)
        if joined:
            self._thread_done.release()
        return joined

    def _run(self) -> None:
        try:
            # A short wait before anything else: a program that ends at once (an empty
            # script, a --help) then costs no import of the kernel's readers and no
            # calibration; one that goes on is still starting when they are done.
            if self._stop_lock.acquire(timeout=min(self.config.interval_s, FIRST_WAIT_S)):
                self._stop_lock.release()
                return
            self._sample_until_stopped()
        finally:
            self._stop_watcher()
            self._thread_done.release()

    def _sample_until_stopped(self) -> None:
        cpu_clock = time.thread_time
        interval = self.config.interval_s
        deadline = self.sources.clock() + interval
        CallSites.prepare()
        starvation = self._run_queue_seconds(threading.get_native_id())
        starved_before = _read_or_none(starvation)
        kernel = self.sources.kernel
        if kernel is not None:
            # Found now, while the program is still starting: later, threads that hog the
            # GIL (or a busy machine) can keep the calibration's helper from running. No
            # tick before it (tried: it named sqlite's inserters as the holder on 3.11,
            # not on 3.15, and counted the set-up's time by one look: json_threads read
            # 0.76 against the reference's 0.94); the count begins after it.
            if kernel.gil_window is None:  # not found before the program (set_up_early)
                self._calibrate(kernel)
            self._start_watcher(kernel)
            deadline = self._first_set_up_done() + interval
        while True:
            delay = deadline - self.sources.clock()
            if self._stop_lock.acquire(timeout=max(0.0, delay)):
                self._stop_lock.release()
                break
            now = self.sources.clock()
            # How late we woke is how long this thread waited to get the GIL back
            # (plus timer slack): the wake-up latency probe.
            latency = now - deadline
            self._record_probe(latency)
            # Late for want of a CPU (other processes, an oversubscribed machine) is
            # not late for want of the GIL: the sampler's own run-queue time says how
            # much of the lateness was that.
            starved_now = _read_or_none(starvation)
            starved = counter_increase(starved_before, starved_now)
            starved_before = starved_now
            self._gil_latency = max(0.0, latency - starved)
            self._gil_was_busy = self._gil_latency >= GIL_BUSY_LATENCY_S
            cpu_before = cpu_clock()
            self._settle_s = 0.0
            self._safe_tick(now)
            self._monitor_cpu = cpu_clock()
            held = self._monitor_cpu - cpu_before + self._settle_s
            deadline = next_tick_at(now, interval, held, self.config.max_duty)
            kernel = self.sources.kernel
            if kernel is not None and kernel.wants_calibration:
                # Between ticks and outside the lock: it lets go of the GIL a few times.
                self._calibrate(kernel)
                self._start_watcher(kernel)
                deadline = self._set_up_done() + interval

    def _set_up_done(self) -> float:
        """Note that the sampler looks again from now on (see ``_new_cpu``); the time."""
        self._looked_at = self.sources.clock()
        return self._looked_at

    def _first_set_up_done(self) -> float:
        """Count the GIL's waits from now on, the set-up's time left out; the time.

        The first tick stood for the whole set-up (0.3-1.0 s beside busy threads) by
        one look: two CPU-bound threads read 0.66-0.98 of the time waiting, against
        0.98 by construction, as that look caught one of them on its way into the GIL.
        """
        self._counting_from = self._last_tick = self._set_up_done()
        return self._counting_from

    def _calibrate(self, kernel: KernelStates) -> None:
        try:
            # A program that ends at once must not wait for the calibration.
            kernel.calibrate(give_up=lambda: not self._stop_lock.locked())
        except Exception as exc:  # the monitor must never take the program down
            kernel.calibration_failed = True
            self._errors.setdefault("calibration", f"GIL futex calibration: {exc}")

    def _start_watcher(self, kernel: KernelStates) -> None:
        if not self.config.gil_watcher or self._watcher is not None or kernel.gil_window is None:
            return
        try:
            from ._outside import WatcherLink

            with self._lock:
                own = {threading.get_native_id(), *self._hidden_native_ids}
            self._watcher = WatcherLink.start(kernel.gil_window, kernel.futex_calls, own)
        except Exception as exc:  # the in-process count goes on without it
            self._errors.setdefault("watcher", f"GIL watcher: {type(exc).__name__}: {exc}")

    def _stop_watcher(self) -> None:
        watcher = self._watcher
        if watcher is None or os.getpid() != self._pid:
            return
        try:
            waited_s = watcher.stop()
            with self._lock:
                watcher.charge_waits(self._accounts.values(), self._finished, self._others)
                if watcher.took_over:
                    now = self.sources.clock()
                    watcher.blame(waited_s, self._holders, now, self._name_of_native_id())
        except Exception as exc:
            self._errors.setdefault("watcher", f"GIL watcher: {type(exc).__name__}: {exc}")

    def _take_outside_counts(self) -> None:
        """Take in what the watcher counted since the last tick (called under the lock)."""
        watcher = self._watcher
        if watcher is None:
            return
        names = self._name_of_native_id()
        if watcher.take_counts(self._queues, self._holders, self.sources.clock, names):
            # Each thread's count, too, starts from what the sampler counted for it.
            others = [self._others] if self._others is not None else []
            for account in [*self._accounts.values(), *self._finished, *others]:
                account.outside_wait = account.queued_wait
        watcher.charge_waits(self._accounts.values(), self._finished, self._others)

    def _name_of_native_id(self) -> Callable[[int], str]:
        """Thread names by native id, as the watcher knows threads (used under the lock;
        the table is made at the first look, which most ticks do not take). A thread no
        tick met yet (a server's handler living a few ms) is named by ``threading`` while
        it lives, else by its id."""
        names: dict[int | None, str] = {}

        def name(native_id: int) -> str:
            if not names:
                names.update((t.native_id, t.name) for t in self.sources.threads())
                accounts = (*self._finished, *self._accounts.values())
                names.update((a.native_id, a.name) for a in accounts)
            return names.get(native_id) or f"thread {native_id}"

        return name

    def _others_cpu(self, process_cpu: float, children_cpu: float) -> float | None:
        """CPU seconds processes other than this one and its children took on the cores
        this one may use, since the start."""
        busy = _read_or_none(self.sources.busy_cpu)
        if busy is None or self._busy_cpu_start is None:
            return None
        return max(0.0, busy - self._busy_cpu_start - process_cpu - children_cpu)

    def _children_cpu(self) -> float:
        if os.getpid() != self._pid:
            return 0.0  # a forked child: the start was its parent's
        return self.sources.children_cpu() - self._children_cpu_start

    def _watcher_process_cpu(self) -> float:
        """The GIL watcher's CPU as its parent's kernel counts it: a child process, but
        the monitor's (its own figure is in the monitor's cost), not the program's."""
        if self._watcher is None or os.getpid() != self._pid:
            return 0.0
        try:
            return self._watcher.counts.process_cpu()
        except Exception:  # a report must not fail for it
            return 0.0

    def _monitor_cost(self) -> float:
        """CPU seconds of the monitor's own threads: the sampler and the calibration's spinner."""
        kernel = self.sources.kernel_if_found
        calibration = kernel.calibration_cpu_s if kernel is not None else 0.0
        watcher = self._watcher.counts.cpu_seconds if self._watcher is not None else 0.0
        return self._monitor_cpu + calibration + watcher

    def _counted(self, now: float) -> bool:
        """Whether the kernel's thread states counted the GIL waits over the run since
        the monitor's set-up."""
        return self._set_up_in_time(now) and self._covered(now)

    def _watched(self, now: float) -> bool:
        """Whether the watcher process counted the GIL waits since the monitor's set-up."""
        return self._set_up_in_time(now) and self._watcher_covered(now)

    def _covered(self, now: float) -> bool:
        """Whether a count (the sampler's or the watcher's) covered the run since set-up."""
        return self._queues.time >= KERNEL_COVERAGE * self._countable(now) or (
            self._watcher_covered(now)
        )

    def _watcher_covered(self, now: float) -> bool:
        watcher = self._watcher
        return watcher is not None and watcher.counts.time >= KERNEL_COVERAGE * self._countable(now)

    def _set_up_in_time(self, now: float) -> bool:
        """Whether the count began early enough in the run to stand for it."""
        set_up = self._counting_from - self._started
        return set_up <= MAX_SET_UP_SHARE * (set_up + self._countable(now))

    def _late_count_error(self, now: float) -> dict[str, str]:
        """What the report says where a count is not given for having begun too late."""
        began = self._counting_from - self._started
        run = began + self._countable(now)
        if self._set_up_in_time(now) or not self._covered(now):
            return {}
        if run < LATE_COUNT_MIN_RUN_S:
            return {}  # too short a run anyway, which TOO_FEW_SAMPLES says
        return {
            "late count": f"the GIL's waits were counted from {began:.2f} s into a "
            f"{run:.2f} s run (the monitor's set-up waited for the GIL meanwhile): too "
            "little of it to stand for the run, so they are not given as counted; "
            "a longer run, or `gilwise run`, which sets up before the program, counts it"
        }

    def _countable(self, now: float) -> float:
        """Seconds the GIL's waits could be counted: since the monitor's set-up, up to
        ``stop()``.

        Not up to the final report: beside threads that hold the GIL, the sampler's
        thread and the watcher take a while to stop, nothing is counted meanwhile, and
        a 3 s watch() beside two CPU-bound threads fell short of the coverage (over
        half a second, then) and reported the estimate.
        """
        end = now if self._stop_asked_at is None else min(now, self._stop_asked_at)
        return max(1e-9, end - self._counting_from)

    def _record_probe(self, latency: float) -> None:
        self._probe.add(latency)
        self._windows.record_probe(latency)

    def _safe_tick(self, now: float) -> None:
        try:
            with self._lock:
                self._tick(now)
            if self._stalls_to_log or self._stalls_missed:
                # Outside the lock: a slow log handler must not hold up report() callers.
                self._log_stalls()
        except Exception as exc:  # the monitor must never take the program down
            key = type(exc).__name__
            self._errors.setdefault(key, f"{key}: {exc}")

    def tick(self, now: float | None = None) -> None:
        """Take one sample now (tests drive the monitor with this and fake sources)."""
        with self._lock:
            self._tick(self.sources.clock() if now is None else now)

    # -- one tick ---------------------------------------------------------------------

    def _tick(self, now: float) -> None:
        frames = self.sources.frames()
        own = self._thread_ident
        # The sampler's own frame goes at once: held by a local of the very frame it is,
        # it would make every tick a reference cycle, and each frame the tick looked at
        # (with the locals of functions that returned meanwhile) would wait for the
        # garbage collector. A program's BytesIO was then finalised beside its own
        # memoryview: "BufferError: Existing exports of data" under gilwise run.
        if own is not None:
            frames.pop(own, None)
        dt = max(0.0, now - self._last_tick)
        self._last_tick = now
        self._ticks += 1
        # Look for loops on every early tick: on a busy event loop the sampler may get
        # only a few turns before the loop's own heartbeat takes over.
        scan_loops = self._ticks <= 10 or self._ticks % self.config.loop_scan_every == 1
        self._refresh_names(frames)
        seen = 0
        queued: list[ThreadAccount] = []
        #: Threads met at this tick asleep on the GIL: they queue now, with no account yet.
        met_queued: list[ThreadAccount] = []
        on_cpu: list[ThreadAccount] = []
        samples: dict[int, TickSample] = {}
        counted = self.sources.kernel is not None
        cpu_at_start = self._cpu_clocks() if counted else {}
        kernel_states = self._kernel_states(frames)
        for ident, frame in frames.items():
            if ident in self._hidden:
                continue
            seen += 1
            sample = self._sample_thread(ident, frame, dt, now, kernel_states.get(ident))
            samples[ident] = sample
            if sample.kernel is None:
                counted = False
            elif sample.account is None:
                # First sighting: accounted from the next tick on, but counted in the queue
                # now. Left out, threads the first tick met (late, after the calibration)
                # read as not waiting for the whole time up to it: 8 CPU-bound threads 0.65
                # against 0.93.
                if sample.kernel is KernelState.GIL:
                    met_queued.append(self._accounts[ident])
            elif sample.kernel is KernelState.GIL and sample.state is ThreadState.RUNNING:
                queued.append(sample.account)
            elif sample.kernel is KernelState.ON_CPU and (
                self._gil_was_busy or not at_blocking_call(sample.stack, self._call_sites)
            ):
                # One on a CPU at a call that blocks (recv, sleep, acquire) is coming back
                # from it. If the sampler got the GIL at once, it would have found the GIL
                # free: let settle, it would only queue behind the sampler (16 loopback-socket
                # client threads counted 0.92 of the time waiting against the reference's
                # 0.31). If the sampler had to wait, someone held the GIL: it waits too.
                on_cpu.append(sample.account)
            if scan_loops:
                self._discover_loop(ident, frame)
        if counted and on_cpu:
            queued += self._settled_on_gil(on_cpu)
        if counted:
            queued = [a for a in queued if self._queued_before_tick(a, cpu_at_start)]
            in_queue = len(queued) + len(met_queued)
            share = self._queues.add_tick(dt, in_queue)
            for account in queued:
                account.queued_wait += dt * share
            took_over = self._watcher is not None and self._watcher.took_over
            # A thread met now may have held the GIL if it started since the last look,
            # its whole CPU then known (a threaded server's handlers live a few ms).
            started_since = [a for a in met_queued if samples[a.ident].cpu_used > 0]
            holder = self._holders.at_tick(
                now,
                dt,
                self._gil_latency,
                queued + started_since,
                in_queue,
                samples,
                watched=took_over,
            )
            self._tick_view = (samples, holder)
        else:
            self._tick_view = None
        # After this tick's own count: a watcher that takes over now starts from it.
        self._take_outside_counts()
        self._max_alive = max(self._max_alive, seen)
        self._retire_threads(frames)
        self._check_loops(now, frames)
        if self._windows.due(now):
            self._close_gil_window(now)
        timeline = self._timeline
        if timeline is not None and now - timeline.started >= self.config.timeline_window_s:
            lags = [w.take_window_max_lag() for w in self._loops.values()]
            timeline.close(now, self.sources.process_cpu(), seen, lags)
        self._looked_at = now

    def _refresh_names(self, idents: Collection[int]) -> None:
        # A new thread sets its native id only once it runs, so look again until it has;
        # threads unknown to the threading module (our own, raw _thread ones) once only.
        # Every few ticks anyway, to notice a thread ident reused by a new thread.
        periodic = self._ticks % self.config.loop_scan_every == 0
        if not periodic and all(
            ident in self._foreign or self._names.get(ident, (None,))[0] is not None
            for ident in idents
        ):
            return
        known = set()
        for t in self.sources.threads():
            if t.ident is not None:
                known.add(t.ident)
                self._names[t.ident] = (t.native_id, t.name)
        for ident in idents:
            if ident not in known:
                self._foreign.add(ident)
                self._names[ident] = (self.sources.native_id(ident), f"thread-{ident}")

    def _kernel_states(self, frames: dict[int, FrameType]) -> dict[int, KernelState | None]:
        """The program's threads' states as the kernel shows them, read in one pass as the
        tick begins.

        A thread returning from a system call while the sampler holds the GIL queues behind
        the sampler alone, and the longer the tick has run, the more such threads a read
        finds: so the reads come before the stack walks, not between them.
        """
        if self.sources.kernel is None:
            return {}
        return {
            ident: self._kernel_state(self._names.get(ident, (None, ""))[0])
            for ident in frames
            if ident not in self._hidden
        }

    def _sample_thread(
        self, ident: int, frame: FrameType, dt: float, now: float, kernel: KernelState | None
    ) -> TickSample:
        """Account one thread's sample; what the tick's GIL count needs to know of it."""
        native_id, name = self._names.get(ident, (None, f"thread-{ident}"))
        account = self._accounts.get(ident)
        if account is not None and account.native_id is None:
            account.native_id = native_id  # known now that the thread has started
            account.name = name
        elif account is not None and native_id is not None and account.native_id != native_id:
            self._finish(self._accounts.pop(ident))  # the ident was reused by a new thread
            account = None
        if account is None:
            account = self._accounts[ident] = ThreadAccount(
                ident=ident, native_id=native_id, name=name
            )
            account.last_cpu = self.sources.thread_cpu(ident, native_id)
            self._credit_life_before_sighting(account, now, dt)
            if self.sources.schedstat is not None and native_id is not None:
                account.observe_schedstat(self.sources.schedstat(native_id))
            # Its stack too, for the holder rule only (not a sample of its state).
            return TickSample(
                None,
                kernel,
                ThreadState.WAITING,
                sample_stack(frame),
                cpu_used=self._new_cpu(account, now),
            )
        stack = sample_stack(frame)
        state = classify(stack, self._call_sites, kernel, self._gil_was_busy)
        cpu_before, cpu_now = account.last_cpu, self.sources.thread_cpu(ident, native_id)
        account.observe(dt, cpu_now, state)
        account.table.add(state, stack)
        if self._spans is not None:
            self._spans.record(ident, state, stack, now, self.config.interval_s)
        used = cpu_now - cpu_before if cpu_now is not None and cpu_before is not None else 0.0
        return TickSample(account, kernel, state, stack, used)

    def _new_cpu(self, account: ThreadAccount, now: float) -> float:
        """CPU a thread met for the first time used since the sampler last looked (its
        previous tick, or its set-up): all it used, if it started since, else none known.

        What the long-hold rule weighs: a pool's new worker can keep the GIL from its
        start. Its whole life is no measure where it began while the sampler was setting
        up (which a busy machine makes long) rather than waiting for the GIL.
        """
        # Its age may read a little older than it is (the kernel's clock ticks).
        since = now - self._looked_at + THREAD_AGE_SLACK_S
        if account.cpu is None or not 0 < account.wall <= since:
            return 0.0
        return account.cpu

    def _credit_life_before_sighting(self, account: ThreadAccount, now: float, dt: float) -> None:
        """Count a thread's wall and CPU time since the monitor began (or since its own
        start) up to its first sighting, ``dt`` after the previous tick.

        Ticks are late while the sampler sets up (up to a few hundred ms beside threads
        holding the GIL) or queues for the GIL: counted from its first sighting, each of
        three CPU-bound threads of a 0.6 s run read 0.1 s of CPU where it used 0.2 s.
        Its run-queue time is counted from the sighting on, and its GIL waits too, but
        for those the watcher counted since the previous tick (charged now): their shares
        are taken over those times (``observed_wall``, ``counted_wall``).
        """
        cpu_now = account.last_cpu
        since_start = now - self._started
        native_id, cpu_at_start = self._alive_at_start.pop(account.ident, (None, None))
        if native_id is not None and native_id == account.native_id:
            lived = since_start
            if cpu_at_start is not None and cpu_now is not None:
                account.cpu = max(0.0, cpu_now - cpu_at_start)
        else:
            read_age = self.sources.thread_age
            age = read_age(account.native_id) if read_age and account.native_id else None
            if age is None or cpu_now is None or age > since_start + THREAD_AGE_SLACK_S:
                return  # unknown, or alive before the monitor: its CPU then is not the run's
            lived = max(min(age, since_start), cpu_now)
            account.cpu = cpu_now
        account.wall = account.unseen_wall = lived
        watched = self._watcher is not None and self._watcher.took_over
        # A short-lived thread read "GIL wait 100%" with no time counted to hold it.
        account.uncounted_wall = max(0.0, lived - dt) if watched else lived

    def _stall_cause(self, ident: int) -> tuple[str | None, Holder | None, str]:
        """What a loop thread was doing at this tick, from the kernel's view (if any): the
        cause, and if it waited for the GIL, the holder's line (if seen) and thread."""
        view = self._tick_view
        sample = view[0].get(ident) if view is not None else None
        if view is None or sample is None or sample.kernel is None:
            return None, None, ""
        holder = view[1]
        if sample.kernel is KernelState.ON_CPU:
            return "callback", None, ""
        if sample.kernel is not KernelState.GIL:
            return "blocked", None, ""
        if holder is None or holder[1] == ident:
            # It queues only because the sampler took the GIL from it: its own code ran.
            return "callback", None, ""
        return "gil", holder[0], self._thread_name(holder[1])

    def _thread_name(self, ident: int) -> str:
        return self._names.get(ident, (None, ""))[1]

    def _cpu_clocks(self) -> dict[int, float | None]:
        read = self.sources.thread_cpu
        return {a.ident: read(a.ident, a.native_id) for a in self._accounts.values()}

    def _queued_before_tick(
        self, account: ThreadAccount, cpu_at_start: dict[int, float | None]
    ) -> bool:
        """Whether a thread found queueing for the GIL was already queueing as the tick began.

        A thread asleep on a futex uses no CPU. One whose CPU clock moved during the tick
        was running native code (or returning from a system call) meanwhile, and queues
        behind the sampler alone: without the sampler it would have found the GIL free.
        """
        before = cpu_at_start.get(account.ident)
        after = self.sources.thread_cpu(account.ident, account.native_id)
        return before is None or after is None or after - before < ARRIVAL_CPU_S

    def _settled_on_gil(self, on_cpu: list[ThreadAccount]) -> list[ThreadAccount]:
        """Of threads the kernel showed runnable, those that then sleep on the GIL."""
        kernel = self.sources.kernel
        ids = [a.native_id for a in on_cpu if a.native_id is not None]
        if kernel is None or not ids:
            return []
        started = self.sources.clock()
        states = kernel.settle(ids)
        # Yielding the CPU uses none, but the GIL stays held: the program waits all the same.
        self._settle_s += self.sources.clock() - started
        return [a for a in on_cpu if states.get(a.native_id or 0) is KernelState.GIL]

    def _kernel_state(self, native_id: int | None) -> KernelState | None:
        kernel = self.sources.kernel
        if kernel is None or native_id is None:
            return None
        return kernel.read(native_id)

    def _retire_threads(self, frames: dict[int, FrameType]) -> None:
        gone = [ident for ident in self._accounts if ident not in frames]
        for ident in gone:
            if self._spans is not None:
                self._spans.thread_ended(ident)
            self._finish(self._accounts.pop(ident))
            self._names.pop(ident, None)
            self._foreign.discard(ident)

    def _finish(self, account: ThreadAccount) -> None:
        account.alive = False
        self._gil_wait_flush(account)
        self._finished.append(account)
        limit = self.config.max_threads_kept
        if len(self._finished) > 2 * limit:
            # Thousands of short-lived threads: keep the heaviest, fold the rest into one.
            self._finished.sort(key=busyness, reverse=True)
            keep, fold = self._finished[:limit], self._finished[limit:]
            if self._others is None:
                self._others = ThreadAccount(ident=0, native_id=None, name="")
                self._others.merged = 0
                self._others.alive = False
            for acc in fold:
                self._others.absorb(acc)
            self._finished = keep

    def _gil_wait_flush(self, account: ThreadAccount) -> None:
        self._windows.thread_ended(account)

    def _read_schedstats(self) -> None:
        if not self._accounts:
            return  # nothing sampled yet: the reader need not be set up for this
        reader = self.sources.schedstat
        if reader is None:
            return
        for account in self._accounts.values():
            if account.native_id is not None:
                account.observe_schedstat(reader(account.native_id))

    def _discover_loop(self, ident: int, frame: FrameType) -> None:
        if any(w.thread_ident == ident and w.loop() is not None for w in self._loops.values()):
            return
        if not _has_loop_hint(frame):
            return
        loop = self._finder.find(frame)
        if loop is None:
            loop = find_trio_run(frame)
            if loop is not None:
                # The watch holds its loop weakly; nothing else holds this adapter.
                self._trio_runs[id(loop)] = loop
        if loop is not None:
            self._watch_loop(loop, ident)

    def _watch_loop(self, loop: Any, ident: int) -> None:
        if id(loop) in self._loops and self._loops[id(loop)].loop() is loop:
            return
        if ident not in self._names:
            # Added by add_loop before the first tick named the threads: a loop's thread
            # name labels its metrics, so look it up now.
            for t in self.sources.threads():
                if t.ident == ident:
                    self._names[ident] = (t.native_id, t.name)
        native_id, name = self._names.get(ident, (None, f"thread-{ident}"))
        self._loops[id(loop)] = LoopWatch(
            loop,
            ident,
            name,
            self.sources.clock,
            self.config.stall_ms / 1000,
            self.config.interval_s,
            starvation=self._run_queue_seconds(native_id),
        )

    def _run_queue_seconds(self, native_id: int | None) -> Callable[[], float | None] | None:
        """A reader of one thread's cumulative run-queue wait, where the OS keeps one."""
        read = self.sources.schedstat
        if read is None or native_id is None:
            return None

        def seconds() -> float | None:
            counters = read(native_id)
            return None if counters is None else counters[0]

        return seconds

    def hide_thread(self, ident: int) -> None:
        """Leave a thread of gilwise's own (``gilwise attach``'s agent) out of the report.

        Called from that thread (as gilwise's own are), it is left out of the watcher's
        counts too, if the watcher has not started yet (it runs with a fixed list).
        """
        with self._lock:
            self._hidden.add(ident)
            if ident == threading.get_ident():
                self._hidden_native_ids.add(threading.get_native_id())

    def add_loop(self, loop: Any, thread_ident: int | None = None) -> None:
        """Watch ``loop`` (run by ``thread_ident``, default the calling thread)."""
        with self._lock:
            self._watch_loop(loop, threading.get_ident() if thread_ident is None else thread_ident)

    def _check_loops(self, now: float, frames: dict[int, FrameType]) -> None:
        for key, watch in list(self._loops.items()):
            cause, holder, holder_thread = self._stall_cause(watch.thread_ident)
            if not watch.check(now, frames, cause, holder, holder_thread):
                watch.close(now)
                self._closed_loops.append(watch)
                del self._loops[key]
                self._trio_runs.pop(key, None)
            if self.config.stall_logs_per_minute > 0:
                self._collect_stalls_to_log(watch)

    def _collect_stalls_to_log(self, watch: LoopWatch) -> None:
        fresh, missed = watch.take_fresh_stalls()
        self._stalls_missed += missed
        self._stalls_to_log.extend((watch, record) for record in fresh)
        if len(self._stalls_to_log) > 64:  # logging fell behind: count the oldest only
            self._stalls_missed += len(self._stalls_to_log) - 64
            del self._stalls_to_log[:-64]

    def _log_stalls(self, final: bool = False) -> None:
        if self.config.stall_logs_per_minute <= 0:
            return
        with self._lock:
            if final:
                for watch in [*self._loops.values(), *self._closed_loops]:
                    self._collect_stalls_to_log(watch)
            pending, self._stalls_to_log = self._stalls_to_log, []
            missed, self._stalls_missed = self._stalls_missed, 0
        if self._stall_log is None:
            if not (pending or missed):
                return
            from ._stall_log import StallLog

            self._stall_log = StallLog(self.config.stall_logs_per_minute, self.sources.clock)
        from ._assembly import stall_report

        stall_log = self._stall_log
        stall_log.missed(missed)
        resolver = FrameResolver()
        for watch, record in pending:
            explained = self._holders.explained(record, watch.thread_ident)
            stall_log.offer(
                stall_report(explained, resolver, self._started),
                watch.thread_name,
                watch.loop_class,
            )
        if final:
            stall_log.flush()

    def _close_gil_window(self, now: float) -> None:
        # Scheduler counters are read at window edges so they cover the window's span.
        self._read_schedstats()
        length, fraction = self._windows.close(now, list(self._accounts.values()), self._gil)
        counted = self._queues.take_window()
        watched = self._watcher.counts.take_window() if self._watcher is not None else None
        if watched is not None and self._watched(now):
            fraction = watched
        elif counted is not None and self._queues.time >= KERNEL_COVERAGE * self._countable(now):
            fraction = counted
        if self._timeline is not None:
            self._timeline.add_gil_window(length, fraction)

    # -- live figures ------------------------------------------------------------------

    def statistics(self) -> MonitorStatistics:
        """The figures so far, cheap enough for every metrics scrape (no report is built).

        Example:
            >>> m = Monitor()
            >>> m.begin()
            >>> m.statistics().loops
            ()
        """
        from ._statistics import LoopStatistics, MonitorStatistics

        with self._lock:
            loops = tuple(
                LoopStatistics(
                    loop_class=w.loop_class,
                    thread_name=w.thread_name,
                    closed=closed,
                    lag=w.lag.snapshot(),
                    stalls_total=w.stalls_total,
                    stalled_seconds=w.stalled_seconds,
                )
                for closed, watches in ((False, self._loops.values()), (True, self._closed_loops))
                for w in watches
            )
            return MonitorStatistics(
                uptime_seconds=max(0.0, self.sources.clock() - self._started),
                samples=self._ticks,
                monitor_cpu_seconds=self._monitor_cost(),
                threads_alive=len(self._accounts),
                gil_wait=self._probe.snapshot(),
                gil_observed_seconds=self._gil.window_time,
                gil_contended_seconds=self._gil.any_wait_time,
                gil_waiting_thread_seconds=self._gil.wait_thread_seconds,
                loops=loops,
                errors=len(self._errors),
            )

    # -- the report ---------------------------------------------------------------------

    def report(
        self,
        exit_code: int | None = None,
        command: tuple[str, ...] | None = None,
        final: bool = False,
    ) -> Report:
        """The report so far (the sampler keeps running unless ``final``)."""
        # Loaded before the clocks are read: loading the report's classes takes CPU time
        # that would otherwise count as the program's, over a wall time already ended.
        from ._assembly import assemble

        with self._lock:
            now = self.sources.clock()
            process_cpu = self.sources.process_cpu() - self._process_cpu_start
            if final:
                self._close_gil_window(now)
                for watch in self._loops.values():
                    watch.close(now)
            # Under the lock: the sampler thread goes on changing what the state holds.
            return assemble(self._run_state(now, process_cpu, exit_code, command, final))

    def _run_state(
        self,
        now: float,
        process_cpu: float,
        exit_code: int | None,
        command: tuple[str, ...] | None,
        complete: bool,
    ) -> RunState:
        """What a report is made from, as of ``now`` (called under the lock)."""
        from ._assembly import RunState

        watched = self._watched(now)
        children_cpu = max(0.0, self._children_cpu() - self._watcher_process_cpu())
        return RunState(
            pid=self._pid,
            started=self._started,
            started_wall=self._started_wall,
            now=now,
            interval_s=self.config.interval_s,
            stall_ms=self.config.stall_ms,
            process_cpu=process_cpu,
            user_cpu=self.sources.process_user_cpu() - self._user_cpu_start,
            monitor_cpu=self._monitor_cost(),
            others_cpu=self._others_cpu(process_cpu, children_cpu),
            children_cpu=children_cpu,
            budget=core_budget(),
            accounts=[*self._accounts.values(), *self._finished],
            others=self._others,
            max_alive=self._max_alive,
            counted=self._counted(now),
            counted_from=self._counting_from - self._started,
            watched=watched,
            status_read=watched and self._watcher is not None and self._watcher.counts.reads_status,
            queues=self._watcher.counts if watched and self._watcher is not None else self._queues,
            estimate=self._gil,
            probe=self._probe,
            blame=self._holders.blame,
            loops=[*self._loops.values(), *self._closed_loops],
            explain=self._holders.explained,
            timeline=tuple(self._timeline.points) if self._timeline else (),
            errors={**self._errors, **self._late_count_error(now)},
            spans=self._spans,
            exit_code=exit_code,
            command=command,
            complete=complete,
        )


def import_set_up_modules() -> None:
    """Import what the sampler's set-up imports: ctypes for reading /proc with the GIL
    held, dis for call sites, the watcher's link. For a caller that runs while the
    program's threads do not exist yet or are quiet (see :meth:`Monitor.set_up_early`).
    """
    import ctypes  # noqa: F401

    from . import _outside  # noqa: F401

    CallSites.prepare()


def next_tick_at(now: float, interval: float, held: float, max_duty: float) -> float:
    """When the next tick is due after one that began at ``now`` and held the GIL ``held`` s.

    Every thread waits while a tick holds the GIL: with many threads a tick costs more,
    so ticks are spaced out to keep that share under ``max_duty``, however long that
    makes the gap, up to ``MAX_INTERVAL_S``. ``held`` is the tick's CPU time plus the
    time it yielded the CPU with the GIL held; its wall time would also count time it
    lost the GIL to other threads mid-tick.
    """
    return now + min(MAX_INTERVAL_S, max(interval, held / max_duty))


def _read_or_none(read: Callable[[], float | None] | None) -> float | None:
    try:
        return read() if read is not None else None
    except Exception:  # a counter that cannot be read this time counts as unknown
        return None


def _idle_wake_latency(samples: int = 3, wait_s: float = 0.0001) -> float:
    """How late a timed wait wakes with nobody else holding the GIL (median, seconds).

    Taken before the program starts, in the same way the sampler sleeps: this is the
    machine's timer slack and scheduling delay, the part of a wake-up that the GIL
    does not cause. The lateness does not depend on the wait's length (~70 µs on Linux
    for 0.1 ms and 0.2 ms alike), and every program pays for these waits at start-up:
    three short ones, their median robust to one outlier.
    """
    lock = _thread.allocate_lock()
    lock.acquire()
    lateness = []
    for _ in range(samples):
        started = time.perf_counter()
        lock.acquire(timeout=wait_s)
        lateness.append(time.perf_counter() - started - wait_s)
    return sorted(lateness)[samples // 2]


def _has_loop_hint(frame: FrameType) -> bool:
    f: FrameType | None = frame
    while f is not None:
        if is_async_code(f.f_code) or "asyncio" in f.f_code.co_filename:
            return True
        if "uvloop" in f.f_code.co_filename or is_trio_run(f):
            return True
        f = f.f_back
    return False
