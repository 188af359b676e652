"""``gilwise check`` end to end through the CLI: exit codes, options, config, explain."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from gilwise.check._rule import registered_rules
from gilwise.cli import main

BLOCKING = "import time\nasync def f():\n    time.sleep(1)\n"
CLEAN = "import asyncio\nasync def f():\n    await asyncio.sleep(1)\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "app.py").write_text(BLOCKING)
    (tmp_path / "ok.py").write_text(CLEAN)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def test_findings_exit_1_and_print_ruff_style_lines(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check"]) == 1
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("app.py:3:5: GW101 time.sleep()")


def test_clean_code_exits_0(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "ok.py"]) == 0
    assert "All checks passed" in capsys.readouterr().out


def test_exit_zero_and_ignore(project: Path) -> None:
    assert main(["check", "--exit-zero"]) == 0
    assert main(["check", "--ignore", "GW101"]) == 0
    assert main(["check", "--select", "GW2"]) == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["check", "missing.py"], "no such file or directory: missing.py"),
        (["check", "--select", "E501"], "'E501' is not a rule code"),
        (["check", "--select", "GW410"], "no rule is 'GW410' or starts with it"),
        (["check", "--ignore", "GW9"], "no rule is 'GW9' or starts with it"),
        (["check", "--explain", "GW999"], "no rule 'GW999'"),
        (["check", "--config", "nope.toml"], "config file not found"),
        (["check", "--output", "no/such/dir/out.json"], "cannot write no/such/dir/out.json"),
    ],
)
def test_usage_errors_are_one_line_and_exit_2(
    project: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1
    assert "Traceback" not in err


def test_a_typo_in_pyproject_select_is_an_error_not_all_clear(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.gilwise.check]\nselect = ["GW410"]\n')
    assert main(["check"]) == 2


@pytest.mark.timeout(30)
def test_a_fifo_named_on_the_command_line_is_skipped_not_waited_on(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    os.mkfifo(project / "pipe.py")
    assert main(["check", "pipe.py", "ok.py"]) == 0
    assert "pipe.py is not a regular file; skipped" in capsys.readouterr().err


def test_pyproject_config_is_honoured(project: Path) -> None:
    (project / "pyproject.toml").write_text('[tool.gilwise.check]\nignore = ["GW101"]\n')
    assert main(["check"]) == 0
    (project / "pyproject.toml").write_text('[tool.gilwise.check]\nexclude = ["app.py"]\n')
    assert main(["check"]) == 0


def test_output_writes_the_report_to_a_file(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--format", "sarif", "--output", "out.sarif"]) == 1
    assert capsys.readouterr().out == ""
    log = json.loads((project / "out.sarif").read_text())
    assert log["runs"][0]["results"][0]["ruleId"] == "GW101"


def test_warnings_go_to_stderr(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (project / "loop").mkdir()
    (project / "loop" / "back").symlink_to(project)
    assert main(["check", "--format", "json"]) == 1
    captured = capsys.readouterr()
    assert json.loads(captured.out)["findings"]
    assert "gilwise: warning: skipped" in captured.err


def test_explain_prints_the_rule_page(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--explain", "gw111"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("# GW111: task-dropped")
    assert "## Use instead" in out


def test_list_rules_lists_every_rule(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--list-rules"]) == 0
    listed = [line.split()[0] for line in capsys.readouterr().out.splitlines()]
    assert listed == list(registered_rules())


def test_the_pre_commit_hook_runs_the_check_command() -> None:
    hooks = (Path(__file__).parents[2] / ".pre-commit-hooks.yaml").read_text()
    assert "id: gilwise-check" in hooks
    assert "entry: gilwise check" in hooks


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_the_installed_command_runs_like_pre_commit_calls_it(project: Path) -> None:
    # pre-commit passes the changed files as arguments.
    done = subprocess.run(
        [sys.executable, "-m", "gilwise", "check", "app.py", "ok.py"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1
    assert "app.py:3:5: GW101" in done.stdout
