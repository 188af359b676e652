"""The rule base class and the registry built from its subclasses."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterator
from typing import ClassVar

from ._context import Context

#: A rule's hit: the node to point at and the message to show.
Hit = tuple[ast.AST, str]

_REGISTRY: dict[str, type[Rule]] = {}


class Rule:
    """One check: a stable code, a short name, the node types it looks at.

    The class docstring is the rule's documentation page, in ruff's sections
    (What it does, Why is this bad?, Example, Use instead); ``gilwise check --explain``
    prints it and ``docs/rules/`` is generated from it.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    nodes: ClassVar[tuple[type[ast.AST], ...]]

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.code in _REGISTRY:
            raise TypeError(f"rule code {cls.code} is used twice")
        _REGISTRY[cls.code] = cls

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        """Yield a hit for each problem at ``node``."""
        raise NotImplementedError

    @classmethod
    def documentation(cls) -> str:
        """The rule's page as Markdown."""
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        """The first line of the ``What it does`` section."""
        lines = cls.documentation().splitlines()
        start = lines.index("## What it does") + 1
        return next(line for line in lines[start:] if line.strip())


def registered_rules() -> dict[str, type[Rule]]:
    """Every rule by code, in code order."""
    from . import rules  # noqa: F401  (importing the families registers them)

    return dict(sorted(_REGISTRY.items()))
