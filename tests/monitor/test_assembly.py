"""Report assembly on a state built by hand: no sampler, no threads, no clocks."""

from __future__ import annotations

import dataclasses

import pytest

from gilwise._core._clocks import CoreBudget
from gilwise.monitor._assembly import (
    GIL_METHOD,
    GIL_METHOD_KERNEL,
    GIL_METHOD_STATUS,
    GIL_METHOD_WATCHER,
    RunState,
    assemble,
)
from gilwise.monitor._gil import GilTotals, QueueCounts, ThreadAccount
from gilwise.monitor._histogram import LatencyHistogram
from gilwise.monitor._holders import HolderBlame
from gilwise.monitor._loops import StallRecord

from .fakes import spinner


def _account(ident: int, name: str, cpu: float, wall: float = 2.0) -> ThreadAccount:
    account = ThreadAccount(ident=ident, native_id=ident, name=name, wall=wall, cpu=cpu)
    account.samples = account.running = 200
    account.queued_wait = 1.0
    account.gil_wait = 0.5
    account.outside_wait = 1.5
    return account


def _state(**changes: object) -> RunState:
    queues = QueueCounts()
    queues.add_tick(2.0, 2)  # two queued for all 2 s: one waited
    estimate = GilTotals()
    estimate.add_window(2.0, [0.5])
    blame = HolderBlame()
    blame.add(spinner.__code__, 0, "alpha", 2.0)
    state = RunState(
        pid=42,
        started=100.0,
        started_wall=1_700_000_000.0,
        now=102.0,
        interval_s=0.01,
        stall_ms=100.0,
        process_cpu=3.0,
        user_cpu=2.5,
        monitor_cpu=0.2,
        others_cpu=0.4,
        children_cpu=0.6,
        budget=CoreBudget(usable=2.0, affinity=2, cgroup_quota=None, online=2),
        # CPU and GIL wait (up to 1.5 s) fit in each thread's 2 s: it never does both at once
        accounts=[_account(1, "alpha", cpu=0.5), _account(2, "beta", cpu=0.4)],
        others=None,
        max_alive=2,
        counted=True,
        watched=False,
        status_read=False,
        counted_from=0.4,
        queues=queues,
        estimate=estimate,
        probe=LatencyHistogram(),
        blame=blame,
        loops=[],
        explain=lambda record, ident: record,
        timeline=(),
        errors={},
        spans=None,
        exit_code=0,
        command=("work.py",),
        complete=True,
    )
    return dataclasses.replace(state, **changes)  # type: ignore[arg-type]


def test_the_programs_cpu_leaves_out_the_monitors_own() -> None:
    report = assemble(_state())
    assert report.duration_s == 2.0
    assert report.process.cpu_seconds == pytest.approx(2.8)
    assert report.process.cpu_cores_used == pytest.approx(1.4)
    assert report.process.user_cores_used == pytest.approx(1.15)
    assert report.process.other_cores_used == pytest.approx(0.2)
    assert report.process.children_cores_used == pytest.approx(0.3)
    assert report.process.monitor_cpu_seconds == pytest.approx(0.2)


def test_counted_waits_come_from_the_kernels_count_with_their_holders() -> None:
    report = assemble(_state())
    assert report.gil.method == GIL_METHOD_KERNEL
    assert report.gil.samples == 1  # the one tick of _state's count
    assert report.gil.wait_fraction == 1.0
    assert report.gil.mean_waiting_threads == 1.0
    assert [(h.function, h.thread_name, h.wait_share) for h in report.gil.holders] == [
        ("spinner", "alpha", 1.0)
    ]
    assert [t.gil_wait_fraction for t in report.threads] == [0.5, 0.5]  # queued_wait / wall


@pytest.mark.parametrize(
    ("status_read", "method"), [(False, GIL_METHOD_WATCHER), (True, GIL_METHOD_STATUS)]
)
def test_waits_counted_from_outside_are_the_watchers_with_the_sampler_holders(
    status_read: bool, method: str
) -> None:
    watcher = QueueCounts()  # the watcher's windows, as the assembly reads them
    watcher.add_span(2.0, 1.5, 2.5, 2900)
    report = assemble(_state(watched=True, status_read=status_read, queues=watcher))
    assert report.gil.method == method
    assert report.gil.samples == 2900
    assert report.gil.wait_fraction == 0.75
    assert report.gil.mean_waiting_threads == 1.25
    assert [h.function for h in report.gil.holders] == ["spinner"]
    assert [t.gil_wait_fraction for t in report.threads] == [0.75, 0.75]  # outside_wait / wall


@pytest.mark.parametrize(("status_read", "held"), [(False, None), (True, 0.2)])
def test_time_holding_the_gil_is_given_only_where_the_status_was_read(
    status_read: bool, held: float | None
) -> None:
    accounts = [_account(1, "alpha", cpu=0.5), _account(2, "beta", cpu=0.4)]
    for account in accounts:
        account.outside_held = 0.4  # of its 2 s
    report = assemble(_state(watched=True, status_read=status_read, accounts=accounts))
    assert [t.gil_held_fraction for t in report.threads] == [held, held]


def test_a_thread_lived_at_least_its_cpu_time_and_its_gil_wait() -> None:
    # A request handler the ticks met late: 10 ms on a CPU, 20 ms waiting for the GIL
    # by the watcher's count, 20 ms of life by the ticks' account.
    handler = _account(3, "handler", cpu=0.01, wall=0.02)
    handler.outside_wait = 0.02  # counted over its whole 20 ms
    report = assemble(_state(watched=True, accounts=[handler]))
    (thread,) = report.threads
    assert thread.wall_seconds == pytest.approx(0.03)
    assert thread.cpu_fraction == pytest.approx(0.3333, abs=1e-4)
    assert thread.gil_wait_fraction == pytest.approx(0.6667, abs=1e-4)  # not 1.0


def test_a_thread_never_waits_longer_than_it_lived() -> None:
    # The watcher saw a new thread wait 0.6 s for the GIL before the first tick that
    # accounted its time; it had lived 0.2 s by the ticks' account.
    late = _account(3, "late", cpu=0.0)
    late.wall, late.outside_wait = 0.2, 0.6
    report = assemble(_state(watched=True, accounts=[late]))
    (thread,) = report.threads
    assert thread.gil_wait_fraction == 1.0
    assert thread.wall_seconds == 0.6


def test_without_the_count_the_estimate_is_used_and_no_holder_is_named() -> None:
    report = assemble(_state(counted=False))
    assert report.gil.method == GIL_METHOD
    assert report.gil.samples == 0  # the estimate's: the probes (none here)
    assert report.gil.wait_fraction == 0.25
    assert report.gil.holders == ()
    assert [t.gil_wait_fraction for t in report.threads] == [0.25, 0.25]  # gil_wait / wall


def test_threads_are_listed_busiest_first_and_verdicts_are_made() -> None:
    report = assemble(_state(accounts=[_account(2, "beta", cpu=0.1), _account(1, "alpha", 0.5)]))
    assert [t.name for t in report.threads] == ["alpha", "beta"]
    assert report.verdicts
    assert report.complete


def test_a_stall_is_resolved_to_its_lines_and_its_offset_from_the_start() -> None:
    class Watch:
        loop_id = 7
        loop_class = "asyncio.FakeLoop"
        thread_ident = 1
        thread_name = "alpha"
        lag = LatencyHistogram()
        stalls = (StallRecord(0.4, 100.5, 10, ((spinner.__code__, 0),), causes=(10, 0, 0)),)
        stalls_total = 1
        stalled_seconds = 0.4
        busy_machine_stalls = 0

    report = assemble(_state(loops=[Watch()]))  # a stand-in with a LoopWatch's fields
    (loop,) = report.loops
    (stall,) = loop.stalls
    assert stall.started_at_s == 0.5
    assert stall.duration_ms == 400.0
    assert stall.culprit is not None
    assert stall.culprit.function == "spinner"
    assert stall.causes == {"callback": 1.0, "gil": 0.0, "blocked": 0.0}


@pytest.mark.parametrize(("counted", "counted_from_s"), [(True, 0.4), (False, 0.0)])
def test_the_gil_figures_say_where_the_count_began(counted: bool, counted_from_s: float) -> None:
    gil = assemble(_state(counted=counted)).gil
    assert gil.counted_from_s == counted_from_s
