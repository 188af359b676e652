from __future__ import annotations

from dataclasses import replace
from typing import Any

import pytest
from hypothesis import strategies as st

from gilwise.advise._backends import Job
from gilwise.advise._report import Measurement
from gilwise.advise._sweep import Plan, Sweep, plan
from tests._hypothesis import given
from tests.advise import workloads
from tests.advise.factories import a_measurement, a_profile


@pytest.mark.parametrize(
    ("changes", "backends", "skipped_words"),
    [
        ({}, {"serial", "thread", "asyncio", "process"}, "interpreter"),
        ({"is_coroutine": True}, {"serial", "asyncio"}, "coroutine"),
        (
            {"picklable": False, "not_picklable_reason": "it is a lambda"},
            {"serial", "thread", "asyncio"},
            "lambda",
        ),
    ],
)
def test_plan_picks_backends_by_what_the_function_is(
    changes: dict[str, Any], backends: set[str], skipped_words: str
) -> None:
    the_plan = plan(a_profile(**changes), cores=2, budget_s=20, wanted=None)
    assert set(the_plan.ladders) - {"interpreter"} == backends
    assert any(skipped_words in s for s in the_plan.skipped) or "interpreter" in the_plan.ladders


def test_waiting_functions_climb_to_hundreds_of_threads_computing_ones_to_twice_the_cores() -> None:
    waiting = plan(a_profile(cpu_fraction=0.01), cores=2, budget_s=20, wanted=None)
    computing = plan(a_profile(), cores=2, budget_s=20, wanted=None)
    assert waiting.ladders["thread"] == 512
    assert computing.ladders["thread"] == computing.ladders["process"] == 4


@pytest.mark.parametrize(("items", "top"), [(40, 40), (3, 3), (1, 1), (9_999, 512), (None, 512)])
def test_pools_are_no_wider_than_the_items_given(items: int | None, top: int) -> None:
    # 40 URLs to fetch got "512 threads, 358x", measured on the 40 cycled.
    the_plan = plan(a_profile(cpu_fraction=0.01), cores=2, budget_s=20, wanted=None, items=items)
    assert the_plan.ladders["thread"] == the_plan.ladders["asyncio"] == top
    assert the_plan.ladders["serial"] == 1
    said = any(f"more than {items} workers" in s for s in the_plan.skipped)
    assert said is (top != 512)


def test_wanted_backends_keep_serial_as_the_baseline() -> None:
    the_plan = plan(a_profile(), cores=2, budget_s=20, wanted=["process"])
    assert set(the_plan.ladders) == {"serial", "process"}


class FakeTrials:
    """Throughput by backend and workers, a pool's start plus stop, and a clock that
    advances per trial."""

    def __init__(
        self, rates: dict[str, Any], seconds_per_trial: float = 1.0, pool_s: float = 0.015
    ) -> None:
        self.rates = rates
        self.now = 0.0
        self.seconds = seconds_per_trial
        self.pool_s = pool_s
        self.calls: list[tuple[str, int]] = []

    def clock(self) -> float:
        return self.now

    def __call__(
        self, job: Job, backend: str, workers: int, items: list[Any], **kw: Any
    ) -> Measurement:
        self.calls.append((backend, workers))
        self.now += self.seconds
        return a_measurement(
            backend,
            workers,
            self.rates[backend](workers),
            items=len(items),
            chunksize=kw["chunksize"],
            startup_s=self.pool_s,
            shutdown_s=0.0,
        )


def _sweep(fake: FakeTrials, ladders: dict[str, int], deadline: float = 1e9) -> Sweep:
    return Sweep(
        job=Job(workloads.square, False),
        items=[1, 2, 3],
        profile=a_profile(item_wall_s=0.001),
        plan=Plan(ladders=ladders, skipped=(), trial_s=0.1),
        deadline=deadline,
        run_trial=fake,
        clock=fake.clock,
    )


def test_climbing_stops_when_doubling_gains_under_ten_percent() -> None:
    fake = FakeTrials({"serial": lambda n: 100.0, "thread": lambda n: 100.0 * min(n, 8)})
    sweep = _sweep(fake, {"serial": 1, "thread": 512})
    sweep.run()
    climbed = [w for b, w in fake.calls if b == "thread"]
    assert climbed[:5] == [1, 2, 4, 8, 16]
    assert 32 not in climbed


def test_climbing_stops_at_the_ceiling() -> None:
    fake = FakeTrials({"serial": lambda n: 100.0, "process": lambda n: 100.0 * n})
    _sweep(fake, {"serial": 1, "process": 4}).run()
    assert [w for b, w in fake.calls if b == "process"][:3] == [1, 2, 4]
    assert max(w for b, w in fake.calls if b == "process") == 4


@pytest.mark.parametrize(("top", "rungs"), [(40, [1, 2, 4, 8, 16, 32, 40]), (6, [1, 2, 4, 6])])
def test_a_ceiling_between_doublings_is_measured_itself(top: int, rungs: list[int]) -> None:
    fake = FakeTrials({"serial": lambda n: 100.0, "thread": lambda n: 100.0 * n})
    _sweep(fake, {"serial": 1, "thread": top}).run()
    assert [w for b, w in fake.calls if b == "thread"][: len(rungs)] == rungs
    assert max(w for b, w in fake.calls if b == "thread") == top


def test_the_best_two_backends_and_the_baseline_are_measured_again() -> None:
    fake = FakeTrials(
        {"serial": lambda n: 100.0, "thread": lambda n: 150.0, "process": lambda n: 90.0 * n}
    )
    measurements = _sweep(fake, {"serial": 1, "thread": 2, "process": 4}).run()
    repeats = [(m.backend, m.workers) for m in measurements if m.repeat]
    assert repeats == [("process", 4), ("thread", 1), ("serial", 1)]


def test_the_budget_ends_the_sweep_and_says_so() -> None:
    fake = FakeTrials({"serial": lambda n: 100.0, "thread": lambda n: 100.0 * n})
    sweep = _sweep(fake, {"serial": 1, "thread": 512}, deadline=3.05)
    sweep.run()
    assert len(fake.calls) == 3
    assert sweep.notes == ["budget spent before thread x4"]


def test_climbing_leaves_time_for_the_repeats() -> None:
    """Ladders that could use the whole budget stop short of it: the pick and the noise
    figure need the best configurations measured twice. The reserve before each trial
    also covers the one repeat more that trial could call for (here: none came)."""
    fake = FakeTrials({"serial": lambda n: 100.0, "thread": lambda n: 100.0 * n}, 0.1)
    sweep = _sweep(fake, {"serial": 1, "thread": 512}, deadline=1.1)
    measurements = sweep.run()
    assert [(m.backend, m.workers) for m in measurements if m.repeat] == [
        ("thread", 16),
        ("serial", 1),
    ]
    assert fake.now <= 1.1
    assert sweep.notes == ["budget spent before thread x32"]


#: Per backend, items/s by workers: doubling from 2 to 4 gains under 10%, so each
#: ladder stops at 4 with 2 and 4 both within 10% of the fastest, thread x4.
NEAR_BEST = {
    "serial": {1: 100.0},
    "thread": {1: 100.0, 2: 200.0, 4: 210.0},
    "asyncio": {1: 100.0, 2: 198.0, 4: 205.0},
    "process": {1: 100.0, 2: 196.0, 4: 203.0},
    "interpreter": {1: 100.0, 2: 194.0, 4: 201.0},
    # A one-worker pool this close is never picked when serial ran: not repeated.
    "free-threaded": {1: 199.0, 2: 150.0},
}


def test_near_best_configurations_measured_once_are_measured_again() -> None:
    """The fastest and the fastest of another backend first, then the four nearest of
    those within 10% of the fastest, then serial: every contender gets a second run."""
    fake = FakeTrials({backend: rates.__getitem__ for backend, rates in NEAR_BEST.items()})
    sweep = _sweep(fake, dict.fromkeys(NEAR_BEST, 4) | {"serial": 1})
    measurements = sweep.run()
    assert [(m.backend, m.workers) for m in measurements if m.repeat] == [
        ("thread", 4),
        ("asyncio", 4),
        ("process", 4),
        ("interpreter", 4),
        ("thread", 2),
        ("asyncio", 2),
        ("serial", 1),
    ]
    assert sweep.notes == []


def test_a_near_best_repeat_that_does_not_fit_leaves_room_for_the_baseline() -> None:
    """The reserve is an estimate: when a trial overruns it, near-best repeats are
    dropped before the serial baseline's."""
    fake = FakeTrials({backend: rates.__getitem__ for backend, rates in NEAR_BEST.items()})
    sweep = _sweep(fake, dict.fromkeys(NEAR_BEST, 4) | {"serial": 1}, deadline=100.0)

    def overrunning(*args: Any, **kw: Any) -> Measurement:
        result = fake(*args, **kw)
        if fake.calls.count(("process", 4)) == 2:
            fake.now = sweep.deadline - 0.2  # enough for serial's repeat, not a pool's too
        return result

    sweep.run_trial = overrunning
    measurements = sweep.run()
    assert [(m.backend, m.workers) for m in measurements if m.repeat] == [
        ("thread", 4),
        ("asyncio", 4),
        ("process", 4),
        ("serial", 1),
    ]
    assert sweep.notes == ["budget spent before interpreter x4"]


LADDERS = {"serial": 1, "thread": 8, "asyncio": 4, "process": 8}
KEYS = [(backend, 2**i) for backend, top in LADDERS.items() for i in range(top.bit_length())]


@given(
    st.lists(st.floats(1.0, 1000.0), min_size=len(KEYS), max_size=len(KEYS)),
    st.floats(0.0, 3.0),
)
def test_whatever_the_rates_every_repeat_called_for_fits_the_budget(
    rates: list[float], deadline: float
) -> None:
    """With trials taking what was expected (no start-up, the planned trial time), once
    any pool was measured every repeat the climb's results call for runs, and the
    sweep ends within its deadline. Trials of 1/8 s keep the clock's sums exact: a
    repeat that fits to the last bit must not be refused for a rounding error."""
    by_key = dict(zip(KEYS, rates, strict=True))
    fake = FakeTrials({b: lambda n, b=b: by_key[(b, n)] for b in LADDERS}, 0.125, pool_s=0.0)
    sweep = _sweep(fake, LADDERS, deadline)
    sweep.plan = replace(sweep.plan, trial_s=0.125)
    measurements = sweep.run()
    climbed = [m for m in measurements if not m.repeat]
    assert fake.now <= deadline
    if len(climbed) > 1:
        called_for = replace(sweep, measurements=climbed)._to_repeat()
        assert [(m.backend, m.workers) for m in measurements if m.repeat] == [
            (m.backend, m.workers) for group in called_for for m in group
        ]


def test_process_chunks_aim_at_ten_milliseconds_of_work() -> None:
    fake = FakeTrials({"serial": lambda n: 1e5, "process": lambda n: 1e5 * n})
    sweep = _sweep(fake, {"serial": 1, "process": 2})
    sweep.profile = a_profile(item_wall_s=1e-5)
    measurements = sweep.run()
    assert {m.chunksize for m in measurements if m.backend == "process"} == {512}
    assert {m.chunksize for m in measurements if m.backend == "serial"} == {1}
