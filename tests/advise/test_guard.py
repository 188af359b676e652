"""The budget guard: the experiment's result, its error, or where it was stuck at the deadline."""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator

import pytest

from gilwise.advise._guard import (
    MIN_GRACE_S,
    Overran,
    hard_deadline,
    run_guarded,
    where_stuck,
    work_left_running,
)


class StepClock:
    """A clock that moves one step each time it is read: the deadline comes after a few reads."""

    def __init__(self, step: float) -> None:
        self.now = 0.0
        self.step = step

    def __call__(self) -> float:
        self.now += self.step
        return self.now


@pytest.fixture
def release() -> Iterator[threading.Event]:
    """Set at the end of a test, so a function left stuck by the guard ends too."""
    event = threading.Event()
    yield event
    event.set()


def users_function(release: threading.Event) -> None:
    release.wait()  # the line the guard must name


@pytest.mark.timeout(30)
def test_the_result_comes_back() -> None:
    assert run_guarded(lambda: 42, deadline=1e9, code=None) == 42


@pytest.mark.timeout(30)
def test_the_experiments_error_is_raised_in_the_caller() -> None:
    def fails() -> None:
        raise ValueError("bad item")

    with pytest.raises(ValueError, match="bad item"):
        run_guarded(fails, deadline=1e9, code=None)


@pytest.mark.e2e
@pytest.mark.timeout(30)
def test_a_function_that_never_returns_is_named_by_its_line(release: threading.Event) -> None:
    outcome = run_guarded(
        lambda: users_function(release),
        deadline=1.0,
        code=users_function.__code__,
        clock=StepClock(0.3),
    )
    assert isinstance(outcome, Overran)
    line = users_function.__code__.co_firstlineno + 1
    assert outcome.where == f"{__file__}:{line} in users_function"
    assert work_left_running()
    release.set()


@pytest.mark.timeout(30)
def test_where_stuck_is_none_when_no_thread_runs_the_function() -> None:
    def never_called() -> None:
        pass

    assert where_stuck(never_called.__code__, sys._current_frames()) is None
    assert where_stuck(None, sys._current_frames()) is None


@pytest.mark.parametrize(("budget", "grace"), [(1.0, MIN_GRACE_S), (20.0, 2.0), (100.0, 10.0)])
def test_the_hard_deadline_leaves_a_grace_of_a_tenth(budget: float, grace: float) -> None:
    assert hard_deadline(10.0, budget) == pytest.approx(10.0 + budget + grace)
