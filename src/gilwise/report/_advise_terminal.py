"""The advisor's answer on a terminal: the pick, its reasons, the measurements, the code."""

from __future__ import annotations

import sys

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from ..advise import AdviceReport, Measurement
from ._figures import best_speedups
from ._terminal import console_width

_BAR_WIDTH = 40


def render_advice(report: AdviceReport, console: Console | None = None) -> None:
    """Print ``report`` (to stdout unless another console is given)."""
    console = console or Console(highlight=False, width=console_width(sys.stdout))
    console.print(advice(report))


def advice(report: AdviceReport) -> RenderableType:
    r = report.recommendation
    head = Text.assemble(
        ("recommendation  ", "bold"),
        (f"{r.backend}", "bold green"),
        f" · {r.workers} worker{'s' * (r.workers > 1)}",
        f" · chunksize {r.chunksize}" if r.chunksize > 1 else "",
        f" · {r.items_per_s:,.0f} items/s · {r.speedup:.2f}x serial",
    )
    parts: list[RenderableType] = [head, Text("")]
    parts += [Text(f"• {line}") for line in report.explanation]
    parts += [Text(""), _table(report.measurements), _chart(report.measurements)]
    parts.append(Text("apply it:", style="bold"))
    if r.pmap_code:
        parts += [
            Syntax(r.pmap_code, "python", background_color="default"),
            Text("or, with the standard library:", style="dim"),
        ]
    parts.append(Syntax(r.code, "python", background_color="default"))
    parts.append(Text(_footer(report), style="dim"))
    title = f"gilwise advise · {report.target}"
    return Panel(Group(*parts), title=Text(title), title_align="left", box=box.ROUNDED)


def _table(measurements: tuple[Measurement, ...]) -> RenderableType:
    table = Table(box=box.SIMPLE_HEAD, title="measurements", title_justify="left")
    for name in ("backend", "workers", "chunk", "items/s", "speedup", "start+stop", "items"):
        table.add_column(name, justify="left" if name == "backend" else "right", no_wrap=True)
    for m in measurements:
        table.add_row(
            m.backend + (" (again)" if m.repeat else ""),
            str(m.workers),
            str(m.chunksize),
            f"{m.items_per_s:,.0f}",
            f"{m.speedup:.2f}x",
            f"{(m.startup_s + m.shutdown_s) * 1e3:.0f} ms",
            str(m.items),
        )
    return table


def _chart(measurements: tuple[Measurement, ...]) -> RenderableType:
    """Speedup against worker count, one bar per configuration, grouped by backend.

    Each bar is the configuration's best run, the figure the recommendation's speedup
    uses: an average would put a disturbed run (noise only slows) into the bar.
    """
    best = best_speedups(measurements)
    top = max(best.values(), default=1.0) or 1.0
    lines: list[RenderableType] = [
        Text.assemble(("speedup vs serial", "bold"), " (best run of each configuration)")
    ]
    for (backend, workers), speedup in best.items():
        bar = "█" * max(1, round(_BAR_WIDTH * speedup / top))
        lines.append(
            Text.assemble(f"{backend:>11} {workers:>4} ", (bar, "cyan"), f" {speedup:.2f}x")
        )
    lines.append(Text(""))
    return Group(*lines)


def _footer(report: AdviceReport) -> str:
    noise = "n/a" if report.noise is None else f"{report.noise:.0%}"
    parts = [
        f"{report.python} · {report.usable_cores:g} usable cores · start method "
        f"{report.start_method}",
        f"spent {report.spent_s:.1f} s of a {report.budget_s:g} s budget on "
        f"{len(report.measurements)} runs · run-to-run noise {noise}",
    ]
    parts += [f"not measured: {s}" for s in report.skipped]
    parts += list(report.budget_notes)
    return "\n".join(parts)
