from __future__ import annotations

import pytest
from hypothesis import strategies as st

from gilwise.advise._model import fit, usl_speedup
from tests._hypothesis import given

WORKERS = (1, 2, 4, 8, 16)


@given(
    contention=st.floats(min_value=0.0, max_value=0.5),
    coherency=st.floats(min_value=0.0, max_value=0.01),
)
def test_fit_recovers_the_law_from_exact_points(contention: float, coherency: float) -> None:
    points = [(n, usl_speedup(n, contention, coherency)) for n in WORKERS]
    model = fit("process", points, predict_at=[32])
    assert model is not None
    assert model.contention == pytest.approx(contention, abs=1e-6)
    assert model.coherency == pytest.approx(coherency, abs=1e-6)
    assert model.predicted[0][1] == pytest.approx(usl_speedup(32, contention, coherency), rel=1e-4)


def test_two_points_give_amdahl_with_the_serial_fraction() -> None:
    # Amdahl with serial share 0.2 gives 1 / (0.2 + 0.8/2) = 1.666... on 2 workers.
    model = fit("process", [(1, 1.0), (2, 1 / 0.6)], predict_at=[4])
    assert model is not None
    assert model.law == "amdahl"
    assert model.contention == pytest.approx(0.2)
    assert model.r_squared is None
    assert len(model.predicted) == 1
    assert model.predicted[0] == pytest.approx((4, 1 / (0.2 + 0.8 / 4)))


def test_retrograde_scaling_has_a_peak() -> None:
    points = [(n, usl_speedup(n, 0.05, 0.02)) for n in WORKERS]
    model = fit("thread", points, predict_at=[])
    assert model is not None
    assert model.law == "usl"
    assert model.peak_workers == pytest.approx((0.95 / 0.02) ** 0.5)
    assert model.r_squared == pytest.approx(1.0)


@pytest.mark.parametrize("points", [[], [(1, 1.0)], [(2, 1.5), (2, 1.6)], [(1, 0.0), (2, 0.0)]])
def test_too_few_distinct_points_give_no_model(points: list[tuple[int, float]]) -> None:
    assert fit("thread", points, predict_at=[4]) is None


def test_superlinear_noise_is_clamped_to_no_contention() -> None:
    model = fit("process", [(1, 1.0), (2, 2.2), (4, 4.5)], predict_at=[8])
    assert model is not None
    assert model.contention == 0.0
    assert model.coherency == 0.0
