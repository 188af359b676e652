"""The run page's charts: one unit per axis, a bounded thread chart, stalls on the timeline."""

from __future__ import annotations

import dataclasses

import pytest

from gilwise.monitor._report import Report, TimelinePoint
from gilwise.report._figures import MAX_THREADS_SHOWN
from gilwise.report._html_run import run_html

from ..monitor.reports import loop, report, stall, thread
from .page_parts import PageParts, page_parts
from .test_figures import many_threads

pytest.importorskip("plotly")
pytest.importorskip("jinja2")


def _parts(built: Report) -> PageParts:
    return page_parts(run_html(built))


def _threads_chart(parts: PageParts) -> dict:  # type: ignore[type-arg]
    return next(c for c in parts.charts if c["data"][0].get("type") == "bar")


def test_every_bar_of_the_threads_chart_is_a_share_of_time_and_the_parts_add_up() -> None:
    # The reported case: 30% of the samples running (GIL wait included) but 40% of the
    # time waiting for the GIL; the chart drew the 40% bar past the 30% one "containing" it.
    hot = thread("hot", ident=1, running=0.3, cpu_seconds=0.2, gil_wait_fraction=0.4)
    built = report(threads=(hot, thread("idle", ident=2, running=0.0, cpu_seconds=0.0)))
    chart = _threads_chart(_parts(built))
    assert chart["layout"]["barmode"] == "stack"
    assert chart["layout"]["xaxis"]["title"]["text"] == "% of the thread's wall time"
    assert chart["layout"]["xaxis"]["range"] == [0, 100]
    assert {t["type"] for t in chart["data"]} == {"bar"}
    for row in range(len(built.threads)):
        parts = [trace["x"][row] for trace in chart["data"]]
        assert all(p >= 0 for p in parts)
        assert sum(parts) == pytest.approx(100)
    by_name = {trace["name"]: trace["x"][0] for trace in chart["data"]}
    assert by_name["on a CPU"] == pytest.approx(20)
    assert by_name["waiting for the GIL"] == pytest.approx(40)


def test_two_thousand_threads_draw_a_bounded_chart_and_say_how() -> None:
    built = report(threads=many_threads(2000))
    parts = _parts(built)
    chart = _threads_chart(parts)
    names = chart["data"][0]["y"]
    assert len(names) == MAX_THREADS_SHOWN + 1
    assert names[-1] == "1,980 other threads"
    assert chart["layout"]["height"] < 1000
    # The summed bar is a share of the summed time, on the same 0-100 axis as the rest.
    rest = many_threads(2000)[MAX_THREADS_SHOWN:]
    cpu = sum(t.cpu_seconds or 0 for t in rest) / sum(t.wall_seconds for t in rest)
    assert parts.traces("on a CPU")[0]["x"][-1] == pytest.approx(100 * cpu)
    assert any("summed in the last bar" in p and "1,980" in p for p in parts.paragraphs)
    rows = parts.table_with("hottest line")
    assert len(rows) == MAX_THREADS_SHOWN + 1
    assert rows[-1]["thread"] == "1,980 other threads"


def test_a_200_ms_stall_shows_on_a_timeline_of_one_point_a_second() -> None:
    timeline = tuple(
        TimelinePoint(float(t), 0.0, 1.0, 2, 210.0 if t == 2 else 1.0) for t in (1, 2, 3)
    )
    short = dataclasses.replace(stall(200.0), started_at_s=1.2)
    built = report(loops=(loop(short),)).with_updates(timeline=timeline, duration_s=3.0)
    parts = _parts(built)
    assert len(parts.charts) == 2
    for chart in parts.charts:
        bands = [s for s in chart["layout"]["shapes"] if s["type"] == "rect"]
        assert [(b["x0"], b["x1"]) for b in bands] == [pytest.approx((1.2, 1.4))]
        assert chart["layout"]["xaxis"]["range"] == [0, 3.0]
    marker = parts.traces("stall")[0]
    assert (marker["x"], marker["y"]) == ([1.2], [200.0])
    assert any("one point every 1.0 s" in c for c in parts.captions)


def test_a_stall_behind_a_gil_holder_whose_line_was_unseen_names_its_thread() -> None:
    behind = dataclasses.replace(
        stall(560.0), causes={"gil": 1.0}, gil_holder_thread="asyncio_0", culprit=None
    )
    (row,) = _parts(report(loops=(loop(behind),))).table_with("the loop thread was")
    assert row["the loop thread was"] == (
        "waiting for the GIL, held by thread 'asyncio_0', at a line no sample saw"
    )
    assert row["blocking line"] == "unknown"


def test_the_unseen_holders_thread_is_named_in_the_page() -> None:
    built = report(wait=0.5)
    gil = dataclasses.replace(built.gil, holder_unseen_share=1.0, holder_unseen_thread="asyncio_0")
    parts = _parts(built.with_updates(gil=gil))
    assert any(
        "behind a line no sample saw, mostly in thread 'asyncio_0':" in p for p in parts.paragraphs
    )


def test_stalls_are_drawn_even_when_the_run_was_too_short_for_a_timeline() -> None:
    parts = _parts(report(loops=(loop(stall(300.0)),)))
    assert parts.traces("stall")[0]["y"] == [300.0]


def test_the_timeline_says_its_own_resolution() -> None:
    timeline = tuple(TimelinePoint(0.25 * t, 0.0, 1.0, 2, None) for t in range(1, 13))
    parts = _parts(report().with_updates(timeline=timeline, duration_s=3.0))
    assert any("one point every 0.25 s" in c for c in parts.captions)


@pytest.mark.parametrize(("wait", "shown"), [(0.5, True), (0.004, False)])
def test_the_holders_section_is_left_out_where_the_wait_rounds_to_nothing(
    wait: float, shown: bool
) -> None:
    built = report(wait=wait)
    gil = dataclasses.replace(built.gil, holder_unseen_share=1.0)
    parts = _parts(built.with_updates(gil=gil))
    assert any("behind a line no sample saw" in p for p in parts.paragraphs) is shown


def test_the_page_tells_the_cpu_of_threads_no_sample_met() -> None:
    built = report(cores=1.0, threads=(thread("main", ident=1, cpu_seconds=0.2),))
    parts = _parts(built)
    assert any("0.80 s of the process's CPU (80%) ran in threads" in p for p in parts.paragraphs)


def test_the_gil_wait_fact_says_where_a_late_count_began() -> None:
    built = report(wait=0.9)
    gil = dataclasses.replace(built.gil, counted_from_s=0.6, method="counted: ...")
    page = run_html(built.with_updates(gil=gil))
    assert "<dd>90% from 0.60 s in (the monitor&#39;s set-up before it)</dd>" in page
