"""Plain-language verdicts drawn from a report's figures, each with evidence and a fix.

Pure functions of the report, so they are tested on hand-built reports and shared by
every consumer (terminal, JSON, the pytest plugin).
"""

from __future__ import annotations

from .._core._where import where

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing would add to every `gilwise run --json`
    from ._report import Frame, LoopReport, Report, ThreadReport, Verdict

#: Share of time at least one thread waited for the GIL above which we call it GIL-bound.
GIL_BOUND_WAIT = 0.3
#: Cores used above which threads must have run outside the GIL at the same time.
NATIVE_PARALLEL_CORES = 1.3
#: Share of thread time spent runnable without a CPU above which we call it oversubscribed.
OVERSUBSCRIBED_RUN_QUEUE = 0.2
#: CPU use (share of usable cores) below which a mostly waiting program is I/O-bound.
IO_BOUND_UTILISATION = 0.35
IO_BOUND_WAITING = 0.6
#: Live threads at once from which an I/O-bound program is told not to add threads.
#: Twice the largest default ThreadPoolExecutor (min(32, cores + 4)): past it, each
#: thread costs a stack and a turn at the GIL's 5 ms switch interval, and waiting
#: scales by asyncio or a bounded pool sharing connections, not by more threads.
MANY_THREADS = 64
#: Other processes' CPU use (cores, and share of usable cores) from which the machine is
#: too busy for waiting figures to be the program's alone; runs shorter than the minimum
#: are left alone (/proc/stat counts in 10 ms ticks per CPU).
MACHINE_BUSY_CORES = 0.5
MACHINE_BUSY_SHARE = 0.25
MACHINE_BUSY_MIN_RUN_S = 0.5
#: Child processes' CPU use (cores, and times this process's own) from which the work
#: ran in them (a process pool's workers) and this process mostly waited for it.
CHILD_WORK_CORES = 0.5
CHILD_WORK_RATIO = 2.0
#: Fewer samples than this make the figures rough: no "no issue" is claimed from them.
FEW_SAMPLES = 30
#: A thread running, or (counted) waiting for the GIL, this share of its time is busy.
BUSY_SHARE = 0.2
#: A sampler wake-up this late (ms) means threads held the GIL for long stretches.
LONG_GIL_HOLD_MS = 100.0
#: A run this long that still has under a tenth of its expected samples kept the
#: sampler from the GIL.
STARVED_MIN_RUN_S = 0.5


def verdicts_for(report: Report) -> tuple[Verdict, ...]:
    """Every verdict that applies to ``report``; ``NO_ISSUE`` when none does."""
    found = [
        v
        for v in (
            _loop_blocked(report),
            _loop_not_watched(report),
            _gil_bound(report),
            _native_parallel(report),
            _oversubscribed(report),
            _io_bound(report),
            _child_processes(report),
            _machine_busy(report),
        )
        if v is not None
    ]
    if found:
        return tuple(found)
    return (_too_few_samples(report) or _no_issue(report),)


def _make(code: str, title: str, message: str, fix: str, **evidence: float | int | str) -> Verdict:
    from ._report import Verdict

    return Verdict(code=code, title=title, message=message, fix=fix, evidence=evidence)


#: Event loops gilwise may not watch, known by a file their loop runs in, and what to use
#: instead. asyncio, uvloop and trio runs are watched; a trio run only where its runner
#: could be found (``_trio``), and the verdict then stays silent about it.
_UNWATCHED_LOOPS = {
    "trio": (
        "/trio/_core/_run.py",
        "trio's own instruments (trio.lowlevel.add_instrument: before/after_task_step) time "
        "each task step",
    ),
    "gevent": (
        "/gevent/hub.py",
        "gevent's monitor thread (GEVENT_MONITOR_THREAD_ENABLE=1) reports a blocked hub with "
        "its stack; its greenlets share one thread, so the thread figures cover them together",
    ),
}


def _loop_not_watched(report: Report) -> Verdict | None:
    """Say plainly when the program runs an event loop whose stalls go unmeasured."""
    watched = {loop.loop_class.split(".")[0] for loop in report.loops}
    seen = [
        name
        for name, (marker, _) in _UNWATCHED_LOOPS.items()
        if name not in watched
        and any(
            f.file.replace("\\", "/").endswith(marker)
            for t in report.threads
            for f in t.top_functions
        )
    ]
    if not seen:
        return None
    names = " and ".join(seen)
    instead = "; ".join(_UNWATCHED_LOOPS[name][1] for name in seen)
    return _make(
        "LOOP_NOT_WATCHED",
        f"The {names} event loop is not watched",
        f"This program runs a {names} event loop: gilwise watches asyncio and uvloop loops "
        f"only, so a task blocking the {names} loop is neither measured nor named here. The "
        "GIL, CPU and thread figures still hold.",
        f"To find what blocks it: {instead}. `gilwise check` finds blocking calls in async "
        "code without running it.",
        loops=names,
    )


def _busy_threads(report: Report) -> list[ThreadReport]:
    """Threads that ran, or waited for the GIL, at least a fifth of their time."""
    counted = report.gil.method.startswith("counted")
    return [t for t in report.threads if _busy_share(t, counted) >= BUSY_SHARE]


def _busy_share(thread: ThreadReport, counted: bool) -> float:
    """Where the GIL's waits were counted: the thread's CPU time plus its counted wait,
    over its wall time, sampled or not (a threaded server's handlers live a few ms and
    most are never sampled: its clients alone read 0.19-0.21). Elsewhere: the share of
    its samples that found it running (none: not busy).

    The samples are taken by a thread that has just taken the GIL, and a thread back
    from ``recv`` that has had no CPU yet looks running to it: 16 loopback-socket clients
    each read running in 24-38% of the samples where CPython's own reader saw each hold
    or want the GIL under a fifth of its life (CPU 6%, counted wait 5-9%), and the
    verdict said GIL_BOUND for two threads busy or more.
    """
    if counted and thread.cpu_fraction is not None:
        return thread.cpu_fraction + (thread.gil_wait_fraction or 0.0)
    return thread.running_fraction


def _gil_takers(report: Report) -> list[ThreadReport]:
    """Threads that held or waited for the GIL at least a fifth of their time.

    Where the interpreter's status says who held it (CPython 3.15+), by that: CPU time
    counts the kernel's work in system calls too, done without the GIL, and 16 loopback
    socket clients (CPU 6% each, waiting 14%) read busy where CPython's reader saw each
    hold or want the GIL 15-17% of its life. Elsewhere, the busy threads.
    """
    if not any(t.gil_held_fraction is not None for t in report.threads):
        return _busy_threads(report)
    return [
        t
        for t in report.threads
        if (t.gil_held_fraction or 0.0) + (t.gil_wait_fraction or 0.0) >= BUSY_SHARE
    ]


def _gil_bound(report: Report) -> Verdict | None:
    wait = report.gil.wait_fraction
    busy = _gil_takers(report)
    if wait is None or wait < GIL_BOUND_WAIT or len(busy) < 2:
        return None
    if report.process.user_cores_used >= NATIVE_PARALLEL_CORES:
        return None
    waiting = report.gil.mean_waiting_threads or 0.0
    return _make(
        "GIL_BOUND",
        "Threads are queueing for the GIL",
        f"At least one thread was waiting for the GIL {wait:.0%} of the time "
        f"(on average {waiting:.1f} threads waiting) while the process used "
        f"{report.process.cpu_cores_used:.2f} cores: {len(busy)} busy threads take turns "
        "running Python on one core.",
        "Run the CPU-bound Python work in processes (concurrent.futures.ProcessPoolExecutor), "
        "or move it into code that releases the GIL (NumPy, hashlib, zlib, a C extension). "
        "`gilwise advise module:function` measures which is faster for your function.",
        gil_wait_fraction=wait,
        mean_waiting_threads=waiting,
        busy_threads=len(busy),
        cpu_cores_used=report.process.cpu_cores_used,
        probe_p50_ms=report.gil.probe.p50_ms,
    )


def _native_parallel(report: Report) -> Verdict | None:
    # User-mode CPU only: kernel time spent on sockets and files is not parallel Python.
    cores = report.process.user_cores_used
    if cores < NATIVE_PARALLEL_CORES or len(_busy_threads(report)) < 2:
        return None
    return _make(
        "NATIVE_PARALLEL",
        "Threads ran in parallel outside the GIL",
        f"The process ran {cores:.2f} cores of user code at once: the code the threads run "
        "releases "
        "the GIL (C extensions, I/O, hashing, compression), so threads scale here.",
        f"Keep threads; size the pool near the {report.process.usable_cores:g} usable cores "
        "for CPU-heavy native work.",
        cpu_cores_used=cores,
        usable_cores=report.process.usable_cores,
    )


def _oversubscribed(report: Report) -> Verdict | None:
    queue = report.process.run_queue_fraction
    if queue is None or queue < OVERSUBSCRIBED_RUN_QUEUE:
        return None
    if _others_busy(report) and len(_busy_threads(report)) <= report.process.usable_cores:
        return None  # other processes held the CPUs: the program itself did not ask too much
    return _make(
        "OVERSUBSCRIBED",
        "More runnable threads than CPUs",
        f"Threads spent {queue:.0%} of their time runnable but waiting for a CPU "
        f"({report.process.max_threads_alive} threads alive at most, "
        f"{report.process.usable_cores:g} usable cores).",
        "Use fewer workers (about the number of usable cores), and cap nested thread pools "
        "(OMP_NUM_THREADS, OPENBLAS_NUM_THREADS or threadpoolctl) inside each worker.",
        run_queue_fraction=queue,
        usable_cores=report.process.usable_cores,
        max_threads_alive=report.process.max_threads_alive,
    )


def _others_busy(report: Report) -> bool:
    others = report.process.other_cores_used
    return (
        others is not None
        and report.process.wall_seconds >= MACHINE_BUSY_MIN_RUN_S
        and others >= MACHINE_BUSY_CORES
        and others >= MACHINE_BUSY_SHARE * report.process.usable_cores
    )


def _machine_busy(report: Report) -> Verdict | None:
    if not _others_busy(report):
        return None
    others = report.process.other_cores_used or 0.0
    usable = report.process.usable_cores
    return _make(
        "MACHINE_BUSY",
        "Other processes were using the CPUs",
        f"Other processes used {others:.2f} of the {usable:g} cores this program may use "
        "during the run: time its threads spent waiting for a CPU, and lag that follows from "
        "it, is theirs as much as the program's, so waiting figures read higher than on a "
        "quiet machine.",
        "Measure again on a quieter machine, or give the program its own cores (taskset, "
        "a container CPU quota) before acting on the waiting figures.",
        other_cores_used=others,
        usable_cores=usable,
    )


#: How to move a blocking call off the loop, in the words of the loop's framework.
_TO_THREAD_FIX = {
    "asyncio": "Run the blocking call in a thread with `await asyncio.to_thread(fn, ...)` (or "
    "`loop.run_in_executor`), use an async library for I/O, or move CPU work to a "
    "process pool.",
    "trio": "Run the blocking call in a thread with `await trio.to_thread.run_sync(fn, ...)`, "
    "use trio's own I/O (trio.open_tcp_stream, trio.Path ...), or move CPU work to a "
    "process pool.",
}


def _is_trio(loop: LoopReport) -> bool:
    return loop.loop_class.startswith("trio.")


def _loop_blocked(report: Report) -> Verdict | None:
    stalled = [loop for loop in report.loops if loop.stalls_total]
    if not stalled:
        return None
    total = sum(loop.stalls_total for loop in stalled)
    kept = [s for loop in stalled for s in loop.stalls]
    # A stall whose culprit is the loop's own poll names no blocking line: prefer one that
    # does, when there is one.
    # A stall with no samples names nothing either (CI on 3.15 caught one such stall,
    # the longest, hiding the GIL holder another stall named).
    # A line beats a thread alone: of five stalls behind a regex, the longest had only
    # the regex's thread (its line unseen) and hid the line another stall named.
    lined = [
        s
        for s in kept
        if s.gil_holder is not None or (s.culprit is not None and not _is_poll(s.culprit))
    ]
    threaded = [s for s in kept if s.gil_holder_thread]
    worst = max(lined or threaded or kept, key=lambda s: s.duration_ms) if kept else None
    longest = "the longest"
    if worst is not None and any(s.duration_ms > worst.duration_ms for s in kept):
        longest = "the longest with a known line" if lined else "the longest with a known cause"
    where = ""
    fix = _TO_THREAD_FIX["trio" if all(_is_trio(loop) for loop in stalled) else "asyncio"]
    if worst is not None and worst.gil_holder_thread:
        at = _at(worst.gil_holder) if worst.gil_holder else "a line no sample saw"
        where = (
            f"; {longest} ({worst.duration_ms:.0f} ms) waiting for the GIL, which thread "
            f"{worst.gil_holder_thread!r} held at {at}"
        )
        fix = (
            "The loop waited for another thread holding the GIL, so moving work to a thread "
            "does not help here: run that thread's work in a process "
            "(concurrent.futures.ProcessPoolExecutor, or `loop.run_in_executor` with one), "
            "or use code that releases the GIL while it runs."
        )
    elif worst is not None and _is_poll(worst.culprit):
        where = (
            f"; the longest ({worst.duration_ms:.0f} ms) found the loop in its own poll, "
            "waiting to run again: for the GIL another thread held, or for a CPU"
        )
    elif worst is not None and worst.culprit is not None:
        where = f"; {longest} ({worst.duration_ms:.0f} ms) at {_at(worst.culprit)}"
        if worst.coroutine is not None and worst.coroutine != worst.culprit:
            where += f", called from coroutine {worst.coroutine.function}"
    return _make(
        "LOOP_BLOCKED",
        "The event loop was blocked",
        f"The event loop stalled {total} time(s) for at least {report.stall_ms:g} ms{where}. "
        "While it is blocked, every other task and connection on that loop waits.",
        fix,
        stalls=total,
        longest_stall_ms=worst.duration_ms if worst else 0.0,
        culprit=_at(worst.culprit) if worst and worst.culprit else "",
    )


def _children_did_the_work(report: Report) -> bool:
    children = report.process.children_cores_used
    own = report.process.cpu_cores_used
    return children >= CHILD_WORK_CORES and children >= CHILD_WORK_RATIO * own


def _child_processes(report: Report) -> Verdict | None:
    if not _children_did_the_work(report):
        return None
    children = report.process.children_cores_used
    return _make(
        "CHILD_PROCESSES",
        "The work ran in child processes",
        f"Child processes (a process pool's workers, subprocesses) used {children:.2f} cores "
        f"while this process used {report.process.cpu_cores_used:.2f}: it mostly waited for "
        "them. gilwise watched this process, so its figures are that waiting, not the work.",
        "Nothing to change here for it. To judge the pool, `gilwise advise module:function` "
        "measures it against threads and serial calls, pickling and start-up included; to "
        "look inside a long-running worker, `gilwise attach PID` on it.",
        children_cores_used=children,
        cpu_cores_used=report.process.cpu_cores_used,
    )


def _io_bound(report: Report) -> Verdict | None:
    if _children_did_the_work(report):
        return None  # waiting for its child processes: more threads or asyncio do not help
    threads = [t for t in report.threads if t.samples]
    # Kernel time on I/O calls is part of waiting on I/O, not of computing.
    user_utilisation = report.process.user_cores_used / report.process.usable_cores
    if not threads or user_utilisation >= IO_BOUND_UTILISATION:
        return None
    if (report.gil.wait_fraction or 0.0) >= GIL_BOUND_WAIT:
        return None  # it says the GIL is not the bottleneck: not while threads queue for it
    samples = sum(t.samples for t in threads)
    waiting = sum(t.waiting_fraction * t.samples for t in threads) / samples
    if waiting < IO_BOUND_WAITING:
        return None
    return _make(
        "IO_BOUND",
        "Mostly waiting on I/O",
        f"Threads were waiting (I/O, sleeps, locks) in {waiting:.0%} of samples and the "
        f"process ran {report.process.user_cores_used:.2f} cores of user code: the GIL is "
        "not the bottleneck.",
        _io_bound_fix(report, threads),
        waiting_fraction=round(waiting, 4),
        user_cores_used=report.process.user_cores_used,
        max_threads_alive=report.process.max_threads_alive,
    )


def _io_bound_fix(report: Report, threads: list[ThreadReport]) -> str:
    loop_threads = {loop.thread_ident for loop in report.loops}
    if loop_threads and all(t.ident in loop_threads for t in threads):
        # An asyncio program is told to overlap its waits "with asyncio" otherwise, and a
        # blocked loop's waits are LOOP_BLOCKED's, with their own fix.
        stalled = any(loop.stalls_total for loop in report.loops)
        return "The waiting was the event loop's: idle, it waits for I/O, which is fine" + (
            "; the calls that blocked it inside callbacks are LOOP_BLOCKED's, fixed there."
            if stalled
            else ". If the program is slower than it should be, look at what its tasks await."
        )
    threads_alive = report.process.max_threads_alive
    if threads_alive < MANY_THREADS:
        # Only waits that do not depend on each other overlap: a program reading its
        # input line by line, or sleeping on a schedule, gains nothing from more threads.
        return (
            "Look at what the top waiting lines wait for. Waits that do not depend on each "
            "other (requests, files, connections) overlap in a larger thread pool or with "
            "asyncio; a program that waits for its input, or sleeps on a schedule, is fine."
        )
    return (
        f"With {threads_alive} threads alive at once, more threads will not help: scale the "
        "waiting with asyncio, or with fewer threads in a bounded pool sharing a "
        "connection pool. Look at what the top waiting lines wait for."
    )


def _too_few_samples(report: Report) -> Verdict | None:
    probe = report.gil.probe
    # Each tick samples every thread: the most-sampled thread counts the ticks (the
    # probe counts only the sampler thread's own wake-ups).
    samples = max([probe.count, *(t.samples for t in report.threads)])
    if samples >= FEW_SAMPLES:
        return None
    expected = report.duration_s / report.interval_s if report.interval_s > 0 else 0.0
    held_fix = (
        "Find the call that holds the GIL (`py-spy dump --pid PID` shows it) and run it in "
        "a process, or in pieces small enough for other threads to get turns."
    )
    if probe.max_ms >= LONG_GIL_HOLD_MS:
        why = (
            f"its thread waited up to {probe.max_ms:.0f} ms to get the GIL back: threads "
            "held the GIL for long stretches, itself a sign of GIL contention"
        )
        fix = held_fix
    elif report.duration_s >= STARVED_MIN_RUN_S and samples < 0.1 * expected:
        # Not a short run: the sampler thread could not get the GIL to take samples.
        why = (
            "its thread could not get the GIL for most of the run: a thread held it without "
            "a break (C code that never lets go, such as sum() over a huge range or one "
            "long regex match), itself the answer: nothing else ran meanwhile"
        )
        fix = held_fix
    else:
        why = "the run was too short for more"
        fix = "Watch a longer stretch of the program, or use a shorter --interval."
    return _make(
        "TOO_FEW_SAMPLES",
        "Too few samples for a verdict",
        f"The monitor took {samples} samples in {report.duration_s:.2f} s; {why}. "
        "Nothing can be said to be fine from so few.",
        fix,
        samples=samples,
        probe_max_ms=probe.max_ms,
    )


def _no_issue(report: Report) -> Verdict:
    return _make(
        "NO_ISSUE",
        "No concurrency problem found",
        f"No GIL queueing, blocked event loop, CPU starvation or idle waiting stood out "
        f"(CPU use {report.process.cpu_cores_used:.2f} cores of "
        f"{report.process.usable_cores:g}).",
        "Nothing to change for concurrency; profile single-thread speed if it is too slow.",
        cpu_cores_used=report.process.cpu_cores_used,
    )


def _is_poll(frame: object) -> bool:
    # The selector's select: the loop was waiting for I/O, not running a callback.
    file = str(getattr(frame, "file", ""))
    return file.endswith("selectors.py") and getattr(frame, "function", "").endswith("select")


def _at(frame: Frame) -> str:
    return where(frame.file, frame.line, frame.function)
