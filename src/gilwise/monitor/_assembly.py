"""Report assembly: from the sampler's accumulated state to a :class:`Report`.

Pure functions of a :class:`RunState` (no clocks, no threads, no /proc): the sampler
gathers the state under its lock and hands it here, so the figures can be tested on a
state built by hand. Loaded when a report is built, never before the program starts.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from .._core._clocks import CoreBudget
from .._core._python import python_description
from .._version import __version__
from ._gil import GilTotals, QueueCounts, ThreadAccount, busyness
from ._histogram import LatencyHistogram
from ._holders import HolderBlame
from ._loops import STALL_CAUSES, LoopWatch, StallRecord
from ._report import (
    SCHEMA,
    Frame,
    GilHolder,
    GilReport,
    Latency,
    LineStat,
    LoopReport,
    ProcessReport,
    Report,
    Span,
    Stall,
    TaskLink,
    ThreadReport,
    TimelinePoint,
)
from ._spans import SpanRecorder, resolved_spans
from ._stacks import FrameResolver, LineCount, is_async_code, top_functions, top_lines
from ._timeline import WindowPoint
from ._verdicts import verdicts_for

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

GIL_METHOD = (
    "estimate: CPU-clock deficit of running threads plus probe latency per wake-up "
    "(per-thread CPU clocks, thread states guessed from bytecode positions, schedstat)"
)
GIL_METHOD_KERNEL = (
    "counted: threads asleep on the GIL's futex at each tick, from the kernel "
    "(/proc/self/task/*/syscall), less one: the thread that would hold it"
)
GIL_METHOD_WATCHER = (
    "counted from outside: threads asleep on the GIL's futex (or woken from it, not yet on "
    "a CPU), read from the kernel (/proc/PID/task/*/syscall) by a child process that never "
    "takes the program's GIL; until that started, counted at the sampler's ticks"
)
GIL_METHOD_STATUS = (
    "counted from outside: threads asking for the GIL, as CPython records each thread's "
    "status (THREAD_STATUS_GIL_REQUESTED), read by a child process with CPython's own "
    "reader (_remote_debugging) that never takes the program's GIL; until that started, "
    "counted at the sampler's ticks"
)


@dataclass(frozen=True)
class RunState:
    """What the sampler measured, as of ``now``: everything a report is made from."""

    pid: int
    started: float
    started_wall: float
    now: float
    interval_s: float
    stall_ms: float
    #: CPU seconds since the start: the whole process, its user mode, the monitor's own,
    #: other processes on our cores (None: unknown), and this one's child processes.
    process_cpu: float
    user_cpu: float
    monitor_cpu: float
    others_cpu: float | None
    children_cpu: float
    budget: CoreBudget
    #: Live threads, then finished ones kept one by one, then the rest summed (if any).
    accounts: list[ThreadAccount]
    others: ThreadAccount | None
    max_alive: int
    #: Whether the kernel's thread states counted GIL waits over (most of) the run after
    #: the monitor's set-up, and whether the watcher process did (``queues`` are then its
    #: counts); seconds into the run that set-up ended.
    counted: bool
    watched: bool
    #: Whether the watcher read each thread's GIL status from the interpreter (3.15+).
    status_read: bool
    counted_from: float
    queues: QueueCounts
    estimate: GilTotals
    probe: LatencyHistogram
    blame: HolderBlame
    loops: list[LoopWatch]
    #: Explains a stall the loop's own samples left unexplained (``_holders.py``).
    explain: Callable[[StallRecord, int], StallRecord]
    timeline: tuple[WindowPoint, ...]
    errors: dict[str, str]
    spans: SpanRecorder | None
    exit_code: int | None
    command: tuple[str, ...] | None
    complete: bool


def assemble(run: RunState) -> Report:
    """The report of ``run``, verdicts included."""
    wall = max(1e-9, run.now - run.started)
    # The program's CPU: the monitor's own is reported apart, and on a short run (its
    # start-up calibration spins up to 0.1 s) it would read as the program computing.
    cpu = max(0.0, run.process_cpu - run.monitor_cpu)
    user_cpu = max(0.0, run.user_cpu - run.monitor_cpu)
    resolver = FrameResolver()
    threads = [
        thread_report(a, resolver, run.counted, run.watched, run.status_read)
        for a in sorted(run.accounts, key=busyness, reverse=True)
    ]
    if run.others is not None and run.others.merged:
        others = thread_report(run.others, resolver, run.counted, run.watched, run.status_read)
        threads.append(others)
    budget = run.budget
    process = ProcessReport(
        pid=run.pid,
        wall_seconds=round(wall, 6),
        cpu_seconds=round(cpu, 6),
        cpu_cores_used=round(cpu / wall, 4),
        usable_cores=budget.usable,
        affinity_cores=budget.affinity,
        cgroup_quota_cores=budget.cgroup_quota,
        utilisation=round(cpu / wall / budget.usable, 4),
        run_queue_fraction=_run_queue_fraction(run.accounts, run.others),
        threads_seen=len(run.accounts) + (run.others.merged if run.others else 0),
        max_threads_alive=run.max_alive,
        monitor_cpu_seconds=round(run.monitor_cpu, 6),
        user_cores_used=round(user_cpu / wall, 4),
        other_cores_used=None if run.others_cpu is None else round(run.others_cpu / wall, 4),
        children_cores_used=round(run.children_cpu / wall, 4),
    )
    totals: QueueCounts | GilTotals = run.queues if run.counted else run.estimate
    unseen_thread, unseen_threads = run.blame.unseen_thread() if run.counted else ("", 0)
    gil = GilReport(
        wait_fraction=rounded(totals.wait_fraction),
        mean_waiting_threads=rounded(totals.mean_waiting_threads),
        probe=latency(run.probe),
        method=_method(run),
        samples=run.queues.ticks if run.counted else run.probe.count,
        holders=holders(run.blame, resolver) if run.counted else (),
        holder_unseen_share=_unseen_share(run.blame) if run.counted else 0.0,
        holder_unseen_thread=unseen_thread,
        holder_unseen_threads=unseen_threads,
        counted_from_s=round(run.counted_from, 6) if run.counted else 0.0,
    )
    errors = dict(run.errors)
    spans: tuple[Span, ...] = ()
    if run.spans is not None:
        names = {a.ident: a.name for a in run.accounts}
        spans = resolved_spans(run.spans, resolver, run.started, names)
        if run.spans.dropped:
            errors["spans"] = (
                f"the trace keeps the first {run.spans.max_spans:,} spans; "
                f"{run.spans.dropped:,} later ones were dropped"
            )
    report = Report(
        schema=SCHEMA,
        gilwise_version=__version__,
        python=python_description(),
        platform=sys.platform,
        # As datetime's isoformat(timespec="seconds") in UTC, without loading datetime.
        started_at=time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(run.started_wall)),
        duration_s=round(wall, 6),
        interval_s=run.interval_s,
        stall_ms=run.stall_ms,
        command=run.command,
        verdicts=(),
        gil=gil,
        process=process,
        threads=tuple(threads),
        loops=tuple(_loop_report(w, resolver, run.started, run.explain) for w in run.loops),
        timeline=tuple(
            TimelinePoint(
                t_s=p.t_s,
                gil_wait_fraction=p.gil_wait_fraction,
                cpu_cores_used=p.cpu_cores_used,
                threads_alive=p.threads_alive,
                loop_lag_max_ms=p.loop_lag_max_ms,
            )
            for p in run.timeline
        ),
        exit_code=run.exit_code,
        complete=run.complete,
        monitor_errors=tuple(errors.values()),
        spans=spans,
    )
    return report.with_updates(verdicts=verdicts_for(report))


#: GIL holders named in a report.
MAX_HOLDERS = 5


def holders(blame: HolderBlame, resolver: FrameResolver) -> tuple[GilHolder, ...]:
    """The lines that held the GIL while others waited, most wait first."""
    if blame.total <= 0:
        return ()
    # Blame is kept per instruction and thread; a line is one holder, whichever of its
    # instructions and threads held the GIL (a pool of 16 workers on one line filled
    # every row, and hid the other lines).
    by_line: dict[tuple[str, int, str], dict[str, float]] = {}
    for (code, lasti, thread_name), seconds in blame.seconds.items():
        threads = by_line.setdefault(_resolved(resolver, code, lasti), {})
        threads[thread_name] = threads.get(thread_name, 0.0) + seconds
    totals = {line: sum(threads.values()) for line, threads in by_line.items()}
    top = sorted(totals, key=totals.__getitem__, reverse=True)[:MAX_HOLDERS]
    return tuple(
        GilHolder(
            *key,  # file, line, function
            thread_name=max(by_line[key], key=by_line[key].__getitem__),
            wait_share=round(totals[key] / blame.total, 4),
            wait_seconds=round(totals[key], 6),
            threads=len(by_line[key]),
        )
        for key in top
    )


def _unseen_share(blame: HolderBlame) -> float:
    return round(blame.unseen / blame.total, 4) if blame.total > 0 else 0.0


def rounded(value: float | None, digits: int = 4) -> float | None:
    return None if value is None else round(value, digits)


def latency(h: LatencyHistogram) -> Latency:
    return Latency(
        count=h.count,
        p50_ms=round(h.percentile(0.5) * 1000, 4),
        p90_ms=round(h.percentile(0.9) * 1000, 4),
        p99_ms=round(h.percentile(0.99) * 1000, 4),
        max_ms=round(h.max * 1000, 4),
        mean_ms=round(h.mean * 1000, 4),
    )


def _line_stats(rows: tuple[LineCount, ...]) -> tuple[LineStat, ...]:
    return tuple(LineStat(r.file, r.line, r.function, r.running, r.waiting) for r in rows)


def _method(run: RunState) -> str:
    if run.watched:
        return GIL_METHOD_STATUS if run.status_read else GIL_METHOD_WATCHER
    return GIL_METHOD_KERNEL if run.counted else GIL_METHOD


def thread_report(
    a: ThreadAccount,
    resolver: FrameResolver,
    counted: bool,
    watched: bool = False,
    status_read: bool = False,
) -> ThreadReport:
    """One thread's figures; ``status_read``: the watcher read who held the GIL (3.15+)."""
    gil_wait = a.outside_wait if watched else a.queued_wait if counted else a.gil_wait
    # A thread lived at least as long as it waited for the GIL and ran on a CPU (never
    # both at once): the watcher can see it wait before the first tick that accounts its
    # time (a pool's new worker starting while another thread kept the GIL read 116%
    # waiting; a request handler, 48% of its life on a CPU and 100% waiting).
    wall = max(a.wall, gil_wait + (a.cpu or 0.0))
    # Waits and run-queue time are counted from (about) the thread's first sighting on.
    waits_over = max(a.counted_wall, gil_wait)
    observed = a.observed_wall
    cpu_share = _share(a.cpu, wall)
    name = a.name if a.merged == 1 or a.name else f"({a.merged} other threads)"
    return ThreadReport(
        ident=a.ident,
        native_id=a.native_id,
        name=name,
        alive_at_end=a.alive,
        wall_seconds=round(wall, 6),
        cpu_seconds=rounded(a.cpu, 6),
        cpu_fraction=cpu_share,
        gil_wait_fraction=_wait_share(gil_wait, waits_over, cpu_share),
        gil_held_fraction=_share(min(a.outside_held, waits_over), waits_over)
        if status_read
        else None,
        run_queue_fraction=_share(a.run_queue, observed),
        samples=a.samples,
        running_fraction=round(a.running / a.samples, 4) if a.samples else 0.0,
        waiting_fraction=round(1 - a.running / a.samples, 4) if a.samples else 0.0,
        top_lines=_line_stats(top_lines(a.table, resolver)),
        top_functions=_line_stats(top_functions(a.table, resolver)),
        threads_merged=a.merged,
    )


#: A share of less time than this is not given: the ticks and the kernel's clocks
#: measure time to a few ms (a request handler living 1 ms read "CPU/wall 100%").
MIN_SHARE_SPAN_S = 0.02


def _share(part: float | None, whole: float) -> float | None:
    if part is None or whole < MIN_SHARE_SPAN_S:
        return None
    return rounded(part / whole)


def _wait_share(gil_wait: float, waits_over: float, cpu_share: float | None) -> float | None:
    """The GIL wait's share of the time it was counted over, at most what the CPU's share
    of the thread's life leaves: the two spans differ for a thread the ticks met late."""
    share = _share(gil_wait, waits_over)
    if share is None or cpu_share is None:
        return share
    return min(share, round(max(0.0, 1.0 - cpu_share), 4))


def _run_queue_fraction(
    accounts: list[ThreadAccount], others: ThreadAccount | None
) -> float | None:
    all_accounts = [*accounts, *([others] if others else [])]
    known = [a for a in all_accounts if a.run_queue is not None]
    wall = sum(a.observed_wall for a in known)
    if not known or wall <= 0:
        return None
    return round(sum(a.run_queue or 0.0 for a in known) / wall, 4)


def _loop_report(
    w: LoopWatch,
    resolver: FrameResolver,
    started: float,
    explain: Callable[[StallRecord, int], StallRecord],
) -> LoopReport:
    stalls = sorted((explain(s, w.thread_ident) for s in w.stalls), key=lambda s: -s.duration)
    return LoopReport(
        loop_id=w.loop_id,
        loop_class=w.loop_class,
        thread_ident=w.thread_ident,
        thread_name=w.thread_name,
        heartbeats=w.lag.count,
        lag=latency(w.lag),
        stalls=tuple(stall_report(s, resolver, started) for s in stalls),
        stalls_total=w.stalls_total,
        stalled_seconds=round(w.stalled_seconds, 6),
        busy_machine_stalls=w.busy_machine_stalls,
    )


def stall_report(record: StallRecord, resolver: FrameResolver, started: float) -> Stall:
    frames = resolver.resolve_stack(record.stack)
    stack = tuple(Frame(f.file, f.line, f.function) for f in frames)
    coroutine = next(
        (
            Frame(*_resolved(resolver, code, lasti))
            for code, lasti in record.stack
            if is_async_code(code)
        ),
        None,
    )
    counted = sum(record.causes)
    shares = [round(n / counted, 4) if counted else 0.0 for n in record.causes]
    causes = dict(zip(STALL_CAUSES, shares, strict=True)) if counted else {}
    holder, holder_thread = None, ""
    waited_for_gil = causes.get("gil", 0.0) >= 0.5
    if waited_for_gil and record.gil_holder is not None:
        # The loop thread spent most of the stall waiting for the GIL: the line that held
        # it is what blocked the loop.
        holder = Frame(*_resolved(resolver, record.gil_holder[0], record.gil_holder[1]))
        holder_thread = record.gil_holder[2]
    elif waited_for_gil:
        # Its line unseen, the thread is still known: the loop's own line (where it
        # queued for the GIL) is no culprit.
        holder_thread = record.gil_holder_thread
    return Stall(
        duration_ms=round(record.duration * 1000, 3),
        started_at_s=round(record.started_at - started, 3),
        samples=record.samples,
        stack=stack,
        culprit=holder or (stack[-1] if stack and not holder_thread else None),
        coroutine=coroutine,
        tasks=tuple(
            TaskLink(name, None if where is None else Frame(*where)) for name, where in record.tasks
        ),
        causes=causes,
        gil_holder=holder,
        gil_holder_thread=holder_thread,
    )


def _resolved(resolver: FrameResolver, code: Any, lasti: int) -> tuple[str, int, str]:
    if isinstance(code, tuple):  # read by the watcher as (file, function) and a line
        file, function = code
        return file, lasti, function
    info = resolver.resolve(code, lasti)
    return info.file, info.line, info.function
