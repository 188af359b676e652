"""The advisor's terminal answer: its chart shows the figure its table and pick use."""

from __future__ import annotations

import re

from rich.console import Console

from gilwise.report._advise_terminal import render_advice

from .html_reports import SWEEP, computing_profile, measured_advice_report


def _render(built: object) -> str:
    console = Console(record=True, width=120, color_system=None)
    render_advice(built, console)  # type: ignore[arg-type]
    return console.export_text()


def chart_speedups(text: str) -> dict[tuple[str, int], float]:
    """The bars of the speedup chart: (backend, workers) -> the figure printed after it."""
    bars = re.findall(r"^\W*([\w-]+)\s+(\d+) █+ ([\d.]+)x", text, flags=re.MULTILINE)
    return {(backend, int(workers)): float(x) for backend, workers, x in bars}


def test_the_chart_shows_each_configurations_best_run_and_says_so() -> None:
    # process x2 ran twice, 1.80x and 1.50x: the average (1.65x) is no run's figure.
    report = measured_advice_report(SWEEP, computing_profile())
    text = _render(report)
    assert "speedup vs serial (best run of each configuration)" in text
    bars = chart_speedups(text)
    assert bars[("process", 2)] == 1.80
    assert "1.65x" not in text
    pick = report.recommendation
    assert bars[(pick.backend, pick.workers)] == round(pick.speedup, 2)
    assert f"{pick.speedup:.2f}x serial" in text
