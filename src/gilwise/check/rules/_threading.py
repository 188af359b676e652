"""GW2xx: threading — locks, conditions, threads and shared state."""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from typing import NamedTuple

from .._context import Context
from .._index import ModuleIndex
from .._names import callee, catches_everything, dotted, method_calls, walk_scope
from .._rule import Hit, Rule

_LOCK_KINDS = frozenset({"thread_lock", "thread_condition"})
# An acquire under await/yield belongs to an async lock (asyncio, tornado, anyio).
_SUSPENDS = (ast.Await, ast.Yield, ast.YieldFrom)
# Semaphores are left out on purpose: they often count signals (acquire in one thread,
# release in another), where try/finally would be wrong.
_LOCKISH_NAMES = ("lock", "mutex")


def _looks_like_lock(node: ast.AST, ctx: Context) -> bool:
    kind = ctx.kind(node)
    if kind is not None:
        return kind in _LOCK_KINDS
    name = (dotted(node) or "").rsplit(".", 1)[-1].lower()
    return any(part in name for part in _LOCKISH_NAMES)


class AcquireWithoutRelease(Rule):
    """
    ## What it does
    Finds `lock.acquire()` on a threading lock or condition that is not followed by a
    `try`/`finally` releasing it.

    ## Why is this bad?
    If anything between `acquire()` and `release()` raises, the lock stays held and every
    other thread that needs it waits forever: a deadlock that shows up only on the error
    path. `with lock:` releases on every path.

    ## Example
    ```python
    import threading

    lock = threading.Lock()

    def add(items, item):
        lock.acquire()
        items.append(item)
        lock.release()
    ```

    ## Use instead
    ```python
    import threading

    lock = threading.Lock()

    def add(items, item):
        with lock:
            items.append(item)
    ```

    ## Measured precision
    Off unless selected (`--select GW201`): too few of its findings on real projects are
    real, mostly because a lock it cannot identify by its constructor is recognised by its
    name (ZooKeeper and Redis locks, semaphores used as signals).
    `benchmarks/results/check_findings_holdout2.md` (21 projects, 504,000 lines): 0 true, 6
    false (0%, 95% interval 0–39%); issue 15's 1.5 M-line holdout: 0 true of 5;
    `benchmarks/results/check_findings_holdout3.md` (25 projects, 671,000 lines): 4 true, 1
    false, 3 debatable (80%, 95% interval 38–96%).
    """

    code = "GW201"
    name = "acquire-without-with"
    opt_in = True
    nodes = (ast.Call,)

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.Call)
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr == "acquire"):
            return
        # Under await/yield, or handed to another call (ensure_future(lock.acquire())), the
        # acquire returns an awaitable: an async lock.
        if isinstance(ctx.parent, (*_SUSPENDS, ast.Call)) or not _looks_like_lock(func.value, ctx):
            return
        function = ctx.function()
        if _implements_locking(function) or _released_at_once(node, ctx) or _in_finally(ctx):
            return
        scope = function or ctx.ancestors[0]
        lock = dotted(func.value)
        releases = [c.lineno for c in method_calls(ctx.facts.index, scope, "release", lock)]
        # No release here: the lock is held on purpose or handed off; a release before the
        # acquire: release, wait, re-acquire for the caller. Neither is this rule's case.
        if not releases or min(releases) < node.lineno:
            return
        if _released_in_finally(lock, scope, node, ctx) or _enclosing_finally_releases(
            func.value, ctx
        ):
            return
        yield (
            node,
            f"{callee(node)}() without 'with' or try/finally: if the code after it raises, "
            "the lock is never released and other threads wait forever; use "
            f"'with {dotted(func.value)}:'",
        )


def _implements_locking(scope: ast.AST | None) -> bool:
    """Methods that implement a lock protocol acquire here and release elsewhere."""
    name = getattr(scope, "name", "")
    return name in {"__enter__", "__aenter__", "__init__", "acquire", "lock"} or name.startswith(
        "_acquire"
    )


def _released_at_once(acquire: ast.Call, ctx: Context) -> bool:
    """``lock.acquire(); lock.release()`` waits for a holder; nothing in between can raise."""
    lock = dotted(acquire.func.value) if isinstance(acquire.func, ast.Attribute) else None
    holder = ctx.parent
    if isinstance(holder, ast.If) and holder.test is acquire:
        following = holder.body[0]
    elif isinstance(holder, ast.Expr):
        block = _block_of(holder, ctx)
        if block is None or block.index(holder) + 1 >= len(block):
            return False
        following = block[block.index(holder) + 1]
    else:
        return False
    return (
        isinstance(following, ast.Expr)
        and isinstance(following.value, ast.Call)
        and isinstance(following.value.func, ast.Attribute)
        and following.value.func.attr == "release"
        and dotted(following.value.func.value) == lock
    )


def _block_of(statement: ast.stmt, ctx: Context) -> list[ast.stmt] | None:
    container = ctx.ancestors[-2] if len(ctx.ancestors) >= 2 else None
    for field in ("body", "orelse", "finalbody"):
        block = getattr(container, field, None)
        if isinstance(block, list) and statement in block:
            return block
    return None


def _in_finally(ctx: Context) -> bool:
    return any(
        isinstance(node, ast.Try) and inner in node.finalbody
        for node, inner in itertools.pairwise(ctx.ancestors)
    )


def _released_in_finally(lock: str | None, scope: ast.AST, acquire: ast.Call, ctx: Context) -> bool:
    """Whether a ``try`` at or after the acquire releases ``lock`` in its ``finally``."""
    last = ctx.facts.index.memo(_last_try_releasing, scope).get(lock)
    return last is not None and last >= acquire.lineno - 1


def _last_try_releasing(index: ModuleIndex, scope: ast.AST) -> dict[str | None, int]:
    """The line of the last ``try`` in ``scope`` whose ``finally`` releases each lock, by
    the lock's dotted name."""
    last: dict[str | None, int] = {}
    for node in index.in_scope(scope):
        if not isinstance(node, ast.Try):
            continue
        for stmt in node.finalbody:
            for inner in [stmt, *walk_scope(stmt)]:
                if (
                    isinstance(inner, ast.Call)
                    and isinstance(inner.func, ast.Attribute)
                    and inner.func.attr == "release"
                ):
                    lock = dotted(inner.func.value)
                    last[lock] = max(last.get(lock, node.lineno), node.lineno)
    return last


def _enclosing_finally_releases(lock: ast.AST, ctx: Context) -> bool:
    """The acquire sits in a ``try`` whose ``finally`` releases the lock (typically behind
    a flag set after the acquire: ``if self._locked: self._lock.release()``)."""
    name = dotted(lock)
    return any(
        isinstance(node, ast.Try)
        and inner in node.body
        and any(
            isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr == "release"
            and dotted(n.func.value) == name
            for stmt in node.finalbody
            for n in [stmt, *walk_scope(stmt)]
        )
        for node, inner in itertools.pairwise(ctx.ancestors)
    )


class ConditionWaitOutsideLoop(Rule):
    """
    ## What it does
    Finds `Condition.wait()` (threading or asyncio) that is not inside a `while` loop.

    ## Why is this bad?
    `wait()` can return when the condition the code waits for is not true: another
    waiter may have been woken first and consumed the item, `notify_all()` wakes
    everyone, and a timeout returns regardless. Code after a bare `wait()` then acts
    on state that is not there.

    ## Example
    ```python
    import threading

    ready = threading.Condition()
    items = []

    def take():
        with ready:
            if not items:
                ready.wait()
            return items.pop()
    ```

    ## Use instead
    ```python
    import threading

    ready = threading.Condition()
    items = []

    def take():
        with ready:
            ready.wait_for(lambda: items)
            return items.pop()
    ```
    """

    code = "GW202"
    name = "condition-wait-outside-loop"
    nodes = (ast.Call,)

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.Call)
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr == "wait"):
            return
        if ctx.kind(func.value) not in {"thread_condition", "async_condition"}:
            return
        if not _in_a_loop_that_rechecks(ctx) and not _timed_wait_then_checked(node, ctx):
            yield (
                node,
                f"{callee(node)}() outside a 'while' loop: it can return while the awaited "
                "state is still false (another waiter took it, notify_all, timeout); loop on "
                "the predicate or use wait_for()",
            )


def _timed_wait_then_checked(wait: ast.Call, ctx: Context) -> bool:
    """``cond.wait(timeout)`` whose result or following ``if`` re-checks the state, or that
    returns right after, or whose result is returned (one poll; the caller loops).

    ``Future.result(timeout)`` waits once and then tests every state it could be in,
    raising TimeoutError otherwise: correct when the notified state never reverts.
    """
    if not wait.args and not any(k.arg == "timeout" for k in wait.keywords):
        return False
    holder = ctx.parent
    if isinstance(holder, (ast.If, ast.UnaryOp, ast.BoolOp, ast.Compare)):
        return True  # the wait's own result is tested
    if isinstance(holder, ast.Return):
        return True  # `return cond.wait(timeout)`: the caller tests the result (and loops)
    following = _next_statement(ctx) if isinstance(holder, ast.Expr) else None
    if isinstance(following, ast.Return):
        return True  # polls once and returns: the caller's loop re-checks
    if not isinstance(following, ast.If):
        return False
    # The following test must look at what the guard before the wait looked at.
    return _guarded_by(_names_in(following.test), ctx)


def _in_a_loop_that_rechecks(ctx: Context) -> bool:
    """A ``while`` around the wait in its function, or around a call of the nested
    function that waits (``while not ready: await _()`` with ``_`` defined in the loop)."""
    function = ctx.function()
    for node in reversed(ctx.ancestors):
        if isinstance(node, ast.While):
            if function is None or node in ctx.ancestors[ctx.ancestors.index(function) :]:
                return True
            name = getattr(function, "name", None)
            return any(isinstance(n, ast.Call) and dotted(n.func) == name for n in ast.walk(node))
    return False


def _guarded_by(names: set[str], ctx: Context) -> bool:
    """Whether one of the ``if`` statements that lead to the node tests one of ``names``:
    an enclosing one, or one before it in the same block."""
    chain = ctx.ancestors
    # Each ancestor with the node below it on the way down (None below the last).
    for node, inner in zip(chain, [*chain[1:], None], strict=True):
        if isinstance(node, ast.If) and inner is not node.test and names & _names_in(node.test):
            return True
        body = getattr(node, "body", None)
        if isinstance(body, list) and inner in body:
            first_tests = ctx.facts.index.memo(_first_tests, node)
            position = body.index(inner)
            if any(first_tests.get(name, position) < position for name in names):
                return True
    return False


def _first_tests(index: ModuleIndex, container: ast.AST) -> dict[str, int]:
    """Where in ``container``'s body an ``if`` statement first tests each name."""
    first: dict[str, int] = {}
    for position, statement in enumerate(getattr(container, "body", [])):
        if isinstance(statement, ast.If):
            for name in _names_in(statement.test):
                first.setdefault(name, position)
    return first


def _names_in(test: ast.AST) -> set[str]:
    return {
        name
        for n in ast.walk(test)
        if isinstance(n, (ast.Name, ast.Attribute)) and (name := dotted(n)) is not None
    }


def _next_statement(ctx: Context) -> ast.stmt | None:
    """The statement that runs after the one holding the node: its next sibling, or, at
    the end of an ``if``/``with`` block, the statement after that ``if``/``with``."""
    chain = ctx.ancestors
    for depth in range(len(chain) - 1, 0, -1):
        statement, container = chain[depth], chain[depth - 1]
        if not isinstance(statement, ast.stmt):
            continue
        for field in ("body", "orelse", "finalbody"):
            block = getattr(container, field, None)
            if isinstance(block, list) and statement in block:
                position = block.index(statement)
                if position + 1 < len(block):
                    following: ast.stmt = block[position + 1]
                    return following
        if not isinstance(container, (ast.If, ast.With, ast.AsyncWith)):
            return None
    return None


class ThreadNeverJoined(Rule):
    """
    ## What it does
    Finds a non-daemon `threading.Thread` that is started and never joined, kept nowhere
    that could join it later. A thread passed in as a parameter belongs to the caller, and
    one whose target is a function of the module that catches every exception itself has
    its failures handled: neither is reported.

    ## Why is this bad?
    Nothing learns when the thread ends or whether it failed (its exception is only
    printed), and the program cannot exit until it finishes. Join it, or use a
    `ThreadPoolExecutor`, whose futures carry results and exceptions.

    ## Example
    ```python
    import threading

    def handle(request):
        ...

    def serve(request):
        worker = threading.Thread(target=handle, args=(request,))
        worker.start()
    ```

    ## Use instead
    ```python
    import threading

    def handle(request):
        ...

    def serve(request):
        worker = threading.Thread(target=handle, args=(request,))
        worker.start()
        worker.join()
    ```

    ## Measured precision
    Off unless selected (`--select GW203`): fire-and-forget threads are often deliberate
    (bounded watchdogs, timers), so not enough of its findings are real to make it a
    default. `benchmarks/results/check_findings_holdout2.md` (21 projects, 504,000 lines): 2
    true, no false, 1 debatable (95% interval 34–100%); issue 15's 1.5 M-line holdout,
    before the exemptions above: 2 true of 11;
    `benchmarks/results/check_findings_holdout3.md` (25 projects, 671,000 lines): no true or
    false, 2 debatable.
    """

    code = "GW203"
    name = "thread-never-joined"
    opt_in = True
    nodes = (ast.Call,)

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.Call)
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr == "start"):
            return
        thread = func.value
        if isinstance(thread, ast.Call):
            if (
                ctx.kind(thread) == "thread"
                and not _is_daemon(thread)
                and not _target_catches_everything(thread, ctx)
            ):
                yield node, self._message("this thread")
            return
        if not isinstance(thread, ast.Name) or ctx.kind(thread) != "thread":
            return
        scope = ctx.function() or ctx.ancestors[0]
        handling = ctx.facts.index.memo(_thread_handling, scope)
        built = handling.built.get(thread.id, [])
        managed = (
            thread.id in handling.managed
            or thread.id in _parameters(scope)
            or any(_is_daemon(call) for call in built)
        )
        if managed or any(_target_catches_everything(call, ctx) for call in built):
            return
        yield node, self._message(f"thread '{thread.id}'")

    @staticmethod
    def _message(what: str) -> str:
        return (
            f"{what} is started and never joined: its failure goes unnoticed and the program "
            "cannot exit until it ends; keep it and call join(), or use a ThreadPoolExecutor"
        )


class _ThreadHandling(NamedTuple):
    """What one scope does with the names it holds threads in."""

    #: The calls assigned to each name (in plain or annotated assignments to it alone).
    built: dict[str, list[ast.Call]]
    #: Names joined, made a daemon, or handed elsewhere (returned, stored, passed on, or
    #: used by a nested function that may join them later).
    managed: frozenset[str]


def _thread_handling(index: ModuleIndex, scope: ast.AST) -> _ThreadHandling:
    nodes = index.in_scope(scope)
    receivers = {id(node.value) for node in nodes if isinstance(node, ast.Attribute)}
    built: dict[str, list[ast.Call]] = {}
    managed: set[str | None] = set()
    for node in nodes:
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            if isinstance(targets[0], ast.Attribute) and targets[0].attr == "daemon":
                managed.add(dotted(targets[0].value))
            name = dotted(targets[0])
            if len(targets) == 1 and name is not None and isinstance(node.value, ast.Call):
                built.setdefault(name, []).append(node.value)
        elif isinstance(node, ast.Attribute) and node.attr in {"join", "setDaemon", "cancel"}:
            # A Timer stopped with cancel() is managed like a joined thread.
            managed.add(dotted(node.value))
        elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load):
            if id(node) not in receivers:  # read other than as in `thread.name`
                managed.add(node.id)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            managed.update(n.id for n in ast.walk(node) if isinstance(n, ast.Name))
    return _ThreadHandling(built, frozenset(name for name in managed if name is not None))


def _parameters(scope: ast.AST) -> set[str]:
    """A thread passed in belongs to the caller, who may join it."""
    if not isinstance(scope, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
        return set()
    arguments = scope.args
    return {a.arg for a in [*arguments.posonlyargs, *arguments.args, *arguments.kwonlyargs]}


def _target_catches_everything(thread: ast.Call, ctx: Context) -> bool:
    """The thread runs a function of this module that lets no exception out: its failures
    are handled where they happen, so none goes unnoticed."""
    target = next((k.value for k in thread.keywords if k.arg == "target"), None)
    if target is None and len(thread.args) > 1:
        target = thread.args[1]  # Thread(group, target, ...)
    if target is None:
        return False
    catches = ctx.facts.function_named(
        target, ctx.scope(), same=lambda f: catches_everything(ctx.facts.index, f)
    )
    return catches is not None and catches_everything(ctx.facts.index, catches)


def _is_daemon(call: ast.Call) -> bool:
    return any(
        k.arg == "daemon" and isinstance(k.value, ast.Constant) and k.value.value is True
        for k in call.keywords
    )


class UnlockedGlobalUpdate(Rule):
    """
    ## What it does
    Finds a read-modify-write of a module-level variable (`counter += 1`,
    `totals[key] += n`) inside a function that runs in threads (a `Thread` target or a
    function submitted to a thread pool in the same module), outside any `with lock:`.
    An item indexed by a parameter (`counts[slot] += 1`, each thread given its own slot)
    or by the thread's identity (`threading.get_ident()`) is not shared, and not reported.

    ## Why is this bad?
    `+=` reads the value, computes, and writes it back. The GIL can switch threads
    between the read and the write, so two threads read the same old value and one
    update is lost. It happens rarely, which is what makes it expensive to find.

    ## Example
    ```python
    import threading

    hits = 0

    def count():
        global hits
        hits += 1

    threading.Thread(target=count, daemon=True).start()
    ```

    ## Use instead
    ```python
    import threading

    hits = 0
    hits_lock = threading.Lock()

    def count():
        global hits
        with hits_lock:
            hits += 1

    threading.Thread(target=count, daemon=True).start()
    ```
    """

    code = "GW204"
    name = "unlocked-global-update-in-thread"
    nodes = (ast.AugAssign,)

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.AugAssign)
        function = ctx.function()
        if not isinstance(function, ast.FunctionDef):
            return
        # Most updates are of local names: ruled out before the module's threads are
        # worked out.
        shared = _shared_global(node.target, function, ctx.facts.index)
        if shared is None or function.name not in ctx.facts.thread_targets:
            return
        if not _under_lock(ctx):
            yield (
                node,
                f"'{shared}' is updated in place from thread function '{function.name}' "
                "without a lock: two threads can read the same old value and lose an "
                "update; wrap it in 'with some_lock:'",
            )


_THREAD_IDENTITIES = frozenset({"get_ident", "get_native_id", "current_thread"})


def _own_slot(index: ast.AST, parameters: set[str]) -> bool:
    """``counts[slot]`` with ``slot`` passed in to each thread, or the thread's own identity
    (``threading.get_ident()``): every thread writes a different item."""
    if isinstance(index, ast.Name):
        return index.id in parameters
    return any(
        isinstance(n, ast.Call) and (dotted(n.func) or "").rsplit(".", 1)[-1] in _THREAD_IDENTITIES
        for n in ast.walk(index)
    )


def _under_lock(ctx: Context) -> bool:
    return any(
        isinstance(node, ast.With)
        and any(_looks_like_lock(item.context_expr, ctx) for item in node.items)
        for node in ctx.ancestors
    )


def _shared_global(target: ast.AST, function: ast.FunctionDef, index: ModuleIndex) -> str | None:
    """The module-level name a target in ``function`` writes to, if it is one."""
    names = index.names(function)
    if isinstance(target, ast.Name):
        return target.id if target.id in names.declared_global else None
    base = target
    while isinstance(base, (ast.Subscript, ast.Attribute)):
        base = base.value
    if not isinstance(base, ast.Name) or base.id in {"self", "cls"}:
        return None
    parameters = {a.arg for a in [*function.args.args, *function.args.kwonlyargs]}
    if isinstance(target, ast.Subscript) and _own_slot(target.slice, parameters):
        return None
    if base.id in names.stored or base.id in parameters:
        return None
    return dotted(target) if isinstance(target, ast.Attribute) else base.id
