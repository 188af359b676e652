"""The advise page: the model drawn as fitted, the same figures as the explanation's text."""

from __future__ import annotations

import re

import pytest

from gilwise.advise._model import usl_speedup
from gilwise.report._html_advise import advice_html

from .html_reports import SWEEP, computing_profile, measured_advice_report
from .page_parts import page_parts

pytest.importorskip("plotly")
pytest.importorskip("jinja2")


def test_the_model_is_drawn_as_its_formula_on_the_measured_axis() -> None:
    report = measured_advice_report(SWEEP, computing_profile())
    parts = page_parts(advice_html(report))
    for model in report.models:
        drawn = dict(zip(*_xy(parts.traces(f"{model.backend} ("), "model"), strict=True))
        measured = dict(zip(*_xy(parts.traces(f"{model.backend} ("), "measured"), strict=True))
        one_worker = measured[1]
        for workers in measured:
            # The law gives speedup against the backend's own one worker; the chart's
            # axis is against serial, so the law is scaled by that worker's speedup.
            expected = one_worker * usl_speedup(workers, model.contention, model.coherency)
            assert drawn[workers] == pytest.approx(expected)
    process = next(m for m in report.models if m.backend == "process")
    drawn = dict(zip(*_xy(parts.traces("process ("), "model"), strict=True))
    measured = dict(zip(*_xy(parts.traces("process ("), "measured"), strict=True))
    # Fitted to 1 and 2 workers (the cores): the line goes through those measurements.
    assert drawn[2] == pytest.approx(measured[2])
    assert process.predicted[0][0] in drawn


def test_the_chart_gives_the_texts_prediction_in_the_texts_unit() -> None:
    report = measured_advice_report(SWEEP, computing_profile())
    line = next(s for s in report.explanation if s.startswith("Scaling model for process"))
    said = {int(n): s for s, n in re.findall(r"([\d.]+)x at (\d+)", line)}
    trace = next(t for t in page_parts(advice_html(report)).traces("process (") if _is_model(t))
    own = dict(zip(trace["x"], trace["customdata"], strict=True))
    assert said
    for workers, text in said.items():
        assert f"{own[workers]:.1f}" == text


def test_the_usable_cores_are_marked_where_the_model_turns_into_a_prediction() -> None:
    parts = page_parts(advice_html(measured_advice_report(SWEEP, computing_profile())))
    lines = [s for s in parts.charts[0]["layout"]["shapes"] if s.get("x0") == s.get("x1")]
    assert [s["x0"] for s in lines] == [2.0]


def test_pickled_bytes_are_the_same_figure_in_the_text_and_the_notes() -> None:
    report = measured_advice_report(SWEEP, computing_profile(item_bytes=25, result_bytes=10))
    bullets = page_parts(advice_html(report)).bullets
    said = [b for b in bullets if "35 B" in b]
    assert len(said) == 2  # the explanation's sentence and the profile's note
    assert not any("bytes" in b for b in bullets)


def _is_model(trace: dict) -> bool:  # type: ignore[type-arg]
    return "model" in trace["name"]


def _xy(traces: list[dict], kind: str) -> tuple[list[float], list[float]]:  # type: ignore[type-arg]
    trace = next(t for t in traces if kind in t["name"])
    return trace["x"], trace["y"]
