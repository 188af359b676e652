"""The module index: every node once, with its place, and the nodes of each scope."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

from gilwise.check._index import ModuleIndex, ScopeNames
from gilwise.check._names import walk_scope

CORPUS = Path(__file__).parent / "corpus"
#: The leaves the index leaves out: how a name is used, and operators.
_LEAVES = (ast.expr_context, ast.operator, ast.boolop, ast.unaryop, ast.cmpop)
_FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_SCOPES = (*_FUNCTIONS, ast.ClassDef)

_SNIPPETS = {
    "dict-spread-and-global": "x = {**a, 'k': -1}\ndef f():\n    global g, h\n    g += not x\n",
    "arguments": "def f(a, /, b=1, *c, d, e=2, **k) -> int:\n    return a < b < c\n",
    "lambda-in-comprehension": "y = [lambda v=z: v for z in range(3) if z]\n",
    "class": "@dec(1)\nclass C(Base, metaclass=M):\n    x: int = 1\n    def m(self): pass\n",
    "nested-functions": "def f():\n    def g():\n        class K:\n            h = lambda: g\n",
    "match": (
        "match p:\n    case Point(x=0, y=yy) | [1, *rest]:\n        pass\n"
        "    case {'k': v, **others} if v:\n        pass\n"
    ),
    "async": (
        "async def g():\n    async with a as b:\n        await c\n"
        "    async for i in d:\n        yield i\n"
    ),
    "f-string": 'f"{x!r:>{width}}"\n',
    "imports": "import a.b as c\nfrom . import d\nfrom e import *\n",
}
if sys.version_info >= (3, 11):
    _SNIPPETS["except-star"] = "try:\n    pass\nexcept* (A, B) as e:\n    raise\n"
if sys.version_info >= (3, 12):
    # A `type` statement's name is a Name node, where other nodes' names are strings.
    _SNIPPETS["type-alias"] = "type A[T: int, *Ts, **P] = list[T]\ndef f[U](x: U) -> U: pass\n"
_SOURCES = {
    **_SNIPPETS,
    **{path.stem: path.read_text(encoding="utf-8") for path in sorted(CORPUS.glob("*.py"))},
}


def _reference(tree: ast.Module) -> list[tuple[ast.AST, list[ast.AST]]]:
    """Every node below the module but the leaves, in source order, with its ancestors."""
    found: list[tuple[ast.AST, list[ast.AST]]] = []

    def visit(node: ast.AST, ancestors: list[ast.AST]) -> None:
        for child in ast.iter_child_nodes(node):
            if not isinstance(child, _LEAVES):
                found.append((child, [*ancestors, node]))
                visit(child, [*ancestors, node])

    visit(tree, [])
    return found


@pytest.mark.parametrize("source", _SOURCES.values(), ids=_SOURCES.keys())
def test_every_node_comes_once_in_source_order_with_its_ancestors(source: str) -> None:
    tree = ast.parse(source)
    index = ModuleIndex.of(tree)
    assert [(node, place.ancestors()) for node, place in index.nodes] == _reference(tree)


@pytest.mark.parametrize("source", _SOURCES.values(), ids=_SOURCES.keys())
def test_a_place_names_the_parent_and_the_nearest_function_and_class(source: str) -> None:
    index = ModuleIndex.of(ast.parse(source))
    for _, place in index.nodes:
        ancestors = place.ancestors()
        functions = [n for n in ancestors if isinstance(n, _FUNCTIONS)]
        classes = [n for n in ancestors if isinstance(n, ast.ClassDef)]
        assert place.parent is ancestors[-1]
        assert place.function is (functions[-1] if functions else None)
        assert place.klass is (classes[-1] if classes else None)


@pytest.mark.parametrize("source", _SOURCES.values(), ids=_SOURCES.keys())
def test_a_scope_holds_what_walk_scope_yields_in_source_order(source: str) -> None:
    tree = ast.parse(source)
    index = ModuleIndex.of(tree)
    order = {id(node): position for position, (node, _) in enumerate(index.nodes)}
    for scope in [tree, *(node for node, _ in index.nodes if isinstance(node, _SCOPES))]:
        walked = [node for node in walk_scope(scope) if not isinstance(node, _LEAVES)]
        held = index.in_scope(scope)
        assert sorted(map(id, held)) == sorted(map(id, walked))
        assert [order[id(node)] for node in held] == sorted(order[id(node)] for node in held)


def test_scope_names_say_what_the_scope_reads_assigns_defines_and_declares() -> None:
    tree = ast.parse(
        "def f(p):\n    global g\n    nonlocal n\n    a = b\n    del c\n"
        "    def inner(): d = e\n    class K: pass\n"
    )
    names = ModuleIndex.of(tree).names(tree.body[0])
    assert names == ScopeNames(
        loaded=frozenset({"b"}),
        stored=frozenset({"a"}),
        defined=frozenset({"inner", "K"}),
        declared_global=frozenset({"g"}),
        declared_nonlocal=frozenset({"n"}),
    )


@pytest.mark.parametrize(
    ("source", "nested"),
    [
        ("def f():\n    x = 1\n", set()),
        ("def f():\n    def g(a=d):\n        return b\n", {"b", "d"}),
        ("def f():\n    @dec\n    def g(): pass\n", {"dec"}),
        ("def f():\n    h = lambda: c\n", {"c"}),
        ("def f():\n    class K:\n        k = 1\n        def m(self): return e\n", {"e"}),
        ("def f():\n    def g():\n        def h(): return deep\n", {"deep"}),
    ],
)
def test_nested_names_are_those_used_in_nested_functions(source: str, nested: set[str]) -> None:
    tree = ast.parse(source)
    assert ModuleIndex.of(tree).nested_names(tree.body[0]) == nested


def test_a_memo_is_worked_out_once_per_node() -> None:
    tree = ast.parse("def f(): pass\ndef g(): pass\n")
    index = ModuleIndex.of(tree)
    asked: list[ast.AST] = []

    def count(index: ModuleIndex, node: ast.AST) -> int:
        asked.append(node)
        return len(asked)

    answers = [index.memo(count, node) for node in [*tree.body, *tree.body]]
    assert answers == [1, 2, 1, 2]
    assert asked == tree.body


# Code that cannot run: generated twins (unasync) keep the other variant's calls in branches
# under a constant test; the index leaves them out, so no rule or fact sees them.
_DEAD = {
    "if-false": ("if False:\n    dead()\nlive()\n", True),
    "if-zero": ("if 0:\n    dead()\n", True),
    "else-of-if-true": ("if True:  # ASYNC\n    live()\nelse:\n    dead()\n", True),
    "not-flag": ("_IS_SYNC = False\nif not _IS_SYNC:\n    live()\nelse:\n    dead()\n", True),
    "and-flag": ("_IS_SYNC = False\nif _IS_SYNC and x:\n    dead()\n", True),
    "or-flag": ("FLAG: bool = True\nif x or FLAG:\n    live()\nelse:\n    dead()\n", True),
    "conditional-expression": ("_IS_SYNC = False\ny = dead() if _IS_SYNC else live()\n", True),
    "in-a-function": ("_IS_SYNC = False\ndef f():\n    if _IS_SYNC:\n        dead()\n", True),
    "flag-rebound-by-global": (
        "DEBUG = False\nif DEBUG:\n    dead()\ndef on():\n    global DEBUG\n    DEBUG = True\n",
        False,
    ),
    "flag-assigned-twice": ("DEBUG = False\nif DEBUG:\n    dead()\nDEBUG = True\n", False),
    "flag-shadowed-by-a-parameter": (
        "FAST = False\ndef f(FAST):\n    if FAST:\n        dead()\n",
        False,
    ),
    "flag-set-in-a-try": (
        "try:\n    import x\n    HAS_X = True\nexcept ImportError:\n    HAS_X = False\n"
        "if HAS_X:\n    dead()\n",
        False,
    ),
    "star-import": ("FLAG = False\nfrom m import *\nif FLAG:\n    dead()\n", False),
    "not-a-bool": ("N = 0\nif N:\n    dead()\n", False),
    "unknown-test": ("if x:\n    dead()\nelse:\n    dead()\n", False),
}


def _called(index: ModuleIndex) -> set[str]:
    return {
        node.func.id
        for node, _ in index.nodes
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
    }


@pytest.mark.parametrize(("source", "pruned"), _DEAD.values(), ids=_DEAD.keys())
def test_branches_that_cannot_run_are_left_out(source: str, pruned: bool) -> None:
    tree = ast.parse(source)
    index = ModuleIndex.of(tree)
    assert ("dead" not in _called(index)) is pruned
    if "live" in source:
        assert "live" in _called(index)
    # The scopes agree with the node list.
    kept = {id(node) for node, _ in index.nodes}
    for scope in [tree, *(node for node, _ in index.nodes if isinstance(node, _SCOPES))]:
        assert all(id(node) in kept for node in index.in_scope(scope))


def test_a_function_defined_in_a_dead_branch_has_no_scope() -> None:
    tree = ast.parse("if False:\n    def f():\n        x = 1\n")
    index = ModuleIndex.of(tree)
    function = tree.body[0].body[0]  # type: ignore[attr-defined]
    # The `if` and its test stay; nothing in the branch does.
    assert [type(node) for node, _ in index.nodes] == [ast.If, ast.Constant]
    assert index.in_scope(function) == []
