"""A monitored run as an HTML page: verdicts, contention and loop lag over time, threads, stalls."""

from __future__ import annotations

import itertools
from typing import Any, NamedTuple, Protocol

from .._core._where import where
from ..monitor import LoopReport, Report, Stall, ThreadReport, TimelinePoint
from ._figures import (
    CHILDREN_SHOWN_CORES,
    ThreadRows,
    counted_from_note,
    holders_worth_showing,
    short_name,
    stall_causes,
    thread_rows,
    thread_time,
    unseen_holder_phrase,
    unseen_threads_note,
)
from ._html import Chart, Listing, Page, Section, Table, figure_json, render_page, table

_VERDICT_KIND = {
    "NO_ISSUE": "good",
    "NATIVE_PARALLEL": "good",
    "IO_BOUND": "neutral",
    "CHILD_PROCESSES": "neutral",
}
_MAX_STALLS_LISTED = 50


def run_html(report: Report) -> str:
    """The whole page for one ``gilwise run`` (or ``watch()``) report."""
    command = " ".join(report.command) if report.command else "watch()"
    gil = report.gil
    facts = [
        ("python", report.python),
        ("duration", f"{report.duration_s:.2f} s"),
        ("GIL wait", _gil_wait(report)),
        ("CPU", f"{report.process.cpu_cores_used:.2f} of {report.process.usable_cores:g} cores"),
        # Threads are seen by sampling: none were if the run ended before the first sample.
        ("threads seen", str(report.process.threads_seen) if gil.probe.count else "n/a"),
    ]
    if report.process.children_cores_used >= CHILDREN_SHOWN_CORES:
        facts.append(("child processes", f"{report.process.children_cores_used:.2f} cores"))
    if report.exit_code is not None:
        facts.append(("exit status", str(report.exit_code)))
    sections = [*(_verdict(v.code, v.title, v.message, v.fix) for v in report.verdicts)]
    if report.timeline or any(loop.stalls for loop in report.loops):
        sections.append(_over_time(report))
    if holders_worth_showing(gil):
        sections.append(_holders(report))
    if report.threads:
        sections.append(_threads(report))
    sections += [_loop(loop) for loop in report.loops]
    if report.monitor_errors:
        sections.append(Section("Monitor problems", bullets=report.monitor_errors))
    page = Page(
        title=f"gilwise run · {command}",
        subtitle="What concurrency did in this program: GIL contention, threads, event loops.",
        facts=tuple(facts),
        sections=tuple(sections),
        footer=f"gilwise {report.gilwise_version} · schema {report.schema} · "
        f"started {report.started_at}",
    )
    return render_page(page)


def _verdict(code: str, title: str, message: str, fix: str) -> Section:
    return Section(
        title,
        paragraphs=(message, f"Fix to consider: {fix}"),
        badge=code,
        badge_kind=_VERDICT_KIND.get(code, "warn"),
    )


class _StallSpan(NamedTuple):
    """A loop stall on the time axis: seconds from the start of monitoring."""

    start_s: float
    end_s: float
    duration_ms: float
    loop_id: int


def _stall_spans(report: Report) -> list[_StallSpan]:
    return sorted(
        _StallSpan(
            s.started_at_s, s.started_at_s + s.duration_ms / 1000, s.duration_ms, loop.loop_id
        )
        for loop in report.loops
        for s in loop.stalls
    )


def _over_time(report: Report) -> Section:
    # Stalls are drawn from the stall list, not found in the timeline: a timeline window
    # (a second by default) averages a 200 ms stall away, the stall list keeps it whole.
    stalls = _stall_spans(report)
    points = report.timeline
    end = max([report.duration_s, *(p.t_s for p in points), *(s.end_s for s in stalls)])
    charts: list[Chart] = []
    if points:
        charts.append(_contention_chart(points, stalls, end))
    if stalls or any(p.loop_lag_max_ms is not None for p in points):
        charts.append(_lag_chart(report, stalls, end))
    return Section("Over time", charts=tuple(charts))


def _contention_chart(
    points: tuple[TimelinePoint, ...], stalls: list[_StallSpan], end: float
) -> Chart:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    times = [p.t_s for p in points]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(
        go.Scatter(
            x=times,
            y=[None if p.gil_wait_fraction is None else 100 * p.gil_wait_fraction for p in points],
            name="GIL wait (% of the window's time)",
            mode="lines+markers",
        ),
        secondary_y=False,
    )
    figure.add_trace(
        go.Scatter(
            x=times,
            y=[p.cpu_cores_used for p in points],
            name="CPU cores used",
            mode="lines+markers",
        ),
        secondary_y=True,
    )
    figure.update_yaxes(title="GIL wait, % of time", range=[0, 100], secondary_y=False)
    figure.update_yaxes(title="cores", rangemode="tozero", secondary_y=True)
    _time_axis(figure, stalls, end)
    caption = f"GIL contention and CPU use, {_resolution(times)}, each point ending its window."
    if stalls:
        caption += " Red bands: event-loop stalls, at their true length."
    return Chart(figure_json(figure), caption)


def _lag_chart(report: Report, stalls: list[_StallSpan], end: float) -> Chart:
    import plotly.graph_objects as go

    points = report.timeline
    figure = go.Figure()
    if any(p.loop_lag_max_ms is not None for p in points):
        figure.add_trace(
            go.Scatter(
                x=[p.t_s for p in points],
                y=[p.loop_lag_max_ms for p in points],
                name="worst lag in the window",
                mode="lines+markers",
            )
        )
    if stalls:
        figure.add_trace(
            go.Scatter(
                x=[s.start_s for s in stalls],
                y=[s.duration_ms for s in stalls],
                name="stall (its length, at its start)",
                mode="markers",
                marker={"color": "#dc2626", "size": 9, "symbol": "diamond"},
                hovertemplate="stall of %{y:.0f} ms at %{x:.2f} s<extra></extra>",
            )
        )
    figure.add_hline(
        y=report.stall_ms, line_dash="dot", annotation_text=f"stall ({report.stall_ms:g} ms)"
    )
    _time_axis(figure, stalls, end)
    figure.update_yaxes(title="event-loop lag (ms)", rangemode="tozero")
    caption = "The longest wait of any event loop per window, and every stall listed below."
    return Chart(figure_json(figure), caption)


def _time_axis(figure: Any, stalls: list[_StallSpan], end: float) -> None:
    """Seconds from the start on x, the whole run shown, and each stall as a band."""
    for s in stalls:
        figure.add_vrect(
            x0=s.start_s, x1=s.end_s, fillcolor="#dc2626", opacity=0.2, line_width=0, layer="below"
        )
    figure.update_xaxes(title="seconds since start", range=[0, end])


def _resolution(times: list[float]) -> str:
    """How far apart the points are, from the points themselves (the window is a setting)."""
    steps = sorted(b - a for a, b in itertools.pairwise(times) if b > a)
    if not steps:
        return "one point"
    step = steps[len(steps) // 2]
    return f"one point every {step:.2f} s" if step < 1 else f"one point every {step:.1f} s"


#: The parts of a thread's time, drawn stacked in this order: (label, field, colour).
_THREAD_PARTS = (
    ("on a CPU", "cpu", "#2563eb"),
    ("waiting for the GIL", "gil_wait", "#dc2626"),
    ("the rest: I/O, sleep, locks, waiting for a CPU", "rest", "#cbd5e1"),
    ("not known (no CPU clock)", "unknown", "#f1f5f9"),
)


def _threads(report: Report) -> Section:
    shown = thread_rows(report.threads)
    rows = shown.rows
    unseen = unseen_threads_note(report)
    return Section(
        "Threads",
        paragraphs=(_threads_note(shown), *((f"{unseen}.",) if unseen else ())),
        charts=(Chart(_threads_figure(rows), _THREADS_CAPTION),),
        tables=(_threads_table(rows),),
    )


_THREADS_CAPTION = (
    "One bar per thread: its observed wall time as 100%, cut into time on a CPU, waiting "
    "for the GIL, and the rest. One unit for every part, so they add up to the bar."
)


def _threads_note(shown: ThreadRows) -> str:
    if shown.others is None:
        return f"{len(shown.named)} thread(s), busiest (CPU + GIL wait seconds) first."
    return (
        f"The {len(shown.named)} busiest threads (most CPU + GIL wait seconds) one by one; "
        f"the other {shown.others_count:,} threads are summed in the last bar and row "
        "(their seconds added, then shared out)."
    )


def _threads_figure(rows: tuple[ThreadReport, ...]) -> str:
    """Shares of each thread's own wall time, stacked to 100%.

    Shares, not seconds: the summed row of 1,980 other threads holds 1,980 times a
    thread's time and drew every named thread as a sliver beside it. Shares of time,
    not of samples: GIL wait exists only as time, and mixing the two drew a GIL-wait bar
    longer than the "running" bar said to contain it.
    """
    import plotly.graph_objects as go

    names = [_thread_label(t) for t in rows]
    parts = [thread_time(t) for t in rows]
    figure = go.Figure()
    for label, name, colour in _THREAD_PARTS:
        seconds = [getattr(p, name) for p in parts]
        if name == "unknown" and not any(seconds):
            continue
        percent = [
            100 * s / t.wall_seconds if t.wall_seconds > 0 else 0.0
            for s, t in zip(seconds, rows, strict=True)
        ]
        figure.add_trace(
            go.Bar(
                y=names,
                x=percent,
                name=label,
                orientation="h",
                marker_color=colour,
                customdata=seconds,
                hovertemplate=f"{label}: %{{x:.0f}}% of its time (%{{customdata:.2f}} s)"
                "<extra>%{y}</extra>",
            )
        )
    figure.update_layout(
        barmode="stack", height=max(260, 110 + 28 * len(rows)), legend_traceorder="normal"
    )
    figure.update_xaxes(title="% of the thread's wall time", range=[0, 100])
    figure.update_yaxes(autorange="reversed")
    return figure_json(figure)


#: Longer thread names are cut in the chart (the table has them whole): one long name
#: took half the chart's width from the bars.
_MAX_LABEL = 40


def _thread_label(t: ThreadReport) -> str:
    name = short_name(t.name, _MAX_LABEL)
    # The ident keeps two threads of one name apart (a chart category must be unique).
    return name if t.threads_merged > 1 or not t.ident else f"{name} ({t.ident})"


def _threads_table(rows: tuple[ThreadReport, ...]) -> Table:
    return table(
        ("thread", "wall", "CPU", "GIL wait (of its time)", "hottest line"),
        (
            (
                t.name,
                f"{t.wall_seconds:.2f} s",
                "n/a" if t.cpu_seconds is None else f"{t.cpu_seconds:.2f} s",
                "n/a" if t.gil_wait_fraction is None else f"{t.gil_wait_fraction:.0%}",
                _where(t.top_lines[0]) if t.top_lines else "",
            )
            for t in rows
        ),
        (1, 2, 3),
    )


def _gil_wait(report: Report) -> str:
    wait = report.gil.wait_fraction
    if wait is None:
        return "n/a"
    late = counted_from_note(report)
    return f"{wait:.0%} {late}" if late else f"{wait:.0%}"


class _Located(Protocol):
    """A frame or a line statistic: both name a place in the source."""

    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def function(self) -> str: ...


def _where(place: _Located) -> str:
    return where(place.file, place.line, place.function)


def _holders(report: Report) -> Section:
    gil = report.gil
    held_in = unseen_holder_phrase(gil)
    unseen = (
        (
            f"{gil.holder_unseen_share:.0%} of the wait was behind a line no sample saw"
            f"{held_in}: no sample caught its holder at the line it ran (a native call that "
            "kept the GIL returned and the thread ran on; a thread back from a blocking call; "
            "or no holder seen within a second of the wait).",
        )
        if gil.holder_unseen_share
        else ()
    )
    return Section(
        "Who held the GIL",
        paragraphs=(
            "While threads waited for the GIL, these lines were running in the thread that "
            "held it: each one's share of all the waiting it made others do (thread states "
            "counted from the kernel at every sample).",
            *unseen,
        ),
        tables=(
            table(
                ("line", "thread", "share of the wait", "others waited"),
                (
                    (
                        _where(h),
                        h.held_by,
                        f"{h.wait_share:.0%}",
                        f"{h.wait_seconds:.2f} s",
                    )
                    for h in gil.holders
                ),
                (2, 3),
            ),
        ),
    )


def _loop(loop: LoopReport) -> Section:
    lag = loop.lag
    paragraphs: tuple[str, ...] = (
        f"{loop.loop_class} in thread {loop.thread_name}: lag p50 {lag.p50_ms:.1f} ms, "
        f"p99 {lag.p99_ms:.1f} ms, worst {lag.max_ms:.1f} ms over {loop.heartbeats} heartbeats; "
        f"{loop.stalls_total} stall(s), {loop.stalled_seconds:.2f} s stalled in all.",
    )
    if loop.busy_machine_stalls:
        paragraphs += (
            f"{loop.busy_machine_stalls} more late heartbeat(s) came from a busy machine: the "
            "loop thread waited for a CPU that other processes held, so they are not counted "
            "as stalls.",
        )
    stalls = loop.stalls[:_MAX_STALLS_LISTED]
    rows = (
        (
            f"{s.started_at_s:.2f} s",
            f"{s.duration_ms:.0f} ms",
            _where(s.culprit) if s.culprit else "unknown",
            _stall_cause(s),
            _where(s.coroutine) if s.coroutine else "",
            " ← ".join(t.name for t in s.tasks),
        )
        for s in stalls
    )
    return Section(
        f"Event loop {loop.loop_id}",
        paragraphs=paragraphs,
        tables=(
            table(
                (
                    "at",
                    "stalled",
                    "blocking line",
                    "the loop thread was",
                    "coroutine",
                    "task ← awaited by",
                ),
                rows,
                (0, 1),
            ),
        )
        if stalls
        else (),
        listings=tuple(_stall_listing(i, s) for i, s in enumerate(stalls, start=1)),
        badge=f"{loop.stalls_total} stalls" if loop.stalls_total else "no stalls",
        badge_kind="bad" if loop.stalls_total else "good",
    )


def _stall_cause(stall: Stall) -> str:
    if stall.gil_holder_thread:
        held = f"waiting for the GIL, held by thread {stall.gil_holder_thread!r}"
        return held if stall.gil_holder is not None else f"{held}, at a line no sample saw"
    return stall_causes(stall.causes)


def _stall_listing(number: int, stall: Stall) -> Listing:
    lines = tuple(_where(frame) for frame in stall.stack)
    if stall.tasks:
        lines += (f"in {stall.task_chain(_where)}",)
    return Listing(f"stall {number}: {stall.duration_ms:.0f} ms — stack", lines, open=number == 1)
