"""Every report's JSON form, derived from its dataclass in one place.

A report (the run's, the advisor's, the tour's) is a frozen dataclass of plain values,
tuples and nested dataclasses. Its JSON form follows the fields and their type hints,
so a new field needs no serialisation code, and a saved report loads back into the
same classes (``docs/report-schema.md``).
"""

from __future__ import annotations

import dataclasses
import json

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing loads only to read a saved report back (from_dict)
    from typing import Any, TypeVar

    T = TypeVar("T")
    R = TypeVar("R", bound="JsonReport")


class JsonReport:
    """``to_dict``, ``to_json`` and ``from_dict`` for a report dataclass."""

    __slots__ = ()

    def to_dict(self) -> dict[str, Any]:
        """The report as JSON-ready data."""
        return _to_plain(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls: type[R], data: dict[str, Any]) -> R:
        """Rebuild a report from :meth:`to_dict` output (for tools reading saved reports)."""
        return _from_plain(cls, data)


def _to_plain(obj: Any) -> dict[str, Any]:
    plain: dict[str, Any] = _listify(dataclasses.asdict(obj))
    return plain


def _listify(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _listify(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_listify(v) for v in value]
    return value


def _from_plain(cls: type[T], data: dict[str, Any]) -> T:
    """Build dataclass ``cls`` from plain data, converting nested fields by their hints."""
    import typing

    hints = typing.get_type_hints(cls)
    kwargs = {
        f.name: _convert(hints[f.name], data[f.name])
        for f in dataclasses.fields(cls)  # type: ignore[arg-type]
        if f.name in data
    }
    return cls(**kwargs)


def _convert(hint: Any, value: Any) -> Any:
    import types
    import typing

    if value is None:
        return None
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return _convert(inner[0], value) if len(inner) == 1 else value
    if origin is tuple:
        return tuple(_convert(args[0], v) for v in value)
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        return _from_plain(hint, value)
    return value
