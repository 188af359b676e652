"""The Perfetto / Chrome trace: tracks per thread, stalls as slices, counters, valid nesting."""

from __future__ import annotations

import dataclasses
import itertools
import json
import subprocess
import sys
import textwrap
from collections import defaultdict
from pathlib import Path

import pytest

from gilwise.monitor._report import Span
from gilwise.report._trace import trace_events, trace_json
from tests.report import html_reports


def _spans() -> tuple[Span, ...]:
    return (
        Span(7, "worker", "running", 0.0, 0.5, "/app/w.py", 3, "spin"),
        Span(7, "worker", "waiting", 0.5, 0.7, "/app/w.py", 9, "fetch"),
        Span(8, "MainThread", "waiting", 0.0, 1.0, "/app/m.py", 1, ""),
    )


def test_each_thread_gets_a_named_track_with_its_spans() -> None:
    report = html_reports.run_report().with_updates(spans=_spans())
    events = trace_events(report)["traceEvents"]
    names = {e["tid"]: e["args"]["name"] for e in events if e["name"] == "thread_name"}
    slices = [e for e in events if e["ph"] == "X" and e["cat"] != "stall"]
    assert [(names[e["tid"]], e["name"], e["ts"], e["dur"]) for e in slices] == [
        ("worker (7)", "spin", 0.0, 500_000.0),
        ("worker (7)", "waiting · fetch", 500_000.0, 200_000.0),
        ("MainThread (8)", "waiting · (no Python frame)", 0.0, 1_000_000.0),
    ]
    assert slices[0]["args"] == {"file": "/app/w.py", "line": 3, "state": "running"}


def test_stalls_are_slices_on_their_loops_track_with_the_stack() -> None:
    events = trace_events(html_reports.run_report())["traceEvents"]
    [stall] = [e for e in events if e.get("cat") == "stall"]
    assert stall["dur"] == 250_000.0
    assert stall["args"]["stack"][-1].endswith(f"in {html_reports.HOSTILE}")
    track = next(e for e in events if e["name"] == "thread_name" and e["tid"] == stall["tid"])
    assert "stalls" in track["args"]["name"]


def test_stall_causes_and_gil_holders_are_in_the_trace() -> None:
    from gilwise.monitor._report import Frame, GilHolder

    from ..monitor.reports import loop, report, stall

    hog = Frame("/app/hog.py", 7, "crunch")
    behind_gil = dataclasses.replace(
        stall(), causes={"gil": 0.8, "callback": 0.2}, gil_holder=hog, gil_holder_thread="cruncher"
    )
    built = report(loops=(loop(behind_gil, stall()),))
    built = built.with_updates(
        gil=dataclasses.replace(
            built.gil, holders=(GilHolder("/app/hog.py", 7, "crunch", "cruncher", 0.9, 1.8),)
        )
    )
    trace = trace_events(built)
    first, second = (e["args"] for e in trace["traceEvents"] if e.get("cat") == "stall")
    assert first["the loop thread was"] == "waiting for the GIL 80% · its own code 20%"
    assert first["GIL held by thread"] == "cruncher"
    assert second["the loop thread was"] is None
    assert second["GIL held by thread"] is None
    assert trace["otherData"]["GIL held by"] == [
        "/app/hog.py:7 in crunch (cruncher): 90% of the wait"
    ]


def test_the_timeline_becomes_counter_tracks() -> None:
    events = trace_events(html_reports.run_report())["traceEvents"]
    counters = defaultdict(list)
    for e in events:
        if e["ph"] == "C":
            counters[e["name"]].append(e["args"]["value"])
    assert set(counters) == {"GIL wait %", "CPU cores used", "worst loop lag ms"}
    assert len(counters["CPU cores used"]) == 5


def test_the_trace_is_plain_json_with_hostile_names_intact() -> None:
    text = trace_json(html_reports.run_report())
    assert json.loads(text)["otherData"]["command"].endswith(html_reports.HOSTILE)


def _assert_properly_nested(events: list[dict[str, object]]) -> None:
    by_track: dict[object, list[tuple[float, float]]] = defaultdict(list)
    for e in events:
        if e["ph"] == "X":
            start = float(e["ts"])  # type: ignore[arg-type]
            by_track[e["tid"]].append((start, start + float(e["dur"])))  # type: ignore[arg-type]
    for slices in by_track.values():
        slices.sort()
        for (_, end), (next_start, _) in itertools.pairwise(slices):
            assert next_start >= end - 1.0, "slices on one track overlap without nesting"


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_gilwise_run_writes_a_trace_of_a_real_program(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text(
        textwrap.dedent(
            """
            import asyncio, threading, time
            def spin():
                t = time.time()
                while time.time() - t < 0.4:
                    pass
            async def main():
                await asyncio.sleep(0.05)
                time.sleep(0.2)
            worker = threading.Thread(target=spin, name="spinner")
            worker.start()
            asyncio.run(main())
            worker.join()
            """
        )
    )
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gilwise",
            "run",
            "--quiet",
            "--stall-ms",
            "50",
            "--trace",
            "t.json",
            "prog.py",
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=90,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    events = json.loads((tmp_path / "t.json").read_text())["traceEvents"]
    tracks = {e["args"]["name"].split(" (")[0] for e in events if e["name"] == "thread_name"}
    assert {"MainThread", "spinner"} <= tracks
    assert any(e["name"] == "spin" for e in events if e["ph"] == "X")
    assert any(e.get("cat") == "stall" for e in events)
    _assert_properly_nested(events)
