"""SARIF 2.1.0 as GitHub code scanning takes it: schema-valid, repo-root paths, fingerprints."""

from __future__ import annotations

import importlib
import io
import json
from pathlib import Path
from typing import Any

import pytest

from gilwise.check import CheckResult, Finding
from gilwise.check._rule import registered_rules
from gilwise.cli import main
from gilwise.report._check import render

SCHEMA = Path(__file__).with_name("sarif-schema-2.1.0.json")
BLOCKING = "import time\nasync def f():\n    time.sleep(1)\n"


def _errors(log: dict[str, Any]) -> list[str]:
    # importlib: jsonschema ships no type information, and mypy reads the tests strictly.
    jsonschema = importlib.import_module("jsonschema")
    validator = jsonschema.Draft4Validator(json.loads(SCHEMA.read_text(encoding="utf-8")))
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(log)
    ]


def _sarif(result: CheckResult) -> dict[str, Any]:
    out = io.StringIO()
    render(result, "sarif", out)
    log: dict[str, Any] = json.loads(out.getvalue())
    return log


@pytest.fixture
def repository(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A repository whose code is in service/, where the check runs."""
    (tmp_path / ".git").mkdir()
    service = tmp_path / "service"
    (service / "pkg").mkdir(parents=True)
    (service / "pkg" / "app one.py").write_text(BLOCKING)
    monkeypatch.chdir(service)
    return tmp_path


def test_the_vendored_schema_is_the_official_one() -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    assert schema["id"].startswith("https://docs.oasis-open.org/sarif/sarif/v2.1.0/")
    assert schema["properties"]["version"]["enum"] == ["2.1.0"]


def test_the_schema_catches_what_github_rejected() -> None:
    # The check itself must be able to fail: a column of -1 is what an unknown coding
    # cookie used to produce.
    def log(region: dict[str, int]) -> dict[str, Any]:
        location = {"physicalLocation": {"artifactLocation": {"uri": "a.py"}, "region": region}}
        result = {"message": {"text": "m"}, "locations": [location]}
        run = {"tool": {"driver": {"name": "x"}}, "results": [result]}
        return {"version": "2.1.0", "runs": [run]}

    assert _errors(log({"startLine": 1, "startColumn": 1})) == []
    assert any("startColumn" in error for error in _errors(log({"startColumn": -1})))


def test_a_real_run_is_valid_sarif(repository: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pkg = repository / "service" / "pkg"
    (pkg / "cookie.py").write_bytes(b"# -*- coding: no-such-codec -*-\nx = 1\n")
    (pkg / "wide.py").write_bytes("x = 1\n".encode("utf-16"))
    (pkg / "broken.py").write_text("def f(:\n")
    assert main(["check", "--no-cache", "--format", "sarif", "--select", "GW,GW115"]) == 1
    log = json.loads(capsys.readouterr().out)
    assert _errors(log) == []
    results = log["runs"][0]["results"]
    assert {r["ruleId"] for r in results} == {"GW001", "GW101"}
    for r in results:
        region = r["locations"][0]["physicalLocation"]["region"]
        assert region["startLine"] >= 1
        assert region["startColumn"] >= 1


def test_a_finding_at_column_zero_or_less_still_gives_valid_sarif() -> None:
    result = CheckResult((Finding("a.py", 0, -1, "GW001", "cannot parse: unknown encoding"),), 1)
    log = _sarif(result)
    assert _errors(log) == []
    region = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 1, "startColumn": 1}


def test_paths_are_relative_to_the_repository_root(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--no-cache", "--format", "sarif"]) == 1
    run = json.loads(capsys.readouterr().out)["runs"][0]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == repository.as_uri() + "/"
    location = run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert location == {"uri": "service/pkg/app%20one.py", "uriBaseId": "%SRCROOT%"}


def test_a_file_outside_the_repository_gets_an_absolute_uri(
    repository: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("elsewhere") / "x.py"
    log = _sarif(CheckResult((Finding(str(outside), 3, 5, "GW101", "m"),), 1))
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": outside.as_uri()}


def test_columns_are_declared_as_characters() -> None:
    assert _sarif(CheckResult((), 0))["runs"][0]["columnKind"] == "unicodeCodePoints"


def test_opt_in_rules_are_disabled_by_default() -> None:
    rules = _sarif(CheckResult((), 0))["runs"][0]["tool"]["driver"]["rules"]
    disabled = {r["id"] for r in rules if r["defaultConfiguration"].get("enabled") is False}
    assert disabled == {code for code, rule in registered_rules().items() if rule.opt_in}
    assert disabled  # some rules are opt-in, so the test checks something


def _fingerprints(capsys: pytest.CaptureFixture[str]) -> list[str]:
    assert main(["check", "--no-cache", "--format", "sarif"]) == 1
    results = json.loads(capsys.readouterr().out)["runs"][0]["results"]
    return [r["partialFingerprints"]["gilwiseFindingHash/v1"] for r in results]


def test_fingerprints_follow_the_code_not_the_line_number(
    repository: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    app = repository / "service" / "pkg" / "app one.py"
    app.write_text(BLOCKING + "async def g():\n    time.sleep(1)\n")
    first = _fingerprints(capsys)
    assert len(first) == len(set(first)) == 2  # the same call twice: told apart by order
    app.write_text("# a new first line\n\n" + app.read_text())
    assert _fingerprints(capsys) == first
    app.write_text(app.read_text().replace("time.sleep(1)", "time.sleep(2)", 1))
    assert _fingerprints(capsys)[0] != first[0]
