"""A constant-memory latency histogram with logarithmic buckets."""

from __future__ import annotations

import math

_BASE_S = 1e-6  # the smallest latency told apart: 1 µs
_PER_DOUBLING = 8  # buckets per doubling: percentiles are exact to within ~9%
_BUCKETS = 40 * _PER_DOUBLING  # 1 µs .. 2**40 µs (12 days)


class LatencyHistogram:
    """Counts latencies in log-spaced buckets; percentiles are read from the buckets.

    Example:
        >>> h = LatencyHistogram()
        >>> for ms in (1, 2, 3, 100):
        ...     h.add(ms / 1000)
        >>> h.count, round(h.max * 1000)
        (4, 100)
    """

    def __init__(self) -> None:
        self.buckets = [0] * _BUCKETS
        self.count = 0
        self.total = 0.0
        self.max = 0.0

    def add(self, seconds: float) -> None:
        if not math.isfinite(seconds) or seconds < 0:
            return
        self.buckets[_bucket_of(seconds)] += 1
        self.count += 1
        self.total += seconds
        self.max = max(self.max, seconds)

    def percentile(self, q: float) -> float:
        """The latency below which a fraction ``q`` of the samples fall (0 when empty)."""
        if self.count == 0:
            return 0.0
        rank = max(1, math.ceil(q * self.count))
        seen = 0
        for index, n in enumerate(self.buckets):
            seen += n
            if seen >= rank:
                return min(_upper_edge(index), self.max)
        return self.max

    @property
    def mean(self) -> float:
        return self.total / self.count if self.count else 0.0


def _bucket_of(seconds: float) -> int:
    if seconds <= _BASE_S:
        return 0
    index = int(math.log2(seconds / _BASE_S) * _PER_DOUBLING) + 1
    return min(index, _BUCKETS - 1)


def _upper_edge(index: int) -> float:
    return float(_BASE_S * 2 ** (index / _PER_DOUBLING))
