"""Where a node sits: the chain of enclosing nodes, and questions rules ask about it."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cached_property

from ._index import Place
from ._names import ModuleFacts

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp)


@dataclass
class Context:
    """The module's facts and where the node being checked sits."""

    facts: ModuleFacts
    place: Place
    #: What ``qualname`` and ``kind`` found for each node, by the node's id: most rules
    #: for calls ask what the call is, or what it makes.
    _qualnames: dict[int, str | None] = field(default_factory=dict)
    _kinds: dict[int, str | None] = field(default_factory=dict)

    @classmethod
    def of_body(cls, facts: ModuleFacts, function: ast.FunctionDef) -> Context:
        """The context of code directly in the body of ``function``, with the module as its
        only other ancestor."""
        return cls(
            facts, Place(function, None, function, Place(None, None, facts.index.tree, None))
        )

    @cached_property
    def ancestors(self) -> list[ast.AST]:
        """The nodes above the node, outermost (the module) first."""
        return self.place.ancestors()

    @property
    def parent(self) -> ast.AST:
        """The node directly above."""
        return self.place.parent

    def function(self) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | None:
        """The nearest enclosing function or lambda, if any."""
        return self.place.function

    def scope(self) -> ast.AST | None:
        """The scope names resolve in: the nearest function, or None for the module."""
        return self.function()

    def in_loop(self) -> bool:
        """Whether a loop in the same function repeats this node."""
        for node in reversed(self.ancestors):
            if isinstance(node, _FUNCTIONS):
                return False
            if isinstance(node, _LOOPS):
                return True
        return False

    def inside(self, kind: type[ast.AST] | tuple[type[ast.AST], ...]) -> bool:
        """Whether an ancestor of this type sits between the node and its function."""
        for node in reversed(self.ancestors):
            if isinstance(node, _FUNCTIONS):
                return False
            if isinstance(node, kind):
                return True
        return False

    def runs_at_import(self) -> bool:
        """Whether the node runs when the module is imported, outside the __main__ guard."""
        return not any(isinstance(n, _FUNCTIONS) or is_main_guard(n) for n in self.ancestors)

    def under_main_guard(self) -> bool:
        """Whether an ``if __name__ == "__main__":`` encloses the node."""
        return any(is_main_guard(n) for n in self.ancestors)

    def is_discarded(self, call: ast.Call) -> bool:
        """Whether the call's result is thrown away: a bare statement or a name never read."""
        parent = self.parent
        if isinstance(parent, ast.Expr):
            return True
        if isinstance(parent, ast.Assign) and len(parent.targets) == 1:
            target: ast.AST = parent.targets[0]
        elif isinstance(parent, ast.AnnAssign):
            target = parent.target
        else:
            return False
        if not isinstance(target, ast.Name):
            return False
        name = target.id
        if name == "_":
            return True
        scope = self.function()
        # At module level (or under `global`/`nonlocal`) the name outlives the function,
        # and other code may read it: assume it is read.
        if scope is None:
            return False
        names = self.facts.index.names(scope)
        if name in names.declared_global or name in names.declared_nonlocal:
            return False
        return name not in names.loaded and name not in self.facts.index.nested_names(scope)

    def qualname(self, node: ast.AST) -> str | None:
        """The qualified name of ``node`` in this scope."""
        if id(node) not in self._qualnames:
            self._qualnames[id(node)] = self.facts.qualname(node, self.scope())
        return self._qualnames[id(node)]

    def kind(self, node: ast.AST) -> str | None:
        """The kind of object ``node`` is, in this scope."""
        if id(node) not in self._kinds:
            self._kinds[id(node)] = self.facts.kind(node, self.scope())
        return self._kinds[id(node)]


def is_main_guard(node: ast.AST) -> bool:
    """``if __name__ == "__main__":``, either way round."""
    if not isinstance(node, ast.If) or not isinstance(node.test, ast.Compare):
        return False
    test = node.test
    if len(test.ops) != 1 or not isinstance(test.ops[0], ast.Eq):
        return False
    sides = [test.left, *test.comparators]
    names = [s for s in sides if isinstance(s, ast.Name) and s.id == "__name__"]
    consts = [s for s in sides if isinstance(s, ast.Constant) and s.value == "__main__"]
    return bool(names and consts)
