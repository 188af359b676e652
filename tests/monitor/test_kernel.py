"""The kernel's view of threads: parsing, the GIL's futex, and states known by construction."""

from __future__ import annotations

import queue
import sys
import threading
import time
from collections.abc import Callable, Iterator

import pytest
from hypothesis import strategies as st

from gilwise.monitor import MonitorConfig, Sources
from gilwise.monitor._gil import QueueCounts
from gilwise.monitor._kernel import KernelState, KernelStates, agreeing_words
from gilwise.monitor._sampler import EARLY_CALIBRATION_TRIES, Monitor
from gilwise.monitor._watcher import parse_syscall
from tests._hypothesis import given

FUTEX = (202, 449)
LINUX_KERNEL = KernelStates()
needs_kernel = pytest.mark.skipif(
    not sys.platform.startswith("linux") or not LINUX_KERNEL.available,
    reason="needs Linux's /proc/self/task/TID/syscall on a known machine",
)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b"running\n", ("running", None)),
        (b"202 0x7f00000010 0x189 0x0 0x0 0x0 0xffffffff 0x7ff 0x7f1\n", ("futex", 0x7F00000010)),
        (b"449 0x55aa 0x2 0x0 0x0 0x1 0x0 0x7ff 0x7f1\n", ("futex", 0x55AA)),
        (b"230 0x1 0x1 0x7f43 0x0 0x0 0x0 0x7f43 0x7f43\n", ("other", None)),
        (b"-1 0x7ffd 0x7f1\n", None),  # blocked outside a system call: unclear
        (b"", None),
        (b"garbage", None),
    ],
)
def test_parse_syscall(line: bytes, expected: tuple[str, int | None] | None) -> None:
    assert parse_syscall(line, FUTEX) == expected


@given(st.binary(max_size=120))
def test_parse_syscall_never_raises(line: bytes) -> None:
    parsed = parse_syscall(line, FUTEX)
    assert parsed is None or parsed[0] in {"running", "futex", "other"}


def _fixed(lines: dict[int, bytes]) -> Callable[[int], bytes | None]:
    return lines.get


def test_futex_words_near_the_gil_are_the_gil_others_are_locks() -> None:
    kernel = KernelStates(
        _fixed({1: b"202 0x1000 0x0\n", 2: b"202 0x1004 0x0\n", 3: b"202 0x9000 0x0\n"}),
        machine="x86_64",
        gil_enabled=True,
    )
    kernel.gil_window = (0x1000 - 48, 0x1000 + 128)
    assert [kernel.read(tid) for tid in (1, 2, 3)] == [
        KernelState.GIL,
        KernelState.GIL,
        KernelState.LOCK,
    ]


def test_a_futex_before_calibration_is_unknown_and_asks_for_it() -> None:
    kernel = KernelStates(_fixed({1: b"202 0x1000 0x0\n"}), machine="x86_64", gil_enabled=True)
    assert kernel.read(1) is None
    assert kernel.wants_calibration


@pytest.mark.parametrize(
    ("line", "expected"),
    [(b"running\n", KernelState.ON_CPU), (b"7 0x3 0x1 0x0\n", KernelState.BLOCKED)],
)
def test_no_calibration_needed_off_the_futex(line: bytes, expected: KernelState) -> None:
    kernel = KernelStates(_fixed({1: line}), machine="x86_64", gil_enabled=True)
    assert kernel.read(1) is expected
    assert not kernel.wants_calibration


def test_without_the_gil_every_futex_is_the_programs() -> None:
    kernel = KernelStates(_fixed({1: b"202 0x1000 0x0\n"}), machine="x86_64", gil_enabled=False)
    assert kernel.read(1) is KernelState.LOCK


def test_unknown_machine_is_unavailable() -> None:
    assert not KernelStates(_fixed({}), machine="vax").available


@pytest.mark.parametrize(
    ("queued", "waiting", "share"),
    [
        (0, 0, 0.0),
        (1, 0, 0.0),  # the thread the sampler took the GIL from, or would give it to
        (3, 2, 2 / 3),  # three CPU-bound threads: two wait at any moment
    ],
)
def test_queue_counts(queued: int, waiting: int, share: float) -> None:
    counts = QueueCounts()
    assert counts.add_tick(0.01, queued) == pytest.approx(share)
    counts.add_tick(0.01, 0)
    assert counts.mean_waiting_threads == pytest.approx(waiting / 2)
    assert counts.wait_fraction == pytest.approx(0.5 if waiting else 0.0)
    assert counts.take_window() == counts.wait_fraction
    assert counts.take_window() is None


# -- real threads, states known by construction ------------------------------------------------


@pytest.fixture
def calibrated() -> KernelStates:
    kernel = KernelStates()
    assert kernel.calibrate(), "the GIL's futex was not found"
    return kernel


def _read_while_holding_the_gil(kernel: KernelStates, native_id: int) -> KernelState | None:
    # The reader keeps the GIL (ctypes.PyDLL), so nothing else runs Python meanwhile.
    return kernel.read(native_id)


@pytest.fixture
def blocked_thread() -> Iterator[Callable[[Callable[[], object]], int]]:
    """Start a thread blocked in the given call; yields a starter returning its native id."""
    threads: list[threading.Thread] = []

    def start(block: Callable[[], object]) -> int:
        started = threading.Event()

        def run() -> None:
            started.set()
            block()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        started.wait(5)
        threads.append(thread)
        time.sleep(0.2)  # into the blocking call
        assert thread.native_id is not None
        return thread.native_id

    yield start
    for thread in threads:
        thread.join(0)


@pytest.mark.e2e
@needs_kernel
@pytest.mark.timeout(30)
def test_a_lock_waiter_is_on_a_lock_not_the_gil(
    calibrated: KernelStates, blocked_thread: Callable[[Callable[[], object]], int]
) -> None:
    lock = threading.Lock()
    lock.acquire()

    def wait_in_with() -> None:
        with lock:  # blocks inside BEFORE_WITH, not at a call
            pass

    native_id = blocked_thread(wait_in_with)
    try:
        assert _read_while_holding_the_gil(calibrated, native_id) is KernelState.LOCK
    finally:
        lock.release()


@pytest.mark.e2e
@needs_kernel
@pytest.mark.timeout(30)
def test_a_queue_waiter_is_on_a_lock(
    calibrated: KernelStates, blocked_thread: Callable[[Callable[[], object]], int]
) -> None:
    items: queue.Queue[object] = queue.Queue()
    native_id = blocked_thread(lambda: list(iter(items.get, None)))
    try:
        assert _read_while_holding_the_gil(calibrated, native_id) is KernelState.LOCK
    finally:
        items.put(None)


@pytest.mark.e2e
@needs_kernel
@pytest.mark.timeout(30)
def test_a_sleeper_is_blocked(
    calibrated: KernelStates, blocked_thread: Callable[[Callable[[], object]], int]
) -> None:
    native_id = blocked_thread(lambda: time.sleep(3))
    assert _read_while_holding_the_gil(calibrated, native_id) is KernelState.BLOCKED


@pytest.mark.e2e
@needs_kernel
@pytest.mark.timeout(30)
def test_the_main_thread_waiting_on_a_lock_is_not_on_the_gil(calibrated: KernelStates) -> None:
    # On 3.13+ a waiting threading.Lock parks the thread on a futex in its own thread
    # state, which for the main thread lies inside the interpreter's runtime structure,
    # near (but not in) the GIL's.
    main = threading.get_native_id()
    lock = threading.Lock()
    lock.acquire()
    seen: list[KernelState | None] = []

    def look() -> None:
        time.sleep(0.3)
        seen.append(calibrated.read(main))
        lock.release()

    threading.Thread(target=look).start()
    assert lock.acquire(timeout=10)
    assert seen == [KernelState.LOCK]


@pytest.mark.e2e
@needs_kernel
@pytest.mark.timeout(30)
def test_a_spinning_thread_queues_on_the_gil(calibrated: KernelStates) -> None:
    stop = False

    def spin() -> None:
        while not stop:
            pass

    thread = threading.Thread(target=spin)
    thread.start()
    try:
        states = []
        for _ in range(20):
            time.sleep(0.001)  # the spinner takes the GIL; the switch interval returns it
            assert thread.native_id is not None
            states.append(calibrated.settle([thread.native_id])[thread.native_id])
    finally:
        stop = True
        thread.join()
    # Caught queueing for the GIL at least once; never on a lock or in a system call.
    assert KernelState.GIL in states
    assert not {KernelState.LOCK, KernelState.BLOCKED} & set(states)


@needs_kernel
@pytest.mark.e2e
@pytest.mark.timeout(30)
def test_calibrating_alone_shortens_the_switch_interval_only_meanwhile() -> None:
    # Before the program starts (gilwise run) each sighting then waits for one short
    # hand-over instead of a 5 ms one; the program must find the interval as it was.
    before = sys.getswitchinterval()
    real = KernelStates()._reader
    seen: list[float] = []

    def reader(native_id: int) -> bytes | None:
        seen.append(sys.getswitchinterval())
        return real(native_id)

    kernel = KernelStates(reader)
    assert kernel.calibrate(alone=True), "the GIL's futex was not found"
    assert seen
    assert max(seen) < before
    assert sys.getswitchinterval() == before


def test_the_switch_interval_comes_back_when_the_calibration_fails() -> None:
    before = sys.getswitchinterval()

    def broken(native_id: int) -> bytes | None:
        raise OSError("unreadable")

    kernel = KernelStates(broken, machine="x86_64", gil_enabled=True)
    with pytest.raises(OSError, match="unreadable"):
        kernel.calibrate(alone=True)
    assert sys.getswitchinterval() == before


def _monitor_set_up_early() -> tuple[Monitor, KernelStates]:
    """A monitor (no watcher) that has done its set-up, and its kernel reader, which
    has found the GIL's window."""
    monitor = Monitor(MonitorConfig(gil_watcher=False))
    monitor.set_up_early()
    kernel = monitor.sources.kernel
    assert kernel is not None
    assert kernel.gil_window is not None
    return monitor, kernel


@needs_kernel
@pytest.mark.e2e
@pytest.mark.timeout(30)
def test_a_monitor_set_up_early_does_not_calibrate_again() -> None:
    monitor, kernel = _monitor_set_up_early()
    monitor.start()
    time.sleep(0.2)
    monitor.stop()
    assert kernel._attempts <= 1  # none if an earlier monitor in this process found it


@needs_kernel
@pytest.mark.e2e
@pytest.mark.timeout(30)
def test_a_later_monitor_reuses_the_window_this_process_found() -> None:
    # One monitor per test (the pytest plugin): the GIL does not move within a process.
    _, found = _monitor_set_up_early()
    later = Monitor(MonitorConfig(gil_watcher=False)).sources.kernel
    assert later is not None
    assert later.gil_window == found.gil_window
    assert later._attempts == 0


def test_an_unreadable_syscall_file_ends_the_calibration_at_once() -> None:
    # It will not become readable; gilwise run calibrates before the program starts,
    # which would wait the calibration's whole 0.1 s for nothing.
    reads: list[int] = []

    def unreadable(native_id: int) -> bytes | None:
        reads.append(native_id)
        return None

    kernel = KernelStates(unreadable, machine="x86_64", gil_enabled=True)
    assert not kernel.calibrate(alone=True)
    assert len(reads) == 1


GIL = 0xC5FD20  # where CPython 3.15.2's GIL sleeps (a non-PIE binary)


@pytest.mark.parametrize(
    ("sightings", "expected"),
    [
        ([GIL], set()),  # one sighting is not enough
        ([GIL, GIL + 4], {GIL, GIL + 4}),  # the condition variable's two words
        ([GIL + 4, GIL + 0x68], {GIL + 4, GIL + 0x68}),  # and the switch condition
        ([0x4A0000, GIL], set()),  # a stray word below the GIL's: no window from it
        ([0x4A0000, GIL, GIL], {GIL}),
    ],
)
def test_the_calibration_takes_the_gil_from_sightings_that_agree(
    sightings: list[int], expected: set[int]
) -> None:
    assert agreeing_words(sightings) == expected


def test_set_up_early_tries_the_calibration_again_before_the_program_starts() -> None:
    # Left to the sampler, a failed calibration is tried again beside the program's busy
    # threads, 0.25 s apart, and the count can begin too late in the run to be given.
    class FirstTriesFail(KernelStates):
        tries = 0

        def calibrate(self, give_up: object = None, *, alone: bool = False) -> bool:
            self.tries += 1
            if self.tries < EARLY_CALIBRATION_TRIES:
                return False
            self.gil_window = (0, 176)
            return True

    kernel = FirstTriesFail(reader=lambda native_id: None)
    Monitor(MonitorConfig(gil_watcher=False), Sources(kernel=kernel)).set_up_early()
    assert kernel.tries == EARLY_CALIBRATION_TRIES
    assert kernel.gil_window == (0, 176)


@pytest.mark.parametrize(("threads", "alone"), [(1, True), (2, False)])
def test_set_up_early_shortens_the_switch_interval_only_with_no_other_thread(
    threads: int, alone: bool
) -> None:
    # gilwise.start() sets up where the program's threads may already run Python: one
    # could read or set the switch interval while the calibration has it shortened.
    class Recording(KernelStates):
        asked: list[bool]

        def calibrate(self, give_up: object = None, *, alone: bool = False) -> bool:
            self.asked.append(alone)
            self.gil_window = (0, 176)
            return True

    kernel = Recording(reader=lambda native_id: None)
    kernel.asked = []
    frames = dict.fromkeys(range(threads))
    sources = Sources(kernel=kernel, frames=lambda: frames)  # type: ignore[arg-type,return-value]
    Monitor(MonitorConfig(gil_watcher=False), sources).set_up_early()
    assert kernel.asked == [alone]
