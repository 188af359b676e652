"""The advisor's report as an HTML page: the pick, the reasons, speedup curves, the code."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

from .._core._backends import advised_backends
from .._core._units import duration, size
from ..advise import AdviceReport, Measurement, ScalingModel, usl_speedup
from ._figures import best_speedups
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


#: One colour per backend, so a model's dashed line has its measurements' colour.
_COLOURS = dict(
    zip(
        advised_backends(),
        ("#64748b", "#2563eb", "#16a34a", "#9333ea", "#ea580c", "#0891b2"),
        strict=True,
    )
)


def _measured_curves(report: AdviceReport) -> dict[str, list[tuple[int, float]]]:
    curves: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for (backend, workers), speedup in best_speedups(report.measurements).items():
        curves[backend].append((workers, speedup))
    return curves


def _speedup_figure(report: AdviceReport) -> str:
    import plotly.graph_objects as go

    figure = go.Figure()
    curves = _measured_curves(report)
    for backend, points in curves.items():
        figure.add_trace(
            go.Scatter(
                x=[w for w, _ in points],
                y=[s for _, s in points],
                mode="lines+markers",
                line={"color": _COLOURS.get(backend)},
                name=f"{backend} (measured)",
            )
        )
    for model in report.models:
        one_worker = dict(curves.get(model.backend, ())).get(1)
        if one_worker is not None:
            figure.add_trace(_model_trace(model, one_worker, _model_workers(report, model)))
    figure.add_hline(y=1.0, line_dash="dot", line_color="#94a3b8", annotation_text="serial")
    figure.add_vline(x=report.usable_cores, line_dash="dot", line_color="#94a3b8")
    # Annotations on a log axis take the exponent (shapes take the value): plotly's rule.
    figure.add_annotation(
        x=math.log10(report.usable_cores),
        y=1,
        yref="paper",
        text=f" {report.usable_cores:g} usable cores",
        showarrow=False,
        xanchor="left",
    )
    figure.update_xaxes(title="workers", type="log", dtick=0.30102999566)
    figure.update_yaxes(title="speedup vs serial (best run)", rangemode="tozero")
    return figure_json(figure)


#: The model is drawn up to this many times the usable cores (or the most workers
#: measured): as far as the predictions the explanation quotes (2 and 4 times the cores),
#: and no further, so that its far end does not squash the measured curves flat.
MODEL_REACH = 4


def _model_workers(report: AdviceReport, model: ScalingModel) -> list[int]:
    """Worker counts on the x axis to draw the model at: measured, predicted, powers of two."""
    measured = {m.workers for m in report.measurements}
    reach = max([*measured, MODEL_REACH * math.floor(report.usable_cores)])
    counts = measured | {n for n, _ in model.predicted if n <= reach}
    counts |= {2**k for k in range(reach.bit_length()) if 2**k <= reach}
    return sorted(counts)


def model_points(
    model: ScalingModel, one_worker: float, workers: list[int]
) -> list[tuple[int, float]]:
    """The fitted law at each worker count, on the chart's axis (speedup against serial).

    The law gives speedup against the backend's own one worker
    (``ScalingModel``, ``_model.fit``); times that one worker's speedup against serial,
    it shares the axis with the measured curves. ``ScalingModel.predicted`` is not
    drawn: it holds only the counts the text quotes, and in the law's own unit.
    """
    return [(n, one_worker * usl_speedup(n, model.contention, model.coherency)) for n in workers]


def _model_trace(model: ScalingModel, one_worker: float, workers: list[int]) -> Any:
    import plotly.graph_objects as go

    points = model_points(model, one_worker, workers)
    own = [s / one_worker for _, s in points]
    return go.Scatter(
        x=[n for n, _ in points],
        y=[s for _, s in points],
        customdata=own,
        mode="lines",
        line={"dash": "dash", "color": _COLOURS.get(model.backend)},
        name=f"{model.backend} ({model.law} model)",
        hovertemplate="%{y:.2f}× serial, %{customdata:.2f}× one worker, at %{x} workers"
        f"<extra>{model.backend} model</extra>",
    )


def _speedup_caption(report: AdviceReport) -> str:
    fits = [
        f"{m.backend}: {m.law}, contention {m.contention:.0%}, coherency {m.coherency:.3g}"
        + (f", R² {m.r_squared:.2f}" if m.r_squared is not None else "")
        for m in report.models
    ]
    text = (
        "Solid lines: the best run of each configuration, against the best serial run. "
        "Dashed: each backend's fitted model, n / (1 + contention·(n−1) + coherency·n·(n−1)) "
        "times its one-worker speedup, so that it shares this axis. Past the usable cores "
        "the model predicts a machine with that many cores; this one has fewer."
    )
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
        f"one call: {duration(p.item_wall_s)} wall, {p.cpu_fraction:.0%} of it on the CPU",
        f"first call: {duration(p.first_call_s)}",
    ]
    if p.gil_held_fraction is not None:
        facts.append(f"holds the GIL for about {p.gil_held_fraction:.0%} of its CPU time")
    if p.item_pickle_bytes is not None and p.pickle_share is not None:
        # The same figure and formatter as the explanation's sentence (_process_costs).
        pickled = (p.item_pickle_bytes or 0) + (p.result_pickle_bytes or 0)
        facts.append(
            f"pickling an item and its result: {size(pickled)}, {p.pickle_share:.0%} of a call"
        )
    if not p.picklable and p.not_picklable_reason:
        facts.append(p.not_picklable_reason)
    return Section(
        "Profile and budget",
        bullets=tuple(facts) + tuple(f"not measured: {s}" for s in report.skipped),
        paragraphs=report.budget_notes,
    )
