"""The end-of-run summary on a terminal, drawn with rich."""

from __future__ import annotations

import linecache
import os
import sys

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.table import Table
from rich.text import Text

from .._core._where import where
from ..monitor import Frame, GilReport, LoopReport, Report, ThreadReport
from ._figures import (
    CHILDREN_SHOWN_CORES,
    ThreadRows,
    counted_from_note,
    holders_worth_showing,
    short_name,
    stall_causes,
    thread_rows,
    unseen_holder_phrase,
    unseen_threads_note,
)

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import TextIO

_VERDICT_STYLE = {
    "NO_ISSUE": "green",
    "NATIVE_PARALLEL": "green",
    "IO_BOUND": "cyan",
    "CHILD_PROCESSES": "cyan",
}
_MAX_STALLS_SHOWN = 3
_MAX_HOLDERS_SHOWN = 3


def render_summary(report: Report, console: Console | None = None) -> None:
    """Print the summary of ``report`` (to stderr unless another console is given)."""
    console = console or Console(stderr=True, highlight=False, width=console_width(sys.stderr))
    console.print(summary(report))


def summary(report: Report) -> RenderableType:
    parts: list[RenderableType] = [_verdicts(report), _figures(report)]
    if report.threads:
        parts.append(_threads(report))
    parts += [_loop(loop) for loop in report.loops]
    if report.monitor_errors:
        parts.append(Text("monitor problems: " + "; ".join(report.monitor_errors), style="red"))
    title = f"gilwise · {_command(report)} · {report.duration_s:.2f} s"
    if report.exit_code is not None:
        title += f" · exit {report.exit_code}"
    return Panel(Group(*parts), title=Text(title), title_align="left", box=box.ROUNDED)


def _command(report: Report) -> str:
    return " ".join(report.command) if report.command else "watch"


def _verdicts(report: Report) -> RenderableType:
    rows: list[RenderableType] = []
    for v in report.verdicts:
        style = _VERDICT_STYLE.get(v.code, "bold yellow")
        head = Text.assemble((f"{v.code}", style), "  ", (v.title, "bold"))
        rows += [head, Text(v.message), Text.assemble(("fix: ", "dim"), v.fix), Text("")]
    return Group(*rows)


def _figures(report: Report) -> RenderableType:
    gil, proc = report.gil, report.process
    table = Table.grid(padding=(0, 2))
    table.add_column(style="dim")
    table.add_column()
    wait = "n/a" if gil.wait_fraction is None else f"{gil.wait_fraction:.0%}"
    waiting = (
        ""
        if gil.mean_waiting_threads is None
        else (f" (avg {gil.mean_waiting_threads:.2f} threads waiting)")
    )
    how = "counted" if gil.method.startswith("counted") else "estimated"
    late = counted_from_note(report)
    how += f" {late}" if late else ""
    table.add_row("GIL wait", f"{wait} of the time someone waited{waiting} · {how}{_few(gil)}")
    if holders_worth_showing(gil):
        _add_holders(table, gil)
    table.add_row("GIL latency", _latency(gil))
    # Threads are seen by sampling: with no sample taken, "0 threads" would be untrue.
    threads = (
        f" · threads: {proc.threads_seen} seen, {proc.max_threads_alive} at once"
        if gil.probe.count
        else ""
    )
    children = (
        f" · child processes {proc.children_cores_used:.2f} cores"
        if proc.children_cores_used >= CHILDREN_SHOWN_CORES
        else ""
    )
    table.add_row(
        "CPU",
        f"{proc.cpu_cores_used:.2f} of {proc.usable_cores:g} usable cores "
        f"({proc.utilisation:.0%}){children}{threads}",
    )
    if proc.run_queue_fraction is not None:
        table.add_row("CPU starvation", f"{proc.run_queue_fraction:.0%} of thread time runnable")
    table.add_row("monitor cost", f"{proc.monitor_cpu_seconds * 1000:.0f} ms CPU")
    return table


#: A share of the wait behind unseen holders worth a line of its own.
_UNSEEN_SHOWN = 0.05

#: Fewer samples than this make the GIL figures rough, and the summary says so.
FEW_SAMPLES = 30


def _add_holders(table: Table, gil: GilReport) -> None:
    for n, holder in enumerate(gil.holders[:_MAX_HOLDERS_SHOWN]):
        table.add_row(
            "GIL held by" if n == 0 else "",
            Text(
                f"{where(holder.file, holder.line, holder.function, relative_to=os.curdir)} "
                f"({holder.held_by}): {holder.wait_share:.0%} of the wait"
            ),
        )
    if gil.holder_unseen_share >= _UNSEEN_SHOWN:
        held_in = unseen_holder_phrase(gil)
        table.add_row(
            "GIL held by" if not gil.holders else "",
            f"a line no sample saw{held_in}: {gil.holder_unseen_share:.0%} of the wait "
            "(no sample caught its holder at the line it ran)",
        )


def _few(gil: GilReport) -> str:
    # The readings behind the figure (the watcher's reads can be many where the sampler
    # got few turns); reports saved before they were kept have the probes only.
    samples = gil.samples or gil.probe.count
    if samples >= FEW_SAMPLES:
        return ""
    if samples == 0:
        return " · no samples: the run ended before the first"
    return f" · only {samples} samples: a rough figure"


def _latency(gil: GilReport) -> str:
    probe = gil.probe
    if probe.count == 0:
        return "n/a (no probes)"
    return (
        f"p50 {probe.p50_ms:.2f} ms · p99 {probe.p99_ms:.2f} ms · "
        f"max {probe.max_ms:.2f} ms ({probe.count} probes)"
    )


def _threads(report: Report) -> RenderableType:
    shown = thread_rows(report.threads)
    table = Table(box=box.SIMPLE_HEAD, title="threads", title_justify="left", expand=False)
    plain = [short_name(t.name, _NAME_WIDTH) for t in shown.rows]
    # Held at its width: squeezed by a long hottest line, rich cut names at the end
    # ("Thread-2 (bu…"), which is where threads differ.
    widest = max(map(len, plain), default=0)
    table.add_column("thread", min_width=widest, max_width=_NAME_WIDTH, no_wrap=True)
    for name in ("CPU s", "CPU/wall", "GIL wait", "running"):
        table.add_column(name, justify="right", no_wrap=True, min_width=len(name))
    table.add_column("hottest line", no_wrap=True, overflow="ellipsis")
    for name, t in zip(plain, shown.rows, strict=True):
        table.add_row(
            Text(name),
            _num(t.cpu_seconds, "{:.2f}"),
            _pct(t.cpu_fraction),
            _pct(t.gil_wait_fraction),
            _pct(t.running_fraction),
            Text(_hottest(t)),
        )
    # Below the table, not its caption: a caption wider than the table was cut at the
    # panel's edge ("(CPU + GIL wait" lost its ") are").
    notes = [Text(_threads_caption(shown), style="dim")]
    unseen = unseen_threads_note(report)
    if unseen:
        notes.append(Text(f"{unseen}."))
    return Group(table, *notes)


#: Widest thread name shown; longer ones lose their middle.
_NAME_WIDTH = 22


def _threads_caption(shown: ThreadRows) -> str:
    # The units differ by column, so the caption says which is which: a "running" share
    # below the "GIL wait" one is not a contradiction when one counts samples.
    text = "CPU/wall, GIL wait: shares of the thread's time · running: of its samples"
    if shown.others is None:
        return text
    return (
        f"{text}. The {len(shown.named)} busiest threads (CPU + GIL wait) are named; "
        f"the other {shown.others_count:,} are summed in the last row."
    )


def _hottest(t: ThreadReport) -> str:
    if not t.top_lines:
        return ""
    top = t.top_lines[0]
    state = "running" if top.running >= top.waiting else "waiting"
    return f"{top.function} {os.path.basename(top.file)}:{top.line} ({state})"


def _loop(loop: LoopReport) -> RenderableType:
    lines: list[RenderableType] = [
        Text.assemble(
            ("event loop ", "bold"),
            f"{loop.loop_class} in {loop.thread_name}: lag p50 {loop.lag.p50_ms:.2f} ms · "
            f"p99 {loop.lag.p99_ms:.2f} ms · max {loop.lag.max_ms:.1f} ms · "
            f"{loop.stalls_total} stall(s)",
        )
    ]
    if loop.busy_machine_stalls:
        lines.append(
            Text(
                f"  {loop.busy_machine_stalls} more late heartbeat(s) came from a busy machine "
                "(the loop thread waited for a CPU other processes held): not counted as stalls",
                style="dim",
            )
        )
    for stall in loop.stalls[:_MAX_STALLS_SHOWN]:
        lines.append(Text(f"  stall {stall.duration_ms:.0f} ms at +{stall.started_at_s:.2f} s"))
        if stall.gil_holder_thread:
            held = f"    the loop waited for the GIL, held by thread {stall.gil_holder_thread!r}"
            at = ":" if stall.gil_holder is not None else ", at a line no sample saw"
            lines.append(Text(held + at))
        elif doing := stall_causes(stall.causes):
            lines.append(Text(f"    the loop thread was: {doing}", style="dim"))
        if stall.culprit is not None:
            lines.append(Text(f"    {_where(stall.culprit)}", style="yellow"))
            source = linecache.getline(stall.culprit.file, stall.culprit.line).strip()
            if source:
                lines.append(Text(f"      {source}", style="dim"))
        if stall.coroutine is not None and stall.coroutine != stall.culprit:
            lines.append(Text(f"    called from coroutine {_where(stall.coroutine)}"))
        if stall.tasks:
            lines.append(Text(f"    in {stall.task_chain(_where)}"))
    return Group(*lines)


def _where(frame: Frame) -> str:
    # Paths under the working directory as the reader would type them.
    return where(frame.file, frame.line, frame.function, relative_to=os.curdir)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


def _num(value: float | None, fmt: str) -> str:
    return "–" if value is None else fmt.format(value)


def console_width(stream: TextIO) -> int | None:
    """The width to draw at (None: rich's own choice, the terminal's or ``COLUMNS``).

    Piped output would get 80 columns, too narrow for the thread table: 110 unless the
    user set ``COLUMNS``.
    """
    if stream.isatty() or os.environ.get("COLUMNS", "").strip().isdigit():
        return None
    return 110
