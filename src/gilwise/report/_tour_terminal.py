"""The tour on a terminal: each lesson as claim, measurement, meaning, and a command to try."""

from __future__ import annotations

import sys

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from ..tour import LessonResult, TourReport

_HELD: dict[bool | None, tuple[str, str]] = {
    True: ("held here", "green"),
    False: ("did NOT hold here", "bold red"),
    None: ("not shown on this machine", "yellow"),
}


def console() -> Console:
    return Console(highlight=False, width=None if sys.stdout.isatty() else 100)


def lesson_panel(result: LessonResult) -> RenderableType:
    f = result.finding
    verdict, style = _HELD[f.held]
    parts: list[RenderableType] = [
        Text.assemble(("claim  ", "dim"), result.claim),
        Text.assemble(("here   ", "dim"), f.measured, "  ", (f"[{verdict}]", style)),
    ]
    if f.not_shown:
        parts.append(Text.assemble(("why    ", "dim"), f.not_shown))
    if f.rows:
        parts.append(_rows(result))
    parts += [
        Text.assemble(("so     ", "dim"), f.meaning),
        Text.assemble(("yours  ", "dim"), (f.check, "cyan")),
    ]
    title = f"{result.number}. {result.title} · {result.seconds:.1f} s"
    return Panel(Group(*parts), title=Text(title), title_align="left", box=box.ROUNDED)


def _rows(result: LessonResult) -> RenderableType:
    table = Table(box=box.SIMPLE, show_header=False, padding=(0, 1))
    table.add_column(no_wrap=True)
    table.add_column(justify="right", no_wrap=True)
    table.add_column(style="dim", no_wrap=True)
    table.add_column(style="dim")
    for row in result.finding.rows:
        value = f"{row.value:,.0f}" if abs(row.value) >= 100 else f"{row.value:.2f}"
        table.add_row(Text(row.label), value, Text(row.unit), Text(row.note))
    return table


def closing(report: TourReport) -> RenderableType:
    held = sum(1 for r in report.lessons if r.finding.held is True)
    failed = [r for r in report.lessons if r.finding.held is False]
    text = (
        f"{held} of {len(report.lessons)} claims held on this machine ({report.python}, "
        f"{report.usable_cores:g} usable cores) in {report.seconds:.0f} s."
    )
    if failed:
        text += " Did not hold: " + ", ".join(str(r.number) for r in failed) + "."
    return Text(text, style="bold")


def render_tour(report: TourReport) -> None:
    """Print a whole tour again, lesson by lesson, then the closing line (a saved report)."""
    out = console()
    for result in report.lessons:
        out.print(lesson_panel(result))
    out.print(closing(report))
