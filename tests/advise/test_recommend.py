from __future__ import annotations

import random
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import strategies as st

from gilwise._core._backends import advised_backends
from gilwise.advise import _recommend
from gilwise.advise._backends import Job
from gilwise.advise._report import Measurement, Recommendation
from gilwise.advise._sweep import Plan, Sweep
from tests._hypothesis import given
from tests.advise.factories import a_measurement, a_profile

Key = tuple[str, int]


def test_speedups_are_against_the_best_serial_run() -> None:
    runs = [
        a_measurement("serial", 1, 100.0),
        a_measurement("process", 2, 300.0),
        a_measurement("serial", 1, 200.0, repeat=1),
    ]
    speedups = [m.speedup for m in _recommend.with_speedups(runs)]
    assert speedups == [pytest.approx(v) for v in (0.5, 1.5, 1.0)]


def test_noise_is_the_largest_spread_between_repeats() -> None:
    runs = [
        a_measurement("serial", 1, 100.0),
        a_measurement("serial", 1, 110.0, repeat=1),
        a_measurement("thread", 4, 400.0),
        a_measurement("thread", 4, 300.0, repeat=1),
    ]
    assert _recommend.noise(runs) == pytest.approx(100 / 350)
    assert _recommend.noise(runs[:1]) is None


def test_the_fastest_wins_when_clearly_ahead() -> None:
    runs = [a_measurement("serial", 1, 100.0), a_measurement("process", 2, 190.0)]
    assert _recommend.choose(runs, None)[:2] == ("process", 2)


def test_within_the_noise_the_simplest_and_smallest_wins() -> None:
    runs = [
        a_measurement("serial", 1, 100.0),
        a_measurement("thread", 64, 1000.0),
        a_measurement("thread", 128, 1030.0),
        a_measurement("asyncio", 128, 1035.0),
    ]
    assert _recommend.choose(runs, 0.05)[:2] == ("thread", 64)


def test_serial_wins_when_nothing_beats_it_measurably() -> None:
    runs = [a_measurement("serial", 1, 100.0), a_measurement("thread", 2, 102.0)]
    backend, workers, _, _, speedup = _recommend.choose(runs, None)
    assert (backend, workers, speedup) == ("serial", 1, 1.0)


def test_a_one_worker_pool_is_never_picked_when_serial_was_measured() -> None:
    runs = [
        a_measurement("serial", 1, 100.0),
        a_measurement("thread", 1, 130.0),
        a_measurement("asyncio", 1, 140.0),
        a_measurement("thread", 2, 98.0),
    ]
    assert _recommend.choose(runs, None)[:2] == ("serial", 1)
    assert _recommend.choose(runs[1:2], None)[:2] == ("thread", 1)


@pytest.mark.parametrize(
    ("simpler", "other", "is_coroutine"),
    [
        (("serial", 1), ("thread", 2), False),
        (("thread", 2), ("thread", 4), False),
        (("thread", 8), ("process", 2), False),
        (("process", 8), ("interpreter", 2), False),
        (("interpreter", 8), ("free-threaded", 2), False),
        (("free-threaded", 8), ("asyncio", 2), False),
        (("serial", 1), ("asyncio", 2), True),
        (("asyncio", 64), ("thread", 2), True),
    ],
)
def test_equally_fast_configurations_go_by_the_order_of_simplicity(
    simpler: Key, other: Key, is_coroutine: bool
) -> None:
    runs = [a_measurement(*simpler, 1000.0), a_measurement(*other, 1040.0)]
    assert _recommend.choose(runs, None, is_coroutine=is_coroutine)[:2] == simpler


def test_asyncio_for_a_plain_function_must_win_outright() -> None:
    runs = [a_measurement("serial", 1, 100.0), a_measurement("thread", 4, 300.0)]
    close = [*runs, a_measurement("asyncio", 4, 320.0)]
    ahead = [*runs, a_measurement("asyncio", 4, 400.0)]
    assert _recommend.choose(close, 0.07)[:2] == ("thread", 4)
    assert _recommend.choose(ahead, 0.07)[:2] == ("asyncio", 4)
    assert _recommend.choose(close, 0.07, is_coroutine=True)[:2] == ("asyncio", 4)


def test_one_lucky_run_does_not_take_the_pick_from_a_smaller_pool() -> None:
    runs = [
        a_measurement("serial", 1, 100.0),
        a_measurement("thread", 2, 180.0),
        a_measurement("thread", 4, 198.0),
        a_measurement("thread", 4, 181.0, repeat=1),
        a_measurement("thread", 2, 178.0, repeat=1),
    ]
    assert _recommend.choose(runs, _recommend.noise(runs))[:2] == ("thread", 2)


def test_one_lucky_serial_run_does_not_hide_a_real_gain() -> None:
    """Both configurations ran twice; serial's best run alone is within the noise of the
    pool's slower run, but its mean is not within the noise of the pool's mean."""
    runs = [
        a_measurement("serial", 1, 100.0),
        a_measurement("thread", 2, 115.0),
        a_measurement("thread", 2, 110.0, repeat=1),
        a_measurement("serial", 1, 106.0, repeat=1),
    ]
    assert _recommend.choose(runs, _recommend.noise(runs))[:2] == ("thread", 2)


def test_a_mean_rate_counts_no_run_as_more_than_8pct_under_the_best() -> None:
    runs = [
        a_measurement("thread", 2, 100.0),
        a_measurement("thread", 2, 95.0, repeat=1),
        a_measurement("thread", 4, 100.0),
        a_measurement("thread", 4, 50.0, repeat=1),
    ]
    means = _recommend.mean_rates(runs)
    assert means == {("thread", 2): 97.5, ("thread", 4): pytest.approx(96.0)}


@pytest.mark.parametrize(
    ("noise", "expected"), [(None, 0.05), (0.01, 0.05), (0.07, 0.07), (0.5, 0.08)]
)
def test_the_tolerance_is_the_noise_clamped(noise: float | None, expected: float) -> None:
    assert _recommend.tolerance(noise) == expected


def test_the_docs_list_the_order_of_simplicity() -> None:
    page = (Path(__file__).parents[2] / "docs" / "advise.md").read_text()
    pick = page[page.index("**Pick.**") : page.index("within a backend, fewer workers first")]
    assert tuple(re.findall(r"`([a-z-]+)`", pick)) == _recommend.SIMPLICITY


# -- stability: the same target, swept again with jitter, gets the same pick ----------

#: True items/s per configuration, as on a 2-core machine. A cheap function returning
#: a 300,000-element list (the user report): one-worker pools and asyncio run as fast
#: as serial, more threads fight over the GIL, processes lose on pickling the result.
SERIAL_IS_BEST = {
    ("serial", 1): 1000.0,
    ("thread", 1): 1000.0,
    ("thread", 2): 980.0,
    ("thread", 4): 970.0,
    ("asyncio", 1): 990.0,
    ("asyncio", 2): 975.0,
    ("asyncio", 4): 960.0,
    ("process", 1): 150.0,
    ("process", 2): 280.0,
    ("process", 4): 300.0,
}
#: A function that releases the GIL: 2 threads give 1.8x, 4 threads no more (2 cores).
THREADS_WIN = {
    ("serial", 1): 1000.0,
    ("thread", 1): 990.0,
    ("thread", 2): 1800.0,
    ("thread", 4): 1790.0,
    ("asyncio", 1): 970.0,
    ("asyncio", 2): 1760.0,
    ("asyncio", 4): 1770.0,
    ("process", 1): 800.0,
    ("process", 2): 1500.0,
    ("process", 4): 1480.0,
}
#: Each run's throughput is off by up to this much either way: a loaded 2-core machine.
JITTER = 0.06


def threads_faster_by(gain: float) -> dict[Key, float]:
    """A function that releases the GIL for a short part of each call: 2 threads (and
    4, no more) ``gain`` faster than serial, processes slower than serial."""
    return {
        ("serial", 1): 1000.0,
        ("thread", 1): 990.0,
        ("thread", 2): 1000.0 * (1 + gain),
        ("thread", 4): 990.0 * (1 + gain),
        ("asyncio", 1): 970.0,
        ("asyncio", 2): 980.0 * (1 + gain),
        ("asyncio", 4): 970.0 * (1 + gain),
        ("process", 1): 700.0,
        ("process", 2): 900.0,
        ("process", 4): 880.0,
    }


def simulated_pick(true_rates: dict[Key, float], rng: random.Random) -> Key:
    """The advisor's sweep and pick, with every trial's rate jittered instead of timed."""

    def run_trial(
        job: Job, backend: str, workers: int, batch: Sequence[Any], **_: Any
    ) -> Measurement:
        rate = true_rates[(backend, workers)] * rng.uniform(1 - JITTER, 1 + JITTER)
        return a_measurement(backend, workers, rate, items=len(batch))

    ladders = {"serial": 1, "thread": 4, "asyncio": 4, "process": 4}
    plan = Plan(ladders=ladders, skipped=(), trial_s=0.1)
    sweep = Sweep(
        Job(abs, is_coroutine=False),
        [1],
        a_profile(),
        plan,
        deadline=float("inf"),
        run_trial=run_trial,
        clock=lambda: 0.0,
    )
    runs = _recommend.with_speedups(sweep.run())
    return _recommend.choose(runs, _recommend.noise(runs))[:2]


@pytest.mark.parametrize(
    ("true_rates", "expected"),
    [(SERIAL_IS_BEST, ("serial", 1)), (THREADS_WIN, ("thread", 2))],
    ids=["serial-is-best", "threads-win-1.8x"],
)
def test_the_pick_is_the_same_in_at_least_4_of_5_noisy_runs(
    true_rates: dict[Key, float], expected: Key
) -> None:
    """100 batches of 5 seeded sweeps. The sweep runs every configuration within 10% of
    the fastest twice and the pick compares mean rates, so a lucky run moves a rate
    half as much; a 4-thread pool still takes the pick from the 2-thread one now and
    then: in 3,000 simulated sweeps thread x4 was picked in 2.2% of them, 3 of 600
    batches under 4 of 5 (serial-is-best: 1 of 600). These 100: 2 (none)."""
    picks = [simulated_pick(true_rates, random.Random(seed)) for seed in range(500)]
    batches = [Counter(picks[start : start + 5]) for start in range(0, len(picks), 5)]
    unstable = [batch for batch in batches if batch.most_common(1)[0][1] < 4]
    assert len(unstable) <= 2, unstable
    assert Counter(picks)[expected] >= 0.95 * len(picks)


@pytest.mark.parametrize("gain", [0.15, 0.30])
def test_a_real_gain_is_picked_in_at_least_19_of_20_noisy_runs(gain: float) -> None:
    """200 seeded sweeps of threads truly 15% (30%) faster than serial. With ±6% jitter
    a lucky serial run can come within 2% of an unlucky pool run; over 3,000 sweeps
    serial took the pick from the 15% gain in 1.2% of them (never from the 30% one),
    over these 200 in 3 (none)."""
    true_rates = threads_faster_by(gain)
    picks = [simulated_pick(true_rates, random.Random(seed)) for seed in range(200)]
    slower = [key for key in picks if true_rates[key] < (1 + gain / 2) * 1000.0]
    assert len(slower) <= 0.05 * len(picks), Counter(picks)


# -- properties of the pick over any measurements ------------------------------------

WORKERS = (1, 2, 4, 8, 16)


@st.composite
def sweeps(draw: st.DrawFn) -> list[Measurement]:
    """Configurations of any backend, each run once or twice, with serial or without."""
    keys = draw(
        st.sets(
            st.tuples(st.sampled_from(advised_backends()[1:]), st.sampled_from(WORKERS)), max_size=8
        )
    )
    if draw(st.booleans()) or not keys:
        keys.add(("serial", 1))
    rates = st.lists(st.floats(1.0, 1e6), min_size=1, max_size=2)
    return [
        a_measurement(backend, workers, rate, repeat=repeat)
        for backend, workers in sorted(keys)
        for repeat, rate in enumerate(draw(rates))
    ]


def best_and_means(runs: Sequence[Measurement]) -> tuple[dict[Key, float], dict[Key, float]]:
    """Per configuration: the best run, and the mean run counting none under 92% of the best."""
    by_key: dict[Key, list[float]] = {}
    for m in runs:
        by_key.setdefault((m.backend, m.workers), []).append(m.items_per_s)
    best = {k: max(v) for k, v in by_key.items()}
    return best, {k: sum(max(r, 0.92 * max(v)) for r in v) / len(v) for k, v in by_key.items()}


noise_levels = st.none() | st.floats(0.0, 0.5)


@given(sweeps(), noise_levels, st.booleans())
def test_a_one_worker_pool_is_never_the_pick_when_serial_ran(
    runs: list[Measurement], noise: float | None, is_coroutine: bool
) -> None:
    backend, workers, *_ = _recommend.choose(runs, noise, is_coroutine=is_coroutine)
    assert backend == "serial" or workers > 1 or all(m.backend != "serial" for m in runs)


@given(sweeps(), noise_levels)
def test_asyncio_is_picked_for_a_plain_function_only_when_it_wins_outright(
    runs: list[Measurement], noise: float | None
) -> None:
    backend, workers, *_ = _recommend.choose(runs, noise)
    if backend != "asyncio":
        return
    best, means = best_and_means(runs)
    beaten = means[("asyncio", workers)] * (1 - _recommend.tolerance(noise))
    serial_ran = ("serial", 1) in best
    for (other, n), rate in best.items():
        if other != "asyncio" and (n > 1 or other == "serial" or not serial_ran):
            assert rate < beaten


@given(sweeps(), noise_levels, st.booleans())
def test_the_pick_is_within_the_tolerance_of_the_fastest(
    runs: list[Measurement], noise: float | None, is_coroutine: bool
) -> None:
    backend, workers, _, rate, _ = _recommend.choose(runs, noise, is_coroutine=is_coroutine)
    best, means = best_and_means(runs)
    tol = _recommend.tolerance(noise)
    assert rate == best[(backend, workers)]
    serial_ran = ("serial", 1) in best
    for (other, n), mean in means.items():
        one_worker_pool = n == 1 and other != "serial" and serial_ran
        # A plain function's asyncio configurations that did not win outright are out
        # of the race, however close: asyncio must beat the rest, not tie with them.
        left_out = other == "asyncio" and not is_coroutine and backend != "asyncio"
        if not one_worker_pool and not left_out:
            assert rate >= mean * (1 - tol) * (1 - 1e-12)


def test_models_fit_process_pools_only_up_to_the_cores() -> None:
    runs = [
        a_measurement("process", 1, 100.0),
        a_measurement("process", 2, 190.0),
        a_measurement("process", 4, 195.0),
    ]
    (model,) = _recommend.models(runs, cores=2, computes=True)
    assert model.points == 2
    assert model.predicted[0] == pytest.approx((4, 4 / (1 + model.contention * 3)))


def test_models_of_waiting_functions_predict_nothing_at_more_cores() -> None:
    runs = [a_measurement("thread", n, 100.0 * n) for n in (1, 2, 4, 8)]
    (model,) = _recommend.models(runs, cores=2, computes=False)
    assert model.points == 4
    assert model.predicted == ()


def test_explanation_ties_the_pick_to_the_evidence() -> None:
    profile = a_profile(gil_held_fraction=0.97, parallel_cpu_cores=1.03)
    runs = _recommend.with_speedups(
        [a_measurement("serial", 1, 100.0), a_measurement("process", 2, 190.0)]
    )
    pick = Recommendation("process", 2, 10, 190.0, 1.9, "")
    text = "\n".join(_recommend.explain(profile, runs, [], pick, cores=2))
    assert "holds the GIL about 97%" in text
    assert "1.03 cores" in text
    assert "process 1.90x at 2 workers" in text
    assert "3% of a call" in text
    assert "Use a process pool with 2 workers, chunksize 10" in text


@pytest.mark.parametrize(
    ("profile_changes", "words"),
    [
        ({"releases_gil": True, "gil_held_fraction": None, "parallel_cpu_cores": 1.9}, "releases"),
        ({"cpu_fraction": 0.05, "probe_speedup": 2.0, "releases_gil": True}, "waits overlap"),
        ({"releases_gil": None, "gil_held_fraction": None}, "cannot be shown"),
        ({"first_call_s": 0.5}, "every new worker process pays that again"),
    ],
)
def test_explanation_of_each_function_character(
    profile_changes: dict[str, object], words: str
) -> None:
    runs = _recommend.with_speedups([a_measurement("serial", 1, 100.0)])
    pick = Recommendation("serial", 1, 1, 100.0, 1.0, "")
    text = " ".join(_recommend.explain(a_profile(**profile_changes), runs, [], pick, cores=1))
    assert words in text


@pytest.mark.e2e
@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", ["serial", "thread", "process", "free-threaded"])
def test_the_printed_code_runs_and_computes_the_results(backend: str) -> None:
    code = _recommend.code_for(backend, 2, 3, "from tests.advise.workloads import square", "square")
    namespace: dict[str, object] = {"__name__": "__main__", "items": [1, 2, 3]}
    exec(compile(code, "<advice>", "exec"), namespace)
    assert namespace["results"] == [1, 4, 9]


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_the_printed_asyncio_code_runs_for_coroutines_and_blocking_functions() -> None:
    native = _recommend.code_for("asyncio", 2, 1, "from tests.advise.workloads import anap", "anap")
    blocking = _recommend.blocking_asyncio_code(
        2, "from tests.advise.workloads import square", "square"
    )
    for code, expected in ((native, [1, 2, 3]), (blocking, [1, 4, 9])):
        namespace: dict[str, object] = {"items": [1, 2, 3]}
        exec(compile(code, "<advice>", "exec"), namespace)
        assert namespace["results"] == expected


def test_import_line_for_files_modules_and_live_functions() -> None:
    assert _recommend.import_line_for("src/work.py:f", "x", "f") == "from work import f"
    assert _recommend.import_line_for("pkg.mod:C.m", "x", "C.m") == "from pkg.mod import C"
    assert _recommend.import_line_for(None, "pkg.mod", "f") == "from pkg.mod import f"


@pytest.mark.e2e
@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("backend", "name", "expected"),
    [
        ("serial", "square", [1, 4, 9]),
        ("thread", "square", [1, 4, 9]),
        ("process", "square", [1, 4, 9]),
        ("asyncio", "square", [1, 4, 9]),
        ("asyncio", "anap", [1, 2, 3]),
        ("free-threaded", "square", [1, 4, 9]),
    ],
)
def test_the_printed_pmap_code_runs_and_computes_the_results(
    backend: str, name: str, expected: list[int]
) -> None:
    code = _recommend.pmap_code_for(
        backend, 2, 3, f"from tests.advise.workloads import {name}", name
    )
    assert "gilwise.pmap(" in code
    namespace: dict[str, object] = {"__name__": "__main__", "items": [1, 2, 3]}
    exec(compile(code, "<advice>", "exec"), namespace)
    assert namespace["results"] == expected


def test_free_threaded_code_says_which_interpreter_to_run() -> None:
    for code in (
        _recommend.code_for("free-threaded", 4, 1, "from m import f", "f"),
        _recommend.pmap_code_for("free-threaded", 4, 1, "from m import f", "f"),
    ):
        assert code.startswith("# Run this with the free-threaded interpreter")
