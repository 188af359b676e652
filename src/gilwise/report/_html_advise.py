"""The advisor's report as an HTML page: the pick, the reasons, speedup curves, the code."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from ..advise._report import AdviceReport, Measurement, ScalingModel
from ._html import Chart, Page, Section, Table, figure_json, render_page, table


def advice_html(report: AdviceReport) -> str:
    """The whole page for one ``gilwise advise`` run."""
    r = report.recommendation
    pick = (
        f"{r.backend} · {r.workers} worker{'s' * (r.workers > 1)}"
        + (f" · chunksize {r.chunksize}" if r.chunksize > 1 else "")
        + f" · {r.items_per_s:,.0f} items/s · {r.speedup:.2f}× serial"
    )
    noise = "n/a" if report.noise is None else f"{report.noise:.0%}"
    page = Page(
        title=f"gilwise advise · {report.target}",
        subtitle="Your function, measured under each concurrency model on this machine.",
        facts=(
            ("python", report.python),
            ("usable cores", f"{report.usable_cores:g}"),
            ("start method", report.start_method),
            ("spent", f"{report.spent_s:.1f} s of {report.budget_s:g} s"),
            ("run-to-run noise", noise),
        ),
        sections=(
            Section("Recommendation", paragraphs=(pick,), bullets=report.explanation),
            Section(
                "Speedup against workers",
                charts=(Chart(_speedup_figure(report), _speedup_caption(report)),),
            ),
            Section("Measurements", tables=(_measurement_table(report.measurements),)),
            Section("Apply it with gilwise.pmap", code=r.pmap_code),
            Section("Or with the standard library", code=r.code),
            _notes(report),
        ),
        footer=f"gilwise {report.gilwise_version} · schema {report.schema}",
    )
    return render_page(page)


def _best_speedups(measurements: tuple[Measurement, ...]) -> dict[str, list[tuple[int, float]]]:
    best: dict[tuple[str, int], float] = defaultdict(float)
    for m in measurements:
        best[(m.backend, m.workers)] = max(best[(m.backend, m.workers)], m.speedup)
    curves: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for (backend, workers), speedup in sorted(best.items()):
        curves[backend].append((workers, speedup))
    return curves


def _speedup_figure(report: AdviceReport) -> str:
    import plotly.graph_objects as go

    figure = go.Figure()
    for backend, points in _best_speedups(report.measurements).items():
        figure.add_trace(
            go.Scatter(
                x=[w for w, _ in points],
                y=[s for _, s in points],
                mode="lines+markers",
                name=f"{backend} (measured)",
            )
        )
    for model in report.models:
        if model.predicted:
            figure.add_trace(_prediction_trace(model))
    figure.add_hline(y=1.0, line_dash="dot", line_color="#94a3b8", annotation_text="serial")
    figure.update_xaxes(title="workers", type="log", dtick=0.30102999566)
    figure.update_yaxes(title="speedup vs serial (best run)", rangemode="tozero")
    return figure_json(figure)


def _prediction_trace(model: ScalingModel) -> Any:
    import plotly.graph_objects as go

    return go.Scatter(
        x=[w for w, _ in model.predicted],
        y=[s for _, s in model.predicted],
        mode="lines",
        line={"dash": "dash"},
        name=f"{model.backend} ({model.law} fit)",
    )


def _speedup_caption(report: AdviceReport) -> str:
    fits = [
        f"{m.backend}: {m.law}, R² {m.r_squared:.2f}"
        for m in report.models
        if m.r_squared is not None
    ]
    text = "Solid lines: the best run of each configuration. Dashed: the fitted model."
    return f"{text} {'; '.join(fits)}." if fits else text


def _measurement_table(measurements: tuple[Measurement, ...]) -> Table:
    return table(
        ("backend", "workers", "chunk", "items/s", "speedup", "start+stop", "items"),
        (
            (
                m.backend + (" (again)" if m.repeat else ""),
                str(m.workers),
                str(m.chunksize),
                f"{m.items_per_s:,.0f}",
                f"{m.speedup:.2f}×",
                f"{(m.startup_s + m.shutdown_s) * 1e3:.0f} ms",
                str(m.items),
            )
            for m in measurements
        ),
        numeric=range(1, 7),
    )


def _notes(report: AdviceReport) -> Section:
    p = report.profile
    facts = [
        f"one call: {p.item_wall_s * 1e3:.3g} ms wall, {p.cpu_fraction:.0%} of it on the CPU",
        f"first call: {p.first_call_s * 1e3:.3g} ms",
    ]
    if p.gil_held_fraction is not None:
        facts.append(f"holds the GIL for about {p.gil_held_fraction:.0%} of its CPU time")
    if p.item_pickle_bytes is not None and p.pickle_share is not None:
        facts.append(
            f"pickling an item and its result: {p.item_pickle_bytes:,} bytes, "
            f"{p.pickle_share:.1%} of a call"
        )
    if not p.picklable and p.not_picklable_reason:
        facts.append(p.not_picklable_reason)
    return Section(
        "Profile and budget",
        bullets=tuple(facts) + tuple(f"not measured: {s}" for s in report.skipped),
        paragraphs=report.budget_notes,
    )
