"""Resolve what a name in the source means: imports, aliases, and what an object is.

Rules ask "is this ``time.sleep``?" and "is ``ex`` a process pool?" rather than
matching spellings, so ``import time as t``, ``from time import sleep`` and
``ex = ProcessPoolExecutor()`` are all seen through.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property
from typing import NamedTuple

from ._index import ModuleIndex, Place

#: Builtins that rules care about; a module-level definition of the same name hides them.
_BUILTINS = frozenset({"open", "input", "map", "print"})

#: What a call to each constructor or factory gives back, as a short kind name.
_KIND_OF_CALL = {
    "concurrent.futures.ThreadPoolExecutor": "thread_executor",
    "concurrent.futures.thread.ThreadPoolExecutor": "thread_executor",
    "concurrent.futures.ProcessPoolExecutor": "process_executor",
    "concurrent.futures.process.ProcessPoolExecutor": "process_executor",
    "loky.get_reusable_executor": "process_executor",
    "loky.ProcessPoolExecutor": "process_executor",
    "multiprocessing.Pool": "process_pool",
    "multiprocessing.pool.Pool": "process_pool",
    "multiprocessing.pool.ThreadPool": "thread_pool",
    "multiprocessing.dummy.Pool": "thread_pool",
    "multiprocessing.Process": "process",
    "multiprocessing.Queue": "mp_queue",
    "multiprocessing.SimpleQueue": "mp_queue",
    "multiprocessing.JoinableQueue": "mp_queue",
    "multiprocessing.get_context": "mp_context",
    "threading.Thread": "thread",
    "threading.Timer": "thread",
    "threading.Lock": "thread_lock",
    "threading.RLock": "thread_lock",
    "threading.Semaphore": "thread_semaphore",
    "threading.BoundedSemaphore": "thread_semaphore",
    "threading.Condition": "thread_condition",
    "threading.Event": "thread_event",
    "asyncio.Condition": "async_condition",
    "asyncio.get_event_loop": "loop",
    "asyncio.get_running_loop": "loop",
    "asyncio.new_event_loop": "loop",
    "asyncio.run_coroutine_threadsafe": "cf_future",
    "socket.socket": "socket",
    "socket.create_connection": "socket",
    "requests.Session": "sync_http_client",
    "requests.session": "sync_http_client",
    "httpx.Client": "sync_http_client",
    "urllib3.PoolManager": "sync_http_client",
    "http.client.HTTPConnection": "sync_http_client",
    "http.client.HTTPSConnection": "sync_http_client",
    "pathlib.Path": "path",
    "pathlib.PurePath": "path",
}

#: Thread-safe queues: ``put`` blocks only when one is built with a positive ``maxsize``.
_THREAD_QUEUES = frozenset({"queue.Queue", "queue.LifoQueue", "queue.PriorityQueue"})

#: What an annotation says a name holds. Only types whose methods block whatever the
#: instance: an annotated socket may be a non-blocking one that asyncio drives, and an
#: annotated queue may be unbounded, so ``put`` on it is not assumed to wait.
_KIND_OF_TYPE = {
    **{
        name: kind
        for name, kind in _KIND_OF_CALL.items()
        if kind not in {"socket", "mp_context", "mp_queue"}
        and not name.endswith(
            ("get_event_loop", "get_running_loop", "new_event_loop", "threadsafe", "session")
        )
    },
    **dict.fromkeys(_THREAD_QUEUES | {"queue.SimpleQueue"}, "thread_queue"),
    "pathlib.PosixPath": "path",
    "pathlib.WindowsPath": "path",
    "concurrent.futures.Future": "cf_future",
    "concurrent.futures._base.Future": "cf_future",
    "concurrent.futures.Executor": "executor",
    "asyncio.AbstractEventLoop": "loop",
    "asyncio.BaseEventLoop": "loop",
    "asyncio.events.AbstractEventLoop": "loop",
}

#: Annotations that wrap the type they describe.
_TYPE_WRAPPERS = frozenset({"Optional", "Final", "ClassVar", "Annotated"})

#: Decorators that leave what calling the function does unchanged.
_TRANSPARENT_DECORATORS = frozenset(
    {"staticmethod", "classmethod", "abstractmethod", "override", "final", "cache", "lru_cache"}
)

_ASYNC_FRAMEWORKS = frozenset({"asyncio", "tornado", "anyio", "trio", "curio"})

EXECUTOR_KINDS = frozenset(
    {"thread_executor", "process_executor", "process_pool", "thread_pool", "executor"}
)
PROCESS_POOL_KINDS = frozenset({"process_executor", "process_pool"})
THREAD_POOL_KINDS = frozenset({"thread_executor", "thread_pool"})

Function = ast.FunctionDef | ast.AsyncFunctionDef
_FUNCTION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)
_DEFINITIONS = (*_FUNCTION_TYPES, ast.ClassDef)
#: Nodes that bind names to objects of a kind: parameters, assignments, ``with ... as``.
_BINDINGS = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.Assign,
    ast.AnnAssign,
    ast.With,
    ast.AsyncWith,
)


def _foreign_kind(qualname: str) -> str | None:
    """Locks of async frameworks: known not to be threading locks, whatever their name."""
    if qualname.split(".")[0] in _ASYNC_FRAMEWORKS and qualname.endswith(
        ("Lock", "Semaphore", "Condition", "Event")
    ):
        return "async_primitive"
    return None


def _queue_kind(call: ast.Call) -> str:
    """``thread_queue_bounded`` for a queue whose ``put`` can wait: a ``maxsize`` that is
    not a constant 0 or less."""
    size = call.args[0] if call.args else None
    size = next((k.value for k in call.keywords if k.arg == "maxsize"), size)
    if size is None or (
        isinstance(size, ast.Constant) and isinstance(size.value, int) and size.value <= 0
    ):
        return "thread_queue"
    return "thread_queue_bounded"


def dotted(node: ast.AST) -> str | None:
    """``a.b.c`` for a chain of names and attributes, else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = dotted(node.value)
        return None if base is None else f"{base}.{node.attr}"
    return None


def callee(call: ast.Call, limit: int = 40) -> str:
    """The called expression as written, shortened: ``Path(name).read_text``."""
    text = dotted(call.func) or ast.unparse(call.func)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def walk_scope(node: ast.AST) -> Iterator[ast.AST]:
    """Every node under ``node`` that runs in its scope (not inside nested defs or lambdas)."""
    todo = list(ast.iter_child_nodes(node))
    while todo:
        child = todo.pop()
        yield child
        if not isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)):
            todo.extend(ast.iter_child_nodes(child))


def method_calls(
    index: ModuleIndex, scope: ast.AST, method: str, receiver: str | None
) -> list[ast.Call]:
    """The calls ``receiver.method(...)`` that run in ``scope`` (the module or a function),
    ``receiver`` a dotted name (None: calls on an expression that has none, ``make().close()``)."""
    return index.memo(_method_calls, scope).get((method, receiver), [])


def _method_calls(
    index: ModuleIndex, scope: ast.AST
) -> dict[tuple[str, str | None], list[ast.Call]]:
    calls: dict[tuple[str, str | None], list[ast.Call]] = {}
    for node in index.in_scope(scope):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            key = (node.func.attr, dotted(node.func.value))
            calls.setdefault(key, []).append(node)
    return calls


def is_transparent(decorator: ast.expr) -> bool:
    """Whether a decorator keeps the function's calls meaning what its ``def`` says."""
    target = decorator.func if isinstance(decorator, ast.Call) else decorator
    return (dotted(target) or "").rsplit(".", 1)[-1] in _TRANSPARENT_DECORATORS


def catches_everything(index: ModuleIndex, function: Function) -> bool:
    """Whether no exception escapes ``function``: its body (past a docstring, plain
    assignments, and single-statement ``while``/``for``/``with`` wrappers) is one ``try``
    with a catch-all handler (bare, ``Exception``, ``BaseException``) that never raises.
    Worked out once per function: every task submitted to a pool asks."""
    return index.memo(_catches_everything, function)


def _catches_everything(index: ModuleIndex, function: Function) -> bool:
    body: list[ast.stmt] = [
        s
        for s in function.body
        if not (isinstance(s, ast.Expr) and isinstance(s.value, ast.Constant))
        and not (
            isinstance(s, (ast.Assign, ast.AnnAssign))
            and not any(isinstance(n, ast.Call) for n in ast.walk(s))
        )
    ]
    while len(body) == 1 and isinstance(body[0], (ast.While, ast.For, ast.With)):
        body = body[0].body
    if len(body) != 1 or not isinstance(body[0], ast.Try):
        return False
    return any(
        _is_catch_all(handler)
        and not any(isinstance(n, ast.Raise) for stmt in handler.body for n in ast.walk(stmt))
        for handler in body[0].handlers
    )


def _is_catch_all(handler: ast.ExceptHandler) -> bool:
    if handler.type is None:
        return True
    caught = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
    names = {(dotted(c) or "").rsplit(".", 1)[-1] for c in caught}
    return bool(names & {"Exception", "BaseException"})


def _self_name(name: str) -> str:
    """``cls.x`` and ``self.x`` name the same class attribute."""
    return "self." + name[4:] if name.startswith("cls.") else name


def _import_bindings(index: ModuleIndex) -> Iterator[tuple[str, str]]:
    """(name, what it imports) for every import in the module, whatever its scope, the
    shallower ones first."""
    statements = [
        (len(place.ancestors()), node)
        for node, place in index.nodes
        if isinstance(node, (ast.Import, ast.ImportFrom))
    ]
    statements.sort(key=lambda statement: statement[0])  # stable: source order within a depth
    for _, node in statements:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    yield alias.asname, alias.name
                else:
                    head = alias.name.split(".")[0]
                    yield head, head
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    yield alias.asname or alias.name, f"{node.module}.{alias.name}"


class _Binding(NamedTuple):
    """One statement or parameter that binds a name in a scope."""

    #: The ``def``/``class``, the import statement, the assigned ``Name`` or the ``arg``.
    node: ast.AST
    #: What an import binds the name to (None: anything else, or a relative import).
    imported: str | None
    #: Whether it runs whenever its module or class body runs: a statement directly in
    #: that body, not under an ``if``, ``try``, loop or ``with``.
    unconditional: bool


def _scope_bindings(index: ModuleIndex, scope: ast.AST) -> dict[str, list[_Binding]]:
    """Each name that ``scope`` (the module, a class, a function or a lambda) binds itself:
    its bindings in source order. The module's include those of functions that declare
    the name ``global`` (``global np; import numpy as np``), as conditional: they happen
    only if the function runs. ``from m import *`` is not counted."""
    if isinstance(scope, ast.Module):
        table = _own_bindings(index, scope)
        for node, place in index.nodes:
            if isinstance(node, ast.Global) and place.function is not None:
                inside = index.memo(_scope_bindings, place.function)
                for name in node.names:
                    table[name] = sorted(
                        [*table.get(name, []), *inside.get(name, [])],
                        key=lambda b: _position(b.node) or (0, 0),
                    )
        return table
    return _own_bindings(index, scope)


def _own_bindings(index: ModuleIndex, scope: ast.AST) -> dict[str, list[_Binding]]:
    nodes = index.in_scope(scope)
    body = scope.body if isinstance(scope, (ast.Module, ast.ClassDef)) else []
    direct = {id(statement) for statement in body}
    for statement in body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            direct.update(id(n) for target in targets for n in ast.walk(target))
    # A comprehension's variable is its own; `x: int` alone binds nothing.
    skipped = {
        id(n)
        for node in nodes
        if isinstance(node, ast.comprehension)
        or (isinstance(node, ast.AnnAssign) and node.value is None)
        for n in ast.walk(node.target)
    }
    table: dict[str, list[_Binding]] = {}

    def bind(name: str, node: ast.AST, imported: str | None = None) -> None:
        table.setdefault(name, []).append(_Binding(node, imported, id(node) in direct))

    for node in nodes:
        if isinstance(node, ast.Name):
            if isinstance(node.ctx, ast.Store) and id(node) not in skipped:
                bind(node.id, node)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            bind(node.name, node)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                head = alias.name.split(".")[0]
                bind(alias.asname or head, node, alias.name if alias.asname else head)
        elif isinstance(node, ast.ImportFrom):
            for alias in node.names:
                if alias.name != "*":
                    known = node.module is not None and not node.level
                    imported = f"{node.module}.{alias.name}" if known else None
                    bind(alias.asname or alias.name, node, imported)
        elif isinstance(node, ast.arg) or (isinstance(node, ast.ExceptHandler) and node.name):
            bind(node.arg if isinstance(node, ast.arg) else str(node.name), node)
    return table


def _may_be_in_effect(bindings: list[_Binding]) -> list[_Binding]:
    """Those of a name's bindings (in one scope, in source order) that may be the one in
    effect after them all: from the last unconditional one on (a binding under an ``if``
    or ``try`` after it may or may not have run). A function's bindings are all kept."""
    last = max((i for i, b in enumerate(bindings) if b.unconditional), default=0)
    return bindings[last:]


def _position(node: ast.AST) -> tuple[int, int] | None:
    """Where ``node`` starts (None for a node made rather than parsed)."""
    line = getattr(node, "lineno", None)
    return None if line is None else (line, getattr(node, "col_offset", 0))


def _module_level_definitions(tree: ast.Module) -> set[str]:
    defined: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            defined.add(node.name)
        elif isinstance(node, ast.Assign):
            defined.update(t.id for t in node.targets if isinstance(t, ast.Name))
    return defined


@dataclass
class ModuleFacts:
    """What one pass over the whole module learned, for rules that need more than one node."""

    index: ModuleIndex
    #: Every import of the module by the name it binds, whatever its scope: for questions
    #: about the module as a whole ("does it use asyncio?"). What a name means at one
    #: place is ``qualname``'s to say.
    imports: dict[str, str]
    #: Kind of object each name holds, per scope: a function node's id, a class node's id
    #: for ``self.*`` (the class's own attributes), or None for the module.
    kinds: dict[tuple[int | None, str], str] = field(default_factory=dict)
    #: The function (or lambda) each function or lambda is nested in, by its id.
    _enclosing: dict[int, ast.AST] = field(default_factory=dict)
    #: The module-level bindings that may be in effect once the module has run, by name.
    _late: dict[str, list[_Binding]] = field(default_factory=dict)
    #: The nearest class around each function, by the function's id.
    _class_of: dict[int, ast.ClassDef] = field(default_factory=dict)
    #: Each class's bases that this module defines (unambiguously), by the class's id.
    _bases: dict[int, list[ast.ClassDef]] = field(default_factory=dict)
    #: What each function of the module returns, by its annotation, by the function's id.
    _returns: dict[int, str] = field(default_factory=dict)

    @classmethod
    def of(cls, tree: ast.Module) -> ModuleFacts:
        """Collect the facts of ``tree`` from one walk over it."""
        index = ModuleIndex.of(tree)
        defined = _module_level_definitions(tree)
        imports = {name: qual for name, qual in _import_bindings(index) if name not in defined}
        facts = cls(index=index, imports=imports)
        facts._collect_definitions()
        facts.kinds = facts._collect_kinds()
        return facts

    @cached_property
    def thread_targets(self) -> frozenset[str]:
        """Names of module-level functions run in threads (Thread targets, thread-pool
        tasks); worked out when a rule first asks, like ``thread_units``."""
        return frozenset(self._thread_targets())

    @cached_property
    def thread_units(self) -> frozenset[str]:
        """Top-level definitions (or ``<module>``) that start threads or thread pools."""
        return frozenset(self._thread_units())

    # -- what a name or call means -------------------------------------------------

    def qualname(self, node: ast.AST, scope: ast.AST | None = None) -> str | None:
        """The fully qualified name ``node`` refers to, e.g. ``time.sleep``, where it is:
        in ``scope`` (a function or lambda; None for code that runs at import). None if
        unknown: bound other than by an import, or by imports that disagree."""
        return self._qualname(node, scope, late=False)

    def _qualname(self, node: ast.AST, scope: ast.AST | None, late: bool) -> str | None:
        if isinstance(node, ast.Name):
            bindings = self._in_effect(node.id, scope, node, late)
            if not bindings:
                return f"builtins.{node.id}" if node.id in _BUILTINS else None
            imported = {binding.imported for binding in bindings}
            return imported.pop() if len(imported) == 1 else None
        if isinstance(node, ast.Attribute):
            base = self._qualname(node.value, scope, late)
            if base is not None:
                return f"{base}.{node.attr}"
            if self.kind(node.value, scope) == "mp_context":
                # ctx = multiprocessing.get_context("spawn"); ctx.Pool(...)
                return f"multiprocessing.{node.attr}"
        return None

    def kind(self, node: ast.AST, scope: ast.AST | None = None) -> str | None:
        """What kind of object ``node`` evaluates to (``"process_pool"``, ...), if known."""
        if isinstance(node, ast.Call):
            return self._kind_of_call(node, scope)
        name = dotted(node)
        if name is None:
            return None
        name = _self_name(name)
        if name.startswith("self."):
            for klass in self._class_and_bases(self.enclosing_class(scope)):
                if (id(klass), name) in self.kinds:
                    return self.kinds[id(klass), name]
            return None
        if scope is not None and (id(scope), name) in self.kinds:
            return self.kinds[id(scope), name]
        return self.kinds.get((None, name))

    def is_executor(self, node: ast.AST, scope: ast.AST | None = None) -> bool:
        """Whether ``node`` is a pool or executor, by what built it or, failing that, its name."""
        kind = self.kind(node, scope)
        if kind is not None:
            return kind in EXECUTOR_KINDS
        name = (dotted(node) or "").rsplit(".", 1)[-1].lower()
        return name.endswith(("executor", "pool"))

    def enclosing_class(self, scope: ast.AST | None) -> ast.ClassDef | None:
        """The class whose ``self`` a function (or class body) sees."""
        if isinstance(scope, ast.ClassDef):
            return scope
        return None if scope is None else self._class_of.get(id(scope))

    def function_named(
        self,
        func: ast.AST,
        scope: ast.AST | None = None,
        same: Callable[[Function], object] | None = None,
    ) -> Function | None:
        """The module's own ``def`` that calling ``func`` runs: a function by name (the
        module's, or one nested in ``scope`` or around it), or ``self.name``/``cls.name`` on
        the method's class (or a base defined here).

        A name defined more than once is resolved as Python binds it (``_in_effect``): the
        last of two unconditional ``def``s, since a later one replaces the earlier (and
        ``@overload`` stubs come before the real one); at module level, the last one bound
        before a call that runs at import. When more than one may be in effect (``def``s
        under ``if``/``else`` or ``try``/``except ImportError``), a checker cannot know
        which runs, so the name is unknown unless they agree on what the caller asks:
        ``same`` gives that for each (async or not, blocks or not), and they must all give
        the same. Without ``same`` they never agree. A name bound in any other way too (an
        import, an assignment such as ``f = wrap(f)``) is not the module's ``def``: None.
        """
        if isinstance(func, ast.Name):
            bindings = self._in_effect(func.id, scope, func, late=False)
        elif isinstance(func, ast.Attribute) and dotted(func.value) in {"self", "cls"}:
            bindings = []
            for klass in self._class_and_bases(self.enclosing_class(scope)):
                bindings = _may_be_in_effect(self._bindings_in(klass).get(func.attr, []))
                if bindings:
                    break  # the nearest class that binds the name decides
        else:
            return None
        functions = [
            b.node for b in bindings if isinstance(b.node, (ast.FunctionDef, ast.AsyncFunctionDef))
        ]
        if not functions or len(functions) < len(bindings):
            return None
        if len(functions) > 1 and (same is None or len({same(f) for f in functions}) > 1):
            return None
        return functions[-1]

    def _bindings_in(self, scope: ast.AST) -> dict[str, list[_Binding]]:
        return self.index.memo(_scope_bindings, scope)

    def _in_effect(
        self, name: str, scope: ast.AST | None, node: ast.AST, late: bool
    ) -> list[_Binding]:
        """The bindings of ``name`` that may be the one in effect at ``node`` (empty: none,
        a builtin or undefined). Python's scopes: the function ``scope`` if it binds the
        name (a function-level import binds it there, not in the module), else the
        functions around it, else the module. Functions run after the module has run, and
        see its bindings as they are at the end; code that runs at import (``scope`` None,
        unless ``late``) sees those bound before ``node``."""
        current = scope
        while current is not None:
            names = self.index.names(current)
            if name in names.declared_global:
                break
            if name not in names.declared_nonlocal:
                bindings = self._bindings_in(current).get(name)
                if bindings:
                    return bindings
            current = self._enclosing.get(id(current))
        where = _position(node)
        if scope is not None or late or where is None:
            if name not in self._late:
                self._late[name] = _may_be_in_effect(
                    self._bindings_in(self.index.tree).get(name, [])
                )
            return self._late[name]
        bindings = self._bindings_in(self.index.tree).get(name, [])
        return _may_be_in_effect([b for b in bindings if (_position(b.node) or where) < where])

    def annotation_kind(
        self, annotation: ast.AST | None, scope: ast.AST | None = None
    ) -> str | None:
        """The kind an annotation names: ``threading.Lock``, ``Optional[queue.Queue]``,
        ``"Path"``; None for anything else, and for unions of different kinds. Its names
        are looked up in ``scope`` as they are once the module has run."""
        if annotation is None:
            return None
        if isinstance(annotation, ast.Constant) and isinstance(annotation.value, str):
            try:
                return self.annotation_kind(ast.parse(annotation.value, mode="eval").body, scope)
            except SyntaxError:
                return None
        if isinstance(annotation, ast.BinOp) and isinstance(annotation.op, ast.BitOr):
            return self._union_kind([annotation.left, annotation.right], scope)
        if isinstance(annotation, ast.Subscript):
            wrapper = (dotted(annotation.value) or "").rsplit(".", 1)[-1]
            inner = annotation.slice
            members = list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
            if wrapper == "Union":
                return self._union_kind(members, scope)
            if wrapper in _TYPE_WRAPPERS:
                return self.annotation_kind(members[0], scope)
            return self.annotation_kind(annotation.value, scope)  # queue.Queue[int]
        name = self._qualname(annotation, scope, late=True)
        return None if name is None else _KIND_OF_TYPE.get(name)

    # -- collection passes -----------------------------------------------------------

    def _kind_of_call(self, call: ast.Call, scope: ast.AST | None) -> str | None:
        name = self.qualname(call.func, scope)
        if name is not None:
            if name in _THREAD_QUEUES:
                return _queue_kind(call)
            if name == "queue.SimpleQueue":
                return "thread_queue"
            return _KIND_OF_CALL.get(name, _foreign_kind(name))
        func = call.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr == "submit"
            and self.kind(func.value, scope) in {"thread_executor", "process_executor", "executor"}
        ):
            return "cf_future"
        defined = self.function_named(func, scope, same=lambda f: self._returns.get(id(f)))
        return None if defined is None else self._returns.get(id(defined))

    def _union_kind(self, members: list[ast.expr], scope: ast.AST | None) -> str | None:
        kinds = {
            self.annotation_kind(m, scope)
            for m in members
            if not (isinstance(m, ast.Constant) and m.value is None)
        }
        return kinds.pop() if len(kinds) == 1 else None

    def _class_and_bases(self, klass: ast.ClassDef | None) -> Iterator[ast.ClassDef]:
        seen: set[int] = set()
        todo = [] if klass is None else [klass]
        while todo:
            current = todo.pop(0)
            if id(current) not in seen:
                seen.add(id(current))
                yield current
                todo.extend(self._bases.get(id(current), []))

    def _collect_definitions(self) -> None:
        classes_by_name: defaultdict[str, list[ast.ClassDef]] = defaultdict(list)
        for node, place in self.index.nodes:
            if not isinstance(node, _DEFINITIONS):
                continue  # most nodes: one test, not three
            if isinstance(node, _FUNCTION_TYPES):
                if place.klass is not None:
                    self._class_of[id(node)] = place.klass
                if place.function is not None:
                    self._enclosing[id(node)] = place.function
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                kind = self.annotation_kind(node.returns, place.function)
                if kind is not None:
                    self._returns[id(node)] = kind
            elif isinstance(node, ast.ClassDef) and place.function is None:
                classes_by_name[node.name].append(node)
        for classes in classes_by_name.values():
            for klass in classes:
                self._bases[id(klass)] = [
                    candidates[0]
                    for base in klass.bases
                    if len(candidates := classes_by_name.get(dotted(base) or "", [])) == 1
                    and candidates[0] is not klass
                ]

    def _collect_kinds(self) -> dict[tuple[int | None, str], str]:
        # A second round sees through one level of indirection:
        # ctx = get_context("spawn"); pool = ctx.Pool().
        bindings = list(self._bindings())
        for _ in range(2):
            kinds = self._kinds_of(bindings)
            if kinds == self.kinds:
                break  # nothing new to see through: another round finds the same
            self.kinds = kinds
        return self.kinds

    def _bindings(
        self,
    ) -> Iterator[tuple[int | None, str, ast.AST | None, ast.AST | None, ast.AST | None]]:
        """(key scope, name, value, annotation, scope the value is evaluated in) for every
        simple assignment, ``with ... as``, and annotated name or parameter."""
        for node, place in self.index.nodes:
            if not isinstance(node, _BINDINGS):
                continue  # most nodes: one test, not four
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                arguments = node.args
                for arg in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]:
                    if arg.annotation is not None:
                        # Evaluated where the function is defined, not in its own scope.
                        yield id(node), arg.arg, None, arg.annotation, place.function
                continue
            value: ast.AST | None
            if isinstance(node, ast.Assign) and len(node.targets) == 1:
                target, value, annotation = node.targets[0], node.value, None
            elif isinstance(node, ast.AnnAssign):
                target, value, annotation = node.target, node.value, node.annotation
            elif isinstance(node, (ast.With, ast.AsyncWith)):
                for item in node.items:
                    if item.optional_vars is not None:
                        key = self._key(place, item.optional_vars)
                        if key is not None:
                            yield *key, item.context_expr, None, place.function
                continue
            else:
                continue
            key = self._key(place, target)
            if key is not None:
                yield *key, value, annotation, place.function

    @staticmethod
    def _key(place: Place, target: ast.AST) -> tuple[int | None, str] | None:
        name = dotted(target)
        if name is None:
            return None
        name = _self_name(name)
        if place.klass is not None and name.startswith("self."):
            return id(place.klass), name
        if place.klass is not None and place.parent is place.klass and isinstance(target, ast.Name):
            return id(place.klass), f"self.{name}"  # a class attribute, seen through self
        return (None if place.function is None else id(place.function)), name

    def _kinds_of(
        self,
        bindings: list[tuple[int | None, str, ast.AST | None, ast.AST | None, ast.AST | None]],
    ) -> dict[tuple[int | None, str], str]:
        seen: defaultdict[tuple[int | None, str], set[str]] = defaultdict(set)
        for key_scope, name, value, annotation, scope in bindings:
            kind = None if value is None else self.kind(value, scope)
            kind = kind or self.annotation_kind(annotation, scope)
            if kind is not None:
                seen[key_scope, name].add(kind)
        # A name bound to different kinds in one scope is ambiguous: rules ignore it.
        return {key: kinds.pop() for key, kinds in seen.items() if len(kinds) == 1}

    def _thread_targets(self) -> Iterator[str]:
        for call, place in self.index.nodes:
            if not isinstance(call, ast.Call):
                continue
            scope = place.function
            if self.kind(call, scope) == "thread":
                for keyword in call.keywords:
                    if keyword.arg == "target" and isinstance(keyword.value, ast.Name):
                        yield keyword.value.id
            elif (
                isinstance(call.func, ast.Attribute)
                and call.func.attr in {"submit", "map", "apply_async", "imap", "imap_unordered"}
                and self.kind(call.func.value, scope) in THREAD_POOL_KINDS
                and call.args
                and isinstance(call.args[0], ast.Name)
            ):
                yield call.args[0].id

    def _thread_units(self) -> Iterator[str]:
        for node, place in self.index.nodes:
            if isinstance(node, ast.Call) and self.kind(node) in {
                "thread",
                "thread_executor",
                "thread_pool",
            }:
                yield unit_of(place.ancestors())


def unit_of(ancestors: Iterable[ast.AST]) -> str:
    """The outermost function or class around a node (looking through module-level ``if``
    and ``try``), or ``<module>`` for code that runs at import."""
    return next((_unit_name(n) for n in ancestors if _unit_name(n) != "<module>"), "<module>")


def _unit_name(node: ast.AST) -> str:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    return "<module>"
