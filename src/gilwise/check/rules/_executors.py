"""GW4xx: concurrent.futures and pools — results nobody reads, pools made over and over."""

from __future__ import annotations

import ast
from collections.abc import Iterator

from .._context import Context
from .._names import EXECUTOR_KINDS, callee
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

    ## Example
    ```python
    from concurrent.futures import ThreadPoolExecutor

    def send_all(messages, send):
        with ThreadPoolExecutor() as executor:
            for message in messages:
                executor.submit(send, message)
    ```

    ## Use instead
    ```python
    from concurrent.futures import ThreadPoolExecutor

    def send_all(messages, send):
        with ThreadPoolExecutor() as executor:
            futures = [executor.submit(send, message) for message in messages]
            for future in futures:
                future.result()
    ```
    """

    code = "GW401"
    name = "future-never-read"
    nodes = (ast.Call,)

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.Call)
        func = node.func
        if not isinstance(func, ast.Attribute):
            return
        submits = func.attr in _RESULT_METHODS and ctx.facts.is_executor(func.value, ctx.scope())
        runs_in_executor = func.attr == "run_in_executor" and not isinstance(ctx.parent, ast.Await)
        if (submits or runs_in_executor) and ctx.is_discarded(node):
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

    ## Example
    ```python
    from concurrent.futures import ThreadPoolExecutor

    def upload_all(paths, upload):
        with ThreadPoolExecutor() as executor:
            executor.map(upload, paths)
    ```

    ## Use instead
    ```python
    from concurrent.futures import ThreadPoolExecutor

    def upload_all(paths, upload):
        with ThreadPoolExecutor() as executor:
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
        if lazy and ctx.facts.is_executor(func.value, ctx.scope()) and ctx.is_discarded(node):
            yield (
                node,
                f"the results of {callee(node)}() are never read: exceptions from the tasks "
                "are lost and nothing waits for them; iterate the results (for example "
                "'for _ in ...: pass')",
            )


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
