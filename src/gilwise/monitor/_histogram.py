"""A constant-memory latency histogram with logarithmic buckets."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

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

    def snapshot(self) -> HistogramCounts:
        """The counts so far, as a frozen record (for exporters reading at scrape time)."""
        # Another thread may add while this runs: the bucket copy is taken first and the
        # count read from it, so the snapshot is self-consistent (at most one sample of
        # the sum may belong to a bucket not yet copied).
        buckets = list(self.buckets)
        return HistogramCounts(
            buckets=tuple((i, n) for i, n in enumerate(buckets) if n),
            sum_s=self.total,
            max_s=self.max,
        )


class HistogramCounts:
    """A snapshot of a :class:`LatencyHistogram`: non-empty buckets as (index, count).

    Counts are cumulative since the histogram was made. Buckets are 2**(1/8) wide, so
    reading them against coarser bounds (Prometheus ``le``) is exact to within ~9%.

    Example:
        >>> h = LatencyHistogram()
        >>> for ms in (1, 2, 300):
        ...     h.add(ms / 1000)
        >>> h.snapshot().cumulative((0.005, 0.1))
        (2, 2)
    """

    # Plain, not a dataclass: `gilwise run` imports this module before the program starts.
    __slots__ = ("buckets", "max_s", "sum_s")

    def __init__(
        self, buckets: tuple[tuple[int, int], ...] = (), sum_s: float = 0.0, max_s: float = 0.0
    ) -> None:
        self.buckets = buckets
        self.sum_s = sum_s
        self.max_s = max_s

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, HistogramCounts):
            return NotImplemented
        return (self.buckets, self.sum_s, self.max_s) == (other.buckets, other.sum_s, other.max_s)

    def __hash__(self) -> int:
        return hash((self.buckets, self.sum_s, self.max_s))

    def __repr__(self) -> str:
        return f"HistogramCounts({self.buckets!r}, sum_s={self.sum_s!r}, max_s={self.max_s!r})"

    @property
    def count(self) -> int:
        return sum(n for _, n in self.buckets)

    def cumulative(self, bounds: Sequence[float]) -> tuple[int, ...]:
        """How many samples fell at or below each of the ascending ``bounds``.

        A bucket counts under the first bound at or above its upper edge: a sample just
        under a bound may count under the next one (the ~9% bucket width).
        """
        counts = [0] * len(bounds)
        for index, n in self.buckets:
            edge = _upper_edge(index)
            for position, bound in enumerate(bounds):
                if edge <= bound * (1 + 1e-9):
                    counts[position] += n
                    break
        running = 0
        for position, n in enumerate(counts):
            running += n
            counts[position] = running
        return tuple(counts)

    def points(self) -> Iterator[tuple[float, int]]:
        """(a representative latency in seconds, how many samples) for each bucket.

        The representative is the bucket's geometric middle, capped at the largest
        sample seen.
        """
        for index, n in self.buckets:
            middle = _BASE_S if index == 0 else _upper_edge(index) * 2 ** (-0.5 / _PER_DOUBLING)
            yield min(middle, self.max_s) if self.max_s > 0 else middle, n

    def merged(self, other: HistogramCounts) -> HistogramCounts:
        """Both snapshots' samples together (several loops under one label)."""
        counts = dict(self.buckets)
        for index, n in other.buckets:
            counts[index] = counts.get(index, 0) + n
        return HistogramCounts(
            buckets=tuple(sorted(counts.items())),
            sum_s=self.sum_s + other.sum_s,
            max_s=max(self.max_s, other.max_s),
        )

    def since(self, earlier: HistogramCounts) -> HistogramCounts | None:
        """The samples added after ``earlier``; None if this is not a later snapshot of it."""
        before = dict(earlier.buckets)
        added = []
        for index, n in self.buckets:
            delta = n - before.pop(index, 0)
            if delta < 0:
                return None
            if delta:
                added.append((index, delta))
        if before:
            return None
        return HistogramCounts(
            buckets=tuple(added), sum_s=max(0.0, self.sum_s - earlier.sum_s), max_s=self.max_s
        )


def _bucket_of(seconds: float) -> int:
    if seconds <= _BASE_S:
        return 0
    index = int(math.log2(seconds / _BASE_S) * _PER_DOUBLING) + 1
    return min(index, _BUCKETS - 1)


def _upper_edge(index: int) -> float:
    return float(_BASE_S * 2 ** (index / _PER_DOUBLING))
