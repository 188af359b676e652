"""GW1xx: asyncio — what blocks, drops or swallows work on an event loop."""

from __future__ import annotations

import ast
import ipaddress
from collections.abc import Iterator
from typing import ClassVar

from .._context import Context
from .._names import callee, dotted, walk_scope
from .._rule import Hit, Rule

_HTTP_FUNCTIONS = frozenset(
    f"{module}.{verb}"
    for module in ("requests", "httpx")
    for verb in ("get", "post", "put", "patch", "delete", "head", "options", "request")
) | {"urllib.request.urlopen", "urllib3.request", "httpx.stream"}
_HTTP_METHODS = frozenset(
    {"get", "post", "put", "patch", "delete", "head", "options", "request", "urlopen", "send"}
)
_SUBPROCESS = frozenset(
    {
        "subprocess.run",
        "subprocess.call",
        "subprocess.check_call",
        "subprocess.check_output",
        "subprocess.getoutput",
        "subprocess.getstatusoutput",
        "subprocess.Popen",
        "os.system",
        "os.popen",
        "os.wait",
        "os.waitpid",
        "os.spawnl",
        "os.spawnlp",
        "os.spawnv",
        "os.spawnvp",
    }
)
_FILE_IO = frozenset(
    {
        "builtins.open",
        "io.open",
        "shutil.copy",
        "shutil.copy2",
        "shutil.copyfile",
        "shutil.copytree",
        "shutil.move",
        "shutil.rmtree",
    }
)
_PATH_IO_METHODS = frozenset(
    {"read_text", "read_bytes", "write_text", "write_bytes", "open", "touch", "unlink"}
)
_SOCKET_FUNCTIONS = frozenset(
    {
        "socket.create_connection",
        "socket.getaddrinfo",
        "socket.gethostbyname",
        "socket.gethostbyname_ex",
        "socket.gethostbyaddr",
        "socket.getnameinfo",
        "socket.getfqdn",
    }
)
_SOCKET_METHODS = frozenset(
    {"connect", "accept", "recv", "recv_into", "recvfrom", "send", "sendall", "sendto"}
)
_STDIN = frozenset({"builtins.input", "sys.stdin.read", "sys.stdin.readline"})
_COROUTINE_FUNCTIONS = frozenset(
    {
        "asyncio.sleep",
        "asyncio.wait",
        "asyncio.wait_for",
        "asyncio.open_connection",
        "asyncio.open_unix_connection",
        "asyncio.start_server",
        "asyncio.start_unix_server",
        "asyncio.create_subprocess_exec",
        "asyncio.create_subprocess_shell",
        "asyncio.to_thread",
    }
)
_TASK_FACTORIES = frozenset(
    {"asyncio.create_task", "asyncio.ensure_future", "asyncio.run_coroutine_threadsafe"}
)
_CANCELLED = frozenset({"asyncio.CancelledError", "concurrent.futures.CancelledError"})


def _blocking_call(node: ast.AST, ctx: Context) -> ast.Call | None:
    """The call at ``node`` if it runs directly on the event loop (in a coroutine, not awaited)."""
    if not isinstance(node, ast.Call) or not ctx.in_async_def():
        return None
    if isinstance(ctx.parent, ast.Await):
        return None
    return node


def _name(call: ast.Call) -> str:
    return callee(call)


class _BlockingCall(Rule):
    """GW101-GW106: a call that waits, made directly on the event loop (not awaited)."""

    nodes = (ast.Call,)
    #: Qualified names of the calls that block.
    blocking: ClassVar[frozenset[str]]
    #: The rest of the message after "name()": what is wrong and what to use instead.
    problem: ClassVar[str]
    #: Blocking methods of objects of one kind (``session.get`` on a requests session).
    object_kind: ClassVar[str | None] = None
    object_methods: ClassVar[frozenset[str]] = frozenset()

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        call = _blocking_call(node, ctx)
        if call is not None and self.matches(call, ctx):
            yield call, f"{_name(call)}() {self.problem}"

    def matches(self, call: ast.Call, ctx: Context) -> bool:
        """Whether ``call`` is one of this rule's blocking calls."""
        return ctx.qualname(call.func) in self.blocking or self._blocking_method(call, ctx)

    def _blocking_method(self, call: ast.Call, ctx: Context) -> bool:
        func = call.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr in self.object_methods
            and ctx.kind(func.value) == self.object_kind
        )


class BlockingSleep(_BlockingCall):
    """
    ## What it does
    Finds `time.sleep()` called inside `async def`.

    ## Why is this bad?
    A coroutine runs on the event loop's only thread. `time.sleep()` holds that thread,
    so every other task on the loop (requests being served, timers, heartbeats) waits
    for it: one `time.sleep(1)` adds a second of latency to everything.

    ## Example
    ```python
    import time

    async def poll():
        time.sleep(1)
    ```

    ## Use instead
    ```python
    import asyncio

    async def poll():
        await asyncio.sleep(1)
    ```
    """

    code = "GW101"
    name = "blocking-sleep-in-async"
    blocking = frozenset({"time.sleep"})
    problem = "inside 'async def' blocks the event loop; use 'await asyncio.sleep(...)'"


class BlockingHttp(_BlockingCall):
    """
    ## What it does
    Finds synchronous HTTP clients used inside `async def`: `requests`, `urllib.request`,
    `urllib3`, `http.client` and `httpx`'s synchronous API.

    ## Why is this bad?
    A synchronous request waits for the network on the event loop's thread, so no other
    task runs until the server answers: a slow server stalls the whole program.

    ## Example
    ```python
    import requests

    async def fetch(url):
        return requests.get(url).text
    ```

    ## Use instead
    ```python
    import httpx

    async def fetch(url):
        async with httpx.AsyncClient() as client:
            return (await client.get(url)).text
    ```
    Or run the synchronous call in a thread: `await asyncio.to_thread(requests.get, url)`.
    """

    code = "GW102"
    name = "blocking-http-in-async"
    blocking = _HTTP_FUNCTIONS
    problem = (
        "is a blocking HTTP call inside 'async def': it stalls the event loop until the "
        "server answers; use an async client (httpx.AsyncClient, aiohttp) or "
        "'await asyncio.to_thread(...)'"
    )
    object_kind = "sync_http_client"
    object_methods = _HTTP_METHODS


class BlockingSubprocess(_BlockingCall):
    """
    ## What it does
    Finds `subprocess` calls, `os.system`, `os.popen`, `os.wait*` and `os.spawn*` inside
    `async def`.

    ## Why is this bad?
    These wait for another program on the event loop's thread; every other task waits
    with them for as long as the child runs.

    ## Example
    ```python
    import subprocess

    async def build():
        subprocess.run(["make"], check=True)
    ```

    ## Use instead
    ```python
    import asyncio

    async def build():
        process = await asyncio.create_subprocess_exec("make")
        await process.wait()
    ```
    """

    code = "GW103"
    name = "blocking-subprocess-in-async"
    blocking = _SUBPROCESS
    problem = (
        "waits for a child process inside 'async def', blocking the event loop; "
        "use 'await asyncio.create_subprocess_exec(...)'"
    )


class BlockingFileIO(_BlockingCall):
    """
    ## What it does
    Finds file I/O inside `async def`: `open()`, `pathlib.Path` reads and writes, and
    `shutil` copies, moves and removals.

    ## Why is this bad?
    Disk and network file systems can take milliseconds to seconds to answer; the event
    loop waits with them. Small local reads are often harmless, which is why this rule
    has its own code: ignore `GW104` where that holds.

    ## Example
    ```python
    async def load(path):
        with open(path) as f:
            return f.read()
    ```

    ## Use instead
    ```python
    import asyncio
    import pathlib

    async def load(path):
        return await asyncio.to_thread(pathlib.Path(path).read_text)
    ```
    """

    code = "GW104"
    name = "blocking-file-io-in-async"
    blocking = _FILE_IO
    problem = (
        "does blocking file I/O inside 'async def'; "
        "use 'await asyncio.to_thread(...)' (or anyio.Path / aiofiles)"
    )
    object_kind = "path"
    object_methods = _PATH_IO_METHODS


class BlockingSocket(_BlockingCall):
    """
    ## What it does
    Finds blocking socket and DNS calls inside `async def`: `socket.create_connection`,
    `socket.getaddrinfo` and friends, and `connect`/`recv`/`send`/`accept` on a blocking
    socket created in the same module.

    ## Why is this bad?
    A blocking socket waits for the peer on the event loop's thread. DNS lookups can take
    seconds when a resolver is slow.

    ## Example
    ```python
    import socket

    async def ping(host):
        with socket.create_connection((host, 80)) as sock:
            sock.sendall(b"ping")
    ```

    ## Use instead
    ```python
    import asyncio

    async def ping(host):
        reader, writer = await asyncio.open_connection(host, 80)
        writer.write(b"ping")
        await writer.drain()
        writer.close()
    ```
    """

    code = "GW105"
    name = "blocking-socket-in-async"
    blocking = _SOCKET_FUNCTIONS
    problem = (
        "blocks on the network inside 'async def'; use asyncio streams "
        "(asyncio.open_connection) or loop.sock_* with a non-blocking socket"
    )
    object_kind = "socket"
    object_methods = _SOCKET_METHODS

    def matches(self, call: ast.Call, ctx: Context) -> bool:
        if ctx.qualname(call.func) == "socket.getaddrinfo" and _numeric_lookup(call, ctx):
            return False
        return super().matches(call, ctx)

    def _blocking_method(self, call: ast.Call, ctx: Context) -> bool:
        # A socket set non-blocking in this function is driven by loop.sock_* calls.
        return super()._blocking_method(call, ctx) and not _made_non_blocking(
            call.func.value if isinstance(call.func, ast.Attribute) else call.func, ctx
        )


def _numeric_lookup(call: ast.Call, ctx: Context) -> bool:
    """``getaddrinfo`` told not to ask a resolver (AI_NUMERICHOST), or given an IP literal."""
    host = call.args[0] if call.args else None
    if isinstance(host, ast.Constant) and isinstance(host.value, str):
        try:
            ipaddress.ip_address(host.value)
            return True
        except ValueError:
            pass
    flags = next((k.value for k in call.keywords if k.arg == "flags"), None)
    if flags is None and len(call.args) >= 6:
        flags = call.args[5]
    if flags is None:
        return False
    module = ctx.ancestors[0]
    return "NUMERICHOST" in ast.unparse(flags) or any(
        isinstance(stmt, ast.Assign)
        and any(dotted(t) == dotted(flags) for t in stmt.targets)
        and "NUMERICHOST" in ast.unparse(stmt.value)
        for stmt in getattr(module, "body", [])
    )


def _made_non_blocking(sock: ast.AST, ctx: Context) -> bool:
    name = dotted(sock)
    scope = ctx.function()
    return scope is not None and any(
        isinstance(n, ast.Call)
        and isinstance(n.func, ast.Attribute)
        and n.func.attr in {"setblocking", "settimeout"}
        and dotted(n.func.value) == name
        for n in walk_scope(scope)
    )


class BlockingInput(_BlockingCall):
    """
    ## What it does
    Finds `input()` and reads from `sys.stdin` inside `async def`.

    ## Why is this bad?
    Waiting for a person to type blocks the event loop for as long as they take.

    ## Example
    ```python
    async def ask():
        return input("name? ")
    ```

    ## Use instead
    ```python
    import asyncio

    async def ask():
        return await asyncio.to_thread(input, "name? ")
    ```
    """

    code = "GW106"
    name = "blocking-input-in-async"
    blocking = _STDIN
    problem = (
        "waits for the terminal inside 'async def', blocking the event loop; "
        "use 'await asyncio.to_thread(input, ...)'"
    )


class CoroutineNotAwaited(Rule):
    """
    ## What it does
    Finds a coroutine function called as a statement, with nothing awaiting the result:
    `asyncio.sleep(1)` instead of `await asyncio.sleep(1)`, or one of the module's own
    `async def` functions called without `await`.

    ## Why is this bad?
    Calling a coroutine function only creates a coroutine object; its body never runs.
    Python warns "coroutine ... was never awaited" at garbage collection, long after
    the place that forgot the `await`.

    ## Example
    ```python
    import asyncio

    async def save(record):
        ...

    async def handle(record):
        save(record)
        asyncio.sleep(0.1)
    ```

    ## Use instead
    ```python
    import asyncio

    async def save(record):
        ...

    async def handle(record):
        await save(record)
        await asyncio.sleep(0.1)
    ```
    """

    code = "GW110"
    name = "coroutine-not-awaited"
    nodes = (ast.Expr,)

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.Expr)
        call = node.value
        if isinstance(call, ast.Call) and self._is_coroutine_function(call.func, ctx):
            yield (
                call,
                f"{_name(call)}() creates a coroutine that nothing awaits, so its body never "
                "runs; add 'await' (or schedule it with asyncio.create_task and keep the task)",
            )

    @staticmethod
    def _is_coroutine_function(func: ast.AST, ctx: Context) -> bool:
        if ctx.qualname(func) in _COROUTINE_FUNCTIONS:
            return True
        if isinstance(func, ast.Name):
            return func.id in ctx.facts.async_functions and func.id not in ctx.facts.imports
        if isinstance(func, ast.Attribute) and dotted(func.value) in {"self", "cls"}:
            owner = next((n for n in reversed(ctx.ancestors) if isinstance(n, ast.ClassDef)), None)
            return owner is not None and func.attr in ctx.facts.async_methods.get(
                owner.name, frozenset()
            )
        return False


class TaskDropped(Rule):
    """
    ## What it does
    Finds the task returned by `asyncio.create_task()`, `asyncio.ensure_future()`,
    `loop.create_task()` or `asyncio.run_coroutine_threadsafe()` thrown away: called as
    a statement, or stored in a local variable that is never read.

    ## Why is this bad?
    The event loop keeps only a weak reference to tasks. A task nobody references can be
    garbage-collected before it finishes, and if it fails its exception is never seen.
    `TaskGroup.create_task()` is fine: the group keeps the task.

    ## Example
    ```python
    import asyncio

    async def main(job):
        asyncio.create_task(job())
    ```

    ## Use instead
    ```python
    import asyncio

    background = set()

    async def main(job):
        task = asyncio.create_task(job())
        background.add(task)
        task.add_done_callback(background.discard)
    ```
    Or run the tasks inside `async with asyncio.TaskGroup() as tg:` (Python 3.11+).
    """

    code = "GW111"
    name = "task-dropped"
    nodes = (ast.Call,)

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.Call)
        func = node.func
        is_factory = ctx.qualname(func) in _TASK_FACTORIES or (
            isinstance(func, ast.Attribute)
            and func.attr in {"create_task", "ensure_future"}
            and ctx.kind(func.value) == "loop"
        )
        if is_factory and ctx.is_discarded(node):
            yield (
                node,
                f"the task from {_name(node)}() is not kept: the loop holds only a weak "
                "reference, so it can vanish mid-run and its exception is lost; keep a "
                "reference (a set plus add_done_callback(discard)) or use a TaskGroup",
            )


class NestedEventLoop(Rule):
    """
    ## What it does
    Finds `asyncio.run()`, `loop.run_until_complete()` and `loop.run_forever()` called
    inside `async def`.

    ## Why is this bad?
    Inside a coroutine a loop is already running in this thread; starting another one
    raises `RuntimeError` ("cannot be called from a running event loop").

    ## Example
    ```python
    import asyncio

    async def fetch():
        ...

    async def main():
        return asyncio.run(fetch())
    ```

    ## Use instead
    ```python
    async def fetch():
        ...

    async def main():
        return await fetch()
    ```
    """

    code = "GW112"
    name = "nested-event-loop"
    nodes = (ast.Call,)

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        call = _blocking_call(node, ctx)
        if call is None:
            return
        runs_loop = ctx.qualname(call.func) == "asyncio.run" or (
            isinstance(call.func, ast.Attribute)
            and call.func.attr in {"run_until_complete", "run_forever"}
        )
        if runs_loop:
            yield (
                call,
                f"{_name(call)}() inside 'async def': a loop is already running here, so this "
                "raises RuntimeError; 'await' the coroutine instead",
            )


class ThreadingPrimitiveInAsync(Rule):
    """
    ## What it does
    Finds `threading` locks, conditions, events and `queue.Queue` waited on inside
    `async def`: `acquire()`, `wait()`, `get()`, `put()`, and a `with lock:` block that
    contains an `await`.

    ## Why is this bad?
    These wait by blocking the thread, and in a coroutine that thread is the event loop's.
    Worse, a threading lock held across an `await` lets another task on the same loop try
    to take it: that task blocks the loop, and the holder can never resume to release it.

    ## Example
    ```python
    import threading

    lock = threading.Lock()

    async def update(client):
        with lock:
            await client.send()
    ```

    ## Use instead
    ```python
    import asyncio

    lock = asyncio.Lock()

    async def update(client):
        async with lock:
            await client.send()
    ```
    """

    code = "GW113"
    name = "threading-primitive-in-async"
    nodes = (ast.Call, ast.With)

    _WAITS: ClassVar[dict[str, set[str]]] = {
        "thread_lock": {"acquire"},
        "thread_semaphore": {"acquire"},
        "thread_condition": {"acquire", "wait", "wait_for"},
        "thread_event": {"wait"},
        "thread_queue": {"get", "put", "join"},
    }

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        if isinstance(node, ast.With):
            yield from self._lock_held_across_await(node, ctx)
            return
        call = _blocking_call(node, ctx)
        if call is None or not isinstance(call.func, ast.Attribute):
            return
        kind = ctx.kind(call.func.value)
        if kind in self._WAITS and call.func.attr in self._WAITS[kind] and _may_block(call):
            yield (
                call,
                f"{_name(call)}() waits on a threading primitive inside 'async def', which "
                "blocks the whole event loop; use its asyncio counterpart "
                "(asyncio.Lock/Event/Condition/Queue)",
            )

    @staticmethod
    def _lock_held_across_await(node: ast.With, ctx: Context) -> Iterator[Hit]:
        if not ctx.in_async_def():
            return
        for item in node.items:
            if ctx.kind(item.context_expr) not in {
                "thread_lock",
                "thread_condition",
                "thread_semaphore",
            }:
                continue
            if any(_awaits(stmt) for stmt in node.body):
                yield (
                    item.context_expr,
                    f"threading lock '{dotted(item.context_expr)}' is held across an 'await': "
                    "another task on this loop that takes it blocks the loop, and this one "
                    "can never resume to release it; use asyncio.Lock",
                )


def _may_block(call: ast.Call) -> bool:
    """False for calls told not to wait (``blocking=False``, ``block=False``, ``timeout=0``)."""
    for keyword in call.keywords:
        value = keyword.value
        if keyword.arg in {"blocking", "block"} and isinstance(value, ast.Constant):
            return bool(value.value)
        if keyword.arg == "timeout" and isinstance(value, ast.Constant) and value.value == 0:
            return False
    return not (
        call.args and isinstance(call.args[0], ast.Constant) and call.args[0].value is False
    )


class CancelledErrorSwallowed(Rule):
    """
    ## What it does
    Finds `except asyncio.CancelledError` (or a bare `except:` / `except BaseException:`
    around an `await`) in a coroutine whose handler never re-raises.

    ## Why is this bad?
    Cancellation is how asyncio stops work: `task.cancel()`, `asyncio.timeout()`,
    `wait_for` and `TaskGroup` all deliver `CancelledError` into the task. Swallowing it
    makes the task refuse to stop, so timeouts do not time out and shutdowns hang.
    Catching it around `await task` after calling `task.cancel()` on that task is fine,
    and is not reported. A handler that ends the coroutine (the `try` is its last
    statement, or the handler returns) stops the work anyway: that milder case is GW115,
    reported only when selected.

    ## Example
    ```python
    import asyncio

    async def worker(queue):
        while True:
            try:
                job = await queue.get()
            except asyncio.CancelledError:
                print("stopping")
            job = None
    ```

    ## Use instead
    ```python
    import asyncio

    async def worker(queue):
        while True:
            try:
                job = await queue.get()
            except asyncio.CancelledError:
                print("stopping")
                raise
            job = None
    ```
    """

    code = "GW114"
    name = "cancelled-error-swallowed"
    nodes = (ast.Try,)
    #: GW115 reports the handlers that end the coroutine; GW114 the others.
    at_coroutine_end: ClassVar[bool] = False

    def __init__(self) -> None:
        self._never_return: tuple[ast.AST, frozenset[str]] | None = None

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.Try)
        if not ctx.in_async_def():
            return
        awaits = [n for stmt in node.body for n in _awaits(stmt)]
        if not awaits or self._awaits_cancelled_task(awaits, ctx):
            return
        for handler in node.handlers:
            catches = self._catches_cancellation(handler, ctx)
            if not catches or self._reraises(handler, ctx) or _hands_on(handler):
                continue
            if _ends_coroutine(node, handler, ctx) is self.at_coroutine_end:
                yield handler, self.message(catches)

    def message(self, catches: str) -> str:
        """What is wrong with a handler that swallows ``catches``."""
        return (
            f"{catches} is caught here and not re-raised: the task can no longer be "
            "cancelled (timeouts and TaskGroup shutdowns hang); add 'raise' at the "
            "end of the handler"
        )

    @staticmethod
    def _catches_cancellation(handler: ast.ExceptHandler, ctx: Context) -> str | None:
        if handler.type is None:
            return "CancelledError (by a bare 'except:')"
        types = handler.type.elts if isinstance(handler.type, ast.Tuple) else [handler.type]
        for caught in types:
            if ctx.qualname(caught) in _CANCELLED:
                return "CancelledError"
        # Catch-alls swallow asyncio's cancellation only where asyncio is used: trio's is
        # level-triggered (the next checkpoint raises again).
        uses_asyncio = any(q.split(".")[0] == "asyncio" for q in ctx.facts.imports.values())
        if handler.type is None and uses_asyncio:
            return "CancelledError (by a bare 'except:')"
        if uses_asyncio and any(isinstance(c, ast.Name) and c.id == "BaseException" for c in types):
            return "CancelledError (by 'except BaseException')"
        return None

    def _reraises(self, handler: ast.ExceptHandler, ctx: Context) -> bool:
        never_return = self._never_returning(ctx)
        for stmt in handler.body:
            for n in [stmt, *walk_scope(stmt)]:
                if isinstance(n, ast.Raise) or (
                    isinstance(n, ast.Attribute) and n.attr == "uncancel"
                ):
                    return True
                if isinstance(n, ast.Call) and _called_name(n) in never_return:
                    return True
        return False

    def _never_returning(self, ctx: Context) -> frozenset[str]:
        """Functions and methods of this module annotated ``-> NoReturn`` (or ``Never``)."""
        module = ctx.ancestors[0]
        if self._never_return is not None and self._never_return[0] is module:
            return self._never_return[1]
        names = frozenset(
            n.name
            for n in ast.walk(module)
            if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
            and n.returns is not None
            and ast.unparse(n.returns).rsplit(".", 1)[-1] in {"NoReturn", "Never"}
        )
        self._never_return = (module, names)
        return names

    @staticmethod
    def _awaits_cancelled_task(awaits: list[ast.Await], ctx: Context) -> bool:
        scope = ctx.function()
        if scope is None:
            return False
        cancelled = {
            dotted(n.func.value)
            for n in walk_scope(scope)
            if isinstance(n, ast.Call)
            and isinstance(n.func, ast.Attribute)
            and n.func.attr == "cancel"
        }
        awaited = {dotted(a.value) for a in awaits}
        return None not in awaited and awaited <= cancelled


class CancellationEndsCoroutine(CancelledErrorSwallowed):
    """
    ## What it does
    Finds a coroutine that ends by swallowing its cancellation: `except
    asyncio.CancelledError` (or a catch-all) in the `try` that is the coroutine's last
    statement, or in a handler that returns, with no re-raise. Off unless selected
    (`--select GW115`): the work stops either way, so this is about correctness of the
    task's final state, not about a hang.

    ## Why is this bad?
    The task finishes "successfully" instead of ending cancelled. Code that awaits it
    cannot tell the two apart: `asyncio.timeout()` around it raises no `TimeoutError`,
    `task.cancelled()` is false, and a `TaskGroup` sees a normal result. Tasks that
    nobody awaits (servers' per-connection tasks) lose nothing, which is why this rule
    is opt-in.

    ## Example
    ```python
    import asyncio

    async def handle(reader):
        try:
            await reader.read()
        except asyncio.CancelledError:
            print("client gone")
    ```

    ## Use instead
    ```python
    import asyncio

    async def handle(reader):
        try:
            await reader.read()
        except asyncio.CancelledError:
            print("client gone")
            raise
    ```
    """

    code = "GW115"
    name = "cancellation-ends-coroutine"
    opt_in = True
    at_coroutine_end = True

    def message(self, catches: str) -> str:
        return (
            f"{catches} is caught and the coroutine ends here: a cancelled task finishes "
            "as if it succeeded (asyncio.timeout raises no TimeoutError, cancelled() is "
            "false); add 'raise' at the end of the handler"
        )


def _ends_coroutine(node: ast.Try, handler: ast.ExceptHandler, ctx: Context) -> bool:
    """The ``try`` is the coroutine's last statement, or the handler returns."""
    function = ctx.function()
    last = isinstance(function, ast.AsyncFunctionDef) and function.body[-1] is node
    return last or bool(handler.body and isinstance(handler.body[-1], ast.Return))


_LOGGING_CALLS = frozenset(
    {"print", "debug", "info", "warning", "warn", "error", "exception", "critical", "log"}
)


def _called_name(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and dotted(func.value) in {"self", "cls"}:
        return func.attr
    return None


def _hands_on(handler: ast.ExceptHandler) -> bool:
    """The handler passes the caught exception on (stores it, hands it to a call) to be
    raised or delivered elsewhere, e.g. ``errors.append(exc)`` then ``raise errors[0]``,
    or ``waiter.set_exception(exc)``. Logging it is not handing it on."""
    if handler.name is None:
        return False
    for stmt in handler.body:
        for n in [stmt, *walk_scope(stmt)]:
            if isinstance(n, (ast.Assign, ast.AnnAssign)) and _is_name(n.value, handler.name):
                return True
            if isinstance(n, ast.Call) and any(_is_name(a, handler.name) for a in n.args):
                callee_name = n.func.attr if isinstance(n.func, ast.Attribute) else dotted(n.func)
                if callee_name not in _LOGGING_CALLS:
                    return True
    return False


def _is_name(node: ast.AST | None, name: str) -> bool:
    return isinstance(node, ast.Name) and node.id == name


def _awaits(stmt: ast.AST) -> list[ast.Await]:
    return [n for n in [stmt, *walk_scope(stmt)] if isinstance(n, ast.Await)]
