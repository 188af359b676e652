from __future__ import annotations

import functools
from typing import Any

import pytest

from gilwise._core._probe import gil_evidence, pickle_costs
from gilwise._errors import UserCodeFailed
from gilwise.advise import _profile
from gilwise.advise._backends import Job
from gilwise.advise._profile import _function_picklable, first_call, profile
from tests.advise import workloads


@pytest.mark.parametrize(
    ("cpu_fraction", "cores_used", "speedup", "cores", "expected"),
    [
        (1.0, 1.02, 1.0, 2, (False, pytest.approx(1 / 1.02))),  # pure Python: GIL-bound
        (1.0, 1.95, 1.9, 2, (True, None)),  # hashlib on big buffers: parallel
        (1.0, 1.5, 1.5, 4, (True, pytest.approx(1 / 1.5))),  # partly parallel
        (1.0, 1.0, 1.0, 1, (None, None)),  # one core: cannot tell
        (0.02, 0.04, 1.95, 2, (True, None)),  # sleeping: waits overlap
        (0.02, 0.04, 1.0, 2, (False, None)),  # waiting on a shared lock: no overlap
    ],
)
def test_gil_evidence(
    cpu_fraction: float,
    cores_used: float,
    speedup: float,
    cores: float,
    expected: tuple[Any, Any],
) -> None:
    threads = min(4, max(2, int(cores)))
    assert gil_evidence(cpu_fraction, cores_used, speedup, threads, cores) == expected


def _local() -> Job:
    def inner(x: int) -> int:
        return x

    return Job(inner, False)


@pytest.mark.parametrize(
    ("job", "words"),
    [
        (Job(lambda x: x, False), "lambda"),
        (_local(), "inside a function"),
        (Job(workloads.anap, True), "event loop"),
    ],
)
def test_functions_a_process_pool_cannot_send_name_the_fix(job: Job, words: str) -> None:
    ok, reason = _function_picklable(job)
    assert not ok
    assert reason is not None
    assert words in reason


def test_module_functions_and_partials_can_be_sent() -> None:
    assert _function_picklable(Job(workloads.square, False)) == (True, None)
    assert _function_picklable(Job(functools.partial(workloads.spin, 10), False)) == (True, None)


def test_pickle_costs_count_both_directions() -> None:
    item_bytes, result_bytes, seconds, problem = pickle_costs(b"x" * 10_000, 5)
    assert item_bytes is not None
    assert item_bytes > 10_000
    assert result_bytes is not None
    assert result_bytes < 100
    assert seconds is not None
    assert seconds > 0
    assert problem is None


def test_unpicklable_items_rule_out_processes() -> None:
    *_, problem = pickle_costs(lambda: 1, None)
    assert problem is not None
    assert "cannot be pickled" in problem


def test_the_first_call_raising_is_the_users_error_with_their_traceback() -> None:
    with pytest.raises(UserCodeFailed) as caught:
        first_call(Job(workloads.fail_on_three, False), 3)
    text = str(caught.value)
    assert "workloads.py" in text
    assert "ValueError: three is not allowed" in text
    assert "_profile.py" not in text


@pytest.mark.timeout(60)
def test_a_later_item_raising_is_reported_too() -> None:
    job = Job(workloads.fail_on_three, False)
    with pytest.raises(UserCodeFailed, match="three is not allowed"):
        profile(job, [1, 2, 3], cores=2, first_call_s=0.0, first_result=1, seconds=0.05)


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_profile_of_real_functions_tells_computing_from_waiting() -> None:
    computing = profile(
        Job(workloads.spin, False),
        [20_000],
        cores=2,
        first_call_s=0.0,
        first_result=1,
        seconds=0.2,
    )
    waiting = profile(
        Job(workloads.nap, False), [1], cores=2, first_call_s=0.0, first_result=1, seconds=0.2
    )
    # Wide margins: a loaded 2-core machine still separates arithmetic from sleep.
    assert computing.cpu_fraction > 0.5
    assert waiting.cpu_fraction < 0.3
    assert waiting.releases_gil is True
    assert computing.picklable
    assert waiting.picklable


@pytest.mark.timeout(60)
def test_profile_of_a_coroutine_function() -> None:
    result = profile(
        Job(workloads.anap, True), [1], cores=2, first_call_s=0.0, first_result=1, seconds=0.05
    )
    assert result.is_coroutine
    assert result.parallel_cpu_cores is None
    assert not result.picklable


@pytest.mark.parametrize(
    ("wall", "cpu", "starved", "fraction", "starved_fraction"),
    [
        (1.0, 0.4, 0.6, 1.0, 0.6),  # computing, but other processes held the CPU 60%
        (1.0, 0.05, 0.0, 0.05, 0.0),  # waiting on a quiet machine
        (1.0, 0.05, 0.5, 0.1, 0.5),  # waiting stays waiting however busy the machine
        (1.0, 0.9, None, 0.9, None),  # no scheduler counters: wall time as it is
    ],
)
def test_time_without_a_cpu_is_left_out_of_the_cpu_fraction(
    monkeypatch: pytest.MonkeyPatch,
    wall: float,
    cpu: float,
    starved: float | None,
    fraction: float,
    starved_fraction: float | None,
) -> None:
    monkeypatch.setattr(_profile, "_serial_calls", lambda job, items, seconds: (wall, cpu, 10))
    monkeypatch.setattr(_profile._RunQueueClock, "seconds", lambda self: starved)
    result = profile(
        Job(workloads.fail_on_three, True),  # a coroutine: no thread probe
        [1],
        cores=2,
        first_call_s=0.0,
        first_result=1,
        seconds=0.01,
    )
    assert result.cpu_fraction == pytest.approx(fraction)
    assert result.cpu_starved_fraction == (
        None if starved_fraction is None else pytest.approx(starved_fraction)
    )
