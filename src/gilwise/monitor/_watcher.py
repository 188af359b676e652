"""The GIL watcher: a child process that counts, from outside, who waits for the GIL.

The sampler thread reads each thread's state with the GIL held, so whatever it reads,
it reads at an instant it chose by taking the GIL: every thread that wants to run Python
is then queued behind the sampler, and one back from a system call has had no chance to
take the GIL. That bias is behind most of the in-process count's remaining error. This
process reads the same kernel files, ``/proc/PID/task/TID/syscall``, from outside: it
never takes the watched program's GIL, so the instants it reads are the program's own.
A thread asleep in ``futex`` on a word inside the GIL's state (the window the sampler
found by calibration) is waiting for the GIL; that is all it counts.

The parsing of a ``syscall`` line lives here, stdlib only, for the sampler's in-process
reads (``_kernel.py``) too.

Run as ``python -I -S _watcher.py PID WINDOW_START WINDOW_END SYSCALLS EXCLUDE DUTY READS``
(``READS``: ``kernel`` for the kernel's view even where the interpreter's status can be
read, ``auto`` otherwise): it imports nothing of gilwise (``-I -S`` keep start-up to the
bare interpreter) and writes lines to stdout:

* ``ready`` once it has read the first thread, ``ready status`` where it reads each
  thread's GIL status from the interpreter instead (CPython 3.15+, ``InterpreterThreads``),
  or ``error REASON`` and exits 3;
* ``window SECONDS ANY_WAIT_SECONDS WAITING_THREAD_SECONDS READS [TID:SECONDS ...]``
  about ten times a second: time observed, time with at least one thread waiting, the
  sum over threads of their waiting time, and each waiting thread's share;
* before a window line, reading the status, ``holder SECONDS TID FRAMES`` for each
  thread and stack that held the GIL while others waited: the waiting thread-seconds
  behind it, and its innermost frames (``holder_line``); and ``held TID:SECONDS ...``,
  each thread's time holding the GIL over the window;
* ``cpu SECONDS`` as it ends: its own CPU time, the monitor's cost.

It ends when its stdin closes (the monitor stopped, or died) or the watched process is
gone. It spaces its reads to use at most DUTY of one CPU.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable, Iterable
    from typing import Any

#: Reads at most this often (1 kHz), while threads wait for the GIL: switch intervals
#: are 5 ms, and a thread woken for the GIL is seen runnable for well under that.
MIN_GAP_S = 0.001
#: While nobody has waited for a window's time, this often: contention is found within
#: 10 ms, and a program without any costs the watcher a tenth as much.
IDLE_GAP_S = 0.01
#: And at least this often, however many threads there are: over a run of a second, 50
#: reads put the share of time with a waiter within about 0.07 (binomial, 95%).
MAX_GAP_S = 0.02
#: A read stands for the time since the previous one, up to this: a watcher that slept
#: long (a busy machine took its CPU) did not see what happened meanwhile.
MAX_WEIGHT_S = 0.05
#: Distinct holders (thread and stack) a window keeps: a window is a tenth of a second.
MAX_HOLDERS_PER_WINDOW = 256
#: Reads of the interpreter's thread statuses tried before the kernel's view is read.
FIRST_READ_TRIES = 20
#: How often a window line goes to the monitor.
WINDOW_S = 0.1
#: How often the thread list is read again: a threaded server's handlers live 5-10 ms,
#: and listed every 50 ms most of their waits went uncounted (mean waiting threads 1.5
#: against the reference's 2.5; 1.6-1.9 at this). A listing costs ~20 µs.
RELIST_S = 0.01
#: While threads come and go (a listing found one new or ended), this often: a handler
#: living 5 ms was met, at 10 ms, about half way through its life on average.
RELIST_CHURN_S = 0.002


def parse_syscall(line: bytes, futex_calls: tuple[int, ...]) -> tuple[str, int | None] | None:
    """``("running", None)``, ``("futex", address)``, ``("other", None)``; None if unclear."""
    fields = line.split()
    if not fields:
        return None
    if fields[0] == b"running":
        return "running", None
    try:
        number = int(fields[0])
    except ValueError:
        return None
    if number < 0:
        return None  # blocked outside a system call (a page fault, stopped): unclear
    if number in futex_calls:
        try:
            return "futex", int(fields[1], 16) if len(fields) > 1 else None
        except ValueError:
            return "futex", None
    return "other", None


def parse_state(line: bytes, futex_calls: tuple[int, ...], window: tuple[int, int]) -> bool:
    """Whether a ``syscall`` line shows a thread asleep on the GIL's futex."""
    parsed = parse_syscall(line, futex_calls)
    if parsed is None or parsed[0] != "futex" or parsed[1] is None:
        return False
    return window[0] <= parsed[1] < window[1]


class Tally:
    """Waiting time accumulated over one window of reads."""

    __slots__ = (
        "any_wait",
        "held",
        "holders",
        "observed",
        "per_thread",
        "reads",
        "waiting_threads",
    )

    def __init__(self) -> None:
        self.observed = 0.0
        self.any_wait = 0.0
        self.waiting_threads = 0.0
        self.reads = 0
        self.per_thread: dict[int, float] = {}
        #: Thread-seconds of wait behind each holder a read named (the status reader's).
        self.holders: dict[Holder, float] = {}
        #: Each thread's seconds holding the GIL (the status reader's).
        self.held: dict[int, float] = {}

    def add(
        self,
        weight: float,
        waiting: Iterable[int],
        holder: Holder | None = None,
        holding: Iterable[int] = (),
    ) -> None:
        """One read of every thread, standing for ``weight`` seconds; ``holder``: who held
        the GIL at it and where, ``holding``: the threads that held it, where known."""
        self.observed += weight
        self.reads += 1
        for tid in holding:
            self.held[tid] = self.held.get(tid, 0.0) + weight
        count = 0
        for tid in waiting:
            count += 1
            self.per_thread[tid] = self.per_thread.get(tid, 0.0) + weight
        if count:
            self.any_wait += weight
            self.waiting_threads += weight * count
            if holder is not None and len(self.holders) < MAX_HOLDERS_PER_WINDOW:
                self.holders[holder] = self.holders.get(holder, 0.0) + weight * count

    def line(self) -> str:
        """The window's lines: ``holder`` lines, then the ``window`` line."""
        head = f"window {self.observed:.6f} {self.any_wait:.6f} {self.waiting_threads:.6f}"
        blamed = "".join(holder_line(s, holder) for holder, s in self.holders.items())
        held = f"held {_per_thread(self.held)}\n" if self.held else ""
        return blamed + held + f"{head} {self.reads} {_per_thread(self.per_thread)}".rstrip() + "\n"


def _per_thread(seconds: dict[int, float]) -> str:
    return " ".join(f"{tid}:{s:.6f}" for tid, s in sorted(seconds.items()))


def _parse_per_thread(items: list[str]) -> dict[int, float]:
    """``TID:SECONDS`` items; ValueError where one is not."""
    per_thread = {}
    for item in items:
        tid, _, seconds = item.partition(":")
        per_thread[int(tid)] = float(seconds)
    return per_thread


def parse_window(line: str) -> tuple[float, float, float, int, dict[int, float]] | None:
    """The monitor's side of a ``window`` line; None if it is not one."""
    fields = line.split()
    if len(fields) < 5 or fields[0] != "window":
        return None
    try:
        per_thread = _parse_per_thread(fields[5:])
        return float(fields[1]), float(fields[2]), float(fields[3]), int(fields[4]), per_thread
    except ValueError:
        return None


def parse_held(line: str) -> dict[int, float] | None:
    """The monitor's side of a ``held`` line: each thread's seconds holding the GIL."""
    fields = line.split()
    if not fields or fields[0] != "held":
        return None
    try:
        return _parse_per_thread(fields[1:])
    except ValueError:
        return None


class Threads:
    """The watched process's threads, each with its ``syscall`` file kept open.

    A thread the GIL's release woke shows ``running`` before it has a CPU to take the GIL
    with, which on a busy machine (or behind the thread that released it) takes a while:
    it still waits. So one seen asleep on the GIL whose CPU time (``schedstat``) has not
    moved since counts as waiting until it moves. This needs reads close together (at
    200 reads a second it missed 30-50% of zlib's and hashlib's waits). The CPU time of a
    thread on a CPU moves only at scheduler ticks, so one that got a CPU and is still
    inside the GIL's acquisition is counted too, as CPython's own reader counts it
    (schedstat's count of times scheduled, which moves at once, read zlib4 0.13 and
    hashlib4 0.15 against the reader's 0.17 and 0.21 on CPython 3.15).
    """

    # Who holds the GIL is not in the kernel's view.
    holder: Holder | None = None
    holding: tuple[int, ...] = ()

    def __init__(self, pid: int, exclude: set[int], proc: str = "/proc") -> None:
        self.tasks = f"{proc}/{pid}/task"
        self.exclude = exclude
        self.files: dict[int, int] = {}
        #: Whether the last listing found a thread new or ended.
        self.churned = False
        self.schedstat: dict[int, int] = {}
        #: CPU time (schedstat's first field) of threads last seen waiting for the GIL.
        self.cpu_when_waiting: dict[int, bytes] = {}

    def refresh(self) -> bool:
        """Read the thread list again; False once the process is gone."""
        try:
            tids = {int(name) for name in os.listdir(self.tasks)}
        except (OSError, ValueError):
            return False
        tids -= self.exclude
        self.churned = tids != self.files.keys()
        for tid in set(self.files) - tids:  # ended
            os.close(self.files.pop(tid))
            if tid in self.schedstat:
                os.close(self.schedstat.pop(tid))
            self.cpu_when_waiting.pop(tid, None)
        for tid in tids - set(self.files):
            # One that ended meanwhile is skipped; unreadable ones show at the first read.
            with contextlib.suppress(OSError):
                self.files[tid] = os.open(f"{self.tasks}/{tid}/syscall", os.O_RDONLY)
        return True

    def waiting(self, is_waiting: Callable[[bytes], bool]) -> list[int]:
        """Threads waiting for the GIL, read now (pread: the file is regenerated)."""
        found = []
        for tid, fd in self.files.items():
            try:
                line = os.pread(fd, 128, 0)
            except OSError:
                continue  # the thread ended since the last listing
            if is_waiting(line):
                found.append(tid)
                cpu = self._cpu(tid)
                if cpu is not None:
                    self.cpu_when_waiting[tid] = cpu
            elif tid in self.cpu_when_waiting:
                if line.startswith(b"running") and self._cpu(tid) == self.cpu_when_waiting[tid]:
                    found.append(tid)  # woken for the GIL, no CPU yet to take it with
                else:
                    del self.cpu_when_waiting[tid]
        return found

    def _cpu(self, tid: int) -> bytes | None:
        fd = self.schedstat.get(tid)
        try:
            if fd is None:
                fd = self.schedstat[tid] = os.open(f"{self.tasks}/{tid}/schedstat", os.O_RDONLY)
            return os.pread(fd, 64, 0).split(b" ", 1)[0]
        except OSError:
            return None

    def close(self) -> None:
        for fd in (*self.files.values(), *self.schedstat.values()):
            os.close(fd)
        self.files.clear()
        self.schedstat.clear()


class InterpreterThreads:
    """The watched process's threads as CPython 3.15+ itself records them.

    ``_remote_debugging`` (the reader behind ``python -m profiling.sampling``) reads each
    thread's status from the interpreter's memory: asking for the GIL, holding it. That
    is the truth the kernel's view approximates: a thread that asked for the GIL and was
    woken, or preempted before it slept, shows ``running`` to the kernel, and on a busy
    machine most waits are such (16 socket clients and their handlers on 2 cores: a
    thread asked for the GIL in 94% of reads, a thread slept on its futex in 28%). One
    read of 34 threads costs ~50 µs of CPU, no more than their ``syscall`` files.
    """

    churned = False  # each read sees every thread: no listing to hurry

    def __init__(self, reader: Any, pid: int, exclude: set[int], wants: int, holds: int) -> None:
        self.reader = reader
        self.pid = pid
        self.exclude = exclude
        self.wants = wants
        self.holds = holds
        #: Who held the GIL at the last read, where one thread did: its id and innermost
        #: frames (file, line, function), innermost first.
        self.holder: Holder | None = None
        #: The program's threads holding the GIL at the last read (two mid-handover).
        self.holding: tuple[int, ...] = ()

    @classmethod
    def open(cls, pid: int, exclude: set[int]) -> InterpreterThreads | None:
        """A reader of ``pid``'s thread statuses, or None where this CPython has none."""
        try:
            import _remote_debugging as remote  # type: ignore[import-not-found,unused-ignore]
        except ImportError:
            return None
        wants = getattr(remote, "THREAD_STATUS_GIL_REQUESTED", None)
        holds = getattr(remote, "THREAD_STATUS_HAS_GIL", None)
        if wants is None or holds is None:
            return None
        try:
            reader = remote.RemoteUnwinder(pid, all_threads=True, cache_frames=True)
        except Exception:  # not permitted, or a CPython whose reader differs: the kernel's
            return None
        threads = cls(reader, pid, exclude, wants, holds)
        # A read fails where it catches a thread mid-change: one failure must not leave
        # the whole run to the kernel's view.
        for _ in range(FIRST_READ_TRIES):
            if threads.waiting() is not None:
                return threads
            time.sleep(MIN_GAP_S)
        return None

    def refresh(self) -> bool:
        """Whether the process is still there (each read lists its threads anew)."""
        try:
            os.kill(self.pid, 0)
        except OSError:
            return False
        return True

    def waiting(self, is_waiting: Callable[[bytes], bool] | None = None) -> list[int] | None:
        """Threads asking for the GIL and not holding it; None if the read failed."""
        try:
            interpreters = self.reader.get_stack_trace()
        except Exception:  # caught mid-change (a thread starting or ending): read again
            return None
        waiting = []
        holding = []
        for interpreter in interpreters:
            for thread in interpreter.threads:
                if thread.status & self.holds:
                    holding.append(thread)
                elif thread.status & self.wants and thread.thread_id not in self.exclude:
                    waiting.append(thread.thread_id)
        # Handed over mid-read, two can show holding: then none is named; nor the
        # monitor's own thread (its ticks' share of the wait goes to the program's lines).
        one = holding[0] if len(holding) == 1 else None
        self.holder = _holder_of(one) if one and one.thread_id not in self.exclude else None
        self.holding = tuple(t.thread_id for t in holding if t.thread_id not in self.exclude)
        return waiting

    def close(self) -> None:
        self.reader = None


#: A holder's innermost frames kept: the monitor names the innermost of the program's
#: own (not the standard library's or an installed package's) among them.
HOLDER_FRAMES = 8

#: Who held the GIL: its thread id and innermost frames, (file, line, function) each.
Holder = tuple[int, tuple[tuple[str, int, str], ...]]


def _holder_of(thread: Any) -> Holder:
    frames = tuple(
        (frame.filename, frame.location.lineno if frame.location else 0, frame.funcname)
        for frame in thread.frame_info[:HOLDER_FRAMES]
    )
    return thread.thread_id, frames


#: Between a ``holder`` line's frames, and between a frame's fields: control characters
#: no real file name has, and that, unlike ASCII's record separator, nothing reads as a
#: line's end.
RECORD, UNIT = "\x1f", "\x01"
#: What a name may not hold in a ``holder`` line, each written as "?".
_UNWRITABLE = {ord(c): "?" for c in (RECORD, UNIT, "\n", "\r")}


def holder_line(seconds: float, holder: Holder) -> str:
    """A ``holder`` line: thread-seconds of wait behind one holder over a window."""
    tid, frames = holder
    stack = RECORD.join(
        f"{file.translate(_UNWRITABLE)}{UNIT}{line}{UNIT}{function.translate(_UNWRITABLE)}"
        for file, line, function in frames
    )
    return f"holder {seconds:.6f} {tid} {stack}\n"


def parse_holder(line: str) -> tuple[float, Holder] | None:
    """The monitor's side of a ``holder`` line; None if it is not one."""
    fields = line.rstrip("\n").split(" ", 3)
    if len(fields) < 3 or fields[0] != "holder":
        return None
    try:
        stack = fields[3].split(RECORD) if len(fields) == 4 and fields[3] else []
        return float(fields[1]), (int(fields[2]), tuple(_frame(record) for record in stack))
    except ValueError:
        return None


def _frame(record: str) -> tuple[str, int, str]:
    file, line, function = record.split(UNIT)  # not three: ValueError
    return file, int(line), function


def next_gap(cost: float, duty: float, contended: bool = True) -> float:
    """Seconds until the next read: often while threads wait, and within ``duty`` of a CPU."""
    return min(MAX_GAP_S, max(MIN_GAP_S if contended else IDLE_GAP_S, cost / duty))


def watch(
    threads: Threads | InterpreterThreads,
    is_waiting: Callable[[bytes], bool],
    duty: float,
    out: Callable[[str], None],
    stopped: Callable[[float], bool],
    clock: Callable[[], float] = time.monotonic,
    cpu: Callable[[], float] = time.thread_time,
) -> None:
    """Read, tally and report until ``stopped(timeout)`` says so (it waits up to timeout)."""
    tally = Tally()
    last_read = window_start = last_list = clock()
    contended = True  # until a window without a waiter says otherwise
    while True:
        cpu_before = cpu()
        now = clock()
        if now - last_list >= (RELIST_CHURN_S if threads.churned else RELIST_S):
            if not threads.refresh():
                break
            last_list = now
        waiting = threads.waiting(is_waiting)
        if waiting is not None:  # a failed read: the next one stands for this time too
            weight = min(MAX_WEIGHT_S, now - last_read)
            tally.add(weight, waiting, threads.holder, threads.holding)
            last_read = now
        if now - window_start >= WINDOW_S:
            contended = tally.any_wait > 0
            out(tally.line())
            tally = Tally()
            window_start = now
        contended = contended or bool(waiting)
        if stopped(next_gap(cpu() - cpu_before, duty, contended)):
            break
    if tally.reads:
        out(tally.line())


def main(argv: list[str]) -> int:
    pid, start, end, calls, exclude, duty, reads = argv
    window = (int(start), int(end))
    futex_calls = tuple(int(n) for n in calls.split(","))
    excluded = {int(t) for t in exclude.split(",") if t}
    threads: Threads | InterpreterThreads | None = None
    if reads != "kernel":
        threads = InterpreterThreads.open(int(pid), excluded)
    ready = "ready status\n"
    if threads is None:
        threads, ready = Threads(int(pid), excluded), "ready\n"
        error = _kernel_unreadable(threads, pid)
        if error:
            print(f"error {error}", flush=True)
            return 3

    # File names in holder lines: UTF-8 whatever the locale, and one that is not valid
    # text (undecodable bytes) escaped rather than ending the watcher.
    sys.stdout.reconfigure(encoding="utf-8", errors="backslashreplace")  # type: ignore[union-attr]

    def out(line: str) -> None:
        sys.stdout.write(line)
        sys.stdout.flush()

    import select  # here: the monitor imports this module for parse_syscall alone

    def stopped(timeout: float) -> bool:
        # The monitor closes our stdin to stop us; so does its death.
        readable, _, _ = select.select([sys.stdin], [], [], timeout)
        return bool(readable) and not os.read(sys.stdin.fileno(), 4096)

    out(ready)
    try:
        waits = lambda line: parse_state(line, futex_calls, window)  # noqa: E731
        watch(threads, waits, float(duty), out, stopped)
    except BrokenPipeError:
        return 0  # the monitor is gone: nobody to report to
    finally:
        threads.close()
    with contextlib.suppress(BrokenPipeError):
        out(f"cpu {time.process_time():.6f}\n")
    return 0


def _kernel_unreadable(threads: Threads, pid: str) -> str:
    """Why the kernel's view of ``pid``'s threads cannot be read ("" if it can)."""
    if not threads.refresh():
        return f"cannot list the threads of process {pid}"
    try:
        # Reading another process's syscall file takes ptrace permission (Yama, a
        # container's seccomp profile or a non-dumpable process can refuse it).
        fd = os.open(f"/proc/{pid}/syscall", os.O_RDONLY)
        try:
            os.pread(fd, 128, 0)
        finally:
            os.close(fd)
    except OSError as exc:
        return str(exc.strerror or exc)
    return ""


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
