"""Where a node sits: the chain of enclosing nodes, and questions rules ask about it."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ._names import ModuleFacts, walk_scope

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_LOOPS = (ast.For, ast.AsyncFor, ast.While, ast.ListComp, ast.SetComp, ast.DictComp)


@dataclass
class Context:
    """The module's facts and the ancestors of the node being checked, outermost first."""

    facts: ModuleFacts
    ancestors: list[ast.AST] = field(default_factory=list)

    @property
    def parent(self) -> ast.AST | None:
        """The node directly above, or None at the top."""
        return self.ancestors[-1] if self.ancestors else None

    def function(self) -> ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | None:
        """The nearest enclosing function or lambda, if any."""
        for node in reversed(self.ancestors):
            if isinstance(node, _FUNCTIONS):
                return node
        return None

    def scope(self) -> ast.AST | None:
        """The scope names resolve in: the nearest function, or None for the module."""
        return self.function()

    def in_async_def(self) -> bool:
        """Whether the code runs directly in a coroutine (not in a nested def or lambda)."""
        return isinstance(self.function(), ast.AsyncFunctionDef)

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
        if scope is None or _declared_outside(scope, name):
            # At module level (or under `global`/`nonlocal`) the name outlives the
            # function, and other code may read it: assume it is read.
            return False
        return not any(
            isinstance(n, ast.Name) and n.id == name and isinstance(n.ctx, ast.Load)
            for n in walk_scope(scope)
        ) and not _used_by_nested_scopes(scope, name)

    def qualname(self, node: ast.AST) -> str | None:
        """The qualified name of ``node`` in this scope."""
        return self.facts.qualname(node, self.scope())

    def kind(self, node: ast.AST) -> str | None:
        """The kind of object ``node`` is, in this scope."""
        return self.facts.kind(node, self.scope())


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


def _declared_outside(scope: ast.AST, name: str) -> bool:
    return any(
        isinstance(n, (ast.Global, ast.Nonlocal)) and name in n.names for n in walk_scope(scope)
    )


def _used_by_nested_scopes(scope: ast.AST, name: str) -> bool:
    return any(
        isinstance(n, ast.Name) and n.id == name
        for inner in ast.walk(scope)
        if inner is not scope and isinstance(inner, _FUNCTIONS)
        for n in ast.walk(inner)
    )
