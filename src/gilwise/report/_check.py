"""Render check findings: ruff-style text, JSON, SARIF 2.1.0 and GitHub workflow commands."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO
from urllib.parse import quote

from .._version import __version__
from ..check import CheckResult, Finding, Rule, decode_source, registered_rules, split_lines

CHECK_SCHEMA = "gilwise.check/1"
_SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
#: The base the results' paths are relative to, as GitHub's and CodeQL's logs name it.
_ROOT_ID = "%SRCROOT%"
#: partialFingerprints key; the version changes if the way it is computed does.
_FINGERPRINT = "gilwiseFindingHash/v1"
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
    """A SARIF 2.1.0 log, as GitHub code scanning and IDEs read it.

    Paths are relative to the repository root (``%SRCROOT%``), where code scanning looks
    for them, whatever folder the check ran in; columns count characters
    (``unicodeCodePoints``), as the text output does.
    """
    rules = registered_rules()
    index = {code: i for i, code in enumerate(rules)}
    root = _repository_root(Path.cwd())
    lines = _SourceLines()
    occurrences: dict[str, int] = {}
    run: dict[str, Any] = {
        "tool": {
            "driver": {
                "name": "gilwise",
                "version": __version__,
                "semanticVersion": __version__,
                "rules": [_sarif_rule(rule) for rule in rules.values()],
            }
        },
        "originalUriBaseIds": {_ROOT_ID: {"uri": root.as_uri() + "/"}},
        "columnKind": "unicodeCodePoints",
        "results": [
            _sarif_result(f, index, _artifact(f.path, root), lines, occurrences)
            for f in result.findings
        ],
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
    configuration: dict[str, Any] = {"level": _level(rule.code)}
    if rule.opt_in:
        configuration["enabled"] = False  # runs only when selected by its exact code
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary()},
        "fullDescription": {"text": page},
        "help": {"text": page, "markdown": page},
        "defaultConfiguration": configuration,
    }


def _sarif_result(
    finding: Finding,
    index: dict[str, int],
    artifact: dict[str, str],
    lines: _SourceLines,
    occurrences: dict[str, int],
) -> dict[str, Any]:
    # SARIF positions start at 1; a finding never has less, but the schema is strict.
    region: dict[str, int] = {
        "startLine": max(finding.line, 1),
        "startColumn": max(finding.column, 1),
    }
    if finding.end_line is not None and finding.end_column is not None:
        region.update(endLine=max(finding.end_line, 1), endColumn=max(finding.end_column, 1))
    return {
        "ruleId": finding.code,
        "ruleIndex": index[finding.code],
        "level": _level(finding.code),
        "message": {"text": finding.message},
        "locations": [{"physicalLocation": {"artifactLocation": artifact, "region": region}}],
        "partialFingerprints": {
            _FINGERPRINT: _fingerprint(finding, artifact["uri"], lines, occurrences)
        },
    }


def _fingerprint(
    finding: Finding, uri: str, lines: _SourceLines, occurrences: dict[str, int]
) -> str:
    """What identifies a finding across commits: rule, file, message and the text of its
    line, not the line's number, so code scanning keeps one alert while the code around
    it moves; identical findings in one file are told apart by their order."""
    text = " ".join(lines.line(finding.path, finding.line).split())
    digest = hashlib.sha256("\0".join((finding.code, uri, finding.message, text)).encode())
    base = digest.hexdigest()[:32]
    occurrences[base] = occurrences.get(base, 0) + 1
    return f"{base}:{occurrences[base]}"


class _SourceLines:
    """The lines of the reported files, read once each, for the fingerprints."""

    def __init__(self) -> None:
        self._files: dict[str, list[str]] = {}

    def line(self, path: str, number: int) -> str:
        if path not in self._files:
            self._files[path] = self._read(path)
        lines = self._files[path]
        return lines[number - 1] if 0 < number <= len(lines) else ""

    @staticmethod
    def _read(path: str) -> list[str]:
        try:
            with open(path, "rb") as file:
                source = file.read()
        except OSError:
            return []  # gone since the check: the fingerprint falls back to rule and message
        return split_lines(decode_source(source))


def _repository_root(start: Path) -> Path:
    """The nearest folder at or above ``start`` with a ``.git`` (a folder, or a file in a
    worktree or submodule), else ``start``: code scanning resolves paths from there."""
    for folder in [start, *start.parents]:
        if (folder / ".git").exists():
            return folder
    return start


def _artifact(path: str, root: Path) -> dict[str, str]:
    absolute = Path(os.path.abspath(path))
    try:
        relative = absolute.relative_to(root)
    except ValueError:
        return {"uri": absolute.as_uri()}  # outside the repository: only a full URI works
    return {"uri": quote(relative.as_posix()), "uriBaseId": _ROOT_ID}


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
