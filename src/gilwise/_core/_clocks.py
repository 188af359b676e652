"""CPU clocks: per-thread CPU time, process CPU time and the cores this process may use.

Read by the monitor every tick, and by the advisor, the pool's calibration and the tour.
``gilwise run`` imports it before the program starts: no dataclasses, no typing here.
"""

from __future__ import annotations

import math
import os
import sys
import threading
import time
from collections.abc import Callable

from ._procfs import proc_reader, read_file


def _linux_thread_clock(native_id: int) -> int:
    # The kernel's per-thread CPU clock id is derived from the TID alone
    # (MAKE_THREAD_CPUCLOCK(tid, CPUCLOCK_SCHED) in include/linux/posix-timers.h).
    # Computing it from the TID, rather than pthread_getcpuclockid(pthread_t), means a
    # thread that has just exited gives EINVAL instead of reading a freed pthread struct.
    return (~native_id << 3) | 6


def native_id_of(ident: int) -> int | None:
    """The kernel's thread id of a live thread of this process, from its ``ident`` (Linux).

    For threads started with ``_thread`` (pytest-xdist's workers, execnet, C extensions),
    which ``threading`` never asks for their native id: without it their kernel state
    cannot be read, and the whole run fell back to estimating GIL waits. The thread CPU
    clock id glibc returns encodes the TID (the inverse of :func:`_linux_thread_clock`).
    Safe only while the caller holds the GIL and saw the thread in
    ``sys._current_frames()``: its pthread still exists.
    """
    if not sys.platform.startswith("linux") or not hasattr(time, "pthread_getcpuclockid"):
        return None
    try:
        clock = time.pthread_getcpuclockid(ident)
    except (OSError, OverflowError, ValueError):
        return None
    if clock & 7 != 6:  # not a per-thread scheduler clock: an encoding we do not know
        return None
    native_id = ~(clock >> 3)
    return native_id if native_id > 0 else None


def thread_cpu_seconds(ident: int, native_id: int | None) -> float | None:
    """CPU seconds used so far by one thread of this process, or None where unknowable."""
    try:
        if sys.platform.startswith("linux") and native_id is not None:
            return time.clock_gettime(_linux_thread_clock(native_id))
        if hasattr(time, "pthread_getcpuclockid"):
            # Safe only because the caller holds the GIL and saw this thread in
            # sys._current_frames(): its thread state, hence its pthread, still exists.
            return time.clock_gettime(time.pthread_getcpuclockid(ident))
    except (OSError, OverflowError, ValueError):
        return None
    return None


def process_user_cpu_seconds() -> float:
    """User-mode CPU seconds of the whole process: Python and native code, not the kernel.

    Kernel time (socket and file system calls) is kept out, so busy loopback I/O does
    not read as threads computing in parallel.
    """
    # getrusage has microseconds where os.times() counts 10 ms clock ticks, which made a
    # 12 ms run read as 3 cores of 2.
    try:
        import resource
    except ImportError:  # not on Windows
        return os.times().user
    return resource.getrusage(resource.RUSAGE_SELF).ru_utime


def busy_cpu_seconds(
    read: Callable[[], str | None] | None = None, cpus: set[int] | None = None
) -> float | None:
    """Seconds the CPUs this process may run on have been busy (any process), or None.

    From /proc/stat's per-CPU lines: user, nice, system, irq, softirq and steal time (idle
    and iowait are not busy; guest time is already in user). Less this process's own CPU
    time, it is what other processes took from the cores the program could have used.
    """
    text = (read or _read_proc_stat)()
    if text is None:
        return None
    if cpus is None:
        cpus = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    ticks = 0
    seen = False
    for line in text.splitlines():
        name, _, rest = line.partition(" ")
        if not (name.startswith("cpu") and name[3:].isdigit()):
            continue
        if cpus is not None and int(name[3:]) not in cpus:
            continue
        fields = [int(x) for x in rest.split()[:8]]
        if len(fields) < 8:
            return None
        user, nice, system, _idle, _iowait, irq, softirq, steal = fields
        ticks += user + nice + system + irq + softirq + steal
        seen = True
    return ticks / os.sysconf("SC_CLK_TCK") if seen else None


def _read_proc_stat() -> str | None:
    return _read_text("/proc/stat")


def children_cpu_seconds(read: Callable[[str], str | None] | None = None) -> float:
    """CPU seconds this process's child processes have used: those it has ended and
    waited for (``os.times()``), and, on Linux, the ones alive now (``/proc``).

    A process pool's workers do the program's work: counted as other processes, they
    made a pool's parent read "other processes used 1.68 of the 2 cores".
    """
    times = os.times()
    return times.children_user + times.children_system + _live_children_cpu(read or _read_text)


def _live_children_cpu(read: Callable[[str], str | None]) -> float:
    if not _may_have_children():
        return 0.0
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:  # not Linux
        return 0.0
    pids = {
        pid for task in tasks for pid in (read(f"/proc/self/task/{task}/children") or "").split()
    }
    return sum(process_cpu_of(int(pid), read) for pid in pids if pid.isdigit())


def _may_have_children() -> bool:
    """False only where the process surely has no child process, asked in one system call.

    Reading each thread's list of children takes four calls a thread, each of which waits
    for the GIL beside busy threads: 0.18-0.24 s of ``watch()``'s start beside three.
    WNOWAIT leaves any child that ended waitable, so the program's own wait still gets it.
    """
    waitid = getattr(os, "waitid", None)
    if waitid is None:
        return True
    try:
        waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    except OSError:
        return True
    return True


def process_cpu_of(pid: int, read: Callable[[str], str | None] | None = None) -> float:
    """CPU seconds a live process (Linux) and the children it waited for used; 0 if unknown."""
    stat = (read or _read_text)(f"/proc/{pid}/stat") or ""
    # Fields from the state on (the name, in parentheses, may hold spaces): utime, stime,
    # and the CPU of its own children it waited for are fields 14 to 17.
    fields = stat[stat.rfind(")") + 2 :].split()
    if len(fields) <= 14 or not all(f.isdigit() for f in fields[11:15]):
        return 0.0
    ticks = sum(int(f) for f in fields[11:15])
    return float(ticks / os.sysconf("SC_CLK_TCK"))


def _read_text(path: str) -> str | None:
    data = read_file(path)
    return None if data is None else data.decode("ascii", "replace")


def process_cpu_seconds() -> float:
    """User plus system CPU seconds of the whole process (all threads), to the nanosecond."""
    return time.process_time()


class SchedStatReader:
    """Reads each thread's scheduler counters (Linux ``/proc/self/task/TID/schedstat``).

    Two of them matter here: time spent runnable on a run queue without a CPU (CPU
    starvation, which must not be mistaken for waiting on the GIL), and how many times
    the thread was put on a CPU (its wake-ups).
    """

    def __init__(self, read: Callable[[str], bytes | None] | None = None) -> None:
        self._read = read or proc_reader()
        self.available = self.read(_own_tid()) is not None

    def read(self, native_id: int) -> tuple[float, int] | None:
        """Cumulative (run-queue seconds, times scheduled) of a thread, or None."""
        raw = self._read(f"/proc/self/task/{native_id}/schedstat")
        try:
            fields = raw.split() if raw else []
            return int(fields[1]) / 1e9, int(fields[2])
        except (IndexError, ValueError):
            return None


class ThreadAgeReader:
    """How long ago each thread of this process started (Linux ``/proc/self/task/TID/stat``).

    The kernel keeps a thread's start in clock ticks since boot (10 ms on most systems),
    so an age is good to about half a tick.
    """

    def __init__(
        self,
        read: Callable[[str], bytes | None] | None = None,
        boottime: Callable[[], float] | None = None,
    ) -> None:
        self._read = read or proc_reader()
        self._boottime = boottime or _boottime
        self._tick_s = 1.0 / os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 0.01
        self.available = self.read(_own_tid()) is not None

    def read(self, native_id: int) -> float | None:
        """Seconds since the thread started, or None."""
        raw = self._read(f"/proc/self/task/{native_id}/stat")
        try:
            # The thread's name, in parentheses, may hold spaces and parentheses of its
            # own: fields are counted from the last one. Field 22 is the start.
            fields = raw[raw.rindex(b")") + 2 :].split() if raw else []
            if len(fields) < 21:  # cut short (or unreadable): the start may be cut too
                return None
            started = int(fields[19]) * self._tick_s
        except ValueError:
            return None
        # The count is rounded down to a tick: the thread started up to a tick later.
        return max(0.0, self._boottime() - started - self._tick_s / 2)


def _boottime() -> float:
    return time.clock_gettime(time.CLOCK_BOOTTIME)


def _own_tid() -> int:
    return threading.get_native_id()


class CoreBudget:
    """How many CPU cores this process may use, and what limits it."""

    # Plain, not a dataclass: `gilwise run` imports this module before the program starts.
    __slots__ = ("affinity", "cgroup_quota", "online", "usable")

    def __init__(
        self, *, usable: float, affinity: int | None, cgroup_quota: float | None, online: int
    ) -> None:
        self.usable = usable
        self.affinity = affinity
        self.cgroup_quota = cgroup_quota
        self.online = online


def core_budget(cgroup_root: str = "/sys/fs/cgroup") -> CoreBudget:
    """The cores this process may run on: the least of affinity, cgroup quota and online CPUs."""
    online = os.cpu_count() or 1
    affinity = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None
    quota = cgroup_cpu_quota(cgroup_root)
    usable = float(affinity if affinity is not None else online)
    if quota is not None:
        usable = min(usable, quota)
    return CoreBudget(usable=usable, affinity=affinity, cgroup_quota=quota, online=online)


def cgroup_cpu_quota(root: str) -> float | None:
    """The CPU quota in cores from cgroup v2 (cpu.max) or v1 (cfs_quota_us), None if unlimited."""
    try:
        v2 = os.path.join(root, "cpu.max")
        if os.path.exists(v2):
            quota, period = _read(v2).split()[:2]
            return None if quota == "max" else _ratio(int(quota), int(period))
        v1 = os.path.join(root, "cpu", "cpu.cfs_quota_us")
        if os.path.exists(v1):
            quota_us = int(_read(v1))
            period_us = int(_read(os.path.join(root, "cpu", "cpu.cfs_period_us")))
            return None if quota_us <= 0 else _ratio(quota_us, period_us)
    except (OSError, ValueError):
        return None
    return None


def _read(path: str) -> str:
    with open(path) as fh:
        return fh.read()


def _ratio(quota: int, period: int) -> float | None:
    if period <= 0:
        return None
    cores = quota / period
    return cores if math.isfinite(cores) and cores > 0 else None
