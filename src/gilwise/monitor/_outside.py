"""The monitor's side of the GIL watcher process (``_watcher.py``): start, drain, stop.

The sampler starts the watcher once calibration has found the GIL's futex words, drains
its window lines at every tick (never blocking), and stops it with the monitor
(:class:`WatcherLink`). Where it cannot run (no interpreter to start, no permission to
read another process's thread states) the monitor keeps counting from inside, as before.

The watcher is started with ``os.posix_spawn`` rather than ``subprocess``: importing
subprocess holds the GIL for milliseconds in the sampler's thread, just when it should
be finding the program's event loops.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import time

from .._core._clocks import process_cpu_of
from ._gil import QueueCounts
from ._watcher import WINDOW_S, parse_held, parse_holder, parse_window

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable

    from ._gil import ThreadAccount
    from ._holders import GilHolders
    from ._watcher import Holder

#: The watcher's reads may use this much of one CPU (with its wake-ups, 4-5% of a core
#: at 1,000 reads a second and a few threads, measured; 1% without contention). It takes
#: from a core, not from the GIL: a program held to one core by the GIL loses nothing
#: where there are two.
WATCHER_DUTY = 0.03
#: Set to ``kernel``, the watcher reads who sleeps on the GIL's futex even on CPython
#: 3.15+, where it reads each thread's GIL status from the interpreter otherwise.
READER_VARIABLE = "GILWISE_GIL_READER"
#: How long it may take to start and read the first thread before it is given up on.
START_TIMEOUT_S = 5.0
#: Once its count took over, the watcher's pipe is read this often: as often as it writes.
DRAIN_EVERY_S = WINDOW_S
#: At the hand-over, the watcher keeps its own count if it read this share of the time
#: the sampler counted (it starts as the count does; a late one started behind a
#: calibration retried on a busy machine).
OWN_COUNT_COVERAGE = 0.8


class WatcherProcess:
    """The watcher's pid and our ends of its stdin and stdout pipes.

    A program may close every file descriptor (a daemonising library does) and open
    files that get the same numbers: each pipe end is known by its inode too, and one
    that is no longer ours is never read or closed.
    """

    def __init__(self, pid: int, stdin: int, stdout: int) -> None:
        self.pid = pid
        self.stdin = stdin
        self.stdout = stdout
        self.returncode: int | None = None
        #: Its CPU seconds, from the kernel as it was waited for (None: not yet, or the
        #: program waited for it itself).
        self._cpu_at_end: float | None = None
        self._inodes = {fd: _inode(fd) for fd in (stdin, stdout)}

    def owns(self, fd: int) -> bool:
        """Whether ``fd`` is still the pipe end it was made as."""
        return fd >= 0 and _inode(fd) == self._inodes.get(fd)

    def close_stdin(self) -> None:
        """Its signal to stop (the pipe's end of file; nothing is ever written to it, so a
        program that sets SIGPIPE to its default cannot be killed by a write to a watcher
        that has gone)."""
        self.stdin = self._close(self.stdin)

    def _close(self, fd: int) -> int:
        if self.owns(fd):
            with contextlib.suppress(OSError):
                os.close(fd)
        return -1

    def poll(self) -> int | None:
        if self.returncode is None:
            try:
                pid, status, usage = os.wait4(self.pid, os.WNOHANG)
            except ChildProcessError:  # reaped by the program itself (os.wait())
                self.returncode = 0
                return self.returncode
            if pid:
                self.returncode = os.waitstatus_to_exitcode(status)
                self._cpu_at_end = usage.ru_utime + usage.ru_stime
        return self.returncode

    def cpu_used(self) -> float:
        """CPU seconds it has used so far: the program's child processes include it."""
        if self.returncode is not None:
            return self._cpu_at_end or 0.0
        return process_cpu_of(self.pid)

    def kill(self) -> None:
        if self.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while self.poll() is None and time.monotonic() < deadline:
            time.sleep(0.005)
        return self.returncode

    def close(self) -> None:
        self.close_stdin()
        self.stdout = self._close(self.stdout)


def _inode(fd: int) -> tuple[int, int] | None:
    try:
        status = os.fstat(fd)
    except OSError:
        return None
    return status.st_dev, status.st_ino


class OutsideCounts(QueueCounts):
    """GIL waits counted by the watcher process: its windows, as ``QueueCounts`` totals.

    ``pending`` holds each thread's waiting seconds (by native id) until the sampler
    charges them to its accounts.
    """

    def __init__(self, process: WatcherProcess, started: float) -> None:
        super().__init__()
        self._process = process
        self._started = started
        self._buffer = b""
        self._ended = False
        self.state = "starting"  # then "ready", or "failed: REASON"
        #: Whether it reads each thread's GIL status from the interpreter (CPython 3.15+)
        #: rather than the kernel's view of who sleeps on the GIL's futex.
        self.reads_status = False
        self.pending: dict[int, float] = {}
        #: Wait behind each holder the watcher read (CPython 3.15+), until it is charged.
        self.pending_holders: list[tuple[float, Holder]] = []
        #: Each thread's seconds holding the GIL (CPython 3.15+), until they are charged.
        self.pending_held: dict[int, float] = {}
        #: The watcher's own CPU seconds (known once it has ended).
        self.cpu_seconds = 0.0

    @property
    def reads(self) -> int:
        """The watcher's reads of every thread (and the sampler's ticks it took over)."""
        return self.ticks

    @property
    def ready(self) -> bool:
        return self.state == "ready"

    @property
    def failed(self) -> bool:
        return self.state.startswith("failed")

    def drain(self) -> None:
        """Take in whatever the watcher has written, without waiting for more."""
        if self.failed or self._ended:
            return
        if not self._process.owns(self._process.stdout):
            self._fail("the program closed its pipe")
            return
        try:
            while chunk := os.read(self._process.stdout, 1 << 16):
                self._buffer += chunk
            self._ended = True  # end of file: the watcher has exited
        except BlockingIOError:
            pass
        except OSError as exc:
            self._fail(f"reading it: {exc}")
            return
        *lines, self._buffer = self._buffer.split(b"\n")
        for line in lines:
            self._take(line.decode("utf-8", "replace"))
        if self.state == "starting":
            if self._ended:
                self._fail("it ended before it was ready")
            elif time.monotonic() - self._started > START_TIMEOUT_S:
                self._fail(f"not ready after {START_TIMEOUT_S:.0f} s")
                self._process.kill()

    def _take(self, line: str) -> None:
        if line in ("ready", "ready status"):
            self.state = "ready"
            self.reads_status = line == "ready status"
        elif line.startswith("error "):
            self._fail(line[len("error ") :])
        elif line.startswith("cpu "):
            self.cpu_seconds = float(line.split()[1])
        elif (blamed := parse_holder(line)) is not None:
            self.pending_holders.append(blamed)
        elif (held := parse_held(line)) is not None:
            _add_seconds(self.pending_held, held)
        elif (window := parse_window(line)) is not None:
            observed, any_wait, waiting, reads, per_thread = window
            self.add_span(observed, any_wait, waiting, reads)
            _add_seconds(self.pending, per_thread)

    def _fail(self, reason: str) -> None:
        self.state = f"failed: {reason}"

    def start_from(
        self, time: float, any_wait_time: float, waiting_thread_time: float, ticks: int
    ) -> None:
        """Take the sampler's own count up to now as this count's beginning, in place of
        what the watcher counted so far (the same stretch, or part of it).

        The run is then counted from its start, and a watcher that started late (behind
        a calibration slowed by busy threads) still covers it.
        """
        self.time = time
        self.any_wait_time = any_wait_time
        self.waiting_thread_time = waiting_thread_time
        self.ticks = ticks
        self.pending.clear()
        self.pending_held.clear()

    def take_pending(self) -> tuple[dict[int, float], dict[int, float]]:
        """Each thread's seconds waiting for the GIL and holding it, since the last call."""
        pending, self.pending = self.pending, {}
        held, self.pending_held = self.pending_held, {}
        return pending, held

    def take_holders(self) -> list[tuple[float, Holder]]:
        """The holders read since the last call, each with the wait behind it."""
        held, self.pending_holders = self.pending_holders, []
        return held

    def process_cpu(self) -> float:
        """CPU seconds the watcher's process used so far, as the kernel counts them."""
        return self._process.cpu_used()

    def stop(self, timeout: float = 1.0) -> None:
        """End the watcher and take in its last window and its CPU time."""
        _live.discard(self)
        process = self._process
        process.close_stdin()
        deadline = time.monotonic() + timeout
        if not self.failed:
            import select

            # It writes its last lines and exits: read to end of file, but not for ever.
            while not self._ended and (left := deadline - time.monotonic()) > 0:
                if not select.select([process.stdout], [], [], left)[0]:
                    break
                self.drain()
            if self._buffer:
                self._take(self._buffer.decode("utf-8", "replace"))
                self._buffer = b""
        if process.wait(max(0.0, deadline - time.monotonic())) is None:
            process.kill()  # stuck, or its stdin still open in a forked child
            process.wait(timeout)
        process.close()

    def close_in_forked_child(self) -> None:
        """A forked child must not keep the watcher's pipes open: it would outlive stop."""
        self._process.close()


#: Watchers running, closed in a forked child (one hook for all: hooks cannot be removed).
_live: set[OutsideCounts] = set()


def _close_in_child() -> None:
    for counts in list(_live):
        counts.close_in_forked_child()
    _live.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_close_in_child)


def start_watcher(
    window: tuple[int, int], futex_calls: tuple[int, ...], exclude: set[int]
) -> OutsideCounts | None:
    """Start the GIL watcher for this process; None where it cannot be started."""
    executable = sys.executable
    if not executable or not os.path.basename(executable).startswith("python"):
        return None  # an embedded interpreter: nothing to run the watcher with
    if not hasattr(os, "posix_spawn"):
        return None
    from . import _watcher

    command = [
        executable,
        "-I",  # nothing of the environment or the user's site: a bare, quick start
        "-S",
        _watcher.__file__,
        str(os.getpid()),
        str(window[0]),
        str(window[1]),
        ",".join(map(str, futex_calls)),
        ",".join(map(str, sorted(exclude))),
        str(WATCHER_DUTY),
        # The kernel's view where CPython's reader is there too: how gil_truth.py checks
        # that view (the one of CPython 3.10-3.14) against the reader on 3.15.
        "kernel" if os.environ.get(READER_VARIABLE) == "kernel" else "auto",
    ]
    # Pipes are made non-inheritable (PEP 446): only the ends moved onto its stdin and
    # stdout reach the watcher, and nothing of the program's.
    stdin_read, stdin_write = os.pipe()
    stdout_read, stdout_write = os.pipe()
    try:
        pid = os.posix_spawn(
            executable,
            command,
            {k: v for k, v in os.environ.items() if k == "PATH"},
            file_actions=[
                (os.POSIX_SPAWN_DUP2, stdin_read, 0),
                (os.POSIX_SPAWN_DUP2, stdout_write, 1),
                (os.POSIX_SPAWN_OPEN, 2, os.devnull, os.O_WRONLY, 0),
            ],
            # Its own session: a terminal's Ctrl-C goes to the program, not to it; and
            # none of the signals the sampler's thread blocks stays blocked in it.
            setsid=True,
            setsigmask=(),
        )
    except OSError:
        for fd in (stdin_read, stdin_write, stdout_read, stdout_write):
            os.close(fd)
        return None
    os.close(stdin_read)
    os.close(stdout_write)
    os.set_blocking(stdout_read, False)
    counts = OutsideCounts(WatcherProcess(pid, stdin_write, stdout_read), time.monotonic())
    _live.add(counts)
    return counts


class WatcherLink:
    """The sampler's hold on the running watcher: its counts, and the hand-over to them.

    Until the watcher is ready the sampler counts the GIL's waits itself; then the
    watcher's count takes over, starting from the sampler's. The waits it counts from
    then on are charged to the threads that waited and to the holders the ticks saw.
    """

    __slots__ = ("_drained_at", "counts", "took_over")

    def __init__(self, counts: OutsideCounts) -> None:
        self.counts = counts
        #: Whether its count took over from the sampler's own yet.
        self.took_over = False
        self._drained_at = 0.0

    @classmethod
    def start(
        cls, window: tuple[int, int], futex_calls: tuple[int, ...], exclude: set[int]
    ) -> WatcherLink | None:
        """Start the watcher (:func:`start_watcher`); None where it cannot be started."""
        counts = start_watcher(window, futex_calls, exclude)
        return None if counts is None else cls(counts)

    def take_counts(
        self,
        sampler_count: QueueCounts,
        holders: GilHolders,
        clock: Callable[[], float],
        thread_name: Callable[[int], str] = lambda native_id: "",
    ) -> bool:
        """Take in what the watcher counted since the last call (never waiting for more);
        whether its count took over from ``sampler_count`` at this call, starting from it.

        The threads' own counts then start from the sampler's too (the caller's part:
        they are its accounts). A watcher that read most of the stretch the sampler
        counted keeps its own count instead (and the threads theirs): the sampler's
        ticks are one look each, and beside a regex that held the GIL 0.6 s at a time
        they stood for whole matches with "nobody waits" (a loop beside it read 0.72
        where it waited 0.99 of the time, when the hand-over came late).
        """
        counts = self.counts
        now = clock()
        if self.took_over and now - self._drained_at < DRAIN_EVERY_S:
            # Its lines come ten a second, and each look at the pipe lets go of the GIL
            # two or three times (fstat, read): at every tick, 10% of a tick's time
            # beside a 16-thread pool doing loopback I/O.
            return False
        self._drained_at = now
        waited_before = counts.waiting_thread_time
        counts.drain()
        if self.took_over:
            waited_s = counts.waiting_thread_time - waited_before
            self.blame(waited_s, holders, now, thread_name)
            return False
        # Before it takes over, the sampler's ticks name the holders themselves.
        counts.take_holders()
        if not counts.ready:
            return False
        self.took_over = True
        if counts.time >= OWN_COUNT_COVERAGE * sampler_count.time:
            return False
        counts.start_from(
            sampler_count.time,
            sampler_count.any_wait_time,
            sampler_count.waiting_thread_time,
            sampler_count.ticks,
        )
        return True

    def stop(self) -> float:
        """End the watcher; the thread-seconds of waiting its last lines counted."""
        waited_before = self.counts.waiting_thread_time
        self.counts.stop()
        return self.counts.waiting_thread_time - waited_before

    def blame(
        self,
        waited_s: float,
        holders: GilHolders,
        now: float,
        thread_name: Callable[[int], str] = lambda native_id: "",
    ) -> None:
        """Charge the wait the watcher counted since the last call to who held the GIL:
        the holders it read itself (CPython 3.15+), else those the sampler's ticks saw."""
        read = self.counts.take_holders()
        if read:
            holders.blame_read_holders(waited_s, read, thread_name)
        else:
            holders.blame_watched_wait(waited_s, now)

    def charge_waits(
        self,
        alive: Iterable[ThreadAccount],
        finished: Iterable[ThreadAccount],
        others: ThreadAccount | None = None,
    ) -> None:
        """Add each thread's waits (and time holding the GIL, where the watcher reads it)
        counted since the last call to its account.

        A thread with none any more was folded into ``others`` (the sum of old finished
        threads) before its last waits came in: they are the others' waits.
        """
        waits, held = self.counts.take_pending()
        if not (waits or held):
            return
        by_native_id = {a.native_id: a for a in alive}
        for account in finished:  # counted before the thread ended, read after
            by_native_id.setdefault(account.native_id, account)
        for native_id, seconds in waits.items():
            waiter = by_native_id.get(native_id, others)
            if waiter is not None:
                waiter.outside_wait += seconds
        for native_id, seconds in held.items():
            holder = by_native_id.get(native_id, others)
            if holder is not None:
                holder.outside_held += seconds


def _add_seconds(totals: dict[int, float], seconds: dict[int, float]) -> None:
    for tid, s in seconds.items():
        totals[tid] = totals.get(tid, 0.0) + s
