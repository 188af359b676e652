from __future__ import annotations

import math

import pytest
from hypothesis import strategies as st

from gilwise.monitor._histogram import LatencyHistogram
from tests._hypothesis import given


def test_empty_histogram_reads_zero() -> None:
    h = LatencyHistogram()
    assert (h.count, h.percentile(0.5), h.mean, h.max) == (0, 0.0, 0.0, 0.0)


@pytest.mark.parametrize("bad", [-1.0, float("nan"), float("inf")])
def test_rejects_impossible_latencies(bad: float) -> None:
    h = LatencyHistogram()
    h.add(bad)
    assert h.count == 0


@given(st.lists(st.floats(min_value=1e-5, max_value=100.0), min_size=1, max_size=300))
def test_percentiles_are_within_a_bucket_of_the_exact_value(values: list[float]) -> None:
    h = LatencyHistogram()
    for v in values:
        h.add(v)
    ordered = sorted(values)
    for q in (0.5, 0.9, 0.99):
        exact = ordered[max(1, math.ceil(q * len(ordered))) - 1]
        got = h.percentile(q)
        # Buckets are 2**(1/8) wide: a reading is at most ~9% above the exact value and
        # never below the bucket's lower edge.
        assert exact / 1.1 <= got <= exact * 1.1
    assert h.max == max(values)
    assert h.percentile(1.0) == max(values)


# -- snapshots, as the metrics exporters read them ----------------------------------------

latencies = st.lists(st.floats(min_value=0.0, max_value=50.0), max_size=200)
BOUNDS = (0.0001, 0.001, 0.01, 0.1, 1.0, 10.0)


def _filled(values: list[float]) -> LatencyHistogram:
    h = LatencyHistogram()
    for v in values:
        h.add(v)
    return h


@given(latencies)
def test_snapshot_keeps_count_sum_and_max(values: list[float]) -> None:
    h = _filled(values)
    snap = h.snapshot()
    assert snap.count == h.count == len(values)
    assert snap.sum_s == h.total
    assert snap.max_s == h.max


@given(latencies)
def test_cumulative_counts_rise_and_are_right_within_a_bucket(values: list[float]) -> None:
    counts = _filled(values).snapshot().cumulative(BOUNDS)
    assert list(counts) == sorted(counts)
    assert counts[-1] <= len(values)
    for bound, n in zip(BOUNDS, counts, strict=True):
        # A sample counts under a bound when its whole bucket (2**(1/8) wide) does.
        assert sum(v <= bound / 1.1 for v in values) <= n <= sum(v <= bound for v in values)


@given(latencies, latencies)
def test_since_gives_exactly_the_samples_added(first: list[float], then: list[float]) -> None:
    h = _filled(first)
    before = h.snapshot()
    for v in then:
        h.add(v)
    added = h.snapshot().since(before)
    assert added is not None
    assert added.count == len(then)
    assert added.buckets == _filled(then).snapshot().buckets


def test_since_an_unrelated_snapshot_is_none() -> None:
    later = _filled([0.001]).snapshot()
    assert later.since(_filled([0.5]).snapshot()) is None
    assert later.since(_filled([0.001, 0.001]).snapshot()) is None


@given(latencies, latencies)
def test_merged_is_the_histogram_of_both(a: list[float], b: list[float]) -> None:
    merged = _filled(a).snapshot().merged(_filled(b).snapshot())
    assert merged.buckets == _filled(a + b).snapshot().buckets
    assert merged.max_s == max([*a, *b], default=0.0)


@given(st.lists(st.floats(min_value=1e-6, max_value=50.0), min_size=1, max_size=200))
def test_points_replay_into_the_same_buckets(values: list[float]) -> None:
    snap = _filled(values).snapshot()
    replayed = LatencyHistogram()
    for value, n in snap.points():
        for _ in range(n):
            replayed.add(value)
    assert replayed.snapshot().buckets == snap.buckets
