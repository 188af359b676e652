"""Render check findings: ruff-style text, JSON, SARIF 2.1.0 and GitHub workflow commands."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from .._version import __version__
from ..check._finding import CheckResult, Finding
from ..check._rule import Rule, registered_rules

CHECK_SCHEMA = "gilwise.check/1"
_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
#: Findings about unreadable files are errors in SARIF; rule findings are warnings.
_FILE_CODES = frozenset({"GW001", "GW002"})


def render_text(result: CheckResult, out: TextIO, color: bool) -> None:
    """``path:line:col: CODE message`` per finding, then one summary line."""
    from rich.console import Console
    from rich.text import Text

    console = Console(
        file=out, highlight=False, force_terminal=color, no_color=not color, soft_wrap=True
    )
    for finding in result.findings:
        line = Text()
        line.append(f"{finding.location()}:", style="bold")
        line.append(" ")
        line.append(finding.code, style="bold red")
        line.append(f" {finding.message}")
        console.print(line)
    console.print(_summary(result))


def _summary(result: CheckResult) -> str:
    checked = f"{result.files_checked} file{'s' if result.files_checked != 1 else ''} checked"
    if not result.findings:
        return f"All checks passed ({checked})."
    files = len({f.path for f in result.findings})
    count = len(result.findings)
    return (
        f"Found {count} problem{'s' if count != 1 else ''} in {files} "
        f"file{'s' if files != 1 else ''} ({checked}). "
        "'gilwise check --explain CODE' says why each matters."
    )


def render_json(result: CheckResult, out: TextIO) -> None:
    """One JSON document: schema, counts, findings and warnings."""
    rules = registered_rules()
    document = {
        "schema": CHECK_SCHEMA,
        "files_checked": result.files_checked,
        "findings": [_finding_dict(f, rules) for f in result.findings],
        "warnings": list(result.warnings),
    }
    json.dump(document, out, indent=2)
    out.write("\n")


def _finding_dict(finding: Finding, rules: dict[str, type[Rule]]) -> dict[str, Any]:
    rule = rules.get(finding.code)
    return {
        "code": finding.code,
        "name": rule.name if rule else None,
        "message": finding.message,
        "path": finding.path,
        "line": finding.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
    }


def render_sarif(result: CheckResult, out: TextIO) -> None:
    """A SARIF 2.1.0 log, as GitHub code scanning and IDEs read it."""
    rules = registered_rules()
    index = {code: i for i, code in enumerate(rules)}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "gilwise",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_sarif_rule(rule) for rule in rules.values()],
            }
        },
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
        "results": [_sarif_result(f, index) for f in result.findings],
        "invocations": [
            {
                "executionSuccessful": True,
                "toolExecutionNotifications": [
                    {"level": "warning", "message": {"text": w}} for w in result.warnings
                ],
            }
        ],
    }
    document = {"$schema": _SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    json.dump(document, out, indent=2)
    out.write("\n")


def _sarif_rule(rule: type[Rule]) -> dict[str, Any]:
    page = rule.documentation()
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": page},
        "help": {"text": page, "markdown": page},
        "defaultConfiguration": {"level": _level(rule.code)},
    }


def _sarif_result(finding: Finding, index: dict[str, int]) -> dict[str, Any]:
    region: dict[str, int] = {"startLine": finding.line, "startColumn": finding.column}
    if finding.end_line is not None and finding.end_column is not None:
        region.update(endLine=finding.end_line, endColumn=finding.end_column)
    return {
        "ruleId": finding.code,
        "ruleIndex": index[finding.code],
        "level": _level(finding.code),
        "message": {"text": finding.message},
        "locations": [
            {"physicalLocation": {"artifactLocation": _artifact(finding.path), "region": region}}
        ],
    }


def _artifact(path: str) -> dict[str, str]:
    if Path(path).is_absolute():
        return {"uri": Path(path).as_uri()}
    return {"uri": quote(path), "uriBaseId": "%SRCROOT%"}


def _level(code: str) -> str:
    return "error" if code in _FILE_CODES else "warning"


def render_github(result: CheckResult, out: TextIO) -> None:
    """GitHub Actions workflow commands: each finding becomes an annotation on the diff."""
    rules = registered_rules()
    for f in result.findings:
        rule = rules.get(f.code)
        title = f"{f.code} {rule.name}" if rule else f.code
        properties = [f"file={_property(f.path)}", f"line={f.line}", f"col={f.column}"]
        if f.end_line is not None and f.end_column is not None:
            properties += [f"endLine={f.end_line}", f"endColumn={f.end_column}"]
        properties.append(f"title={_property(title)}")
        command = "error" if f.code in _FILE_CODES else "warning"
        out.write(f"::{command} {','.join(properties)}::{_data(f.message)}\n")


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


FORMATS: dict[str, Callable[[CheckResult, TextIO], None]] = {
    "text": lambda result, out: render_text(result, out, color=out.isatty()),
    "json": render_json,
    "sarif": render_sarif,
    "github": render_github,
}


def render(result: CheckResult, output_format: str, out: TextIO | None = None) -> None:
    """Write ``result`` in ``output_format`` to ``out`` (stdout by default)."""
    FORMATS[output_format](result, out or sys.stdout)
