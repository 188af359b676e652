"""The advisor end to end on real functions: structure and error paths, not timings."""

from __future__ import annotations

import json

import pytest

import gilwise
from gilwise.advise._report import AdviceReport
from tests.advise import workloads


@pytest.fixture(scope="module")
def computing_report() -> AdviceReport:
    # A budget with room for the repeats on a loaded 2-core machine: at 4 s the sweep
    # used 3.6 s alone and, in CI's full run (a large test process to fork), ran out
    # before the repeats, which this report's checks need.
    return gilwise.advise(workloads.spin, [5_000, 10_000], budget=8)


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_a_report_holds_every_part_the_schema_promises(computing_report: AdviceReport) -> None:
    report = computing_report
    assert report.schema == "gilwise.advise/1"
    assert {m.backend for m in report.measurements} >= {"serial", "thread", "asyncio", "process"}
    assert report.recommendation.backend in {m.backend for m in report.measurements}
    assert report.recommendation.code
    assert report.explanation[-1].startswith("Use ")
    assert report.profile.cpu_fraction > 0.5
    assert report.spent_s <= report.budget_s + 2.0
    assert any(m.repeat for m in report.measurements)


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_the_json_form_round_trips(computing_report: AdviceReport) -> None:
    data = json.loads(computing_report.to_json())
    assert AdviceReport.from_dict(data) == computing_report


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_coroutine_functions_are_measured_on_an_event_loop() -> None:
    report = gilwise.advise(workloads.anap, range(50), budget=2)
    assert {m.backend for m in report.measurements} == {"serial", "asyncio"}
    assert report.profile.is_coroutine
    # 1 ms sleeps overlap on the loop: far more than 2x with many in flight.
    assert report.recommendation.backend == "asyncio"


@pytest.mark.parametrize(
    ("kwargs", "error", "words"),
    [
        ({"budget": 0.5}, gilwise.InvalidOption, "at least 1 s"),
        ({"budget": float("nan")}, gilwise.InvalidOption, "at least 1 s"),
        ({"backends": ["gpu"]}, gilwise.InvalidOption, "unknown backend"),
        ({"start_method": "teleport"}, gilwise.InvalidOption, "start method"),
    ],
)
def test_bad_options(kwargs: dict[str, object], error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        gilwise.advise(workloads.square, [1], **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize("items", [[], iter(()), 42, "abc"])
def test_empty_or_non_iterable_items(items: object) -> None:
    with pytest.raises(gilwise.InputsInvalid):
        gilwise.advise(workloads.square, items, budget=2)  # type: ignore[arg-type]


@pytest.mark.e2e
def test_a_function_raising_on_the_first_item_is_the_users_error() -> None:
    with pytest.raises(gilwise.UserCodeFailed, match="three is not allowed"):
        gilwise.advise(workloads.fail_on_three, [3, 1], budget=2)


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_a_budget_too_small_for_the_calls_says_how_much_is_needed() -> None:
    with pytest.raises(gilwise.InvalidOption, match="budget of at least"):
        gilwise.advise(workloads.spin, [3_000_000], budget=1)
