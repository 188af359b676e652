"""The tour as an HTML page: each lesson's claim, what was measured here, and a chart."""

from __future__ import annotations

from collections import defaultdict

from ..tour import LessonResult, Row, TourReport
from ._html import Chart, Page, Section, figure_json, render_page, table

_HELD = {
    True: ("held here", "good"),
    False: ("did not hold here", "bad"),
    None: ("not shown", "warn"),
}


def tour_html(report: TourReport) -> str:
    """The whole page for one ``gilwise tour`` run."""
    held = sum(1 for lesson in report.lessons if lesson.finding.held is True)
    page = Page(
        title="gilwise tour",
        subtitle="Each claim about Python concurrency, measured on this machine.",
        facts=(
            ("python", report.python),
            ("usable cores", f"{report.usable_cores:g}"),
            ("lessons held", f"{held} of {len(report.lessons)}"),
            ("took", f"{report.seconds:.1f} s" + (" (--quick)" if report.quick else "")),
        ),
        sections=tuple(_lesson_section(lesson) for lesson in report.lessons),
        footer=f"gilwise {report.gilwise_version} · schema {report.schema}",
    )
    return render_page(page)


def _lesson_section(lesson: LessonResult) -> Section:
    finding = lesson.finding
    verdict, kind = _HELD[finding.held]
    paragraphs = [f"Claim: {lesson.claim}", f"Here: {finding.measured}"]
    if finding.not_shown:
        paragraphs.append(f"Why not shown: {finding.not_shown}")
    paragraphs += [f"So: {finding.meaning}", f"Check your own: {finding.check}"]
    chart = _rows_chart(finding.rows)
    rows = table(
        ("measured", "value", "unit", "note"),
        ((r.label, _value(r.value), r.unit, r.note) for r in finding.rows),
        numeric=(1,),
    )
    return Section(
        f"{lesson.number}. {lesson.title}",
        paragraphs=tuple(paragraphs),
        charts=(chart,) if chart else (),
        tables=(rows,) if finding.rows else (),
        badge=verdict,
        badge_kind=kind,
    )


def _value(value: float) -> str:
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.2f}"


def _rows_chart(rows: tuple[Row, ...]) -> Chart | None:
    """Bars for the largest group of rows that share a unit, when there are two or more."""
    by_unit: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        by_unit[row.unit].append(row)
    if not by_unit:
        return None
    unit, group = max(by_unit.items(), key=lambda item: len(item[1]))
    if len(group) < 2:
        return None
    import plotly.graph_objects as go

    figure = go.Figure(
        go.Bar(
            x=[r.value for r in group],
            y=[r.label for r in group],
            orientation="h",
            text=[_value(r.value) for r in group],
            textposition="auto",
            hovertext=[r.note for r in group],
        )
    )
    figure.update_yaxes(autorange="reversed")
    figure.update_xaxes(title=unit)
    figure.update_layout(height=max(220, 60 + 45 * len(group)))
    return Chart(figure_json(figure))
