"""The flake8 plugin: the same rules under flake8, which handles selection and ``noqa``.

Registered as the ``GW`` extension, so ``flake8 --select GW`` runs every gilwise rule.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from typing import Any

from .._version import __version__
from ._engine import rule_hits
from ._rule import registered_rules


class Flake8Plugin:
    """flake8's AST plugin protocol: built with the tree, ``run()`` yields findings.

    Example:
        >>> tree = ast.parse("import time\\nasync def f():\\n    time.sleep(1)\\n")
        >>> [message.split()[0] for _, _, message, _ in Flake8Plugin(tree).run()]
        ['GW101']
    """

    name = "gilwise"
    version = __version__

    def __init__(self, tree: ast.AST) -> None:
        self._tree = tree

    @classmethod
    def add_options(cls, manager: Any) -> None:
        """Opt-in rules are ignored by default, as with gilwise's own command."""
        manager.extend_default_ignore([r.code for r in registered_rules().values() if r.opt_in])

    def run(self) -> Iterator[tuple[int, int, str, type[Flake8Plugin]]]:
        """Yield ``(line, column, "GWnnn message", type)``; flake8 counts columns from 0."""
        if not isinstance(self._tree, ast.Module):
            return
        rules = [rule() for rule in registered_rules().values()]
        for code, (node, message) in rule_hits(self._tree, rules):
            yield (
                getattr(node, "lineno", 1),
                getattr(node, "col_offset", 0),
                f"{code} {message}",
                type(self),
            )
