"""What the kernel says each thread is doing: on a CPU, queueing for the GIL, or blocked.

``/proc/self/task/TID/syscall`` (Linux) shows a sleeping thread's system call and its
arguments. A thread that waits for the GIL sleeps in ``futex`` on a word inside the
interpreter's own GIL state; one that waits for a ``threading.Lock``, a ``Condition``,
a ``Queue`` or a ``join()`` sleeps in ``futex`` on another word; one in I/O or a sleep is
in another system call; one running native code (or runnable) shows ``running``. So the
kernel tells, for any CPython version, exactly who queues for the GIL — where the
bytecode position alone cannot (``with lock:`` and ``for x in iter(q.get, None)`` block
inside an instruction that is not a call, just as a thread preempted for the GIL does).

Where the GIL's futex words are is learned by construction, as the sampler starts: a
helper thread that runs nothing but a pure-Python loop can only ever sleep waiting for
the GIL, so the word it sleeps on, seen while the sampler holds the GIL, is the GIL's.
The window kept around it spans the GIL's condition variable and mutexes (glibc waits
on one of two words of a condition variable, 4 bytes apart, in turn).
"""

from __future__ import annotations

import _thread
import contextlib
import os
import sys
import time
from collections.abc import Callable
from enum import Enum

from .._core._procfs import proc_reader
from .._core._switch import switch_interval
from ._watcher import parse_syscall

#: ``futex`` and ``futex_waitv`` system call numbers by machine (``os.uname().machine``).
_FUTEX_CALLS = {
    "x86_64": (202, 449),
    "aarch64": (98, 449),
    "riscv64": (98, 449),
    "ppc64le": (221, 449),
    "s390x": (238, 449),
    "i686": (240, 449),
}

#: Bytes kept around the lowest GIL futex word seen: the condition variable it belongs
#: to (48 bytes, the word at offset 40 or 44), then the GIL's mutex, its switch condition
#: variable and switch mutex, which are part of handing the GIL over too.
_GIL_WINDOW_BEFORE = 48
_GIL_WINDOW_AFTER = 128

#: The most time one calibration may take (the sampler takes no samples meanwhile), how
#: many sightings it wants, and how many times it is tried (``_CALIBRATION_RETRY_S``
#: apart) before the kernel's futex states are given up for this run.
_CALIBRATION_S = 0.1
_CALIBRATION_SIGHTINGS = 2
_CALIBRATION_ATTEMPTS = 10
_CALIBRATION_RETRY_S = 0.25

#: The switch interval while calibrating before the program starts: each sighting of the
#: spinner queueing for the GIL waits for one hand-over.
_CALIBRATION_SWITCH_S = 0.0002

#: Times a reader gives up its CPU (GIL kept) for a thread caught runnable to settle.
SETTLE_YIELDS = 3


class KernelState(str, Enum):
    """A thread's state as the kernel shows it."""

    ON_CPU = "on_cpu"  # running or runnable: native code, or just handed the GIL
    GIL = "gil"  # asleep on the GIL's futex: queueing for the GIL
    LOCK = "lock"  # asleep on another futex: a lock, condition, queue or join
    BLOCKED = "blocked"  # in another system call: I/O, a sleep, select, waitpid


def _sched_yield() -> Callable[[], int] | None:
    import ctypes  # here: only the sampler's thread needs it, once it runs

    try:
        function: Callable[[], int] = ctypes.PyDLL(None).sched_yield
    except (OSError, AttributeError):
        return None
    return function


def syscall_reader() -> Callable[[int], bytes | None]:
    """Reads a thread's ``/proc/self/task/TID/syscall`` line, None if unreadable."""
    read = proc_reader()

    def read_syscall(native_id: int) -> bytes | None:
        return read(f"/proc/self/task/{native_id}/syscall")

    return read_syscall


class KernelStates:
    """Classifies threads from the kernel's view; see the module docstring.

    ``read`` answers None where the kernel cannot settle it: the file is unreadable,
    or a thread sleeps on a futex before the GIL's has been found (the sampler
    calibrates as it starts; if that failed, ``wants_calibration`` asks it to try again
    between two ticks).
    """

    def __init__(
        self,
        reader: Callable[[int], bytes | None] | None = None,
        machine: str | None = None,
        gil_enabled: bool | None = None,
    ) -> None:
        self._reader = reader or syscall_reader()
        self._futex_calls = _FUTEX_CALLS.get(machine or os.uname().machine, ())
        if gil_enabled is None:
            is_enabled = getattr(sys, "_is_gil_enabled", None)
            gil_enabled = True if is_enabled is None else bool(is_enabled())
        #: Free-threaded CPython without the GIL: every futex is the program's own.
        self._gil_enabled = gil_enabled
        self._sched_yield = _sched_yield()
        #: This process's own threads are read (not a test's stand-in): what is found is
        #: the process's, for every monitor after this one.
        self._own_process = reader is None
        self.gil_window: tuple[int, int] | None = _FOUND[0] if self._own_process else None
        self.wants_calibration = False
        self.calibration_failed = False
        #: CPU seconds the calibration's spinner used (the monitor's cost).
        self.calibration_cpu_s = 0.0
        self._attempts = 0
        self._next_attempt = 0.0

    @property
    def available(self) -> bool:
        return bool(self._futex_calls)

    @property
    def futex_calls(self) -> tuple[int, ...]:
        """This machine's ``futex`` system call numbers."""
        return self._futex_calls

    def read(self, native_id: int) -> KernelState | None:
        return self._state_of(self._reader(native_id))

    def settle(self, native_ids: list[int]) -> dict[int, KernelState | None]:
        """Read threads seen runnable again, once they have had a chance to reach a wait.

        A thread woken as the GIL changed hands (to the sampler) stays runnable until it
        gets a CPU and sees the GIL taken, which on a busy machine takes a while. Giving
        up the CPU (``sched_yield``, GIL kept) lets such threads settle on the GIL's
        futex; native code running without the GIL stays on its CPU. At most
        ``SETTLE_YIELDS`` yields in all: while it yields, the sampler holds the GIL.
        """
        lines = _settle(self._reader, native_ids, self._sched_yield)
        return {native_id: self._state_of(line) for native_id, line in lines.items()}

    def _state_of(self, line: bytes | None) -> KernelState | None:
        parsed = None if line is None else parse_syscall(line, self._futex_calls)
        if parsed is None:
            return None
        kind, address = parsed
        if kind == "running":
            return KernelState.ON_CPU
        if kind == "other":
            return KernelState.BLOCKED
        if not self._gil_enabled:
            return KernelState.LOCK
        if self.gil_window is None:
            self.wants_calibration = (
                not self.calibration_failed and time.monotonic() >= self._next_attempt
            )
            return None
        start, end = self.gil_window
        if address is not None and start <= address < end:
            return KernelState.GIL
        return KernelState.LOCK

    def calibrate(
        self, give_up: Callable[[], bool] = lambda: False, *, alone: bool = False
    ) -> bool:
        """Find the GIL's futex by watching a thread that can wait for nothing else.

        Must run in a thread that can let go of the GIL (the sampler, between ticks).
        Takes a few switch intervals (~5 ms each), at most ``_CALIBRATION_S``, and
        returns early once ``give_up()`` is true (the monitor is stopping). ``alone``:
        no thread of the program runs yet (``gilwise run``, before the program), so the
        switch interval may be shortened meanwhile, which takes it to 2-3 ms.
        """
        self.wants_calibration = False
        self._attempts += 1
        # Shortened only where no program code runs: a program could read or set it.
        shortened = min(sys.getswitchinterval(), _CALIBRATION_SWITCH_S)
        with switch_interval(shortened) if alone else contextlib.nullcontext():
            words, spinner_cpu = gil_futex_words(
                self._reader, self._futex_calls, self._sched_yield, give_up
            )
        self.calibration_cpu_s += spinner_cpu
        if not words:
            # A busy machine may starve the spinner: try again later, a few times.
            self.calibration_failed = self._attempts >= _CALIBRATION_ATTEMPTS
            self._next_attempt = time.monotonic() + _CALIBRATION_RETRY_S
            return False
        low = min(words)
        self.gil_window = (low - _GIL_WINDOW_BEFORE, low + _GIL_WINDOW_AFTER)
        if self._own_process:
            _FOUND[0] = self.gil_window
        return True


#: The GIL's window once found in this process: it never moves, and a monitor per test
#: (the pytest plugin) calibrated again each time, in the sampler's thread beside the
#: test's threads, too late for a 0.6 s test of four CPU-bound threads to be counted.
_FOUND: list[tuple[int, int] | None] = [None]


def _settle(
    reader: Callable[[int], bytes | None],
    native_ids: list[int],
    yield_cpu: Callable[[], int] | None,
) -> dict[int, bytes | None]:
    """Each thread's syscall line, read again after yielding while any shows ``running``."""
    lines = {native_id: reader(native_id) for native_id in native_ids}
    if yield_cpu is None:
        return lines
    for _ in range(SETTLE_YIELDS):
        running = [n for n, line in lines.items() if line and line.startswith(b"running")]
        if not running:
            break
        yield_cpu()
        lines.update((n, reader(n)) for n in running)
    return lines


def agreeing_words(sightings: list[int]) -> set[int]:
    """The words of ``_CALIBRATION_SIGHTINGS`` sightings that fall in one window, if any.

    The GIL's words (its condition variable's two, its mutex, its switch condition)
    lie within ``_GIL_WINDOW_AFTER`` bytes of one another; a single sighting elsewhere
    is not taken for the GIL, whose window is set from the lowest word.
    """
    for low in sorted(set(sightings)):
        near = [w for w in sightings if low <= w < low + _GIL_WINDOW_AFTER]
        if len(near) >= _CALIBRATION_SIGHTINGS:
            return set(near)
    return set()


def gil_futex_words(
    reader: Callable[[int], bytes | None],
    futex_calls: tuple[int, ...],
    yield_cpu: Callable[[], int] | None = None,
    give_up: Callable[[], bool] = lambda: False,
) -> tuple[set[int], float]:
    """Futex words a pure-Python spinning thread sleeps on while this thread holds the GIL,
    and the CPU seconds the spinner used."""
    state = {"stop": False, "native_id": 0}
    spent: list[float] = []  # the spinner's CPU seconds: the monitor's cost, not the program's
    done = _thread.allocate_lock()
    done.acquire()

    def spin() -> None:
        # Nothing in this loop blocks or calls into C: the only wait it can have is
        # for the GIL.
        try:
            state["native_id"] = _thread.get_native_id()
            while not state["stop"]:
                pass
        finally:
            spent.append(time.thread_time())
            done.release()

    _thread.start_new_thread(spin, ())
    sightings: list[int] = []
    words: set[int] = set()
    deadline = time.monotonic() + _CALIBRATION_S
    try:
        while not words and time.monotonic() < deadline and not give_up():
            # Let the spinner take the GIL; the switch interval then hands it back to
            # us, and the spinner queues for it while we read.
            time.sleep(0.0005)
            native_id = state["native_id"]
            if not native_id:
                continue
            line = _settle(reader, [native_id], yield_cpu)[native_id]
            if line is None:
                # Unreadable (a sandbox without it): it will not become readable, and
                # `gilwise run` calibrates before the program, which would wait meanwhile.
                break
            parsed = parse_syscall(line, futex_calls)
            if parsed is not None and parsed[0] == "futex" and parsed[1] is not None:
                sightings.append(parsed[1])
                words = agreeing_words(sightings)
    finally:
        state["stop"] = True
        # Gone before the next tick, so that it is never sampled as a program thread.
        done.acquire(timeout=1.0)
    return words, sum(spent)
