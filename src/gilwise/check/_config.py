"""``[tool.gilwise.check]`` in pyproject.toml: select, ignore, excludes, per-file ignores."""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .._errors import ConfigInvalid

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found,unused-ignore]

_KEYS = frozenset(
    {"select", "ignore", "exclude", "per-file-ignores", "respect-gitignore", "force-exclude"}
)
_CODE_PREFIX = re.compile(r"GW[0-9]{0,3}")


@dataclass(frozen=True)
class CheckConfig:
    """The options of one check run, from pyproject.toml and the command line.

    Example:
        >>> CheckConfig(select=("GW1",)).select
        ('GW1',)
    """

    select: tuple[str, ...] = ("GW",)
    ignore: tuple[str, ...] = ()
    #: gitignore-style patterns, relative to ``root``.
    exclude: tuple[str, ...] = ()
    #: gitignore-style pattern → codes (or prefixes) to ignore in the matching files.
    per_file_ignores: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    respect_gitignore: bool = True
    #: Apply ``exclude`` to files named explicitly too (pre-commit names every changed file).
    force_exclude: bool = False
    #: The directory patterns are relative to: where pyproject.toml is, else the cwd.
    root: Path = field(default_factory=Path.cwd)
    #: The file the options came from, if any.
    source: Path | None = None


def load_config(start: Path, explicit: Path | None = None) -> CheckConfig:
    """Options from ``explicit``, or the nearest pyproject.toml above ``start`` that has them."""
    if explicit is not None:
        if not explicit.is_file():
            raise ConfigInvalid(f"config file not found: {explicit}; check the --config path")
        return _from_file(explicit, _table(explicit) or {})
    for directory in [start.resolve(), *start.resolve().parents]:
        candidate = directory / "pyproject.toml"
        if candidate.is_file():
            table = _table(candidate)
            if table is not None:
                return _from_file(candidate, table)
    return CheckConfig(root=start.resolve())


def validate_codes(codes: tuple[str, ...], where: str) -> tuple[str, ...]:
    """Upper-case ``codes`` and reject anything that is not a GW code or prefix."""
    cleaned = tuple(code.strip().upper() for code in codes if code.strip())
    from ._rule import registered_rules

    rules = registered_rules()
    for code in cleaned:
        if not _CODE_PREFIX.fullmatch(code):
            raise ConfigInvalid(
                f"{where}: {code!r} is not a rule code or prefix (like GW1 or GW101); "
                "'gilwise check --list-rules' shows them"
            )
        if not any(rule.startswith(code) for rule in rules):
            # A typo would otherwise select nothing and read as "All checks passed".
            raise ConfigInvalid(
                f"{where}: no rule is {code!r} or starts with it; "
                "'gilwise check --list-rules' shows them"
            )
    return cleaned


def _table(path: Path) -> dict[str, Any] | None:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigInvalid(f"cannot read {path}: {exc}; fix the file or pass --config") from exc
    table = data.get("tool", {}).get("gilwise", {}).get("check")
    if table is not None and not isinstance(table, dict):
        raise ConfigInvalid(f"{path}: [tool.gilwise.check] must be a table")
    return table


def _from_file(path: Path, table: dict[str, Any]) -> CheckConfig:
    where = f"{path} [tool.gilwise.check]"
    unknown = sorted(set(table) - _KEYS)
    if unknown:
        raise ConfigInvalid(
            f"{where}: unknown key {unknown[0]!r}; known keys: {', '.join(sorted(_KEYS))}"
        )
    per_file = table.get("per-file-ignores", {})
    if not isinstance(per_file, dict):
        raise ConfigInvalid(f"{where}: per-file-ignores must be a table of pattern = [codes]")
    respect = _flag(table, "respect-gitignore", True, where)
    return CheckConfig(
        select=validate_codes(_strings(table, "select", where, ("GW",)), where),
        ignore=validate_codes(_strings(table, "ignore", where, ()), where),
        exclude=_strings(table, "exclude", where, ()),
        per_file_ignores={
            str(pattern): validate_codes(_as_strings(codes, f"{where} per-file-ignores"), where)
            for pattern, codes in per_file.items()
        },
        respect_gitignore=respect,
        force_exclude=_flag(table, "force-exclude", False, where),
        root=path.parent.resolve(),
        source=path,
    )


def _flag(table: dict[str, Any], key: str, default: bool, where: str) -> bool:
    value = table.get(key, default)
    if not isinstance(value, bool):
        raise ConfigInvalid(f"{where}: {key} must be true or false")
    return value


def _strings(
    table: dict[str, Any], key: str, where: str, default: tuple[str, ...]
) -> tuple[str, ...]:
    if key not in table:
        return default
    return _as_strings(table[key], f"{where} {key}")


def _as_strings(value: object, where: str) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigInvalid(f'{where} must be a list of strings, like ["GW1"]')
    return tuple(value)
