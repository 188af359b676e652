"""GW4xx: concurrent.futures and pools — results nobody reads, pools made over and over."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from .._context import Context
from .._names import EXECUTOR_KINDS, callee, catches_everything, dotted
from .._rule import Hit, Rule

_RESULT_METHODS = frozenset({"submit", "apply_async", "map_async", "starmap_async"})
_LAZY_MAP_METHODS = frozenset({"map", "imap", "imap_unordered"})


class FutureNeverRead(Rule):
    """
    ## What it does
    Finds the `Future` (or `AsyncResult`) from `executor.submit()`, `pool.apply_async()`,
    `pool.map_async()` or an un-awaited `loop.run_in_executor()` thrown away: called as a
    statement or stored in a local that is never read.

    ## Why is this bad?
    An exception raised by the task is stored in its future and re-raised only when
    someone calls `result()`. Nobody will, so failures vanish without a trace, and
    nothing waits for the work to finish.

    Not reported: a call inside the `with` block that made the executor (leaving the
    block waits for every task), and a submitted function of the same module whose body
    catches every exception itself (`try: ... except Exception: log(...)`).

    ## Example
    ```python
    from concurrent.futures import ThreadPoolExecutor

    executor = ThreadPoolExecutor()

    def send_later(message, send):
        executor.submit(send, message)
    ```

    ## Use instead
    ```python
    import logging
    from concurrent.futures import ThreadPoolExecutor

    executor = ThreadPoolExecutor()

    def log_failure(future):
        if future.exception() is not None:
            logging.error("send failed", exc_info=future.exception())

    def send_later(message, send):
        future = executor.submit(send, message)
        future.add_done_callback(log_failure)
    ```

    ## Measured precision
    Off unless selected (`--select GW401`): on real projects it was not tuned on, most
    submitted functions handle their own errors in ways a check of one module cannot see
    (a `try` beside other statements in a loop, a callable class of another module).
    `benchmarks/results/check_findings_holdout.md`: 1 debatable finding;
    `benchmarks/results/check_findings_holdout3.md` (25 projects, 671,000 lines): 0 true, 4
    false (95% interval 0–49%); the 1.5 M-line holdout of issue 15: 2 true of 22.
    """

    code = "GW401"
    name = "future-never-read"
    nodes = (ast.Call,)
    opt_in = True

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.Call)
        func = node.func
        if not isinstance(func, ast.Attribute):
            return
        submits = func.attr in _RESULT_METHODS and ctx.facts.is_executor(func.value, ctx.scope())
        runs_in_executor = func.attr == "run_in_executor" and not isinstance(ctx.parent, ast.Await)
        # run_in_executor(executor, func, ...); submit(func, ...)
        position = 1 if runs_in_executor else 0
        task = node.args[position] if len(node.args) > position else None
        if (
            (submits or runs_in_executor)
            and ctx.is_discarded(node)
            and not _waited_by_its_with(func.value, ctx)
            and not _task_catches_everything(task, ctx)
        ):
            yield (
                node,
                f"the future from {callee(node)}() is never read: if the task "
                "raises, the exception is silently lost; keep the future and call result() "
                "(or use as_completed / wait)",
            )


class MapNeverConsumed(Rule):
    """
    ## What it does
    Finds `executor.map()`, `pool.imap()` or `pool.imap_unordered()` whose result is
    never iterated.

    ## Why is this bad?
    These return lazy iterators. The tasks do run, but an exception in one is re-raised
    only when its result is read, so with nobody reading, failures are lost; and nothing
    waits for the tasks, so the code after the call races with them.

    Not reported, as for GW401: inside the `with` block that made the executor, or when
    the mapped function of the same module catches every exception itself.

    ## Example
    ```python
    from concurrent.futures import ThreadPoolExecutor

    executor = ThreadPoolExecutor()

    def upload_all(paths, upload):
        executor.map(upload, paths)
    ```

    ## Use instead
    ```python
    from concurrent.futures import ThreadPoolExecutor

    executor = ThreadPoolExecutor()

    def upload_all(paths, upload):
        for _ in executor.map(upload, paths):
            pass
    ```
    """

    code = "GW402"
    name = "map-never-consumed"
    nodes = (ast.Call,)

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.Call)
        func = node.func
        if not (isinstance(func, ast.Attribute) and func.attr in _LAZY_MAP_METHODS):
            return
        kind = ctx.kind(func.value)
        # multiprocessing's Pool.map is eager: it returns a list and raises on failure.
        lazy = func.attr != "map" or kind not in {"process_pool", "thread_pool"}
        if (
            lazy
            and ctx.facts.is_executor(func.value, ctx.scope())
            and ctx.is_discarded(node)
            and not _waited_by_its_with(func.value, ctx)
            and not _task_catches_everything(node.args[0] if node.args else None, ctx)
        ):
            yield (
                node,
                f"the results of {callee(node)}() are never read: exceptions from the tasks "
                "are lost and nothing waits for them; iterate the results (for example "
                "'for _ in ...: pass')",
            )


def _waited_by_its_with(executor: ast.AST, ctx: Context) -> bool:
    """The call sits in the ``with`` block that made the executor: leaving the block waits
    for every task (``shutdown(wait=True)``)."""
    name = dotted(executor)
    function = ctx.function()
    inside = ctx.ancestors[ctx.ancestors.index(function) :] if function else ctx.ancestors
    return name is not None and any(
        isinstance(node, ast.With)
        and any(
            item.optional_vars is not None and dotted(item.optional_vars) == name
            for item in node.items
        )
        for node in inside
    )


def _task_catches_everything(task: ast.AST | None, ctx: Context) -> bool:
    """The submitted function is the module's own and lets no exception out, so its future
    has none to lose. ``functools.partial(f, ...)`` is seen through."""
    if isinstance(task, ast.Call) and ctx.qualname(task.func) == "functools.partial" and task.args:
        task = task.args[0]
    if task is None:
        return False
    catches = ctx.facts.function_named(
        task, ctx.scope(), same=lambda f: catches_everything(ctx.facts.index, f)
    )
    return catches is not None and catches_everything(ctx.facts.index, catches)


class ExecutorInLoop(Rule):
    """
    ## What it does
    Finds a thread pool, process pool or executor created inside a loop.

    ## Why is this bad?
    Each iteration starts workers and shuts them down again. For processes that is tens
    of milliseconds per worker, often more than the work itself; threads cost less but
    still throw away warm workers. One pool outside the loop does the same work.

    ## Example
    ```python
    from concurrent.futures import ProcessPoolExecutor

    def process_batches(batches, work):
        results = []
        for batch in batches:
            with ProcessPoolExecutor() as pool:
                results.extend(pool.map(work, batch))
        return results
    ```

    ## Use instead
    ```python
    from concurrent.futures import ProcessPoolExecutor

    def process_batches(batches, work):
        results = []
        with ProcessPoolExecutor() as pool:
            for batch in batches:
                results.extend(pool.map(work, batch))
        return results
    ```
    """

    code = "GW403"
    name = "executor-in-loop"
    nodes = (ast.Call,)

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.Call)
        if ctx.kind(node) in EXECUTOR_KINDS and ctx.in_loop():
            yield (
                node,
                f"{callee(node)}() is created inside a loop: each pass starts and stops "
                "its workers; create it once before the loop and reuse it",
            )
