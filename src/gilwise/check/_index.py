"""One walk over a module: every node in source order with its place, and each scope's nodes.

Rules and the module facts ask where a node sits (its parent, its function) and what a
scope contains. Walking the tree again for each question made long functions quadratic (a
generated 240 KB module whose coroutine makes 2,000 ``create_task`` calls took 9 minutes).
The index walks the tree once; the tables about a scope are built from it on first use.

The walk leaves out the nodes that only say how a name is used (``Load``, ``Store``) and the
operators (``Add``, ``Eq``): a third of all nodes, and no rule or fact looks at them as nodes.
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple, TypeVar, cast

T = TypeVar("T")
Node = TypeVar("Node", bound=ast.AST)

_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
#: Nodes whose children run in a scope of their own (what ``walk_scope`` does not enter).
_SCOPES = (*_FUNCTIONS, ast.ClassDef)

#: Fields that never hold a node the index keeps: the ``Load``/``Store`` and operator
#: leaves, and fields that hold a name or a flag in every node type that has them (not
#: ``name``: a ``type`` statement's is a ``Name`` node). Leaving out the second kind only
#: saves time: the value of every other field is looked at.
_NOT_CHILDREN = frozenset(
    {
        "ctx",
        "op",
        "ops",
        "id",
        "attr",
        "arg",
        "asname",
        "module",
        "level",
        "kind",
        "type_comment",
        "is_async",
        "simple",
        "conversion",
        "tag",
    }
)


class _ChildFields(dict[type[ast.AST], tuple[str, ...]]):
    """The fields of each node type that may hold child nodes, filled in as types are met."""

    def __missing__(self, node_type: type[ast.AST]) -> tuple[str, ...]:
        fields = self[node_type] = tuple(
            name
            for name in node_type._fields
            if name not in _NOT_CHILDREN and not (node_type is ast.Constant and name == "value")
        )
        return fields


_CHILD_FIELDS = _ChildFields()


class Place(NamedTuple):
    """Where a node sits: its nearest function (or lambda) and class, None when there is
    none, the node directly above it, and that node's own place (None at the top)."""

    function: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda | None
    klass: ast.ClassDef | None
    parent: ast.AST
    outer: Place | None

    def ancestors(self) -> list[ast.AST]:
        """The nodes above, outermost (the module) first."""
        chain: list[ast.AST] = []
        place: Place | None = self
        while place is not None:
            chain.append(place.parent)
            place = place.outer
        chain.reverse()
        return chain


@dataclass(frozen=True)
class ScopeNames:
    """What one scope does with names, from the nodes that run in it (``ModuleIndex.in_scope``)."""

    #: Names read (``Load``) and assigned (``Store``), not counting parameters.
    loaded: frozenset[str]
    stored: frozenset[str]
    #: Names of the functions and classes the scope defines.
    defined: frozenset[str]
    declared_global: frozenset[str]
    declared_nonlocal: frozenset[str]

    @classmethod
    def of(cls, nodes: list[ast.AST]) -> ScopeNames:
        """What ``nodes`` do with names."""
        loaded: set[str] = set()
        stored: set[str] = set()
        defined: set[str] = set()
        declared_global: set[str] = set()
        declared_nonlocal: set[str] = set()
        for node in nodes:
            if isinstance(node, ast.Name):
                if isinstance(node.ctx, ast.Load):
                    loaded.add(node.id)
                elif isinstance(node.ctx, ast.Store):
                    stored.add(node.id)
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, ast.Global):
                declared_global.update(node.names)
            elif isinstance(node, ast.Nonlocal):
                declared_nonlocal.update(node.names)
        return cls(
            frozenset(loaded),
            frozenset(stored),
            frozenset(defined),
            frozenset(declared_global),
            frozenset(declared_nonlocal),
        )


@dataclass
class ModuleIndex:
    """Every node of a module with its place, in source order, and the nodes of each scope.

    Example:
        >>> index = ModuleIndex.of(ast.parse("def f(x):\\n    return x + 1\\n"))
        >>> [type(node).__name__ for node, _ in index.nodes][:3]
        ['FunctionDef', 'arguments', 'arg']
    """

    tree: ast.Module
    #: Every node below the module but the leaves named above, in source order (a node
    #: before its children), with its place.
    nodes: list[tuple[ast.AST, Place]]
    #: The nodes that run in each scope, by the id of the module, class, function or lambda.
    _scopes: dict[int, list[ast.AST]]
    #: Tables worked out from the index, by what computed them and the node they are about.
    _memo: dict[tuple[Callable[..., object], int], object] = field(default_factory=dict)

    @classmethod
    def of(cls, tree: ast.Module) -> ModuleIndex:
        """Walk ``tree`` once."""
        nodes: list[tuple[ast.AST, Place]] = []
        module_scope: list[ast.AST] = []
        scopes = {id(tree): module_scope}
        top = Place(None, None, tree, None)
        # An explicit stack, not recursion: generated code can nest deeper than the
        # interpreter's recursion limit. Children go on reversed, to come off in order.
        stack: list[tuple[ast.AST, Place, list[ast.AST]]] = [
            (statement, top, module_scope) for statement in reversed(tree.body)
        ]
        while stack:
            node, place, scope = stack.pop()
            nodes.append((node, place))
            scope.append(node)
            children: list[ast.AST] = []
            for name in _CHILD_FIELDS[type(node)]:
                value = getattr(node, name, None)
                if isinstance(value, list):
                    # Not all items are nodes: a dict's ``**spread`` has key None, and
                    # ``global`` lists strings.
                    children += [item for item in value if isinstance(item, ast.AST)]
                elif isinstance(value, ast.AST):
                    children.append(value)
            if not children:
                continue
            if isinstance(node, _SCOPES):
                scope = scopes[id(node)] = []
            inner = Place(
                node if isinstance(node, _FUNCTIONS) else place.function,
                node if isinstance(node, ast.ClassDef) else place.klass,
                node,
                place,
            )
            stack += [(child, inner, scope) for child in reversed(children)]
        dead = _dead_code(tree, nodes)
        if dead:
            nodes = [(node, place) for node, place in nodes if id(node) not in dead]
            scopes = {
                key: [node for node in scope if id(node) not in dead]
                for key, scope in scopes.items()
                if key not in dead
            }
        return cls(tree, nodes, scopes)

    def in_scope(self, scope: ast.AST) -> list[ast.AST]:
        """The nodes that run in ``scope`` (the module, a class, a function or a lambda):
        those ``walk_scope(scope)`` yields but for the leaves above, in source order."""
        return self._scopes.get(id(scope), [])

    def names(self, scope: ast.AST) -> ScopeNames:
        """What ``scope`` (the module, a class, a function or a lambda) does with names."""
        return self.memo(_scope_names, scope)

    def nested_names(self, scope: ast.AST) -> frozenset[str]:
        """The names used in any way inside the functions and lambdas nested in ``scope``,
        at any depth (also through a class between them)."""
        return self.memo(_nested_names, scope)

    def memo(self, compute: Callable[[ModuleIndex, Node], T], node: Node) -> T:
        """``compute(self, node)``, worked out once: a table about a scope (or about the
        module, given the tree), shared by every rule that asks for it."""
        key = (compute, id(node))
        if key not in self._memo:
            self._memo[key] = compute(self, node)
        return cast(T, self._memo[key])


def _scope_names(index: ModuleIndex, scope: ast.AST) -> ScopeNames:
    return ScopeNames.of(index.in_scope(scope))


def _nested_names(index: ModuleIndex, scope: ast.AST) -> frozenset[str]:
    names: set[str] = set()
    todo = [(scope, False)]
    while todo:
        owner, in_function = todo.pop()
        for node in index.in_scope(owner):
            if in_function and isinstance(node, ast.Name):
                names.add(node.id)
            elif isinstance(node, _SCOPES):
                todo.append((node, in_function or isinstance(node, _FUNCTIONS)))
    return frozenset(names)


# --------------------------------------------------------------------------------------------
# Code that cannot run


def _dead_code(tree: ast.Module, nodes: list[tuple[ast.AST, Place]]) -> set[int]:
    """The ids of the nodes in branches that cannot run: the body of ``if False:``, the
    ``else`` of ``if True:`` (also ``if 0:``, ``not``, ``and``/``or``, and conditional
    expressions), and the same for a module-level flag bound once, to ``True`` or ``False``,
    and nowhere else in the module.

    Code generated twice from one source (unasync: psycopg's ``if True:  # ASYNC ... else:``,
    pymongo's ``_IS_SYNC = False`` then ``if _IS_SYNC: ...``) keeps the other variant's
    calls in such branches; they never run in this module, so no rule should see them.
    """
    tests = [node for node, _ in nodes if type(node) is ast.If or type(node) is ast.IfExp]
    if not tests:
        return set()
    flags = _Flags(tree, nodes)
    dead: set[int] = set()
    for node in tests:
        assert isinstance(node, (ast.If, ast.IfExp))
        if id(node) in dead:
            continue
        value = _truth(node.test, flags)
        if value is None:
            continue
        branch = node.orelse if value else node.body
        roots = branch if isinstance(branch, list) else [branch]
        for root in roots:
            dead.update(id(n) for n in ast.walk(root))
    return dead


class _Flags:
    """Module-level names bound once, to ``True`` or ``False``, worked out on first use: the
    module's top-level statements first, the whole module only when a test names one."""

    def __init__(self, tree: ast.Module, nodes: list[tuple[ast.AST, Place]]) -> None:
        self._tree = tree
        self._nodes = nodes
        self._values: dict[str, bool] | None = None
        self._checked = False

    def value(self, name: str) -> bool | None:
        """The flag's value, or None when ``name`` is not such a flag."""
        if self._values is None:
            self._values = self._candidates()
        if name in self._values and not self._checked:
            self._checked = True
            self._drop_rebound()
        return self._values.get(name)

    def _candidates(self) -> dict[str, bool]:
        found: dict[str, bool] = {}
        for node in self._tree.body:
            value: ast.expr | None = None
            target: ast.expr | None = None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value = node.targets[0], node.value
            elif isinstance(node, ast.AnnAssign) and node.value is not None:
                target, value = node.target, node.value
            if (
                isinstance(target, ast.Name)
                and isinstance(value, ast.Constant)
                and isinstance(value.value, bool)
            ):
                found[target.id] = value.value
        return found

    def _drop_rebound(self) -> None:
        """Forget every flag bound more than once, or in any other way, anywhere."""
        assert self._values is not None
        bindings: dict[str, int] = dict.fromkeys(self._values, 0)
        for node, _ in self._nodes:
            if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
                self._values.clear()  # `from m import *` may bind any of them
                return
            for name in _bound_names(node):
                if name in bindings:
                    bindings[name] += 1
        for name, count in bindings.items():
            if count != 1:
                del self._values[name]


def _bound_names(node: ast.AST) -> list[str]:
    """The names ``node`` binds or declares: assigned, deleted, a parameter, a function
    or class, an import, ``global``/``nonlocal``."""
    if isinstance(node, ast.Name):
        return [] if isinstance(node.ctx, ast.Load) else [node.id]
    if isinstance(node, ast.arg):
        return [node.arg]
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return [node.name]
    if isinstance(node, (ast.Global, ast.Nonlocal)):
        return list(node.names)
    if isinstance(node, (ast.Import, ast.ImportFrom)):
        return [(alias.asname or alias.name).split(".")[0] for alias in node.names]
    if isinstance(node, ast.ExceptHandler) and node.name:
        return [node.name]
    if isinstance(node, (ast.MatchAs, ast.MatchStar)) and node.name:
        return [node.name]
    if isinstance(node, ast.MatchMapping) and node.rest:
        return [node.rest]
    return []


def _truth(test: ast.expr, flags: _Flags) -> bool | None:
    """What ``test`` always is, when that is known without running anything."""
    if isinstance(test, ast.Constant):
        return bool(test.value)
    if isinstance(test, ast.Name):
        return flags.value(test.id)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        inner = _truth(test.operand, flags)
        return None if inner is None else not inner
    if isinstance(test, ast.BoolOp):
        values = [_truth(v, flags) for v in test.values]
        decisive = isinstance(test.op, ast.Or)  # True decides an `or`, False an `and`
        if decisive in values:
            return decisive
        if all(v is not None for v in values):
            return not decisive
    return None
