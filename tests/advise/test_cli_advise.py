"""``gilwise advise`` as a user runs it: a real subprocess, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

WORK = """\
import time

def work(n):
    return sum(i * i for i in range(n))

def broken(n):
    return n / 0

def items():
    return [2000] * 20
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "work.py").write_text(WORK)
    (tmp_path / "items.json").write_text("[2000, 3000]")
    return tmp_path


def _advise(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gilwise", "advise", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.timeout(150)
def test_advise_prints_the_pick_and_writes_json(project: Path) -> None:
    done = _advise(
        project,
        "work.py:work",
        "--inputs",
        "work.py:items",
        "--budget",
        "3",
        "--json",
        "advice.json",
    )
    assert done.returncode == 0, done.stderr
    assert "recommendation" in done.stdout
    assert "apply it:" in done.stdout
    report = json.loads((project / "advice.json").read_text())
    assert report["schema"] == "gilwise.advise/1"
    assert report["recommendation"]["backend"] in {"serial", "thread", "process", "asyncio"}


@pytest.mark.timeout(150)
@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["nope.py:work", "--inputs", "items.json"], "no such file: nope.py"),
        (["work.py:missing", "--inputs", "items.json"], "has no 'missing'"),
        (["work.py:work", "--inputs", "none.json"], "no such inputs file"),
        (["work.py:work", "--inputs", "items.json", "--budget", "0.1"], "at least 1 s"),
        (["work.py:work", "--inputs", "items.json", "--backends", "gpu"], "unknown backend"),
        (["no_such_pkg_xyz:f", "--inputs", "items.json"], "no module named"),
    ],
)
def test_bad_input_is_one_line_and_exit_two(project: Path, args: list[str], words: str) -> None:
    done = _advise(project, *args)
    assert done.returncode == 2
    assert words in done.stderr
    assert "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


@pytest.mark.timeout(150)
def test_the_users_exception_shows_their_traceback_and_exits_one(project: Path) -> None:
    done = _advise(project, "work.py:broken", "--inputs", "items.json", "--budget", "2")
    assert done.returncode == 1
    assert "ZeroDivisionError" in done.stderr
    assert 'work.py", line 7, in broken' in done.stderr
    assert "gilwise/advise" not in done.stderr
