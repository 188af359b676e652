"""The outputs table: flags built from it, one writing loop, and saved reports rendered again."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest

from gilwise.cli import _parser, main
from gilwise.report._outputs import (
    KINDS,
    OUTPUTS,
    file_outputs,
    requested,
    write_requested,
)
from gilwise.report._trace import trace_json

from .html_reports import advice_report, run_report, tour_report

REPORTS = {"run": run_report, "advise": advice_report, "tour": tour_report}


def _subcommand(name: str) -> argparse.ArgumentParser:
    commands = next(a for a in _parser()._actions if isinstance(a, argparse._SubParsersAction))
    parser: argparse.ArgumentParser = commands.choices[name]
    return parser


@pytest.mark.parametrize("output", OUTPUTS, ids=lambda o: o.name)
def test_every_renderer_named_in_the_table_exists(output: object) -> None:
    for kind in output.renderers:  # type: ignore[attr-defined]
        assert callable(output.render(kind))  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("command", "kind"),
    [("run", "run"), ("attach", "run"), ("advise", "advise"), ("tour", "tour"), ("report", None)],
)
def test_each_command_has_exactly_the_tables_flags(command: str, kind: str | None) -> None:
    flags = {
        option
        for action in _subcommand(command)._actions
        for option in action.option_strings
        if action.metavar == "PATH" and option in {o.flag for o in OUTPUTS}
    }
    assert flags == {o.flag for o in file_outputs(kind)}


@pytest.mark.parametrize("kind", sorted(REPORTS))
def test_a_saved_report_renders_again_as_it_was_first_rendered(
    kind: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = REPORTS[kind]()
    saved = tmp_path / "saved.json"
    saved.write_text(report.to_json())
    again = tmp_path / "again.json"
    assert main(["report", str(saved), "--json", str(again), "--quiet"]) == 0
    assert json.loads(again.read_text()) == json.loads(saved.read_text())
    assert capsys.readouterr().out == ""


def test_a_saved_run_report_gives_the_same_trace(tmp_path: Path) -> None:
    report = run_report()
    saved = tmp_path / "saved.json"
    saved.write_text(report.to_json())
    assert main(["report", str(saved), "--trace", str(tmp_path / "t.json"), "--quiet"]) == 0
    assert (tmp_path / "t.json").read_text() == trace_json(report)


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ('{"schema": "something/9"}', "has schema 'something/9'; gilwise report reads"),
        ("not json at all", "is not a JSON report"),
        ('{"schema": "gilwise.run/1"}', "is not a whole run report"),
    ],
)
def test_a_file_that_is_not_a_saved_report_is_one_line_and_exit_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, words: str
) -> None:
    saved = tmp_path / "saved.json"
    saved.write_text(content)
    assert main(["report", str(saved)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert words in err[0]


def test_a_trace_is_not_made_from_an_advise_report(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    saved = tmp_path / "saved.json"
    saved.write_text(advice_report().to_json())
    assert main(["report", str(saved), "--trace", str(tmp_path / "t.json")]) == 2
    assert "--trace cannot be made from a saved advise report" in capsys.readouterr().err
    assert not (tmp_path / "t.json").exists()


def test_one_output_failing_does_not_stop_the_others(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "blocker").mkdir()
    options = argparse.Namespace(
        json=str(tmp_path / "blocker"),  # a folder: cannot be written as a file
        trace=str(tmp_path / "t.json"),
        html=None,
    )
    ok = write_requested(run_report(), "run", requested(options, "run"), quiet=True)
    assert not ok
    assert (tmp_path / "t.json").exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert err[0].startswith(f"gilwise: could not write {tmp_path / 'blocker'}")


def test_every_saved_schema_is_known() -> None:
    assert {kind for kind, _ in KINDS.values()} == set(REPORTS)
