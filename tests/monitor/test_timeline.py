"""The run over time, from GIL windows and clocks given by hand."""

from __future__ import annotations

import pytest

from gilwise.monitor._timeline import Timeline


def test_a_point_weighs_its_gil_windows_by_their_length() -> None:
    timeline = Timeline(now=10.0, process_cpu=1.0, max_points=100)
    timeline.add_gil_window(0.1, 1.0)
    timeline.add_gil_window(0.3, 0.0)
    timeline.close(10.5, process_cpu=1.5, alive=3, lags=[0.02, 0.2])
    (point,) = timeline.points
    assert point.t_s == 0.5
    assert point.gil_wait_fraction == pytest.approx(0.25)
    assert point.cpu_cores_used == pytest.approx(1.0)
    assert point.threads_alive == 3
    assert point.loop_lag_max_ms == pytest.approx(200.0)


def test_a_point_without_gil_windows_or_loops_says_unknown() -> None:
    timeline = Timeline(now=0.0, process_cpu=0.0, max_points=100)
    timeline.close(0.25, process_cpu=0.0, alive=1, lags=[])
    (point,) = timeline.points
    assert point.gil_wait_fraction is None
    assert point.loop_lag_max_ms is None


def test_a_long_run_halves_its_resolution_instead_of_growing() -> None:
    timeline = Timeline(now=0.0, process_cpu=0.0, max_points=4)
    for n in range(1, 6):
        timeline.close(n * 0.25, process_cpu=0.0, alive=1, lags=[])
    assert [p.t_s for p in timeline.points] == [0.25, 0.75, 1.25]
