"""The findings of files already checked, kept between runs, as ruff keeps ``.ruff_cache``.

An entry is keyed by everything its findings depend on: the file's bytes, the codes the
file is checked for (selection and per-file ignores), gilwise's version, the checker's
own source (an editable install changes rules without changing the version) and the
Python that parses (a file can be valid on 3.12 and not on 3.10). The path is not part
of the key, so an entry holds findings without one and serves a file moved or reached
from another folder. One small JSON file per entry, written to a temporary name and
renamed: concurrent runs (pre-commit starts several) never see half an entry, and the
worst a race costs is checking a file twice.

Entries nobody reads go: every file edited leaves its old entries behind, and an editable
install makes new keys for every file whenever the checker changes. A read refreshes its
entry's modification time, and once a day opening the cache deletes entries unread for 30
days (ruff drops its entries after the same time unseen), older gilwise versions' included.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from .._version import __version__
from ._engine import Selection
from ._finding import Finding

#: The folder's name in the project root, beside ``.ruff_cache`` and ``.mypy_cache``.
CACHE_DIR_NAME = ".gilwise_cache"
#: Overrides where the cache lives (a read-only checkout, a CI cache folder).
CACHE_DIR_ENV = "GILWISE_CACHE_DIR"
#: Bumped when an entry's layout changes, so old entries are never misread.
_FORMAT = "1"
#: The standard tag backup tools skip a cache folder by (https://bford.info/cachedir/).
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by gilwise.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)

#: Entries unread this long are deleted.
MAX_UNUSED_S = 30 * 24 * 3600
#: How often opening the cache looks for them (the marker file's age says when it last did).
PRUNE_EVERY_S = 24 * 3600
_PRUNED_MARKER = "last-pruned"

#: A finding without its path: line, column, code, message, end line, end column.
_Entry = list[tuple[int, int, str, str, int | None, int | None]]


def cache_dir(root: Path) -> Path:
    """Where the cache of a project rooted at ``root`` lives."""
    override = os.environ.get(CACHE_DIR_ENV)
    return Path(override) if override else root / CACHE_DIR_NAME


@dataclass(frozen=True)
class Cache:
    """Findings by content and rule set, in one folder (picklable: workers write to it).

    Example:
        >>> import tempfile
        >>> cache = Cache.open(Path(tempfile.mkdtemp()))
        >>> key = cache.key(b"x = 1\\n", Selection())
        >>> cache.get(key, "a.py") is None
        True
        >>> cache.put(key, [])
        >>> cache.get(key, "a.py")
        []
    """

    directory: Path
    #: Everything a key depends on besides the file and its selection.
    salt: str

    @classmethod
    def open(cls, directory: Path) -> Cache:
        """The cache in ``directory``, created (with its tag files) if it is missing.

        Raises OSError when the folder cannot be created or written.
        """
        directory.mkdir(parents=True, exist_ok=True)
        for name, text in (("CACHEDIR.TAG", _CACHEDIR_TAG), (".gitignore", "*\n")):
            marker = directory / name
            if not marker.exists():
                marker.write_text(text, encoding="utf-8")
        _prune_if_due(directory, time.time())
        entries = directory / __version__
        entries.mkdir(exist_ok=True)
        return cls(entries, _salt())

    def key(self, source: bytes, selection: Selection) -> str:
        """The entry name for ``source`` checked with ``selection``."""
        digest = hashlib.blake2b(digest_size=20)
        digest.update(self.salt.encode())
        digest.update(repr((selection.select, selection.ignore)).encode())
        digest.update(b"\0")
        digest.update(source)
        return digest.hexdigest()

    def get(self, key: str, path: str) -> list[Finding] | None:
        """The findings stored under ``key``, reported at ``path``; None when not stored."""
        file = self._file(key)
        try:
            entry = json.loads(file.read_bytes())
            findings = [Finding(path, *row) for row in entry]
        except (OSError, ValueError, TypeError):
            return None  # missing, or damaged (a full disk, a killed run): check again
        with contextlib.suppress(OSError):  # a read-only cache serves all the same
            os.utime(file)  # in use: pruning keeps it
        return findings

    def put(self, key: str, findings: list[Finding]) -> None:
        """Store ``findings`` under ``key``; a cache that cannot be written is skipped."""
        entry: _Entry = [
            (f.line, f.column, f.code, f.message, f.end_line, f.end_column) for f in findings
        ]
        target = self._file(key)
        temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        try:
            target.parent.mkdir(exist_ok=True)
            temporary.write_text(json.dumps(entry), encoding="utf-8")
            os.replace(temporary, target)
        except OSError:
            with contextlib.suppress(OSError):
                temporary.unlink(missing_ok=True)

    def _file(self, key: str) -> Path:
        # 256 subfolders: a folder of a hundred thousand files is slow on some filesystems.
        return self.directory / key[:2] / key[2:]


def _prune_if_due(directory: Path, now: float) -> None:
    """Delete entries unread for :data:`MAX_UNUSED_S`, when the last look is a day old.

    Errors are ignored: a concurrent run deleting the same entries, or a read-only
    cache, costs nothing but the space.
    """
    marker = directory / _PRUNED_MARKER
    try:
        if now - marker.stat().st_mtime < PRUNE_EVERY_S:
            return
    except FileNotFoundError:
        pass  # never pruned
    except OSError:
        return
    with contextlib.suppress(OSError):
        marker.touch()
        os.utime(marker, (now, now))
    for version in _subfolders(directory):
        for bucket in _subfolders(version):
            for entry in _files(bucket):
                with contextlib.suppress(OSError):
                    if now - entry.stat().st_mtime > MAX_UNUSED_S:
                        entry.unlink()
            with contextlib.suppress(OSError):
                bucket.rmdir()  # only when emptied
        with contextlib.suppress(OSError):
            version.rmdir()


def _subfolders(directory: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(directory) if e.is_dir(follow_symlinks=False)]
    except OSError:
        return []


def _files(directory: Path) -> list[Path]:
    try:
        return [Path(e.path) for e in os.scandir(directory) if e.is_file(follow_symlinks=False)]
    except OSError:
        return []


@functools.lru_cache(maxsize=1)
def _salt() -> str:
    """What invalidates every entry: the cache format, gilwise, its checker's source, Python."""
    digest = hashlib.blake2b(digest_size=20)
    for part in (_FORMAT, __version__, platform.python_implementation(), sys.version):
        digest.update(part.encode() + b"\0")
    package = Path(__file__).parent
    for source in sorted(package.rglob("*.py")):
        digest.update(source.relative_to(package).as_posix().encode() + b"\0")
        digest.update(source.read_bytes())
    return digest.hexdigest()
