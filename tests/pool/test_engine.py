"""``MapState`` alone: a fake clock and hand-made outcomes, no backend and no waiting."""

from __future__ import annotations

import random
import sys
from collections.abc import Callable

import pytest
from hypothesis import strategies as st

from gilwise._errors import ItemTimeout
from gilwise.pool._engine import IterFeed, MapOptions, MapState, failed
from gilwise.pool._types import ChunkDone, Outcome, Run, Task
from tests._hypothesis import given

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def make_state(
    items: list[int], clock: FakeClock, buffersize: int = 1000, **options: object
) -> MapState:
    return MapState(
        IterFeed(iter(items)),
        MapOptions(buffersize=buffersize, **options),  # type: ignore[arg-type]
        default_buffersize=lambda: 1000,
        clock=clock,
    )


def done(run: Run, fn: Callable[[int], int] = lambda x: x * 10) -> ChunkDone:
    return ChunkDone(run.start, [fn(item) for item in run.items])


def test_a_run_of_new_items_carries_their_indices(clock: FakeClock) -> None:
    state = make_state(list(range(5)), clock)
    assert state.runs(3) == [Run(0, [0, 1, 2])]
    assert state.runs(10) == [Run(3, [3, 4])]
    assert state.runs(10) == []
    assert state.in_flight == 5
    assert state.pulled == 5


def test_results_wait_in_order_behind_an_unfinished_item(clock: FakeClock) -> None:
    state = make_state(list(range(6)), clock)
    (run,) = state.runs(6)
    first, rest = run.split(2)
    second, third = rest.split(2)
    state.record_all([done(third), done(second)])
    assert state.pop_ready() == []  # items 0 and 1 are not back yet
    assert state.held == 4
    state.record_all([done(first)])
    assert state.pop_ready() == [0, 10, 20, 30, 40, 50]
    assert state.held == 0
    assert state.yielded == 6


def test_unordered_results_come_as_they_finish(clock: FakeClock) -> None:
    state = make_state(list(range(4)), clock, ordered=False)
    first, second = state.runs(4)[0].split(2)
    state.record_all([done(second)])
    assert state.pop_ready() == [20, 30]
    state.record_all([done(first)])
    assert state.pop_ready() == [0, 10]


def test_a_failed_item_is_retried_after_its_backoff_on_the_clock(clock: FakeClock) -> None:
    state = make_state([7], clock, retries=2, backoff=1.0)
    state.runs(1)
    state.record_all([failed(Task(0, 7, 0), ValueError("flaky"))])
    assert state.next_retry_in() == pytest.approx(1.0)
    assert state.runs(1) == []  # not due yet
    clock.now += 1.0
    assert state.runs(1) == [Run(0, [7], 1)]
    state.record_all([failed(Task(0, 7, 1), ValueError("flaky"))])
    assert state.next_retry_in() == pytest.approx(2.0)  # the backoff doubles
    clock.now += 2.0
    assert state.runs(1) == [Run(0, [7], 2)]
    state.record_all([Outcome(Task(0, 7, 2), 70)])
    assert state.pop_ready() == [70]
    assert state.retried == 2


def test_backoff_stops_growing_at_thirty_seconds(clock: FakeClock) -> None:
    state = make_state([1], clock, retries=20, backoff=1.0)
    state.runs(1)
    state.record_all([failed(Task(0, 1, 10), ValueError())])
    assert state.next_retry_in() == pytest.approx(30.0)


def test_an_error_past_its_retries_raises_with_the_item_named(clock: FakeClock) -> None:
    state = make_state([1, 2], clock, retries=1)
    state.runs(2)
    with pytest.raises(ValueError, match="boom") as info:
        state.record_all([failed(Task(1, 2, 1), ValueError("boom"))])
    assert "gilwise: item 1, attempt 2" in getattr(info.value, "__notes__", [])


def test_errors_not_in_retry_on_are_not_retried(clock: FakeClock) -> None:
    state = make_state([1], clock, retries=3, retry_on=(OSError,), on_error="return")
    state.runs(1)
    error = ValueError("no")
    state.record_all([failed(Task(0, 1, 0), error)])
    assert state.pop_ready() == [error]
    assert state.retried == 0


def test_collect_skips_failures_and_raises_them_together_at_the_end(clock: FakeClock) -> None:
    state = make_state(list(range(4)), clock, on_error="collect")
    state.runs(5)  # one more than there is, to see the end
    state.record_all(
        [
            Outcome(Task(0, 0), "a"),
            failed(Task(1, 1), KeyError("one")),
            failed(Task(3, 3), ItemTimeout("three")),
            Outcome(Task(2, 2), "c"),
        ]
    )
    assert state.pop_ready() == ["a", "c"]
    assert state.finished
    assert state.timed_out == 1
    with pytest.raises(ExceptionGroup) as info:
        state.raise_collected()
    assert [type(e) for e in info.value.exceptions] == [KeyError, ItemTimeout]
    assert "2 of 4 items failed" in str(info.value)


def test_what_the_caller_has_not_read_counts_against_buffersize(clock: FakeClock) -> None:
    state = make_state(list(range(100)), clock, buffersize=10)
    (run,) = state.runs(100)
    assert len(run.items) == 10
    state.record_all([done(run)])
    batch = state.pop_ready()
    state.outside = len(batch)  # handed out, not read yet
    assert state.runs(100) == []
    state.outside = 4
    (more,) = state.runs(100)
    assert len(more.items) == 6


def test_a_retry_waiting_counts_against_buffersize(clock: FakeClock) -> None:
    state = make_state(list(range(10)), clock, buffersize=3, retries=1)
    state.runs(3)
    state.record_all([failed(Task(0, 0), ValueError())])
    assert state.runs(10) == []  # 2 in flight + 1 waiting to retry
    clock.now += 1
    assert state.runs(10) == [Run(0, [0], 1)]


@given(
    size=st.integers(0, 200),
    cuts=st.lists(st.integers(1, 50), max_size=30),
    order=st.randoms(use_true_random=False),
    ordered=st.booleans(),
)
def test_every_result_is_handed_out_once_in_order_whatever_the_chunks(
    size: int, cuts: list[int], order: random.Random, ordered: bool
) -> None:
    state = make_state(list(range(size)), FakeClock(), ordered=ordered)
    chunks: list[Run] = []
    for run in state.runs(size + 1):  # one more than there is, to see the end
        cut = iter(cuts)
        while run.items:
            head, run = run.split(next(cut, len(run.items)))
            chunks.append(head)
    order.shuffle(chunks)
    out: list[int] = []
    for chunk in chunks:
        state.record_all([done(chunk, lambda x: x)])
        out += state.pop_ready()
    assert state.finished
    assert (out if ordered else sorted(out)) == list(range(size))
