"""A monitored run as an HTML page: verdicts, contention and loop lag over time, threads, stalls."""

from __future__ import annotations

from typing import Protocol

from ..monitor._report import LoopReport, Report, Stall
from ._html import Chart, Listing, Page, Section, figure_json, render_page, table

_VERDICT_KIND = {"NO_ISSUE": "good", "NATIVE_PARALLEL": "good", "IO_BOUND": "neutral"}
_MAX_STALLS_LISTED = 50


def run_html(report: Report) -> str:
    """The whole page for one ``gilwise run`` (or ``watch()``) report."""
    command = " ".join(report.command) if report.command else "watch()"
    gil = report.gil
    facts = [
        ("python", report.python),
        ("duration", f"{report.duration_s:.2f} s"),
        ("GIL wait", "n/a" if gil.wait_fraction is None else f"{gil.wait_fraction:.0%}"),
        ("CPU", f"{report.process.cpu_cores_used:.2f} of {report.process.usable_cores:g} cores"),
        ("threads seen", str(report.process.threads_seen)),
    ]
    if report.exit_code is not None:
        facts.append(("exit status", str(report.exit_code)))
    sections = [*(_verdict(v.code, v.title, v.message, v.fix) for v in report.verdicts)]
    if report.timeline:
        sections.append(_timeline(report))
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


def _timeline(report: Report) -> Section:
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    points = report.timeline
    times = [p.t_s for p in points]
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(
        go.Scatter(
            x=times,
            y=[None if p.gil_wait_fraction is None else 100 * p.gil_wait_fraction for p in points],
            name="GIL wait (% of time)",
            mode="lines+markers",
        ),
        secondary_y=False,
    )
    figure.add_trace(
        go.Scatter(x=times, y=[p.cpu_cores_used for p in points], name="CPU cores used"),
        secondary_y=True,
    )
    figure.update_yaxes(title="GIL wait %", range=[0, 100], secondary_y=False)
    figure.update_yaxes(title="cores", rangemode="tozero", secondary_y=True)
    figure.update_xaxes(title="seconds since start")
    charts = [Chart(figure_json(figure), "GIL contention and CPU use, about one point a second.")]
    if any(p.loop_lag_max_ms is not None for p in points):
        lag = go.Figure(
            go.Scatter(x=times, y=[p.loop_lag_max_ms for p in points], name="worst loop lag")
        )
        lag.add_hline(
            y=report.stall_ms, line_dash="dot", annotation_text=f"stall ({report.stall_ms:g} ms)"
        )
        lag.update_xaxes(title="seconds since start")
        lag.update_yaxes(title="worst event-loop lag (ms)", rangemode="tozero")
        charts.append(Chart(figure_json(lag), "The longest wait of any event loop per window."))
    return Section("Over time", charts=tuple(charts))


def _threads(report: Report) -> Section:
    import plotly.graph_objects as go

    threads = report.threads
    names = [f"{t.name} ({t.ident})" for t in threads]
    figure = go.Figure()
    for label, values in (
        ("running (GIL wait included)", [100 * t.running_fraction for t in threads]),
        ("waiting for the GIL", [100 * (t.gil_wait_fraction or 0.0) for t in threads]),
        ("blocked (I/O, sleep, locks)", [100 * t.waiting_fraction for t in threads]),
    ):
        figure.add_trace(go.Bar(y=names, x=values, name=label, orientation="h"))
    figure.update_layout(barmode="group", height=max(260, 80 + 60 * len(threads)))
    figure.update_xaxes(title="% of the thread's samples", range=[0, 100])
    figure.update_yaxes(autorange="reversed")
    rows = (
        (
            t.name,
            f"{t.wall_seconds:.2f} s",
            "n/a" if t.cpu_seconds is None else f"{t.cpu_seconds:.2f} s",
            "n/a" if t.gil_wait_fraction is None else f"{t.gil_wait_fraction:.0%}",
            _where(t.top_lines[0]) if t.top_lines else "",
        )
        for t in threads
    )
    return Section(
        "Threads",
        charts=(Chart(figure_json(figure), "Where each thread's samples landed."),),
        tables=(table(("thread", "wall", "CPU", "GIL wait", "hottest line"), rows, (1, 2, 3)),),
    )


class _Located(Protocol):
    """A frame or a line statistic: both name a place in the source."""

    @property
    def file(self) -> str: ...
    @property
    def line(self) -> int: ...
    @property
    def function(self) -> str: ...


def _where(place: _Located) -> str:
    return f"{place.file}:{place.line} in {place.function}"


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
                ("at", "stalled", "blocking line", "coroutine", "task ← awaited by"), rows, (0, 1)
            ),
        )
        if stalls
        else (),
        listings=tuple(_stall_listing(i, s) for i, s in enumerate(stalls, start=1)),
        badge=f"{loop.stalls_total} stalls" if loop.stalls_total else "no stalls",
        badge_kind="bad" if loop.stalls_total else "good",
    )


def _stall_listing(number: int, stall: Stall) -> Listing:
    lines = tuple(_where(frame) for frame in stall.stack)
    if stall.tasks:
        lines += (f"in {stall.task_chain(_where)}",)
    return Listing(f"stall {number}: {stall.duration_ms:.0f} ms — stack", lines, open=number == 1)
