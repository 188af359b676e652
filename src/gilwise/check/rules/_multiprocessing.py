"""GW3xx: multiprocessing and process pools — start methods, pickling, fork, queues."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from .._context import Context, is_main_guard
from .._index import ModuleIndex
from .._names import PROCESS_POOL_KINDS, callee, dotted, method_calls, unit_of
from .._rule import Hit, Rule

_STARTS_PROCESSES = frozenset({"process_executor", "process_pool", "process"})
_POOL_TASK_METHODS = frozenset(
    {
        "submit",
        "map",
        "imap",
        "imap_unordered",
        "starmap",
        "apply",
        "apply_async",
        "map_async",
        "starmap_async",
    }
)


class PoolAtImportTime(Rule):
    """
    ## What it does
    Finds a process pool or `multiprocessing.Process` created when the module is imported:
    at module level (or in a class body) outside `if __name__ == "__main__":`.

    ## Why is this bad?
    With the `spawn` and `forkserver` start methods (the default on macOS and Windows, and
    on Linux from Python 3.14) every worker imports the main module again. Code at module
    level then runs in each worker: it tries to start pools of its own, and
    multiprocessing stops it with a `RuntimeError` about the bootstrapping phase.

    ## Example
    ```python
    from concurrent.futures import ProcessPoolExecutor

    def square(x):
        return x * x

    with ProcessPoolExecutor() as pool:
        print(list(pool.map(square, range(10))))
    ```

    ## Use instead
    ```python
    from concurrent.futures import ProcessPoolExecutor

    def square(x):
        return x * x

    if __name__ == "__main__":
        with ProcessPoolExecutor() as pool:
            print(list(pool.map(square, range(10))))
    ```
    """

    code = "GW301"
    name = "process-pool-at-import"
    nodes = (ast.Call,)

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.Call)
        if ctx.kind(node) in _STARTS_PROCESSES and ctx.runs_at_import():
            yield (
                node,
                f"{callee(node)}() runs at import time: with the spawn and forkserver start "
                "methods each worker imports this module again and tries to start it too; move "
                "it under 'if __name__ == \"__main__\":' or into a function",
            )


class UnpicklableTask(Rule):
    """
    ## What it does
    Finds a lambda, a function defined inside another function, or a function defined
    under `if __name__ == "__main__":` sent to a process pool or used as a `Process`
    target.

    ## Why is this bad?
    Process pools pickle the function to send it to a worker, and pickle stores
    functions by their importable name. A lambda or a nested function has none, so the
    call fails with `PicklingError` (or `AttributeError: Can't pickle local object`). A
    function defined under the `__main__` guard does not exist in a `spawn` worker,
    which imports the module as `__mp_main__`.

    ## Example
    ```python
    from concurrent.futures import ProcessPoolExecutor

    def scale_all(values, factor):
        with ProcessPoolExecutor() as pool:
            return list(pool.map(lambda v: v * factor, values))
    ```

    ## Use instead
    ```python
    import functools
    from concurrent.futures import ProcessPoolExecutor

    def scale(v, factor):
        return v * factor

    def scale_all(values, factor):
        with ProcessPoolExecutor() as pool:
            return list(pool.map(functools.partial(scale, factor=factor), values))
    ```
    """

    code = "GW302"
    name = "unpicklable-process-task"
    nodes = (ast.Call,)

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.Call)
        for sent in self._sent_callables(node, ctx):
            problem = _unpicklable(sent, ctx)
            if problem:
                yield (
                    sent,
                    f"{problem} is sent to a process, but pickle can only send functions "
                    "importable by name, so this fails; define it at module level "
                    "(functools.partial binds extra arguments)",
                )

    @staticmethod
    def _sent_callables(call: ast.Call, ctx: Context) -> Iterator[ast.AST]:
        func = call.func
        if ctx.kind(call) == "process":
            yield from (k.value for k in call.keywords if k.arg == "target")
        elif (
            isinstance(func, ast.Attribute)
            and func.attr in _POOL_TASK_METHODS
            and ctx.kind(func.value) in PROCESS_POOL_KINDS
            and call.args
        ):
            yield _partial_target(call.args[0], ctx)
        elif (
            isinstance(func, ast.Attribute)
            and func.attr == "run_in_executor"
            and len(call.args) >= 2
            and ctx.kind(call.args[0]) in PROCESS_POOL_KINDS
        ):
            yield _partial_target(call.args[1], ctx)


def _partial_target(node: ast.AST, ctx: Context) -> ast.AST:
    """The function inside ``functools.partial(f, ...)``, else the node itself."""
    if isinstance(node, ast.Call) and ctx.qualname(node.func) == "functools.partial" and node.args:
        return node.args[0]
    return node


def _unpicklable(node: ast.AST, ctx: Context) -> str | None:
    if isinstance(node, ast.Lambda):
        return "a lambda"
    if not isinstance(node, ast.Name):
        return None
    scope = ctx.function()
    index = ctx.facts.index
    if scope is not None and node.id in index.memo(_local_definitions, scope):
        return f"'{node.id}', defined inside a function,"
    if node.id in index.memo(_defined_under_main_guard, index.tree):
        return f"'{node.id}', defined under the __main__ guard (missing in spawn workers),"
    return None


def _local_definitions(index: ModuleIndex, scope: ast.AST) -> frozenset[str]:
    """The functions (not coroutines) and classes that ``scope`` defines itself."""
    return frozenset(
        n.name for n in index.in_scope(scope) if isinstance(n, (ast.FunctionDef, ast.ClassDef))
    )


def _defined_under_main_guard(index: ModuleIndex, module: ast.Module) -> frozenset[str]:
    """The functions (not coroutines) and classes defined anywhere under a module-level
    ``if __name__ == "__main__":``."""
    return frozenset(
        n.name
        for stmt in module.body
        if is_main_guard(stmt)
        for n in ast.walk(stmt)
        if isinstance(n, (ast.FunctionDef, ast.ClassDef))
    )


class ForkWithThreads(Rule):
    """
    ## What it does
    Finds `os.fork()`, or the `fork` start method chosen explicitly, where threads or
    thread pools are started too: in the same top-level class or function, or anywhere in
    the module when the fork method is chosen at module level.

    ## Why is this bad?
    `fork()` copies the process with only the calling thread. Any lock another thread
    held at that moment (in logging, in an allocator, in your code) stays locked forever
    in the child, which then deadlocks the first time it needs it. Python 3.12 warns
    about forking a multi-threaded process for this reason.

    ## Example
    ```python
    import multiprocessing
    import threading

    def main(work):
        threading.Thread(target=work, daemon=True).start()
        ctx = multiprocessing.get_context("fork")
        ctx.Process(target=work).start()
    ```

    ## Use instead
    ```python
    import multiprocessing
    import threading

    def main(work):
        threading.Thread(target=work, daemon=True).start()
        ctx = multiprocessing.get_context("forkserver")
        ctx.Process(target=work).start()
    ```
    """

    code = "GW303"
    name = "fork-with-threads"
    nodes = (ast.Call,)

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.Call)
        name = ctx.qualname(node.func)
        forks = name in {"os.fork", "os.forkpty"} or (
            name in {"multiprocessing.get_context", "multiprocessing.set_start_method"}
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and node.args[0].value == "fork"
        )
        if forks and _threads_near(ctx):
            yield (
                node,
                "fork in a module that also starts threads: the child inherits locks other "
                "threads held at that moment and can deadlock; use the 'spawn' or 'forkserver' "
                "start method",
            )


def _threads_near(ctx: Context) -> bool:
    """Whether threads start where this fork could see them: in the same top-level class
    or function, or in module-level code (two alternative mixins in one module are not)."""
    units = ctx.facts.thread_units
    if not units:
        return False
    here = unit_of(ctx.ancestors)
    return here == "<module>" or bool(units & {here, "<module>"})


class JoinBeforeDrainingQueue(Rule):
    """
    ## What it does
    Finds `process.join()` called before anything reads the `multiprocessing.Queue` that
    the process was given.

    ## Why is this bad?
    A process that put items on a queue does not exit until they are flushed into the
    underlying pipe, and the pipe holds only a few kilobytes. If the parent joins before
    reading, the child waits for the parent and the parent waits for the child: a
    deadlock that appears only once results grow large enough.

    ## Example
    ```python
    import multiprocessing

    def produce(queue):
        queue.put(b"x" * 1_000_000)

    def main():
        queue = multiprocessing.Queue()
        worker = multiprocessing.Process(target=produce, args=(queue,))
        worker.start()
        worker.join()
        return queue.get()
    ```

    ## Use instead
    ```python
    import multiprocessing

    def produce(queue):
        queue.put(b"x" * 1_000_000)

    def main():
        queue = multiprocessing.Queue()
        worker = multiprocessing.Process(target=produce, args=(queue,))
        worker.start()
        result = queue.get()
        worker.join()
        return result
    ```
    """

    code = "GW304"
    name = "join-before-draining-queue"
    nodes = (ast.Call,)

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.Call)
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr == "join" and not node.args):
            return
        if not isinstance(func.value, ast.Name) or ctx.kind(func.value) != "process":
            return
        scope = ctx.function() or ctx.ancestors[0]
        for queue in _queues_given_to(func.value.id, scope, ctx):
            reads = [
                call.lineno
                for method in ("get", "get_nowait")
                for call in method_calls(ctx.facts.index, scope, method, queue)
            ]
            if reads and min(reads) > node.lineno:
                yield (
                    node,
                    f"{func.value.id}.join() before reading queue '{queue}': the process cannot "
                    "exit until its queued data is read, so this can deadlock; read the results "
                    "first, then join",
                )


def _queues_given_to(process: str, scope: ast.AST, ctx: Context) -> Iterator[str]:
    for call in ctx.facts.index.memo(_assigned_calls, scope).get(process, []):
        arguments = [*call.args, *(k.value for k in call.keywords)]
        for argument in arguments:
            elements = argument.elts if isinstance(argument, (ast.Tuple, ast.List)) else [argument]
            for element in elements:
                if isinstance(element, ast.Name) and ctx.facts.kind(element, scope) == "mp_queue":
                    yield element.id


def _assigned_calls(index: ModuleIndex, scope: ast.AST) -> dict[str, list[ast.Call]]:
    """The calls ``scope`` assigns to each dotted name (``name = call(...)``), the last one
    first: the order a walk of the scope meets them in, so findings come out as they did."""
    assigned: dict[str, list[ast.Call]] = {}
    for node in reversed(index.in_scope(scope)):
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            name = dotted(node.targets[0])
            if name is not None and isinstance(node.value, ast.Call):
                assigned.setdefault(name, []).append(node.value)
    return assigned
