"""Precision of ``gilwise check`` on real projects' source: list the findings, tally the labels.

Runs ``gilwise check --format json --no-respect-gitignore FILES`` over the same files as
``check_speed.py`` (the installed interpreter's ``asyncio``, ``concurrent``, ``multiprocessing``,
``threading.py`` and ``socketserver.py``, and the installed ``distributed``, ``anyio``,
``aiohttp`` and ``tornado``; positional paths replace that set), then either

* prints every finding with the source around it, for review (the default), or
* with ``--labels results.md``, reads the review's verdicts from that Markdown file (table rows
  ``| `path:line` | GWnnn | TP/FP/debatable | reason |``) and prints, as Markdown, the files
  and lines checked per project and the per-rule precision table, with 95% Wilson intervals
  (a rule's precision on a few findings is a wide range, not a number). Findings without a verdict
  make the exit status 1 (a rule change that adds findings shows up); verdicts whose finding
  is gone are listed too, as the file keeps the verdicts of earlier rule versions.

``--select GW,GW115`` is passed on to gilwise, to measure opt-in rules too (the default is
gilwise's own default selection).

``--report saved.json`` tallies a report saved earlier (``--json``) instead of running
gilwise, e.g. to redo the table of an older rule version; relative paths in it are read from
the current directory.

Paths are shown as ``Lib/...`` for the standard library and relative to ``site-packages`` for
installed packages. Tools and packages come from ``--python-env`` (a virtualenv folder or an
interpreter), by default the Python running this script::

    /tmp/checkbench/bin/python benchmarks/check_precision.py --context 6
    python3 benchmarks/check_precision.py --python-env /tmp/checkbench \\
        --labels benchmarks/results/check_findings.md
"""

from __future__ import annotations

import argparse
import json
import math
import re
import subprocess
import sys
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from check_speed import (  # benchmarks/ is not a package: imported from this folder
    DEFAULT_PACKAGES,
    DEFAULT_STDLIB,
    Environment,
    Target,
    collect,
    locate,
    resolve_python,
    split_names,
    targets_from_args,
)

LABELS = ("TP", "FP", "debatable")
LABEL_ROW = re.compile(r"^\|\s*`([^`]+):(\d+)`\s*\|\s*(GW\d{3})\s*\|\s*(TP|FP|debatable)\s*\|")


@dataclass(frozen=True)
class Finding:
    shown: str  # path as the report shows it
    line: int
    code: str
    name: str
    message: str
    path: Path

    @property
    def key(self) -> tuple[str, int, str]:
        return (self.shown, self.line, self.code)


def shown_path(path: Path, env: Environment) -> str:
    """``Lib/...`` under the stdlib, relative to the package's parent for packages."""
    if path.is_relative_to(env.stdlib):
        return f"Lib/{path.relative_to(env.stdlib).as_posix()}"
    for package in env.packages.values():
        if package is not None and path.is_relative_to(package):
            return path.relative_to(package.parent).as_posix()
    return str(path)


def run_gilwise(env: Environment, files: Sequence[str], select: str | None = None) -> dict:
    script = env.bindir / "gilwise"
    head = [str(script)] if script.exists() else [str(env.python), "-m", "gilwise"]
    selection = [] if select is None else ["--select", select]
    argv = [*head, "check", "--format", "json", "--no-respect-gitignore", *selection, *files]
    with tempfile.TemporaryDirectory(prefix="check-precision-") as cwd:
        completed = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, check=False)
    if completed.returncode not in (0, 1):
        raise SystemExit(f"error: gilwise check exited {completed.returncode}:\n{completed.stderr}")
    return json.loads(completed.stdout)


def findings_of(report: dict, env: Environment) -> list[Finding]:
    found = [
        Finding(
            shown_path(Path(f["path"]).absolute(), env),
            f["line"],
            f["code"],
            f["name"],
            f["message"],
            Path(f["path"]),
        )
        for f in report["findings"]
    ]
    return sorted(found, key=lambda f: (f.shown, f.line, f.code))


def print_for_review(findings: Sequence[Finding], context: int) -> None:
    for index, finding in enumerate(findings, 1):
        print(f"=== {index}. {finding.shown}:{finding.line} {finding.code} ({finding.name})")
        print(f"    {finding.message}")
        try:
            source = finding.path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            print(f"    (cannot read: {exc})")
            continue
        first = max(1, finding.line - context)
        for number in range(first, min(len(source), finding.line + context) + 1):
            marker = ">>" if number == finding.line else "  "
            print(f"{marker}{number:6} {source[number - 1]}")
        print()


def read_labels(path: Path) -> dict[tuple[str, int, str], str]:
    labels = {}
    for row in path.read_text(encoding="utf-8").splitlines():
        if match := LABEL_ROW.match(row):
            shown, line, code, label = match.groups()
            labels[(shown, int(line), code)] = label
    return labels


def precision(tp: int, fp: int) -> str:
    return f"{tp / (tp + fp):.0%}" if tp + fp else "n/a"


def wilson(tp: int, fp: int, z: float = 1.96) -> str:
    """The 95% Wilson score interval of TP / (TP + FP), e.g. ``"70–100%"``.

    >>> wilson(9, 0)
    '70–100%'
    >>> wilson(2, 5)
    '8–64%'
    """
    n = tp + fp
    if not n:
        return "n/a"
    p = tp / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return f"{max(0.0, centre - half):.0%}–{min(1.0, centre + half):.0%}".replace("%–", "–")


def tally(findings: Sequence[Finding], labels: dict[tuple[str, int, str], str]) -> list[str]:
    names = {f.code: f.name for f in findings}
    counts: dict[str, Counter[str]] = {}
    for finding in findings:
        label = labels.get(finding.key)
        if label is not None:
            counts.setdefault(finding.code, Counter())[label] += 1
    out = [
        "| rule | name | findings | TP | FP | debatable | precision TP/(TP+FP) | 95% interval "
        "| precision, debatable as FP | 95% interval |",
        "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    total: Counter[str] = Counter()
    for code in sorted(counts):
        c = counts[code]
        total.update(c)
        strict_fp = c["FP"] + c["debatable"]
        out.append(
            f"| {code} | {names[code]} | {sum(c.values())} | {c['TP']} | {c['FP']} "
            f"| {c['debatable']} | {precision(c['TP'], c['FP'])} | {wilson(c['TP'], c['FP'])} "
            f"| {precision(c['TP'], strict_fp)} | {wilson(c['TP'], strict_fp)} |"
        )
    strict_fp = total["FP"] + total["debatable"]
    out.append(
        f"| **all** | | **{sum(total.values())}** | **{total['TP']}** | **{total['FP']}** "
        f"| **{total['debatable']}** | **{precision(total['TP'], total['FP'])}** "
        f"| **{wilson(total['TP'], total['FP'])}** "
        f"| **{precision(total['TP'], strict_fp)}** | **{wilson(total['TP'], strict_fp)}** |"
    )
    return out


def checked_table(targets: Sequence[Target], files_checked: int) -> list[str]:
    out = ["| project | files | lines |", "| --- | ---: | ---: |"]
    for target in targets:
        out.append(f"| {target.label} | {len(target.files)} | {target.lines:,} |")
    out.append(
        f"| **total** (gilwise reported {files_checked} files checked) "
        f"| **{sum(len(t.files) for t in targets)}** | **{sum(t.lines for t in targets):,}** |"
    )
    return out


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="files or folders instead of the default set")
    parser.add_argument("--python-env", help="virtualenv folder or interpreter to use")
    parser.add_argument("--stdlib", default=",".join(DEFAULT_STDLIB))
    parser.add_argument("--packages", default=",".join(DEFAULT_PACKAGES))
    parser.add_argument("--context", type=int, default=4, help="source lines around a finding")
    parser.add_argument("--labels", type=Path, help="Markdown file holding the verdicts")
    parser.add_argument("--json", type=Path, help="also save gilwise's JSON report here")
    parser.add_argument("--report", type=Path, help="tally this saved JSON report instead")
    parser.add_argument("--select", help="gilwise's --select, e.g. GW,GW115 for opt-in rules")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    env = locate(resolve_python(args.python_env), split_names(args.packages))
    targets, missing = targets_from_args(
        env, args.paths, split_names(args.stdlib), split_names(args.packages)
    )
    files = [str(f) for f in collect(targets)]
    if args.report is not None:
        report = json.loads(args.report.read_text(encoding="utf-8"))
    else:
        report = run_gilwise(env, files, args.select)
    if args.json:
        args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    findings = findings_of(report, env)
    if args.report is not None:
        print(f"(from the saved report {args.report})", file=sys.stderr)
    if missing:
        print(f"not installed, left out: {', '.join(missing)}", file=sys.stderr)
    for warning in report.get("warnings", []):
        print(f"gilwise warning: {warning}", file=sys.stderr)
    if args.labels is None:
        print(f"{len(findings)} findings in {report['files_checked']} files\n")
        print_for_review(findings, args.context)
        return 0
    labels = read_labels(args.labels)
    print("\n".join(checked_table(targets, report["files_checked"])))
    print()
    print("\n".join(tally(findings, labels)))
    unlabelled = [f for f in findings if f.key not in labels]
    stale = sorted(set(labels) - {f.key for f in findings})
    for finding in unlabelled:
        print(f"no verdict: {finding.shown}:{finding.line} {finding.code}", file=sys.stderr)
    for shown, line, code in stale:
        print(f"verdict for a finding no longer reported: {shown}:{line} {code}", file=sys.stderr)
    return 1 if unlabelled else 0


if __name__ == "__main__":
    sys.exit(main())
