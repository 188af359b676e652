"""``gilwise advise`` as a user runs it: a real subprocess, exit codes, one-line errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ..terminal import ctrl_c_once, gilwise_in_own_group, group_left_after

pytestmark = pytest.mark.e2e

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
    # Which backend wins depends on the machine (3.14+ also measures sub-interpreters); what
    # must hold everywhere is that the pick is one of the configurations actually measured.
    pick = report["recommendation"]
    measured = {(m["backend"], m["workers"]) for m in report["measurements"]}
    assert (pick["backend"], pick["workers"]) in measured


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


HANGS = """\
import multiprocessing
import os
import threading
import time

def never(n):
    while True:
        time.sleep(0.05)

def only_in_thread_pools(n):
    if threading.current_thread().name.startswith("ThreadPoolExecutor"):
        never(n)
    return sum(range(n))

def spins(n):
    open("started", "a").close()
    while True:
        pass

def items():
    return [2000] * 20
"""


@pytest.fixture
def hanging(tmp_path: Path) -> Path:
    (tmp_path / "hangs.py").write_text(HANGS)
    return tmp_path


@pytest.mark.timeout(120)
def test_a_function_that_never_returns_is_reported_at_the_budget(hanging: Path) -> None:
    done = _advise(hanging, "hangs.py:never", "--inputs", "hangs.py:items", "--budget", "2")
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "never did not return within the budget of 2 s" in lines[0]
    assert f"{hanging / 'hangs.py'}:8 in never" in lines[0]


@pytest.mark.timeout(180)
def test_a_trial_stuck_at_the_budget_is_stopped_and_advice_comes_from_the_rest(
    hanging: Path,
) -> None:
    done = _advise(
        hanging,
        "hangs.py:only_in_thread_pools",
        "--inputs",
        "hangs.py:items",
        "--budget",
        "4",
        "--backends",
        "thread",
        "--json",
        "advice.json",
        "--quiet",
    )  # returns at all: the stuck pool thread did not hold the process open
    assert done.returncode == 0, done.stderr
    report = json.loads((hanging / "advice.json").read_text())
    assert report["recommendation"]["backend"] == "serial"
    (note,) = [n for n in report["budget_notes"] if "stopped at the budget" in n]
    assert note.startswith("thread x")
    assert f"{hanging / 'hangs.py'}:8 in never" in note
    assert report["spent_s"] < 4 + 1.0  # the grace: a tenth of the budget, at least 0.5 s


@pytest.mark.timeout(120)
def test_ctrl_c_ends_advise_with_one_line_and_130_leaving_no_process(hanging: Path) -> None:
    args = ("advise", "hangs.py:spins", "--inputs", "hangs.py:items", "--budget", "60")
    proc = gilwise_in_own_group(*args, cwd=hanging)
    said = ctrl_c_once(proc, ready=(hanging / "started").exists)
    assert said == (130, "gilwise: interrupted\n")
    assert group_left_after(proc.pid) == []
