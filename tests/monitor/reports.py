"""Hand-built reports for testing verdicts and renderers."""

from __future__ import annotations

from typing import Any

from gilwise.monitor._report import (
    SCHEMA,
    Frame,
    GilReport,
    Latency,
    LineStat,
    LoopReport,
    ProcessReport,
    Report,
    Stall,
    ThreadReport,
)
from gilwise.monitor._verdicts import verdicts_for

NO_LATENCY = Latency(count=0, p50_ms=0, p90_ms=0, p99_ms=0, max_ms=0, mean_ms=0)


def thread(name: str = "worker", running: float = 1.0, **kw: Any) -> ThreadReport:
    fields: dict[str, Any] = {
        "ident": 1,
        "native_id": 1,
        "name": name,
        "alive_at_end": True,
        "wall_seconds": 1.0,
        "cpu_seconds": 0.5,
        "cpu_fraction": 0.5,
        "gil_wait_fraction": 0.0,
        "run_queue_fraction": 0.0,
        "samples": 100,
        "running_fraction": running,
        "waiting_fraction": 1 - running,
        "top_lines": (LineStat("/app/w.py", 3, name, 10, 0),),
        "top_functions": (),
    }
    fields.update(kw)
    return ThreadReport(**fields)


def stall(duration_ms: float = 300.0, function: str = "fetch") -> Stall:
    culprit = Frame("/app/lib.py", 12, function)
    return Stall(
        duration_ms=duration_ms,
        started_at_s=1.0,
        samples=20,
        stack=(Frame("/app/main.py", 3, "main"), Frame("/app/h.py", 8, "handler"), culprit),
        culprit=culprit,
        coroutine=Frame("/app/h.py", 8, "handler"),
    )


def loop(*stalls: Stall) -> LoopReport:
    return LoopReport(
        loop_id=1,
        loop_class="asyncio.unix_events._UnixSelectorEventLoop",
        thread_ident=1,
        thread_name="MainThread",
        heartbeats=100,
        lag=NO_LATENCY,
        stalls=stalls,
        stalls_total=len(stalls),
        stalled_seconds=sum(s.duration_ms for s in stalls) / 1000,
    )


def report(
    *,
    wait: float | None = 0.0,
    waiting_threads: float | None = 0.0,
    cores: float = 0.5,
    user_cores: float | None = None,
    usable: float = 2.0,
    run_queue: float | None = 0.0,
    threads: tuple[ThreadReport, ...] = (),
    loops: tuple[LoopReport, ...] = (),
    others: float | None = None,
    children: float = 0.0,
    method: str = "test",
) -> Report:
    built = Report(
        schema=SCHEMA,
        gilwise_version="0",
        python="cpython 3.11",
        platform="linux",
        started_at="2026-01-01T00:00:00+00:00",
        duration_s=1.0,
        interval_s=0.01,
        stall_ms=100.0,
        command=("prog.py",),
        verdicts=(),
        gil=GilReport(wait, waiting_threads, NO_LATENCY, method),
        process=ProcessReport(
            pid=1,
            wall_seconds=1.0,
            cpu_seconds=cores,
            cpu_cores_used=cores,
            usable_cores=usable,
            affinity_cores=2,
            cgroup_quota_cores=None,
            utilisation=cores / usable,
            run_queue_fraction=run_queue,
            threads_seen=len(threads),
            max_threads_alive=len(threads),
            monitor_cpu_seconds=0.01,
            user_cores_used=cores if user_cores is None else user_cores,
            other_cores_used=others,
            children_cores_used=children,
        ),
        threads=threads,
        loops=loops,
        timeline=(),
    )
    return built.with_updates(verdicts=verdicts_for(built))
