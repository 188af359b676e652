"""Check a set of files and directories with one configuration."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

import pathspec

from ._config import CheckConfig, load_config
from ._engine import Selection, check_source, read_error
from ._finding import CheckResult, Finding
from ._paths import discover

#: Files larger than this are generated or data; reading them would only slow the run.
MAX_FILE_BYTES = 10 * 1024 * 1024


def check_paths(
    paths: Iterable[str | os.PathLike[str]] = (), config: CheckConfig | None = None
) -> CheckResult:
    """Check every Python file under ``paths`` (default: the current directory).

    Without ``config``, options come from the nearest pyproject.toml's
    ``[tool.gilwise.check]``, as on the command line.

    Example:
        >>> import gilwise
        >>> result = gilwise.check_paths(["src/gilwise/check"])
        >>> [f.code for f in result.findings], result.files_checked > 0
        ([], True)
    """
    config = config or load_config(Path.cwd())
    given = [Path(p) for p in paths] or [Path(".")]
    found = discover(given, config.root, config.exclude, config.respect_gitignore)
    selection = Selection(config.select, config.ignore)
    per_file = [
        (pathspec.GitIgnoreSpec.from_lines([pattern]), codes)
        for pattern, codes in config.per_file_ignores.items()
    ]
    findings: list[Finding] = []
    for path in found.files:
        shown = _display(path)
        ignored = _per_file_ignores(path, config.root, per_file)
        file_selection = Selection(selection.select, selection.ignore + ignored)
        findings.extend(_check_file(path, shown, file_selection))
    return CheckResult(tuple(sorted(findings)), len(found.files), tuple(found.warnings))


def _check_file(path: Path, shown: str, selection: Selection) -> list[Finding]:
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            reason = f"{size // (1024 * 1024)} MiB is over the {MAX_FILE_BYTES >> 20} MiB limit"
            return [read_error(shown, reason)] if selection.wants("GW002") else []
        source = path.read_bytes()
    except OSError as exc:
        return [read_error(shown, exc.strerror or str(exc))] if selection.wants("GW002") else []
    return check_source(source, shown, selection)


def _per_file_ignores(
    path: Path, root: Path, per_file: list[tuple[pathspec.GitIgnoreSpec, tuple[str, ...]]]
) -> tuple[str, ...]:
    try:
        relative = path.relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        relative = path.name
    return tuple(code for spec, codes in per_file if spec.match_file(relative) for code in codes)


def _display(path: Path) -> str:
    """The path relative to the current directory when it is inside it."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)
