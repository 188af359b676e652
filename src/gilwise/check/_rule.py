"""The rule base class and the registry built from its subclasses."""

from __future__ import annotations

import ast
import inspect
from collections.abc import Iterable, Iterator
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
    #: Reported only when its exact code is selected (``--select GW115``).
    opt_in: ClassVar[bool] = False
    #: Looks only at code that runs directly in an ``async def`` (not in a function or
    #: lambda nested in it): the engine does not call it anywhere else.
    in_coroutines_only: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if "code" not in cls.__dict__:
            return  # a shared base of several rules, not a rule
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
        """The first sentence of the ``What it does`` section, on one line."""
        section = cls.documentation().split("## What it does", 1)[1].strip()
        paragraph = " ".join(section.split("\n\n", 1)[0].split())
        return paragraph.split(". ", 1)[0].rstrip(".") + "."


def registered_rules() -> dict[str, type[Rule]]:
    """Every rule by code, in code order."""
    from . import rules  # noqa: F401  (importing the families registers them)

    return dict(sorted(_REGISTRY.items()))


def rule_page(rule: type[Rule]) -> str:
    """The rule's documentation page, as ``--explain`` prints it and docs/rules/ holds it."""
    return f"# {rule.code}: {rule.name}\n\n{rule.documentation()}\n"


def index_page(rules: Iterable[type[Rule]]) -> str:
    """The table of every rule, for docs/rules/README.md."""
    lines = [
        "# gilwise check rules",
        "",
        "Generated from the rules' docstrings by `scripts/generate_rule_docs.py`;",
        "`gilwise check --explain CODE` prints the same pages.",
        "",
        "| Code | Name | What it finds |",
        "|---|---|---|",
    ]
    lines += [f"| [{r.code}]({r.code}.md) | {r.name} | {r.summary()} |" for r in rules]
    return "\n".join(lines) + "\n"
