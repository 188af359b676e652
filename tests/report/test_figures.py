"""The figures every view shares: which threads are named, how a thread's time is cut."""

from __future__ import annotations

import pytest

from gilwise.advise._report import Measurement
from gilwise.monitor._report import ThreadReport
from gilwise.report._figures import (
    MAX_THREADS_SHOWN,
    best_speedups,
    busy_seconds,
    thread_rows,
    thread_time,
)

from ..monitor.reports import thread


def many_threads(count: int) -> tuple[ThreadReport, ...]:
    """``count`` threads, each busier than the next, idents 1..count."""
    return tuple(
        thread(
            f"w{i}",
            ident=i,
            cpu_seconds=float(count - i),
            cpu_fraction=(count - i) / count,
            wall_seconds=float(count),
        )
        for i in range(1, count + 1)
    )


def test_the_busiest_threads_are_named_and_the_rest_summed() -> None:
    threads = many_threads(2000)
    shown = thread_rows(threads[::-1])  # the order given does not matter
    assert [t.name for t in shown.named] == [f"w{i}" for i in range(1, MAX_THREADS_SHOWN + 1)]
    others = shown.others
    assert others is not None
    assert others.name == "1,980 other threads"
    assert shown.others_count == 1980
    assert len(shown.rows) == MAX_THREADS_SHOWN + 1
    rest = threads[MAX_THREADS_SHOWN:]
    cpu = sum(t.cpu_seconds or 0 for t in rest)
    assert others.cpu_seconds == pytest.approx(cpu)
    assert others.wall_seconds == pytest.approx(2000.0 * 1980)
    assert others.cpu_fraction == pytest.approx(cpu / others.wall_seconds)


def test_ranking_counts_gil_wait_as_well_as_cpu() -> None:
    idle = thread("idle", ident=1, cpu_seconds=0.1, gil_wait_fraction=0.0)
    starved = thread("starved", ident=2, cpu_seconds=0.1, gil_wait_fraction=0.8)
    assert busy_seconds(starved) == pytest.approx(0.9)
    assert [t.name for t in thread_rows((idle, starved), limit=1).named] == ["starved"]


def test_few_threads_are_all_named() -> None:
    shown = thread_rows(many_threads(3))
    assert shown.others is None
    assert shown.others_count == 0
    assert len(shown.rows) == 3


def test_a_row_the_sampler_folded_joins_the_sum_and_is_not_shown_twice() -> None:
    folded = thread("(500 other threads)", ident=0, cpu_seconds=50.0, threads_merged=500)
    shown = thread_rows((*many_threads(21), folded))
    assert folded not in shown.named
    assert shown.others is not None
    assert shown.others.name == "501 other threads"
    assert shown.others.cpu_seconds == pytest.approx(50.0)  # w21 has no CPU time


def test_summed_gil_wait_is_weighted_by_each_threads_time() -> None:
    long = thread("long", ident=1, wall_seconds=9.0, cpu_seconds=0.0, gil_wait_fraction=0.1)
    short = thread("short", ident=2, wall_seconds=1.0, cpu_seconds=0.0, gil_wait_fraction=0.9)
    others = thread_rows((long, short), limit=0).others
    assert others is not None
    assert others.gil_wait_fraction == pytest.approx((0.9 + 0.9) / 10)


@pytest.mark.parametrize(
    ("cpu", "gil", "parts"),
    [
        (0.5, 0.3, (0.5, 0.6, 0.9, 0.0)),
        # CPU clock and GIL estimate overlapping: the GIL wait is cut to what is left.
        (1.5, 0.6, (1.5, 0.5, 0.0, 0.0)),
        (None, 0.3, (0.0, 0.6, 0.0, 1.4)),
    ],
)
def test_a_threads_time_is_cut_into_parts_that_add_up_to_it(
    cpu: float | None, gil: float, parts: tuple[float, float, float, float]
) -> None:
    t = thread(wall_seconds=2.0, cpu_seconds=cpu, gil_wait_fraction=gil)
    time = thread_time(t)
    assert (time.cpu, time.gil_wait, time.rest, time.unknown) == pytest.approx(parts)
    assert time.cpu + time.gil_wait + time.rest + time.unknown == pytest.approx(t.wall_seconds)


def test_best_speedups_take_the_best_run_not_the_average() -> None:
    runs = [
        Measurement("process", 2, 1, 100, 1.0, 0.0, 0.0, 180.0, 1.8),
        Measurement("process", 2, 1, 100, 1.0, 0.0, 0.0, 120.0, 1.2, repeat=1),
        Measurement("serial", 1, 1, 100, 1.0, 0.0, 0.0, 100.0, 1.0),
    ]
    assert best_speedups(runs) == {("process", 2): 1.8, ("serial", 1): 1.0}
