"""Resolve what a name in the source means: imports, aliases, and what an object is.

Rules ask "is this ``time.sleep``?" and "is ``ex`` a process pool?" rather than
matching spellings, so ``import time as t``, ``from time import sleep`` and
``ex = ProcessPoolExecutor()`` are all seen through.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

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
    "queue.Queue": "thread_queue",
    "queue.LifoQueue": "thread_queue",
    "queue.PriorityQueue": "thread_queue",
    "queue.SimpleQueue": "thread_queue",
    "asyncio.Condition": "async_condition",
    "asyncio.get_event_loop": "loop",
    "asyncio.get_running_loop": "loop",
    "asyncio.new_event_loop": "loop",
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

_ASYNC_FRAMEWORKS = frozenset({"asyncio", "tornado", "anyio", "trio", "curio"})

EXECUTOR_KINDS = frozenset({"thread_executor", "process_executor", "process_pool", "thread_pool"})
PROCESS_POOL_KINDS = frozenset({"process_executor", "process_pool"})
THREAD_POOL_KINDS = frozenset({"thread_executor", "thread_pool"})


def _foreign_kind(qualname: str) -> str | None:
    """Locks of async frameworks: known not to be threading locks, whatever their name."""
    if qualname.split(".")[0] in _ASYNC_FRAMEWORKS and qualname.endswith(
        ("Lock", "Semaphore", "Condition", "Event")
    ):
        return "async_primitive"
    return None


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


def _import_bindings(tree: ast.AST) -> Iterator[tuple[str, str]]:
    for node in ast.walk(tree):
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

    imports: dict[str, str]
    hidden_builtins: frozenset[str]
    #: Kind of object each name holds, per scope (a function node, or None for module and self.*).
    kinds: dict[tuple[int | None, str], str] = field(default_factory=dict)
    #: Names of coroutine functions defined at module level.
    async_functions: frozenset[str] = frozenset()
    #: Coroutine method names of each class, by class name.
    async_methods: dict[str, frozenset[str]] = field(default_factory=dict)
    #: Names of module-level functions run in threads (Thread targets, thread-pool tasks).
    thread_targets: frozenset[str] = frozenset()
    #: Top-level definitions (or ``<module>``) that start threads or thread pools.
    thread_units: frozenset[str] = frozenset()

    @classmethod
    def of(cls, tree: ast.Module) -> ModuleFacts:
        """Collect the facts of ``tree`` in one pass per question."""
        defined = _module_level_definitions(tree)
        imports = {name: qual for name, qual in _import_bindings(tree) if name not in defined}
        facts = cls(imports=imports, hidden_builtins=frozenset(defined & _BUILTINS))
        facts.kinds = facts._collect_kinds(tree)
        facts.async_functions = frozenset(
            n.name for n in tree.body if isinstance(n, ast.AsyncFunctionDef)
        )
        facts.async_methods = {
            c.name: frozenset(m.name for m in c.body if isinstance(m, ast.AsyncFunctionDef))
            for c in ast.walk(tree)
            if isinstance(c, ast.ClassDef)
        }
        facts.thread_targets = frozenset(facts._thread_targets(tree))
        facts.thread_units = frozenset(facts._thread_units(tree))
        return facts

    # -- what a name or call means -------------------------------------------------

    def qualname(self, node: ast.AST, scope: ast.AST | None = None) -> str | None:
        """The fully qualified name ``node`` refers to, e.g. ``time.sleep``; None if unknown."""
        if isinstance(node, ast.Name):
            if node.id in self.imports:
                return self.imports[node.id]
            if node.id in _BUILTINS and node.id not in self.hidden_builtins:
                return f"builtins.{node.id}"
            return None
        if isinstance(node, ast.Attribute):
            base = self.qualname(node.value, scope)
            if base is not None:
                return f"{base}.{node.attr}"
            if self.kind(node.value, scope) == "mp_context":
                # ctx = multiprocessing.get_context("spawn"); ctx.Pool(...)
                return f"multiprocessing.{node.attr}"
        return None

    def kind(self, node: ast.AST, scope: ast.AST | None = None) -> str | None:
        """What kind of object ``node`` evaluates to (``"process_pool"``, ...), if known."""
        if isinstance(node, ast.Call):
            name = self.qualname(node.func, scope)
            return None if name is None else _KIND_OF_CALL.get(name, _foreign_kind(name))
        name = dotted(node)
        if name is None:
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

    # -- collection passes -----------------------------------------------------------

    def _collect_kinds(self, tree: ast.Module) -> dict[tuple[int | None, str], str]:
        # A second round sees through one level of indirection:
        # ctx = get_context("spawn"); pool = ctx.Pool().
        bindings = list(_bindings(tree))
        for _ in range(2):
            self.kinds = self._kinds_of(bindings)
        return self.kinds

    def _kinds_of(
        self, bindings: list[tuple[ast.AST | None, ast.AST, ast.AST]]
    ) -> dict[tuple[int | None, str], str]:
        seen: defaultdict[tuple[int | None, str], set[str]] = defaultdict(set)
        for scope, target, value in bindings:
            name = dotted(target)
            kind = self.kind(value, scope)
            if name is None or kind is None:
                continue
            key = None if scope is None or name.startswith("self.") else id(scope)
            seen[key, name].add(kind)
        # A name bound to different kinds in one scope is ambiguous: rules ignore it.
        return {key: kinds.pop() for key, kinds in seen.items() if len(kinds) == 1}

    def _thread_targets(self, tree: ast.Module) -> Iterator[str]:
        for scope, call in _calls_with_scope(tree):
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

    def _thread_units(self, tree: ast.Module) -> Iterator[str]:
        todo: list[tuple[str, ast.AST]] = [("<module>", tree)]
        while todo:
            unit, node = todo.pop()
            if isinstance(node, ast.Call) and self.kind(node) in {
                "thread",
                "thread_executor",
                "thread_pool",
            }:
                yield unit
            for child in ast.iter_child_nodes(node):
                todo.append((unit if unit != "<module>" else _unit_name(child), child))


def unit_of(ancestors: Iterable[ast.AST]) -> str:
    """The outermost function or class around a node (looking through module-level ``if``
    and ``try``), or ``<module>`` for code that runs at import."""
    return next((_unit_name(n) for n in ancestors if _unit_name(n) != "<module>"), "<module>")


def _unit_name(node: ast.AST) -> str:
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return node.name
    return "<module>"


def _bindings(tree: ast.Module) -> Iterator[tuple[ast.AST | None, ast.AST, ast.AST]]:
    """(scope, target, value) for every simple assignment and ``with ... as``."""
    for scope, node in _nodes_with_scope(tree):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            yield scope, node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            yield scope, node.target, node.value
        elif isinstance(node, (ast.With, ast.AsyncWith)):
            for item in node.items:
                if item.optional_vars is not None:
                    yield scope, item.optional_vars, item.context_expr


def _nodes_with_scope(tree: ast.Module) -> Iterator[tuple[ast.AST | None, ast.AST]]:
    """Every node with its nearest enclosing function (None at module level)."""
    todo: list[tuple[ast.AST | None, Iterable[ast.AST]]] = [(None, tree.body)]
    while todo:
        scope, nodes = todo.pop()
        for node in nodes:
            yield scope, node
            inner = (
                node
                if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
                else scope
            )
            todo.append((inner, list(ast.iter_child_nodes(node))))


def _calls_with_scope(tree: ast.Module) -> Iterator[tuple[ast.AST | None, ast.Call]]:
    for scope, node in _nodes_with_scope(tree):
        if isinstance(node, ast.Call):
            yield scope, node
