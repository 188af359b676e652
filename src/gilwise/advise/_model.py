"""Fit Gunther's Universal Scalability Law (Amdahl's law when it has two points) to speedups.

``speedup(n) = n / (1 + a*(n-1) + b*n*(n-1))``: ``a`` is contention (the serial
share: a lock, the GIL, one disk), ``b`` coherency (workers slowing each other down:
cache traffic, crosstalk), which makes adding workers *lower* the speedup past a peak.
Rearranged, ``n/speedup - 1 = a*(n-1) + b*n*(n-1)`` is linear in ``a`` and ``b``, so
a least-squares fit needs no optimiser.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ._report import ScalingModel


def usl_speedup(n: float, contention: float, coherency: float) -> float:
    """The speedup the law predicts for ``n`` workers."""
    return n / (1.0 + contention * (n - 1.0) + coherency * n * (n - 1.0))


def fit(
    backend: str, points: Sequence[tuple[int, float]], predict_at: Sequence[int]
) -> ScalingModel | None:
    """Fit the law to ``(workers, speedup relative to one worker)``; None with under 2 points."""
    usable = sorted({(n, s) for n, s in points if n >= 1 and s > 0})
    if len({n for n, _ in usable}) < 2:
        return None
    if len(usable) >= 3:
        a, b = _least_squares_usl(usable)
        law = "usl" if b > 0 else "amdahl"
    else:
        a, b, law = _least_squares_amdahl(usable), 0.0, "amdahl"
    return ScalingModel(
        backend=backend,
        law=law,
        contention=a,
        coherency=b,
        r_squared=_r_squared(usable, a, b) if len(usable) >= 3 else None,
        points=len(usable),
        peak_workers=math.sqrt((1.0 - a) / b) if b > 0 and a < 1 else None,
        predicted=tuple((n, usl_speedup(n, a, b)) for n in predict_at),
    )


def _targets(points: Sequence[tuple[int, float]]) -> list[tuple[float, float, float]]:
    """Rows ``(n-1, n*(n-1), n/speedup - 1)`` of the linearised law."""
    return [(n - 1.0, n * (n - 1.0), n / s - 1.0) for n, s in points]


def _least_squares_amdahl(points: Sequence[tuple[int, float]]) -> float:
    rows = _targets(points)
    sxx = sum(x * x for x, _, _ in rows)
    sxy = sum(x * y for x, _, y in rows)
    return _clamp(sxy / sxx if sxx else 0.0)


def _least_squares_usl(points: Sequence[tuple[int, float]]) -> tuple[float, float]:
    """Non-negative least squares in two unknowns: the unconstrained optimum, else the
    best fit with one of them held at zero."""
    rows = _targets(points)
    s11 = sum(x * x for x, _, _ in rows)
    s12 = sum(x * z for x, z, _ in rows)
    s22 = sum(z * z for _, z, _ in rows)
    s1y = sum(x * y for x, _, y in rows)
    s2y = sum(z * y for _, z, y in rows)
    det = s11 * s22 - s12 * s12
    if det > 0:
        a = (s1y * s22 - s2y * s12) / det
        b = (s11 * s2y - s12 * s1y) / det
        if a >= 0 and b >= 0:
            return _clamp(a), b
    candidates = [
        (_clamp(s1y / s11 if s11 else 0.0), 0.0),
        (0.0, max(0.0, s2y / s22 if s22 else 0.0)),
    ]
    return min(candidates, key=lambda ab: _residual(rows, *ab))


def _residual(rows: Sequence[tuple[float, float, float]], a: float, b: float) -> float:
    return sum((y - a * x - b * z) ** 2 for x, z, y in rows)


def _r_squared(points: Sequence[tuple[int, float]], a: float, b: float) -> float | None:
    """Share of the speedups' variance the fitted law explains (in speedup units)."""
    observed = [s for _, s in points]
    mean = sum(observed) / len(observed)
    total = sum((s - mean) ** 2 for s in observed)
    if total <= 0:
        return None
    residual = sum((s - usl_speedup(n, a, b)) ** 2 for n, s in points)
    return 1.0 - residual / total


def _clamp(a: float) -> float:
    return min(1.0, max(0.0, a))
