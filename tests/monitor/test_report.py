from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import strategies as st

from gilwise._core._files import write_atomic
from gilwise.monitor._report import Frame, LineStat, LoopReport, Report, Stall, ThreadReport
from tests._hypothesis import given, settings

from .reports import loop, report, stall, thread

names = st.text(min_size=0, max_size=20)
finite = st.floats(min_value=0, max_value=1e6, allow_nan=False)
frames = st.builds(Frame, file=names, line=st.integers(0, 10**6), function=names)
stalls = st.builds(
    Stall,
    duration_ms=finite,
    started_at_s=finite,
    samples=st.integers(0, 1000),
    stack=st.lists(frames, max_size=4).map(tuple),
    culprit=st.none() | frames,
    coroutine=st.none() | frames,
)


@st.composite
def reports(draw: st.DrawFn) -> Report:
    threads = tuple(
        thread(
            draw(names),
            running=draw(st.floats(0, 1)),
            cpu_seconds=draw(st.none() | finite),
            top_lines=tuple(
                LineStat(f.file, f.line, f.function, 1, 2)
                for f in draw(st.lists(frames, max_size=3))
            ),
        )
        for _ in range(draw(st.integers(0, 3)))
    )
    loops = tuple(loop(*draw(st.lists(stalls, max_size=3))) for _ in range(draw(st.integers(0, 2))))
    return report(
        wait=draw(st.none() | st.floats(0, 1)),
        cores=draw(st.floats(0, 64)),
        threads=threads,
        loops=loops,
    )


@settings(max_examples=60)
@given(reports())
def test_report_round_trips_through_json(original: Report) -> None:
    text = original.to_json()
    rebuilt = Report.from_dict(json.loads(text))
    assert rebuilt == original
    assert isinstance(rebuilt.threads, tuple)
    assert all(isinstance(t, ThreadReport) for t in rebuilt.threads)
    assert all(isinstance(lp, LoopReport) for lp in rebuilt.loops)


def test_json_has_the_documented_keys() -> None:
    data = report(loops=(loop(stall()),), threads=(thread(),)).to_dict()
    assert data["schema"] == "gilwise.run/1"
    assert {"code", "message", "fix", "evidence"} <= set(data["verdicts"][0])
    assert {"p50_ms", "p99_ms", "max_ms"} <= set(data["gil"]["probe"])
    first_stall = data["loops"][0]["stalls"][0]
    assert first_stall["duration_ms"] == 300.0
    assert first_stall["stack"][-1] == {"file": "/app/lib.py", "line": 12, "function": "fetch"}


def test_docs_list_every_report_field() -> None:
    doc = (Path(__file__).parents[2] / "docs" / "report-schema.md").read_text()
    data = report(loops=(loop(stall()),), threads=(thread(),)).to_dict()
    missing = [key for key in _all_keys(data) if f"`{key}`" not in doc]
    assert missing == []


def _all_keys(value: object) -> set[str]:
    if isinstance(value, dict):
        keys = set(value)
        for k, v in value.items():
            if k != "evidence":  # free-form figures, named per verdict
                keys |= _all_keys(v)
        return keys
    if isinstance(value, list):
        return set().union(*(_all_keys(v) for v in value)) if value else set()
    return set()


def test_atomic_write_replaces_whole_file(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    write_atomic(target, "one")
    write_atomic(target, "two")
    assert target.read_text() == "two"
    assert os.listdir(target.parent) == ["r.json"]


def test_atomic_write_does_not_make_folders(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        write_atomic(tmp_path / "typo" / "r.json", "one")
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_atomic_write_gives_the_mode_the_umask_gives(tmp_path: Path, umask: int) -> None:
    previous = os.umask(umask)
    try:
        write_atomic(tmp_path / "r.json", "one")
    finally:
        os.umask(previous)
    assert (tmp_path / "r.json").stat().st_mode & 0o777 == 0o666 & ~umask


def test_atomic_write_failure_leaves_old_file(tmp_path: Path) -> None:
    target = tmp_path / "r.json"
    write_atomic(target, "old")
    with pytest.raises(TypeError):
        write_atomic(target, None)  # type: ignore[arg-type]
    assert target.read_text() == "old"
    assert os.listdir(tmp_path) == ["r.json"]
