"""Output formats: ruff-style text, JSON, SARIF 2.1.0, GitHub annotations."""

from __future__ import annotations

import io
import json
import re

import pytest
from hypothesis import strategies as st

from gilwise.check import CheckResult, Finding
from gilwise.check._rule import registered_rules
from gilwise.report._check import _data, render, render_text
from tests._hypothesis import given

RESULT = CheckResult(
    findings=(
        Finding("pkg/a b.py", 3, 5, "GW101", "time.sleep() blocks", 3, 18),
        Finding("pkg/c.py", 1, 1, "GW001", "cannot parse: '(' was never closed"),
    ),
    files_checked=4,
    warnings=("skipped x: a symlink loop",),
)


def _render(output_format: str, result: CheckResult = RESULT) -> str:
    out = io.StringIO()
    render(result, output_format, out)
    return out.getvalue()


def test_text_is_one_line_per_finding_and_a_summary() -> None:
    lines = _render("text").splitlines()
    assert lines[0] == "pkg/a b.py:3:5: GW101 time.sleep() blocks"
    assert re.fullmatch(r"\S.*:\d+:\d+: GW\d{3} .+", lines[1])
    assert lines[2].startswith("Found 2 problems in 2 files (4 files checked).")


def test_text_says_when_everything_passed() -> None:
    assert _render("text", CheckResult((), 1)) == "All checks passed (1 file checked).\n"


def test_text_has_colour_only_when_asked() -> None:
    plain, coloured = io.StringIO(), io.StringIO()
    render_text(RESULT, plain, color=False)
    render_text(RESULT, coloured, color=True)
    assert "\x1b[" not in plain.getvalue()
    assert "\x1b[" in coloured.getvalue()


def test_json_carries_schema_findings_and_warnings() -> None:
    document = json.loads(_render("json"))
    assert document["schema"] == "gilwise.check/1"
    assert document["files_checked"] == 4
    assert document["warnings"] == ["skipped x: a symlink loop"]
    first = document["findings"][0]
    assert first == {
        "code": "GW101",
        "name": "blocking-sleep-in-async",
        "message": "time.sleep() blocks",
        "path": "pkg/a b.py",
        "line": 3,
        "column": 5,
        "end_line": 3,
        "end_column": 18,
    }


def test_sarif_is_a_consistent_2_1_0_log() -> None:
    log = json.loads(_render("sarif"))
    assert log["version"] == "2.1.0"
    [run] = log["runs"]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(registered_rules())
    for rule in rules:
        assert rule["shortDescription"]["text"]
        assert rule["help"]["markdown"].startswith("## What it does")
    first, second = run["results"]
    assert rules[first["ruleIndex"]]["id"] == first["ruleId"] == "GW101"
    location = first["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": "pkg/a%20b.py", "uriBaseId": "%SRCROOT%"}
    assert location["region"] == {"startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 18}
    assert (first["level"], second["level"]) == ("warning", "error")
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"].startswith("file://")
    notes = run["invocations"][0]["toolExecutionNotifications"]
    assert notes[0]["message"]["text"] == "skipped x: a symlink loop"


def test_github_annotations_point_at_the_line() -> None:
    first = _render("github").splitlines()[0]
    assert first == (
        "::warning file=pkg/a b.py,line=3,col=5,endLine=3,endColumn=18,"
        "title=GW101 blocking-sleep-in-async::time.sleep() blocks"
    )


@given(st.text())
def test_github_data_escaping_round_trips(text: str) -> None:
    escaped = _data(text)
    assert "\n" not in escaped
    assert "\r" not in escaped
    unescaped = escaped.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
    assert unescaped == text


@pytest.mark.parametrize(
    ("output_format", "empty"),
    [("json", '"findings": []'), ("sarif", '"results": []'), ("github", "")],
)
def test_every_format_handles_no_findings(output_format: str, empty: str) -> None:
    output = _render(output_format, CheckResult((), 0))
    assert empty in output if empty else output == ""
