from __future__ import annotations

import pytest

from gilwise.advise import _recommend
from gilwise.advise._report import Recommendation
from tests.advise.factories import a_measurement, a_profile


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


def test_models_fit_process_pools_only_up_to_the_cores() -> None:
    runs = [
        a_measurement("process", 1, 100.0),
        a_measurement("process", 2, 190.0),
        a_measurement("process", 4, 195.0),
    ]
    (model,) = _recommend.models(runs, cores=2, computes=True)
    assert model.points == 2
    assert model.predicted[0] == (4, pytest.approx(4 / (1 + model.contention * 3)))


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


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", ["serial", "thread", "process", "free-threaded"])
def test_the_printed_code_runs_and_computes_the_results(backend: str) -> None:
    code = _recommend.code_for(backend, 2, 3, "from tests.advise.workloads import square", "square")
    namespace: dict[str, object] = {"__name__": "__main__", "items": [1, 2, 3]}
    exec(compile(code, "<advice>", "exec"), namespace)
    assert namespace["results"] == [1, 4, 9]


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
