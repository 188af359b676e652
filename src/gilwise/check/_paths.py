"""Which files to check: walk directories, skip what is excluded or gitignored, survive loops."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pathspec

from .._errors import TargetNotFound

#: Directories no project wants checked (ruff's defaults, roughly).
DEFAULT_EXCLUDES = (
    ".git",
    ".hg",
    ".svn",
    ".bzr",
    ".venv",
    "venv",
    ".tox",
    ".nox",
    ".eggs",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".gilwise_cache",
    ".pytest_cache",
    "node_modules",
    "build",
    "dist",
    "site-packages",
)
_SOURCE_SUFFIXES = (".py", ".pyi")


@dataclass
class Discovery:
    """The files found and what went wrong finding them."""

    files: list[Path] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Ignore:
    base: Path
    spec: pathspec.GitIgnoreSpec

    def matches(self, path: Path, is_dir: bool) -> bool:
        try:
            relative = path.relative_to(self.base).as_posix()
        except ValueError:
            return False
        return self.spec.match_file(relative + "/" if is_dir else relative)

    def matches_folder_or_parent(self, folder: Path) -> bool:
        """Whether ``folder`` or a folder between it and the base is excluded."""
        return any(
            self.matches(candidate, is_dir=True)
            for candidate in [folder, *folder.parents]
            if candidate != self.base and self.base in candidate.parents
        )


def discover(
    paths: Iterable[Path],
    root: Path,
    exclude: Iterable[str],
    respect_gitignore: bool,
    force_exclude: bool = False,
) -> Discovery:
    """Every Python file under ``paths``.

    Files and folders named explicitly are checked even when an exclude pattern covers
    them, unless ``force_exclude`` (ruff's ``--force-exclude``): pre-commit names every
    changed file, so without it the excludes would not apply under pre-commit.
    """
    found = Discovery()
    defaults = pathspec.GitIgnoreSpec.from_lines(DEFAULT_EXCLUDES)
    # Absolute but not resolved: a symlinked folder keeps the name it was reached by.
    configured = _Ignore(_absolute(root), pathspec.GitIgnoreSpec.from_lines(exclude))
    for given in paths:
        if not given.exists() and not given.is_symlink():
            raise TargetNotFound(f"no such file or directory: {given}; check the path")
        path = _absolute(given)
        if force_exclude and _excluded(path, path.is_dir(), configured, defaults):
            continue
        if not path.is_dir():
            if path.is_file():
                found.files.append(path)
            else:  # reading a FIFO or a device would wait forever or never end
                found.warnings.append(f"{given} is not a regular file; skipped")
            continue
        # The default excludes apply below the folder named, so naming a folder inside
        # site-packages or build/ checks it; configured excludes apply from the config's
        # folder unless they exclude the named folder itself.
        ignores = [_Ignore(path, defaults)]
        if force_exclude or not configured.matches_folder_or_parent(path):
            ignores.append(configured)
        if respect_gitignore:
            ignores += _parent_gitignores(path)
        before = len(found.files)
        found.files.extend(_walk(path, ignores, respect_gitignore, found.warnings))
        if len(found.files) == before:
            found.warnings.append(f"no Python files to check in {given} (all excluded or none)")
    found.files = list(dict.fromkeys(found.files))
    return found


def _absolute(path: Path) -> Path:
    return Path(os.path.abspath(path))


def _excluded(
    path: Path, is_dir: bool, configured: _Ignore, defaults: pathspec.GitIgnoreSpec
) -> bool:
    """Whether an exclude covers a path named on the command line (for --force-exclude).

    The configured patterns count from the config's folder; the default ones (.venv,
    build, ...) match a folder of that name anywhere on the path, as ruff's do.
    """
    if configured.matches(path, is_dir) or configured.matches_folder_or_parent(path.parent):
        return True
    try:
        relative = path.relative_to(configured.base).as_posix()
    except ValueError:
        relative = path.as_posix().lstrip("/")
    return defaults.match_file(relative + "/" if is_dir else relative)


def _walk(
    top: Path, ignores: list[_Ignore], respect_gitignore: bool, warnings: list[str]
) -> Iterator[Path]:
    visited: set[tuple[int, int]] = set()
    todo: list[tuple[Path, list[_Ignore]]] = [(top, ignores)]
    while todo:
        directory, active = todo.pop()
        try:
            status = directory.stat()
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as exc:
            warnings.append(f"cannot read directory {directory}: {exc.strerror or exc}")
            continue
        identity = (status.st_dev, status.st_ino)
        if identity in visited:
            warnings.append(f"skipped {directory}: a symlink loop leads back to a checked folder")
            continue
        visited.add(identity)
        if respect_gitignore and (directory / ".gitignore").is_file():
            active = [*active, _gitignore(directory)]
        subdirectories = []
        for entry in entries:
            path = Path(entry.path)
            is_dir = _is_dir(entry)
            if any(rule.matches(path, is_dir) for rule in active):
                continue
            if is_dir:
                subdirectories.append(path)
            elif entry.name.endswith(_SOURCE_SUFFIXES):
                if _is_file(entry):
                    yield path
                elif _exists(entry):  # a FIFO or a device: reading it could block forever
                    warnings.append(f"{path} is not a regular file; skipped")
        todo.extend((sub, active) for sub in reversed(subdirectories))


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _is_file(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_file()
    except OSError:
        return False


def _exists(entry: os.DirEntry[str]) -> bool:
    """Whether the entry is something other than a broken symlink."""
    try:
        entry.stat()
    except OSError:
        return False
    return True


def _gitignore(directory: Path) -> _Ignore:
    try:
        lines = (directory / ".gitignore").read_text(encoding="utf-8", errors="replace")
    except OSError:
        lines = ""
    return _Ignore(directory, pathspec.GitIgnoreSpec.from_lines(lines.splitlines()))


def _parent_gitignores(path: Path) -> Iterator[_Ignore]:
    """.gitignore files above ``path`` up to the repository root."""
    for directory in path.parents:
        if (directory / ".gitignore").is_file():
            ignore = _gitignore(directory)
            # A folder named on the command line is checked even if a parent ignores it.
            if not ignore.matches_folder_or_parent(path):
                yield ignore
        if (directory / ".git").exists():
            return
