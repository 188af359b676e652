"""The GIL watcher process: its counting, its protocol, and the monitor's side of it."""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import strategies as st

from gilwise.monitor import Monitor, MonitorConfig, Report
from gilwise.monitor._assembly import GIL_METHOD_KERNEL, GIL_METHOD_STATUS, GIL_METHOD_WATCHER
from gilwise.monitor._gil import QueueCounts, ThreadAccount
from gilwise.monitor._holders import GilHolders
from gilwise.monitor._kernel import KernelState, KernelStates
from gilwise.monitor._outside import OutsideCounts, WatcherLink, start_watcher
from gilwise.monitor._stacks import CallSites
from gilwise.monitor._watcher import (
    IDLE_GAP_S,
    MAX_GAP_S,
    MAX_WEIGHT_S,
    MIN_GAP_S,
    InterpreterThreads,
    Tally,
    Threads,
    holder_line,
    next_gap,
    parse_held,
    parse_holder,
    parse_state,
    parse_window,
    watch,
)
from tests._hypothesis import given

from .fakes import at_hash, at_spin

FUTEX = (202, 449)
WINDOW = (0x7F0000, 0x7F00B0)


@pytest.mark.parametrize(
    ("line", "waiting"),
    [
        (b"202 0x7f0010 0x189 0x0 0x0 0x0 0xffffffff 0x7ff 0x7f1\n", True),
        (b"449 0x7f00af 0x2 0x0 0x0 0x1 0x0 0x7ff 0x7f1\n", True),
        (b"202 0x7f00b0 0x189 0x0 0x0 0x0 0xffffffff 0x7ff 0x7f1\n", False),  # past the end
        (b"202 0x55aa 0x189 0x0 0x0 0x0 0xffffffff 0x7ff 0x7f1\n", False),  # a lock's futex
        (b"230 0x7f0010 0x1 0x7f43 0x0 0x0 0x0 0x7f43 0x7f43\n", False),  # not a futex
        (b"running\n", False),
        (b"-1 0x7ffd 0x7f1\n", False),
        (b"", False),
    ],
)
def test_a_thread_waits_for_the_gil_when_asleep_on_a_word_in_its_window(
    line: bytes, waiting: bool
) -> None:
    assert parse_state(line, FUTEX, WINDOW) is waiting


@given(st.binary(max_size=80))
def test_any_line_parses_without_error(line: bytes) -> None:
    assert parse_state(line, FUTEX, WINDOW) in (True, False)


def test_a_tally_weighs_each_read_by_the_time_it_stands_for() -> None:
    tally = Tally()
    tally.add(0.002, [11, 12])
    tally.add(0.003, [])
    tally.add(0.001, [12])
    assert tally.observed == pytest.approx(0.006)
    assert tally.any_wait == pytest.approx(0.003)
    assert tally.waiting_threads == pytest.approx(0.005)
    assert tally.per_thread == pytest.approx({11: 0.002, 12: 0.003})


@given(
    st.lists(
        st.tuples(
            st.floats(min_value=0, max_value=MAX_WEIGHT_S),
            st.lists(st.integers(min_value=1, max_value=4_000_000), max_size=6, unique=True),
        ),
        max_size=30,
    )
)
def test_a_window_line_reads_back_as_written(
    reads: list[tuple[float, list[int]]],
) -> None:
    tally = Tally()
    for weight, waiting in reads:
        tally.add(weight, waiting)
    parsed = parse_window(tally.line())
    assert parsed is not None
    observed, any_wait, waiting_threads, count, per_thread = parsed
    assert count == len(reads)
    assert observed == pytest.approx(tally.observed, abs=1e-5)
    assert any_wait == pytest.approx(tally.any_wait, abs=1e-5)
    assert waiting_threads == pytest.approx(tally.waiting_threads, abs=1e-5)
    assert per_thread == pytest.approx(tally.per_thread, abs=1e-5)


@pytest.mark.parametrize("line", ["", "ready", "window 1 2", "window a b c d", "cpu 0.1"])
def test_other_lines_are_not_windows(line: str) -> None:
    assert parse_window(line) is None


@pytest.mark.parametrize(
    ("cost", "contended", "gap"),
    [
        (0.0, True, MIN_GAP_S),
        (0.0, False, IDLE_GAP_S),  # nobody waited lately: read less often
        (0.00003, True, 0.003),  # 30 us at a 1% duty
        (0.01, True, MAX_GAP_S),  # however costly, read this often
    ],
)
def test_reads_are_spaced_to_keep_the_watcher_under_its_duty(
    cost: float, contended: bool, gap: float
) -> None:
    assert next_gap(cost, 0.01, contended) == pytest.approx(gap)


class FakeProc:
    """A /proc of one process whose threads' syscall and schedstat files we write."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def set(self, tid: int, syscall: str, cpu_ns: int) -> None:
        task = self.root / "7" / "task" / str(tid)
        task.mkdir(parents=True, exist_ok=True)
        # Same length each time: the reader's pread sees the whole new line.
        (task / "syscall").write_text(syscall.ljust(60) + "\n")
        (task / "schedstat").write_text(f"{cpu_ns} 100 5".ljust(40) + "\n")


GIL_SLEEP = "202 0x7f0010 0x189 0x0 0x0 0x0 0xffffffff 0x7ff 0x7f1"
LOCK_SLEEP = "202 0x55aa 0x189 0x0 0x0 0x0 0xffffffff 0x7ff 0x7f1"


def test_a_thread_woken_for_the_gil_waits_until_it_has_had_a_cpu(tmp_path: Path) -> None:
    proc = FakeProc(tmp_path)
    proc.set(1, GIL_SLEEP, 5000)
    proc.set(2, LOCK_SLEEP, 9000)
    threads = Threads(7, set(), proc=str(tmp_path))
    assert threads.refresh()

    def waiting() -> list[int]:
        return sorted(threads.waiting(lambda line: parse_state(line, FUTEX, WINDOW)))

    assert waiting() == [1]
    proc.set(1, "running", 5000)  # woken by the GIL's release, no CPU yet
    proc.set(2, "running", 9000)  # woken by its lock: it never waited for the GIL
    assert waiting() == [1]
    proc.set(1, "running", 5200)  # it has run: it took the GIL
    assert waiting() == []
    proc.set(1, "running", 5200)  # and is not counted again
    assert waiting() == []
    threads.close()


class FakeThreads:
    """The watched process, as a script of who waits at each read (None: a failed read)."""

    def __init__(self, script: list[list[int] | None], gone_after: int | None = None) -> None:
        self.script = script
        self.reads = 0
        self.refreshes = 0
        self.gone_after = gone_after
        self.churned = False
        self.holder = None
        self.holding: tuple[int, ...] = ()

    def refresh(self) -> bool:
        self.refreshes += 1
        return self.gone_after is None or self.refreshes <= self.gone_after

    def waiting(self, is_waiting: Callable[[bytes], bool]) -> list[int] | None:
        found = self.script[self.reads % len(self.script)]
        self.reads += 1
        return found


def _run_watch(threads: FakeThreads, reads: int, step: float = 0.01) -> list[str]:
    now = [100.0]
    lines: list[str] = []

    def clock() -> float:
        return now[0]

    def stopped(timeout: float) -> bool:
        now[0] += step
        return threads.reads >= reads

    watch(threads, lambda line: False, 0.01, lines.append, stopped, clock, lambda: 0.0)  # type: ignore[arg-type]
    return lines


def test_the_watcher_reports_windows_of_what_it_read() -> None:
    # Every other read finds thread 5 waiting: half the time, one thread at a time.
    lines = _run_watch(FakeThreads([[5], []]), reads=40)
    windows = [w for w in map(parse_window, lines) if w is not None]
    assert len(windows) >= 3  # one about every 0.1 s of the fake clock, and the rest
    observed = sum(w[0] for w in windows)
    any_wait = sum(w[1] for w in windows)
    assert sum(w[3] for w in windows) == 40
    assert any_wait / observed == pytest.approx(0.5, abs=0.03)
    assert sum(w[4].get(5, 0.0) for w in windows) == pytest.approx(any_wait)


def test_a_failed_read_leaves_its_time_to_the_next_read() -> None:
    # CPython's reader can catch a thread mid-change and fail: that read counts nothing,
    # and the next one stands for the time since the last read that succeeded.
    lines = _run_watch(FakeThreads([[5], None]), reads=40)
    windows = [w for w in map(parse_window, lines) if w is not None]
    assert sum(w[3] for w in windows) == 20
    assert sum(w[1] for w in windows) / sum(w[0] for w in windows) == pytest.approx(1.0)


WANTS, HOLDS = 2, 1  # stand-ins for THREAD_STATUS_GIL_REQUESTED and THREAD_STATUS_HAS_GIL


class FakeReader:
    """CPython's reader as the watcher uses it: each thread's id, status bits and stack
    (``app.py``, line = its id, in ``work``, called from the standard library)."""

    def __init__(self, statuses: dict[int, int], fails: bool = False) -> None:
        self.statuses = statuses
        self.fails = fails

    def get_stack_trace(self) -> list[SimpleNamespace]:
        if self.fails:
            raise RuntimeError("caught mid-change")
        threads = [
            SimpleNamespace(thread_id=t, status=s, frame_info=_frames(t))
            for t, s in self.statuses.items()
        ]
        return [SimpleNamespace(threads=threads)]


def _frames(tid: int) -> list[SimpleNamespace]:
    return [
        SimpleNamespace(
            filename="/srv/app.py", location=SimpleNamespace(lineno=tid), funcname="work"
        ),
        SimpleNamespace(filename=threading.__file__, location=None, funcname="run"),
    ]


APP_FRAMES_OF_12 = (("/srv/app.py", 12, "work"), (threading.__file__, 0, "run"))


def test_a_thread_waits_when_the_interpreter_says_it_asked_for_the_gil() -> None:
    # 11 asks; 12 holds (asked and got it); 13 runs in C without it; 14 asks but is the
    # monitor's own thread.
    reader = FakeReader({11: WANTS, 12: WANTS | HOLDS, 13: 0, 14: WANTS})
    threads = InterpreterThreads(reader, os.getpid(), {14}, WANTS, HOLDS)
    assert threads.waiting() == [11]
    assert threads.holder == (12, APP_FRAMES_OF_12)
    assert threads.holding == (12,)
    assert threads.refresh()
    reader.fails = True
    assert threads.waiting() is None


@pytest.mark.parametrize(
    "statuses",
    [
        {11: WANTS, 12: HOLDS, 13: HOLDS},  # handed over mid-read: two show holding
        {11: WANTS, 14: HOLDS},  # the monitor's own thread holds it (a tick)
        {11: WANTS},  # between a release and the next take
    ],
)
def test_no_holder_is_named_unless_one_thread_of_the_program_holds_the_gil(
    statuses: dict[int, int],
) -> None:
    threads = InterpreterThreads(FakeReader(statuses), os.getpid(), {14}, WANTS, HOLDS)
    assert threads.waiting() == [11]
    assert threads.holder is None
    # Each holder of the program is still counted holding, mid-handover too.
    assert threads.holding == tuple(t for t, s in statuses.items() if s & HOLDS and t != 14)


def test_a_window_says_how_long_each_thread_held_the_gil() -> None:
    tally = Tally()
    tally.add(0.002, [11], None, (12,))
    tally.add(0.003, [], None, (12, 13))  # handed over mid-read
    tally.add(0.001, [12], None, ())
    lines = tally.line().splitlines(keepends=True)
    assert [line.split()[0] for line in lines] == ["held", "window"]
    assert parse_held(lines[0]) == pytest.approx({12: 0.005, 13: 0.003})
    assert parse_window(lines[1]) is not None


def test_no_held_line_where_nobody_was_read_holding_the_gil() -> None:
    tally = Tally()
    tally.add(0.002, [11])  # the kernel's view: who holds it is not known
    assert [line.split()[0] for line in tally.line().splitlines()] == ["window"]


@given(st.dictionaries(st.integers(min_value=1, max_value=4_000_000), st.floats(0, 10)))
def test_a_held_line_reads_back_as_written(held: dict[int, float]) -> None:
    tally = Tally()
    for tid, seconds in held.items():
        tally.add(seconds, [], None, (tid,))
    lines = tally.line().splitlines(keepends=True)
    parsed = parse_held(lines[0]) if held else {}
    assert parsed == pytest.approx(held, abs=1e-6)


@pytest.mark.parametrize("line", ["", "held x", "held 12:a", "window 1 2 3 4", "holder 1 2"])
def test_other_lines_are_not_held_lines(line: str) -> None:
    assert parse_held(line) is None


def test_a_window_says_who_held_the_gil_while_threads_waited() -> None:
    tally = Tally()
    holder = (12, APP_FRAMES_OF_12)
    tally.add(0.002, [11, 13], holder)  # 0.004 thread-seconds behind it
    tally.add(0.003, [], holder)  # held with nobody waiting: nothing to charge
    tally.add(0.001, [11], None)  # waited with no holder read
    lines = tally.line().splitlines(keepends=True)
    assert [line.split()[0] for line in lines] == ["holder", "window"]
    parsed = parse_holder(lines[0])
    assert parsed is not None
    assert parsed[0] == pytest.approx(0.004)
    assert parsed[1] == holder
    assert parse_window(lines[1]) is not None


@given(
    st.floats(min_value=0, max_value=10),
    st.integers(min_value=1, max_value=4_000_000),
    st.lists(
        st.tuples(
            st.text(st.characters(exclude_characters="\x01\x1f\n\r"), min_size=1),
            st.integers(min_value=0, max_value=100_000),
            st.text(st.characters(exclude_characters="\x01\x1f\n\r")),
        ),
        max_size=8,
    ),
)
def test_a_holder_line_reads_back_as_written(
    seconds: float, tid: int, frames: list[tuple[str, int, str]]
) -> None:
    # File names may hold spaces and any text but the two separators and line ends.
    parsed = parse_holder(holder_line(seconds, (tid, tuple(frames))))
    assert parsed is not None
    assert parsed[0] == pytest.approx(seconds, abs=1e-6)
    assert parsed[1] == (tid, tuple(frames))


def test_a_name_a_holder_line_cannot_hold_is_written_as_question_marks() -> None:
    # exec() of a string can name its "file" anything, line ends included.
    line = holder_line(0.5, (7, (("a\nb.py", 3, "f\x1fg"),)))
    assert line.count("\n") == 1
    assert parse_holder(line) == (0.5, (7, (("a?b.py", 3, "f?g"),)))


@pytest.mark.parametrize(
    "line", ["", "holder", "holder x 12", "holder 0.1 x", "holder 0.1 12 a\x011", "window 1 2 3 4"]
)
def test_other_lines_are_not_holders(line: str) -> None:
    assert parse_holder(line) is None


def test_the_interpreters_reader_is_not_used_where_this_cpython_has_none() -> None:
    has_reader = sys.version_info >= (3, 15)
    threads = InterpreterThreads.open(os.getpid(), set())
    if not has_reader:
        assert threads is None
    elif threads is None:
        pytest.skip("CPython's reader may not read this process here (ptrace permission)")
    else:
        reads = [threads.waiting() for _ in range(5)]  # one can catch a thread mid-change
        read = next(r for r in reads if r is not None)
        assert threading.get_native_id() not in read  # it holds the GIL as it reads


def test_the_watcher_stops_when_the_process_is_gone() -> None:
    threads = FakeThreads([[]], gone_after=2)
    _run_watch(threads, reads=10_000)
    assert threads.reads < 100


class FakeProcess:
    """A watcher process as the monitor sees it: a pipe we write its lines into."""

    def __init__(self) -> None:
        self.stdout, self.write_end = os.pipe()
        os.set_blocking(self.stdout, False)
        self.stdin_closed = False
        self.killed = False
        self.returncode: int | None = None
        #: CPU seconds the watcher used, as its parent's kernel counts them.
        self.cpu = 0.0

    def say(self, text: str) -> None:
        os.write(self.write_end, text.encode())

    def end(self) -> None:
        os.close(self.write_end)
        self.write_end = -1
        self.returncode = 0

    def close_stdin(self) -> None:
        self.stdin_closed = True

    def owns(self, fd: int) -> bool:
        return fd >= 0

    def poll(self) -> int | None:
        return self.returncode

    def kill(self) -> None:
        self.killed = True
        self.returncode = -9

    def wait(self, timeout: float) -> int | None:
        return self.returncode

    def cpu_used(self) -> float:
        return self.cpu

    def close(self) -> None:
        for fd in (self.stdout, self.write_end):
            if fd >= 0:
                os.close(fd)
        self.stdout = self.write_end = -1


@pytest.fixture
def process() -> Iterator[FakeProcess]:
    fake = FakeProcess()
    yield fake
    fake.close()


def _counts(process: FakeProcess, started: float | None = None) -> OutsideCounts:
    return OutsideCounts(process, time.monotonic() if started is None else started)  # type: ignore[arg-type]


def test_the_monitor_takes_in_windows_line_by_line(process: FakeProcess) -> None:
    counts = _counts(process)
    counts.drain()
    assert counts.state == "starting"
    process.say("ready\nwindow 0.1 0.05 0.08 50 7:0.05 9:0.03\nwindow 0.1 0.0")
    counts.drain()  # the second window is not whole yet
    assert counts.ready
    assert not counts.reads_status
    assert counts.time == pytest.approx(0.1)
    process.say(" 0.0 50\n")
    counts.drain()
    assert counts.wait_fraction == pytest.approx(0.25)
    assert counts.mean_waiting_threads == pytest.approx(0.4)
    waits, held = counts.take_pending()
    assert waits == pytest.approx({7: 0.05, 9: 0.03})
    assert held == {}
    assert counts.take_pending() == ({}, {})
    assert counts.take_window() == pytest.approx(0.25)
    assert counts.take_window() is None


def test_the_monitor_charges_the_time_each_thread_held_the_gil(process: FakeProcess) -> None:
    counts = _counts(process)
    process.say("ready status\nheld 7:0.04 9:0.05\nwindow 0.1 0.05 0.08 50 7:0.05\n")
    counts.drain()
    link = WatcherLink(counts)
    alive = ThreadAccount(1, 7, "a")
    finished = ThreadAccount(2, 9, "b")
    link.charge_waits([alive], [finished])
    assert (alive.outside_wait, alive.outside_held) == pytest.approx((0.05, 0.04))
    assert (finished.outside_wait, finished.outside_held) == pytest.approx((0.0, 0.05))


def test_a_watcher_reading_the_interpreters_status_says_so(process: FakeProcess) -> None:
    counts = _counts(process)
    process.say("ready status\n")
    counts.drain()
    assert counts.ready
    assert counts.reads_status


def test_the_last_window_and_the_cpu_come_in_at_stop(process: FakeProcess) -> None:
    counts = _counts(process)
    process.say("ready\nwindow 0.2 0.1 0.1 80\ncpu 0.012\n")
    process.end()
    counts.stop(timeout=1.0)
    assert process.stdin_closed
    assert counts.time == pytest.approx(0.2)
    assert counts.cpu_seconds == pytest.approx(0.012)
    assert not process.killed


def test_a_watcher_that_cannot_read_says_why(process: FakeProcess) -> None:
    counts = _counts(process)
    process.say("error Operation not permitted\n")
    process.end()
    counts.drain()
    assert counts.state == "failed: Operation not permitted"
    assert counts.wait_fraction is None


def test_a_watcher_that_never_gets_ready_is_given_up(process: FakeProcess) -> None:
    counts = _counts(process, started=time.monotonic() - 60)
    counts.drain()
    assert counts.state.startswith("failed: not ready")
    assert process.killed


def test_a_watcher_that_does_not_end_is_killed_at_stop(process: FakeProcess) -> None:
    counts = _counts(process)
    process.say("ready\n")
    started = time.monotonic()
    counts.stop(timeout=0.2)
    assert process.stdin_closed
    assert process.killed
    assert time.monotonic() - started < 5


linux_kernel = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not KernelStates().available,
    reason="needs Linux's /proc/PID/task/TID/syscall on a known machine",
)


def _watch_this_process(threads: list[threading.Thread], seconds: float) -> OutsideCounts:
    kernel = KernelStates()
    assert kernel.calibrate()
    assert kernel.gil_window is not None
    counts = start_watcher(kernel.gil_window, kernel.futex_calls, {threading.get_native_id()})
    assert counts is not None
    deadline = time.monotonic() + 10
    while not counts.ready and time.monotonic() < deadline:
        counts.drain()
        time.sleep(0.01)
    assert counts.ready, counts.state
    for t in threads:
        t.start()
    time.sleep(seconds)
    return counts


def _spinners(count: int, stop: threading.Event) -> list[threading.Thread]:
    """Threads that only run Python until ``stop``: they can wait for nothing but the GIL."""

    def spin() -> None:
        while not stop.is_set():
            pass

    return [threading.Thread(target=spin, name=f"spinner-{n}") for n in range(count)]


@linux_kernel
@pytest.mark.timeout(60)
def test_spinning_threads_are_seen_waiting_from_outside() -> None:
    # Known by construction: of three threads that only run Python, two wait at any time
    # (less the moments of a hand-over and of a read that straddles one).
    stop = threading.Event()
    threads = _spinners(3, stop)
    counts = _watch_this_process(threads, 2.0)
    stop.set()
    for t in threads:
        t.join()
    counts.stop()
    assert counts.reads >= 20
    assert counts.wait_fraction is not None
    assert counts.wait_fraction > 0.5
    assert counts.cpu_seconds > 0


@linux_kernel
@pytest.mark.timeout(60)
def test_lock_waiters_are_not_gil_waiters_from_outside() -> None:
    lock = threading.Lock()
    lock.acquire()

    def wait_for_the_lock() -> None:
        with lock:
            pass

    threads = [threading.Thread(target=wait_for_the_lock) for _ in range(3)]
    for t in threads:
        t.start()
    # Watched only while they sit in the lock: on their way to it (their start) and out
    # of it (the release) they do wait for the GIL, a little, which a watcher may see.
    counts = _watch_this_process([], 1.0)
    counts.stop()
    waiters = {t.native_id for t in threads}
    lock.release()
    for t in threads:
        t.join()
    assert counts.reads >= 10
    # Not one of them waited for the GIL (the test runner's own threads, under
    # pytest-xdist, may have, a little).
    waits, _ = counts.take_pending()
    assert sum(s for tid, s in waits.items() if tid in waiters) == 0.0
    assert counts.wait_fraction is not None
    assert counts.wait_fraction < 0.1


@linux_kernel
@pytest.mark.timeout(60)
def test_the_report_counts_from_outside_when_the_watcher_covered_the_run() -> None:
    stop = threading.Event()
    monitor = Monitor(MonitorConfig())
    monitor.start()
    threads = _spinners(2, stop)
    for t in threads:
        t.start()
    time.sleep(2.0)
    stop.set()
    for t in threads:
        t.join()
    report = monitor.stop()
    if report.gil.method not in (GIL_METHOD_WATCHER, GIL_METHOD_STATUS):
        # A machine too busy to calibrate in time falls back; say why, and check that.
        assert report.gil.method == GIL_METHOD_KERNEL or "watcher" in str(report.monitor_errors)
        pytest.skip(f"the watcher did not cover the run here: {report.gil.method}")
    spinners = [t for t in report.threads if t.name.startswith("spinner-")]
    assert len(spinners) == 2
    assert all((t.gil_wait_fraction or 0) > 0.2 for t in spinners)
    assert report.gil.wait_fraction is not None
    assert report.gil.wait_fraction > 0.5


@linux_kernel
@pytest.mark.timeout(60)
def test_a_forked_child_does_not_keep_the_watcher_alive() -> None:
    # The child holds copies of the watcher's pipes; closed at fork, the parent's stop
    # still ends the watcher at once instead of waiting out its timeout and killing it.
    monitor = Monitor(MonitorConfig())
    monitor.start()
    deadline = time.monotonic() + 10
    while (monitor._watcher is None or not monitor._watcher.counts.ready) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.02)
        if monitor._watcher is not None:
            monitor._watcher.counts.drain()
    if monitor._watcher is None or not monitor._watcher.counts.ready:
        monitor.stop()
        pytest.skip("the watcher did not start here")
    pid = os.fork()
    if pid == 0:  # the child: outlive the parent's stop, then go
        time.sleep(3)
        os._exit(0)
    try:
        started = time.monotonic()
        monitor.stop()
        took = time.monotonic() - started
        assert monitor._watcher is not None
        watcher = monitor._watcher.counts._process
        assert took < 0.9
        assert watcher.returncode == 0  # ended by itself, not killed
    finally:
        os.kill(pid, 9)
        os.waitpid(pid, 0)


def test_the_watcher_takes_over_from_the_samplers_count_when_it_is_ready(
    process: FakeProcess,
) -> None:
    from .test_sampler import World, _monitor

    # Three threads queue at every tick: two wait, counted from inside for the first
    # second; then the watcher says it is ready, and counts half a second with one waiting.
    world = World(kernel={1: KernelState.GIL, 2: KernelState.GIL, 3: KernelState.GIL})
    for ident in (1, 2, 3):
        world.add(ident, at_spin)
    monitor = _monitor(world)
    monitor._watcher = WatcherLink(_counts(process))
    world.step(monitor, {1: 0.9}, ticks=100)
    assert monitor._watcher.counts.time == 0.0  # not ready: nothing taken over yet
    # What it counted before it takes over overlaps the sampler's count: replaced by it.
    process.say("ready\nwindow 0.2 0.0 0.0 200\n")
    world.step(monitor, {1: 0.9}, ticks=1)
    assert monitor._watcher.counts.time == pytest.approx(1.01)  # 101 ticks, the first one's too
    process.say("window 0.5 0.5 0.5 500 10002:0.5\n")
    world.step(monitor, {1: 0.9}, ticks=50)  # the watcher's half second
    report = monitor.stop()
    assert report.gil.method == GIL_METHOD_WATCHER
    assert report.gil.wait_fraction == pytest.approx(1.0)
    assert report.gil.mean_waiting_threads == pytest.approx((1.01 * 2 + 0.5 * 1) / 1.51, abs=1e-3)
    thread_2 = next(t for t in report.threads if t.ident == 2)
    # Its share of the count from inside (two of three queued wait: 2/3 of the 1 s after
    # the first tick met it), then the watcher's half second, over its 1.5 s of samples.
    assert thread_2.gil_wait_fraction == pytest.approx((2 / 3 + 0.5) / 1.5, abs=0.01)


@pytest.mark.parametrize(
    ("lived", "waited", "wall", "share"),
    [
        (0.03, 0.012, 0.03, 0.4),  # its 30 ms, all between two ticks (it read 100%)
        (0.008, 0.004, 0.008, None),  # too short a time for a share
    ],
)
def test_a_short_thread_is_charged_its_waits_over_the_time_they_were_counted_in(
    process: FakeProcess, lived: float, waited: float, wall: float, share: float | None
) -> None:
    from .test_sampler import TICK, World, _monitor

    # A request handler lives between two ticks: the watcher's count of its waiting is
    # taken in at the tick that first meets it.
    world = World(kernel={1: KernelState.LOCK, 4: KernelState.LOCK})
    world.add(1, at_spin)
    monitor = _monitor(world)
    monitor._watcher = WatcherLink(_counts(process))
    process.say("ready\nwindow 0.01 0.0 0.0 10\n")
    world.step(monitor, {1: 0.5})
    assert monitor._watcher.took_over
    for _ in range(10):
        process.say("window 0.01 0.0 0.0 10\n")
        world.step(monitor, {1: 0.5})
    world.add(4, at_spin, name="handler")
    world.started_ago[4] = lived
    world.clock.advance(max(0.0, lived - TICK))  # the tick that meets it comes that late
    process.say(f"window {lived} {waited} {waited} 10 10004:{waited}\n")
    world.step(monitor, {4: 0.1})
    world.remove(4)
    process.say("window 0.01 0.0 0.0 10\n")
    world.step(monitor, {1: 0.5})
    handler = next(t for t in monitor.stop().threads if t.name == "handler")
    assert handler.wall_seconds == pytest.approx(wall)
    assert handler.gil_wait_fraction == (None if share is None else pytest.approx(share))


def test_the_watchers_own_cpu_is_not_the_programs_child_processes(process: FakeProcess) -> None:
    from .test_sampler import World, _monitor

    # The watcher is a child process of the program; what it used is the monitor's cost.
    world = World()
    world.add(1, at_spin)
    monitor = _monitor(world)
    monitor._watcher = WatcherLink(_counts(process))
    world.step(monitor, {1: 0.5}, ticks=100)
    process.cpu = 0.05
    world.children_cpu = 0.05 + 0.3  # the watcher and one worker process
    assert monitor.report().process.children_cores_used == pytest.approx(0.3)


def test_the_link_hands_the_count_over_once_the_watcher_is_ready(process: FakeProcess) -> None:
    # What the sampler counted (1 s, three queued: two waiting) becomes the watcher's
    # beginning; from then on the watcher's waits go to the threads and to the holders.
    sampler_count = QueueCounts()
    sampler_count.add_tick(1.0, 3)
    holders = GilHolders(CallSites(), stall_ms=100.0)
    link = WatcherLink(_counts(process))
    assert not link.take_counts(sampler_count, holders, lambda: 5.0)  # not ready yet
    process.say("ready\nwindow 0.2 0.2 0.2 200 10001:0.2\n")
    assert link.take_counts(sampler_count, holders, lambda: 5.0)
    assert link.took_over
    assert (link.counts.time, link.counts.waiting_thread_time) == (1.0, 2.0)
    process.say("window 0.5 0.5 0.5 500 10001:0.3 10002:0.2\n")
    assert not link.take_counts(sampler_count, holders, lambda: 5.5)
    alive = ThreadAccount(ident=1, native_id=10_001, name="alive")
    ended = ThreadAccount(ident=2, native_id=10_002, name="ended")
    link.charge_waits([alive], [ended])
    # What it counted before the hand-over was the sampler's stretch: not charged again.
    assert alive.outside_wait == pytest.approx(0.3)
    assert ended.outside_wait == pytest.approx(0.2)
    assert holders.blame.unseen == pytest.approx(0.5)  # no tick saw a holder


def test_waits_of_a_thread_folded_into_the_others_are_the_others(process: FakeProcess) -> None:
    link = WatcherLink(_counts(process))
    process.say("ready\nwindow 0.5 0.5 0.5 500 10001:0.3 10009:0.2\n")
    link.counts.drain()
    alive = ThreadAccount(ident=1, native_id=10_001, name="alive")
    others = ThreadAccount(ident=0, native_id=None, name="")
    link.charge_waits([alive], [], others)
    assert (alive.outside_wait, others.outside_wait) == pytest.approx((0.3, 0.2))


def test_a_pipe_the_program_closed_and_reused_is_never_read_or_closed(tmp_path: Path) -> None:
    # A daemonising program closes every descriptor; a file it opens next may get the
    # pipe's number. The watcher's end is known by its inode: that file is left alone.
    from gilwise.monitor._outside import WatcherProcess

    stdin_read, stdin_write = os.pipe()
    stdout_read, stdout_write = os.pipe()
    process = WatcherProcess(os.getpid(), stdin_write, stdout_read)
    counts = OutsideCounts(process, time.monotonic())
    programs = tmp_path / "data"
    programs.write_bytes(b"the program's own bytes\n")
    opened = os.open(programs, os.O_RDONLY)
    # The pipe's end closed and its number given to the program's file.
    reused = os.dup2(opened, stdout_read)
    os.close(opened)
    try:
        counts.drain()
        assert counts.failed
        process.close()
        assert os.read(reused, 100) == b"the program's own bytes\n"  # unread, still open
    finally:
        for fd in (reused, stdin_read, stdout_write):
            os.close(fd)


def _zlib_threads_watched(process: FakeProcess, ready: str, lines: str) -> Report:
    """Three threads compress with zlib; at each tick one was running Python and queued
    behind the sampler, nobody else. The watcher says ``ready`` (``ready status``: it
    reads each thread's status) and, once its count took over, ``lines``."""
    from .test_sampler import World, _monitor

    world = World(kernel={1: KernelState.GIL, 2: KernelState.ON_CPU, 3: KernelState.ON_CPU})
    world.add(1, at_spin, name="python")
    world.add(2, at_hash, name="hashing")
    world.add(3, at_hash, name="hashing too")
    monitor = _monitor(world)
    monitor._watcher = WatcherLink(_counts(process))
    process.say(ready)
    world.step(monitor, {1: 0.5, 2: 1.0, 3: 1.0}, ticks=2)  # met, then taken over
    world.step(monitor, {1: 0.5, 2: 1.0, 3: 1.0}, ticks=30)
    process.say(lines)
    world.step(monitor, {1: 0.5, 2: 1.0, 3: 1.0}, ticks=12)  # its pipe is read every 0.1 s
    return monitor.stop()


def test_the_watchers_waits_are_charged_to_the_holders_the_ticks_saw(
    process: FakeProcess,
) -> None:
    # From the ticks alone no wait shows (one queued is the holder); the watcher counted
    # 0.2 thread-seconds of waiting, behind that line.
    window = "window 0.4 0.15 0.2 400 10002:0.1 10003:0.1\n"
    report = _zlib_threads_watched(process, "ready\n", window)
    assert report.gil.method == GIL_METHOD_WATCHER
    assert [(h.function, h.thread_name) for h in report.gil.holders] == [("spinner", "python")]
    assert report.gil.holders[0].wait_seconds == pytest.approx(0.2)
    assert report.gil.holder_unseen_share == 0.0


def test_the_holders_the_watcher_read_are_charged_before_those_the_ticks_saw(
    process: FakeProcess,
) -> None:
    # As above, but the watcher reads each thread's status (CPython 3.15+): it says who
    # held the GIL at its own reads. 0.3 thread-seconds of waiting were behind thread 2's
    # line in app.py (under the standard library's frame it ran in), 0.1 behind thread
    # 3's; the ticks' holder (thread 1) is not charged.
    hashing = (threading.__file__, 300, "run"), ("/srv/app.py", 7, "digest")
    lines = (
        holder_line(0.15, (10002, (hashing[1],)))
        + holder_line(0.15, (10002, hashing))
        + holder_line(0.1, (10003, (("/srv/app.py", 9, "compress"),)))
        + "window 0.4 0.3 0.4 400 10001:0.2 10003:0.2\n"
    )
    report = _zlib_threads_watched(process, "ready status\n", lines)
    assert report.gil.method == GIL_METHOD_STATUS
    assert [(h.file, h.line, h.function, h.thread_name) for h in report.gil.holders] == [
        ("/srv/app.py", 7, "digest", "hashing"),
        ("/srv/app.py", 9, "compress", "hashing too"),
    ]
    assert [h.wait_seconds for h in report.gil.holders] == pytest.approx([0.3, 0.1])
    assert report.gil.holder_unseen_share == 0.0


@pytest.mark.parametrize(("quiet_ticks", "unseen"), [(20, 0.0), (150, 1.0)])
def test_a_wait_no_tick_saw_a_holder_for_is_charged_to_the_last_seconds_holders(
    process: FakeProcess, quiet_ticks: int, unseen: float
) -> None:
    from .test_sampler import World, _monitor

    # A holder seen, then ticks that find the GIL free (nobody queued) until the
    # watcher's window comes: the holder of the last second stands for its wait; one seen
    # longer ago does not, and the wait stays unseen.
    world = World(kernel={1: KernelState.GIL, 2: KernelState.ON_CPU})
    world.add(1, at_spin, name="python")
    world.add(2, at_hash, name="hashing")
    monitor = _monitor(world)
    monitor._watcher = WatcherLink(_counts(process))
    process.say("ready\n")
    world.step(monitor, {1: 0.5, 2: 1.0}, ticks=5)
    assert world.kernel is not None
    world.kernel[1] = KernelState.ON_CPU
    world.step(monitor, {1: 0.5, 2: 1.0}, ticks=quiet_ticks)
    process.say("window 0.1 0.05 0.05 100 10002:0.05\n")
    world.step(monitor, {1: 0.5, 2: 1.0}, ticks=12)  # its pipe is read every 0.1 s
    report = monitor.stop()
    assert report.gil.holder_unseen_share == pytest.approx(unseen)
    assert [h.function for h in report.gil.holders] == ([] if unseen else ["spinner"])


def test_the_thread_list_is_read_again_often_enough_to_meet_short_lived_threads() -> None:
    # A threaded HTTP server's handlers live 5-10 ms: listed every 50 ms, most were never
    # read, and their waits for the GIL went uncounted (mean waiting threads 1.5 against
    # the reference's 2.5). A thread living 10 ms must be listed at least once.
    threads = FakeThreads([[]])
    _run_watch(threads, reads=100, step=0.001)  # 0.1 s of reads, one a millisecond
    assert 8 <= threads.refreshes <= 12  # about one every 10 ms (at 50 ms: 2)


def test_while_threads_come_and_go_the_list_is_read_more_often() -> None:
    # Listed every 10 ms, a handler living 5 ms was met about half way through its life.
    threads = FakeThreads([[]])
    threads.churned = True
    _run_watch(threads, reads=100, step=0.001)
    assert threads.refreshes >= 40  # one every 2 ms


def test_a_listing_says_whether_threads_came_or_went(tmp_path: Path) -> None:
    tasks = tmp_path / "42" / "task"
    for tid in (1, 2):
        (tasks / str(tid)).mkdir(parents=True)
        (tasks / str(tid) / "syscall").write_text("running\n")
    threads = Threads(42, exclude=set(), proc=str(tmp_path))

    def churned() -> bool:
        assert threads.refresh()
        return threads.churned

    assert [churned(), churned()] == [True, False]  # both new, then the same two
    (tasks / "2" / "syscall").unlink()
    (tasks / "2").rmdir()
    assert churned()  # one ended
    threads.close()


def test_once_it_took_over_the_watchers_pipe_is_read_as_often_as_it_writes(
    process: FakeProcess,
) -> None:
    # Each look at the pipe lets go of the GIL two or three times (fstat, read): at every
    # tick, a tenth of a tick's time beside a 16-thread pool doing loopback I/O.
    holders = GilHolders(CallSites(), 100.0)
    link = WatcherLink(_counts(process))
    now = [0.0]
    process.say("ready\n")
    link.take_counts(QueueCounts(), holders, lambda: now[0])
    assert link.took_over
    process.say("window 0.1 0.05 0.05 100\n")
    now[0] = 0.05
    link.take_counts(QueueCounts(), holders, lambda: now[0])
    assert link.counts.time == 0.0  # not read yet
    now[0] = 0.1
    link.take_counts(QueueCounts(), holders, lambda: now[0])
    assert link.counts.time == pytest.approx(0.1)


@pytest.mark.parametrize(("watched_s", "adopted"), [(0.6, False), (0.1, True)])
def test_a_watcher_that_read_the_stretch_keeps_its_count_at_the_hand_over(
    process: FakeProcess, watched_s: float, adopted: bool
) -> None:
    # A regex held the GIL 0.6 s at a time beside a loop: the sampler got one look at
    # the end of a match ("nobody waits": the loop's the thread that would hold it
    # next) to stand for the whole of it, while the watcher read the loop waiting.
    sampler_count = QueueCounts()
    sampler_count.add_tick(0.6, 1)
    link = WatcherLink(_counts(process))
    process.say(f"ready\nwindow {watched_s} {watched_s} {watched_s} 100 10001:{watched_s}\n")
    assert link.take_counts(sampler_count, GilHolders(CallSites(), 100.0), lambda: 1.0) is adopted
    assert link.took_over
    assert link.counts.any_wait_time == pytest.approx(0.0 if adopted else watched_s)
