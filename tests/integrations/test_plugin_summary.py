"""The pytest plugin's terminal summary, from figures made up here (no pytest run)."""

from __future__ import annotations

from gilwise.integrations.pytest_plugin import OverLimit, WatchedTest, summary_lines


def _watched(nodeid: str, wait: float, measured: bool) -> WatchedTest:
    return WatchedTest(
        nodeid=nodeid,
        loops=0,
        max_lag_ms=0.0,
        p99_lag_ms=0.0,
        stalls=0,
        worst_stall_ms=0.0,
        culprit="",
        gil_wait_fraction=wait,
        gil_waiting_threads=wait,
        gil_measured=measured,
    )


def test_gil_contention_of_a_test_too_short_to_tell_is_not_ranked() -> None:
    figures = [
        _watched("t.py::test_threads", 0.9, measured=True),
        _watched("t.py::test_sleep_50ms", 0.3, measured=False),
    ]
    lines = summary_lines(figures, None, 5, {}, OverLimit())
    contention = lines[lines.index(next(x for x in lines if x.startswith("GIL contention"))) :]
    assert any("t.py::test_threads" in line for line in contention)
    assert not any("test_sleep_50ms" in line for line in lines)
    assert "  (1 more test(s) too short to tell: under 30 samples, GIL wait estimated)" in lines
