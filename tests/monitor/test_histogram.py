from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gilwise.monitor._histogram import LatencyHistogram


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
