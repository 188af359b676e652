"""One report, three views: the terminal, the HTML page and the JSON file give the same figures.

Each figure is read back from what a reader sees (the printed text, the page's tables,
facts and chart data, the JSON file), never from the report object the views were
made from.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
from collections import defaultdict
from typing import Any

import pytest
from rich.console import Console

from gilwise.advise._report import AdviceReport
from gilwise.monitor._report import GilHolder, Report, TimelinePoint
from gilwise.report._advise_terminal import render_advice
from gilwise.report._terminal import render_summary

from ..monitor.reports import loop, report, stall, thread
from .html_reports import SWEEP, computing_profile, measured_advice_report
from .page_parts import PageParts, page_parts
from .test_advise_terminal import chart_speedups

pytest.importorskip("plotly")
pytest.importorskip("jinja2")

from gilwise.report._html_advise import advice_html
from gilwise.report._html_run import run_html


def _run_report() -> Report:
    alpha = thread("alpha", ident=1, wall_seconds=3.0, cpu_seconds=2.49, cpu_fraction=0.83)
    beta = thread("beta", ident=2, wall_seconds=2.0, cpu_seconds=0.24, cpu_fraction=0.12)
    stalls = (
        dataclasses.replace(stall(1234.0), started_at_s=2.25),
        dataclasses.replace(stall(250.0), started_at_s=0.5),
    )
    built = report(
        wait=0.37,
        threads=(
            dataclasses.replace(alpha, gil_wait_fraction=0.15),
            dataclasses.replace(beta, gil_wait_fraction=0.61),
        ),
        loops=(loop(*stalls),),
    )
    timeline = tuple(TimelinePoint(float(t), 0.37, 1.0, 2, 5.0) for t in (1, 2, 3))
    holders = (
        GilHolder("/app/hog.py", 7, "crunch", "alpha", 0.7512, 1.5),
        GilHolder("/app/parse.py", 31, "parse", "beta", 0.2488, 0.5),
    )
    return built.with_updates(
        timeline=timeline, duration_s=3.0, gil=dataclasses.replace(built.gil, holders=holders)
    )


@dataclasses.dataclass
class RunFigures:
    """The figures compared, as one view shows them."""

    gil_wait_percent: int
    cpu_seconds: dict[str, float]
    gil_wait_percent_by_thread: dict[str, int]
    stall_ms: list[int]
    #: "file:line thread" of each line that held the GIL → its share of the wait (%).
    gil_holders: dict[str, int]


def _terminal(built: Report) -> str:
    console = Console(record=True, width=160, color_system=None)
    render_summary(built, console)
    return console.export_text()


def _from_terminal(text: str) -> RunFigures:
    wait = re.search(r"GIL wait\s+(\d+)% of the time", text)
    assert wait is not None
    rows = re.findall(r"^\W*(alpha|beta)\s+([\d.]+)\s+\d+%\s+(\d+)%", text, flags=re.MULTILINE)
    stalls = re.findall(r"stall (\d+) ms at \+", text)
    holders = re.findall(r"(\S+\.py):(\d+) in \S+ \((\w+)\): (\d+)% of the wait", text)
    return RunFigures(
        int(wait[1]),
        {name: float(cpu) for name, cpu, _ in rows},
        {name: int(gil) for name, _, gil in rows},
        sorted(int(ms) for ms in stalls),
        {f"{os.path.basename(f)}:{line} {t}": int(share) for f, line, t, share in holders},
    )


def _from_html(parts: PageParts) -> RunFigures:
    threads = parts.table_with("hottest line")
    stalls = parts.table_with("stalled")
    chart = [round(ms) for ms in parts.traces("stall")[0]["y"]]
    listed = sorted(int(row["stalled"].removesuffix(" ms")) for row in stalls)
    assert sorted(chart) == listed  # the chart's marks are the listed stalls
    holders = {
        f"{os.path.basename(row['line'].split(' in ')[0])} {row['thread']}": int(
            row["share of the wait"].removesuffix("%")
        )
        for row in parts.table_with("share of the wait")
    }
    return RunFigures(
        int(parts.facts["GIL wait"].removesuffix("%")),
        {row["thread"]: float(row["CPU"].removesuffix(" s")) for row in threads},
        {row["thread"]: int(row["GIL wait (of its time)"].removesuffix("%")) for row in threads},
        listed,
        holders,
    )


def _from_json(data: dict[str, Any]) -> RunFigures:
    threads = data["threads"]
    return RunFigures(
        round(100 * data["gil"]["wait_fraction"]),
        {t["name"]: round(t["cpu_seconds"], 2) for t in threads},
        {t["name"]: round(100 * t["gil_wait_fraction"]) for t in threads},
        sorted(round(s["duration_ms"]) for loop in data["loops"] for s in loop["stalls"]),
        {
            f"{os.path.basename(h['file'])}:{h['line']} {h['thread_name']}": round(
                100 * h["wait_share"]
            )
            for h in data["gil"]["holders"]
        },
    )


def test_a_run_gives_the_same_figures_in_terminal_html_and_json() -> None:
    built = _run_report()
    data = json.loads(built.to_json())
    parts = page_parts(run_html(built))
    from_json = _from_json(data)
    holders = {"hog.py:7 alpha": 75, "parse.py:31 beta": 25}
    assert from_json == RunFigures(37, {"alpha": 2.49, "beta": 0.24}, {"alpha": 15, "beta": 61},
                                   [250, 1234], holders)  # fmt: skip
    assert _from_terminal(_terminal(built)) == from_json
    assert _from_html(parts) == from_json


def test_the_threads_chart_draws_the_json_figures() -> None:
    built = _run_report()
    parts = page_parts(run_html(built))
    cpu, gil = parts.traces("on a CPU")[0], parts.traces("waiting for the GIL")[0]
    for t in json.loads(built.to_json())["threads"]:
        row = cpu["y"].index(f"{t['name']} ({t['ident']})")
        assert cpu["x"][row] == pytest.approx(100 * t["cpu_seconds"] / t["wall_seconds"])
        assert cpu["customdata"][row] == pytest.approx(t["cpu_seconds"])
        assert gil["x"][row] == pytest.approx(100 * t["gil_wait_fraction"])


def _advice() -> AdviceReport:
    return measured_advice_report(SWEEP, computing_profile())


def _html_speedups(parts: PageParts) -> dict[tuple[str, int], float]:
    out = {}
    for trace in parts.traces("(measured)"):
        backend = trace["name"].removesuffix(" (measured)")
        out.update({(backend, w): round(s, 2) for w, s in zip(trace["x"], trace["y"], strict=True)})
    return out


def _json_speedups(data: dict[str, Any]) -> dict[tuple[str, int], float]:
    best: dict[tuple[str, int], float] = defaultdict(float)
    for m in data["measurements"]:
        key = (m["backend"], m["workers"])
        best[key] = max(best[key], m["speedup"])
    return {key: round(s, 2) for key, s in best.items()}


def test_advice_gives_the_same_speedups_in_terminal_html_and_json() -> None:
    built = _advice()
    data = json.loads(built.to_json())
    console = Console(record=True, width=160, color_system=None)
    render_advice(built, console)
    text = console.export_text()
    parts = page_parts(advice_html(built))
    expected = _json_speedups(data)
    assert expected[("process", 2)] == 1.8
    assert chart_speedups(text) == expected
    assert _html_speedups(parts) == expected
    said = f"{data['recommendation']['speedup']:.2f}"
    assert re.search(r"([\d.]+)x serial", text)[1] == said  # type: ignore[index]
    pick = next(p for p in parts.paragraphs if "× serial" in p)
    assert re.search(r"([\d.]+)× serial", pick)[1] == said  # type: ignore[index]
