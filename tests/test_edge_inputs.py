"""Bad and edge inputs, per command: what was tried, what gilwise says, its exit status.

The same table is docs/edge-inputs.md; the test runs every row as a user would (a real
subprocess) and checks the page says what the command says. After a change in wording:

    python -m tests.test_edge_inputs > docs/edge-inputs.md
"""

from __future__ import annotations

import os
import platform
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from .report.html_reports import advice_report

DOCS = Path(__file__).resolve().parents[1] / "docs" / "edge-inputs.md"

FILES = {
    "work.py": (
        "import time\n\n"
        "def work(n):\n    return sum(range(n))\n\n"
        "def broken(n):\n    return n / 0\n\n"
        "def never(n):\n    while True:\n        time.sleep(0.05)\n\n"
        "def items():\n    return [1000] * 8\n\n"
        "def nothing():\n    return []\n\n"
        "LIMIT = 1000\n"
    ),
    "bad.py": "def broken(:\n    pass\n",
    "binary.py": "\x00\x01\x02",
    "bad.jsonl": "1\n2\n{oops\n",
    "damaged.json": '{"schema": "gilwise.advise/1"}',
    "other.json": '{"schema": "something/1"}',
    "notes.txt": "not json",
}


@dataclass(frozen=True)
class Case:
    command: str
    tried: str
    args: tuple[str, ...]
    status: int


ITEMS = ("--inputs", "work.py:items")

CASES = (
    Case("run", "a script that does not exist", ("run", "missing.py"), 2),
    Case("run", "a syntax error", ("run", "bad.py"), 1),
    Case("run", "a binary file", ("run", "binary.py"), 1),
    Case("run", "a folder without `__main__.py`", ("run", "folder"), 1),
    Case("run", "an application folder", ("run", "app"), 2),
    Case("run", "a module that does not exist", ("run", "-m", "no_such_module"), 1),
    Case("run", "no program", ("run",), 2),
    Case("run", "a negative interval", ("run", "--interval", "-1", "work.py"), 2),
    Case("run", "a zero stall threshold", ("run", "--stall-ms", "0", "work.py"), 2),
    Case("run", "a report into a missing folder", ("run", "--json", "no/r.json", "work.py"), 2),
    Case("attach", "a PID that is not a number", ("attach", "abc"), 2),
    Case("attach", "a PID no process has", ("attach", "999999"), 2),
    Case("attach", "a process that is not Python", ("attach", "{sleep_pid}"), 2),
    Case("attach", "a negative duration", ("attach", "1", "--duration", "-1"), 2),
    Case("advise", "no --inputs", ("advise", "work.py:work"), 2),
    Case("advise", "a target not MODULE:FUNCTION", ("advise", "work", *ITEMS), 2),
    Case("advise", "a function that does not exist", ("advise", "work.py:nope", *ITEMS), 2),
    Case("advise", "no items", ("advise", "work.py:work", "--inputs", "work.py:nothing"), 2),
    Case(
        "advise", "inputs that are no items", ("advise", "work.py:work", "--inputs", "work.py:LIMIT"), 2
    ),
    Case("advise", "a bad line in a .jsonl file", ("advise", "work.py:work", "--inputs", "bad.jsonl"), 2),
    Case("advise", "a budget under a second", ("advise", "work.py:work", *ITEMS, "--budget", "0.5"), 2),
    Case("advise", "an unknown backend", ("advise", "work.py:work", *ITEMS, "--backends", "gpu"), 2),
    Case("advise", "a function that raises", ("advise", "work.py:broken", *ITEMS), 1),
    Case("advise", "a function that never returns", ("advise", "work.py:never", *ITEMS, "--budget", "1"), 1),
    Case("check", "a path that does not exist", ("check", "missing.py"), 2),
    Case("check", "a rule code that does not exist", ("check", "--select", "GW410", "work.py"), 2),
    Case("check", "a FIFO", ("check", "fifo.py"), 0),
    Case("check", "a binary file", ("check", "binary.py"), 1),
    Case("tour", "a lesson that does not exist", ("tour", "--only", "9"), 2),
    Case("tour", "lessons that are not numbers", ("tour", "--only", "x"), 2),
    Case("tour", "a report into a missing folder", ("tour", "--json", "no/t.json"), 2),
    Case("report", "a file that does not exist", ("report", "missing.json"), 2),
    Case("report", "a file that is not JSON", ("report", "notes.txt"), 2),
    Case("report", "JSON that is not a gilwise report", ("report", "other.json"), 2),
    Case("report", "a damaged report", ("report", "damaged.json"), 2),
    Case("report", "a trace from an advise report", ("report", "advice.json", "--trace", "t.json"), 2),
)  # fmt: skip


def _workspace(folder: Path) -> None:
    for name, text in FILES.items():
        (folder / name).write_text(text)
    (folder / "advice.json").write_text(advice_report().to_json())
    (folder / "folder").mkdir()
    (folder / "app").mkdir()
    (folder / "app" / "__main__.py").write_text("print('ran')\n")
    os.mkfifo(folder / "fifo.py")


def _said(case: Case, folder: Path, sleep_pid: int) -> tuple[int, str]:
    """Exit status and the last line on stderr (the one line gilwise says)."""
    args = [a.format(sleep_pid=sleep_pid) for a in case.args]
    done = subprocess.run(
        [sys.executable, "-m", "gilwise", *args],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    lines = done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or [""]
    said = lines[-1]
    for real, shown in ((str(folder), "DIR"), (str(sleep_pid), "PID"), (sys.executable, "python")):
        said = said.replace(real, shown)
    return done.returncode, said


@pytest.fixture(scope="module")
def workspace() -> object:
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _workspace(folder)
        sleeper = subprocess.Popen(["sleep", "600"])
        try:
            yield folder, sleeper.pid
        finally:
            sleeper.kill()
            sleeper.wait()


@pytest.mark.e2e
@pytest.mark.timeout(90)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.command}: {c.tried}")
def test_each_bad_input_gets_one_line_and_its_status(
    workspace: tuple[Path, int], case: Case
) -> None:
    status, said = _said(case, *workspace)
    assert "Traceback" not in said
    page = DOCS.read_text(encoding="utf-8")
    if case.command == "run" and not said.startswith("gilwise"):
        # python's own refusal, in its own words and status, which change between its
        # versions (3.10 runs a file with null bytes as far as the first one, exit 0).
        plain = _python_said(case, workspace[0])
        assert (status, said) == plain
        row = _row(case)
    else:
        assert status == case.status, said
        row = _row(case, status, said)
    assert row in page, f"docs/edge-inputs.md lacks: {row}"


def _python_said(case: Case, folder: Path) -> tuple[int, str]:
    program = list(case.args[1:])
    done = subprocess.run(
        [sys.executable, *program], cwd=folder, capture_output=True, text=True, timeout=60
    )
    lines = done.stderr.strip().splitlines() or done.stdout.strip().splitlines() or [""]
    return done.returncode, lines[-1].replace(str(folder), "DIR").replace(sys.executable, "python")


def _row(case: Case, status: int | None = None, said: str | None = None) -> str:
    shown = " ".join(a if a != "{sleep_pid}" else "PID" for a in case.args)
    start = f"| `gilwise {shown}` | {case.tried} |"
    if status is None:
        return start
    start += f" {status} |"
    if said is None:
        return start
    escaped = said.replace("|", "\\|")
    return f"{start} {escaped} |"


def _page() -> str:
    lines = [
        "# Bad and edge inputs",
        "",
        "What each command says when given something it cannot use, and its exit status",
        "(0 done, 1 the program or function failed, 2 a usage error, as python and ruff do).",
        "`run` hands a program that cannot start to python itself, so those rows are",
        f"python's own words and status (CPython {platform.python_version()} here). Generated by `python -m tests.test_edge_inputs`, which the test",
        "suite checks against this page; DIR is the folder the command ran in.",
        "",
        "| command | tried | exit | what it says |",
        "|---|---|---|---|",
    ]
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _workspace(folder)
        sleeper = subprocess.Popen(["sleep", "600"])
        try:
            for case in CASES:
                status, said = _said(case, folder, sleeper.pid)
                lines.append(_row(case, status, said))
        finally:
            sleeper.send_signal(signal.SIGKILL)
            sleeper.wait()
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.stdout.write(_page())
