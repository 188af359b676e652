"""GW1xx: asyncio — what blocks, drops or swallows work on an event loop."""

from __future__ import annotations

import ast
import ipaddress
from collections.abc import Iterable, Iterator
from typing import ClassVar

from .._context import Context
from .._index import ModuleIndex
from .._names import Function, callee, dotted, is_transparent, method_calls, walk_scope
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
# run_coroutine_threadsafe is left out: it hands a coroutine to another thread's loop, and
# its concurrent future is not how that loop keeps the task.
_TASK_FACTORIES = frozenset({"asyncio.create_task", "asyncio.ensure_future"})
_CANCELLED = frozenset({"asyncio.CancelledError", "concurrent.futures.CancelledError"})


def _blocking_call(node: ast.AST, ctx: Context) -> ast.Call | None:
    """The call at ``node`` if it runs directly on the event loop: not awaited (the rules
    that ask run only in coroutines)."""
    if not isinstance(node, ast.Call) or isinstance(ctx.parent, ast.Await):
        return None
    return node


def _name(call: ast.Call) -> str:
    return callee(call)


class _BlockingCall(Rule):
    """GW101-GW108: a call that waits, made directly on the event loop (not awaited), or a
    call of one of the module's own synchronous functions or methods that makes one."""

    nodes = (ast.Call,)
    in_coroutines_only = True
    #: Qualified names of the calls that block.
    blocking: ClassVar[frozenset[str]] = frozenset()
    #: The rest of the message after "name()": what is wrong and what to use instead.
    problem: ClassVar[str]
    #: Blocking methods of objects of one kind (``session.get`` on a requests session).
    object_kind: ClassVar[str | None] = None
    object_methods: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        #: The blocking call each helper makes, by the helper's id (None: it makes none).
        self._helpers: dict[int, ast.Call | None] = {}

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        call = _blocking_call(node, ctx)
        if call is None:
            return
        if self.matches(call, ctx):
            yield call, f"{_name(call)}() {self.problem}"
            return
        inner = self._blocking_call_in_helper(call, ctx)
        if inner is not None:
            yield (
                call,
                f"{_name(call)}() calls {_name(inner)}() at line {inner.lineno}, which blocks "
                "the event loop until it returns; run it with 'await asyncio.to_thread(...)' "
                "or make it async",
            )

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

    def _blocking_call_in_helper(self, call: ast.Call, ctx: Context) -> ast.Call | None:
        """The first of this rule's calls that ``call``'s target makes directly, when the
        target is a plain synchronous function or method of this module (one level only:
        deeper chains cost more than they find)."""
        helper = ctx.facts.function_named(
            call.func, ctx.scope(), same=lambda f: self._first_blocking_call(f, ctx) is not None
        )
        return None if helper is None else self._first_blocking_call(helper, ctx)

    def _first_blocking_call(self, helper: Function, ctx: Context) -> ast.Call | None:
        if id(helper) not in self._helpers:
            self._helpers[id(helper)] = self._find_blocking_call(helper, ctx)
        return self._helpers[id(helper)]

    def _find_blocking_call(self, helper: Function, ctx: Context) -> ast.Call | None:
        if not isinstance(helper, ast.FunctionDef):
            return None
        body = ctx.facts.index.in_scope(helper)
        # A generator's body runs only when iterated; a decorator may run it elsewhere.
        if any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in body) or not all(
            is_transparent(d) for d in helper.decorator_list
        ):
            return None
        inside = Context.of_body(ctx.facts, helper)
        calls = sorted(
            (n for n in body if isinstance(n, ast.Call)), key=lambda n: (n.lineno, n.col_offset)
        )
        return next((c for c in calls if self.matches(c, inside)), None)


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

    def matches(self, call: ast.Call, ctx: Context) -> bool:
        # time.sleep(0) only lets other threads take the GIL; it returns at once.
        return super().matches(call, ctx) and not _zero_timeout(call)


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

    def matches(self, call: ast.Call, ctx: Context) -> bool:
        # os.waitpid(-1, os.WNOHANG) reaps a child that has already exited, or returns.
        if ctx.qualname(call.func) == "os.waitpid" and any(
            "WNOHANG" in ast.unparse(a) for a in [*call.args, *call.keywords]
        ):
            return False
        return super().matches(call, ctx)


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
        method_calls(ctx.facts.index, scope, method, name)
        for method in ("setblocking", "settimeout")
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


class BlockingJoin(_BlockingCall):
    """
    ## What it does
    Finds `join()` on a `threading.Thread` or a `multiprocessing.Process` inside
    `async def`, and calls of the module's own synchronous functions that make one.

    ## Why is this bad?
    `join()` waits for the thread or process to end by blocking the calling thread, and
    in a coroutine that is the event loop's: nothing else on the loop runs until the other
    side finishes. If that thread waits for the loop (`run_coroutine_threadsafe(...).
    result()`), the program deadlocks.

    ## Example
    ```python
    import threading

    def work():
        ...

    async def run_in_background():
        worker = threading.Thread(target=work)
        worker.start()
        worker.join()
    ```

    ## Use instead
    ```python
    import asyncio

    def work():
        ...

    async def run_in_background():
        await asyncio.to_thread(work)
    ```

    ## Measured precision
    Off unless selected (`--select GW107`). `benchmarks/results/check_findings_holdout2.md`
    (21 projects, 504,000 lines): 1 true, no false (95% interval 21–100%); no finding in
    `benchmarks/results/check_findings_holdout3.md` (25 projects, 671,000 lines): too few to
    make it a default.
    """

    code = "GW107"
    name = "blocking-join-in-async"
    opt_in = True
    problem = (
        "waits for a thread or process to end inside 'async def', blocking the event loop; "
        "use 'await asyncio.to_thread(...)' (or join in a thread: 'await "
        "asyncio.to_thread(worker.join)')"
    )

    def _blocking_method(self, call: ast.Call, ctx: Context) -> bool:
        func = call.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr == "join"
            and ctx.kind(func.value) in {"thread", "process"}
            and not _zero_timeout(call)
        )


class BlockingFutureResult(_BlockingCall):
    """
    ## What it does
    Finds `result()` or `exception()` on a `concurrent.futures.Future` inside `async def`:
    the future of `executor.submit()`, of `asyncio.run_coroutine_threadsafe()`, or a name
    annotated `concurrent.futures.Future`. A future the coroutine already waited for
    (awaited through `asyncio.wrap_future`, or tested with `done()`) is not reported.

    ## Why is this bad?
    A `concurrent.futures.Future` waits by blocking the calling thread until the work is
    done; in a coroutine that is the event loop's thread. For the future of
    `run_coroutine_threadsafe()` on this same loop, the coroutine can never run: the
    program deadlocks. (`asyncio.Future.result()` does not wait, and is not reported.)

    ## Example
    ```python
    from concurrent.futures import ThreadPoolExecutor

    executor = ThreadPoolExecutor()

    def compute():
        ...

    async def handler():
        return executor.submit(compute).result()
    ```

    ## Use instead
    ```python
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    executor = ThreadPoolExecutor()

    def compute():
        ...

    async def handler():
        return await asyncio.wrap_future(executor.submit(compute))
    ```

    ## Measured precision
    Off unless selected (`--select GW108`). `benchmarks/results/check_findings_holdout2.md`
    (21 projects, 504,000 lines) and `benchmarks/results/check_findings_holdout3.md` (25
    projects, 671,000 lines): no finding: its precision is unmeasured, so it is opt-in.
    """

    code = "GW108"
    name = "blocking-future-result-in-async"
    opt_in = True
    problem = (
        "waits for a concurrent.futures.Future inside 'async def', blocking the event "
        "loop; use 'await asyncio.wrap_future(future)'"
    )

    def _blocking_method(self, call: ast.Call, ctx: Context) -> bool:
        func = call.func
        return (
            isinstance(func, ast.Attribute)
            and func.attr in {"result", "exception"}
            and ctx.kind(func.value) == "cf_future"
            and not _zero_timeout(call)
            and not _known_done(func.value, ctx)
        )


def _zero_timeout(call: ast.Call) -> bool:
    """``join(0)``, ``result(timeout=0)``: a poll that does not wait."""
    timeout = call.args[0] if call.args else None
    timeout = next((k.value for k in call.keywords if k.arg == "timeout"), timeout)
    return isinstance(timeout, ast.Constant) and timeout.value == 0


def _known_done(future: ast.AST, ctx: Context) -> bool:
    """The function tests the future with ``done()``, or awaits something that contains it
    (``await asyncio.wrap_future(future)``, ``await asyncio.wait([future])``)."""
    name = dotted(future)
    scope = ctx.function()
    return name is not None and scope is not None and name in ctx.facts.index.memo(_done, scope)


def _done(index: ModuleIndex, scope: ast.AST) -> frozenset[str]:
    """What ``scope`` tests with ``done()`` or awaits something containing, by dotted name."""
    names: set[str | None] = set()
    for node in index.in_scope(scope):
        if isinstance(node, ast.Attribute) and node.attr == "done":
            names.add(dotted(node.value))
        elif isinstance(node, ast.Await):
            names.update(dotted(n) for n in ast.walk(node))
    return frozenset(name for name in names if name is not None)


class BusyWait(Rule):
    """
    ## What it does
    Finds a `while` loop in `async def` whose whole body is `await asyncio.sleep(...)`
    (or `anyio.sleep`, `trio.sleep`): polling a condition until it turns true. Loops on a
    constant (`while True:`) are timers, not polls, and are not reported. flake8-async
    calls this ASYNC110, and `# noqa: ASYNC110` silences it too.

    ## Why is this bad?
    The condition is seen late (up to one sleep after it changes) and the loop wakes up
    for nothing every time in between. Whatever makes the condition true can set an
    `asyncio.Event` instead, and the waiter wakes at once, with no polling.

    ## Example
    ```python
    import asyncio

    class Job:
        done = False

        async def wait(self):
            while not self.done:
                await asyncio.sleep(0.1)
    ```

    ## Use instead
    ```python
    import asyncio

    class Job:
        def __init__(self):
            self.done = asyncio.Event()

        async def wait(self):
            await self.done.wait()
    ```

    ## Measured precision
    Off unless selected (`--select GW109`). `benchmarks/results/check_findings_holdout2.md`
    (21 projects, 504,000 lines): 1 true, no false (95% interval 21–100%);
    `benchmarks/results/check_findings_holdout3.md` (25 projects, 671,000 lines): 2 true, no
    false, 3 debatable (polls of a child process's exit, and a test, where no code could set
    an event): too few, and too many polls with nothing to wait on instead, to make it a
    default.
    """

    code = "GW109"
    name = "busy-wait-in-async"
    opt_in = True
    nodes = (ast.While,)
    in_coroutines_only = True

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.While)
        if isinstance(node.test, ast.Constant) or node.orelse:
            return
        body = [s for s in node.body if not isinstance(s, ast.Pass)]
        if (
            len(body) == 1
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Await)
            and isinstance(body[0].value.value, ast.Call)
            and ctx.qualname(body[0].value.value.func) in _SLEEPS
        ):
            test = ast.unparse(node.test)
            test = test if len(test) <= 40 else test[:39] + "…"
            yield (
                node,
                f"'while {test}' only sleeps: a busy-wait that sees the "
                "change late and wakes up for nothing in between; have the code that makes "
                "it true set an asyncio.Event, and 'await event.wait()'",
            )


_SLEEPS = frozenset({"asyncio.sleep", "anyio.sleep", "trio.sleep"})


class CoroutineNotAwaited(Rule):
    """
    ## What it does
    Finds a coroutine function called as a statement, with nothing awaiting the result:
    `asyncio.sleep(1)` instead of `await asyncio.sleep(1)`, or one of the module's own
    `async def` functions (or methods of the class, or of its bases defined in the module)
    called without `await`. A decorated `async def` is left alone: a decorator such as
    textual's `@work` makes the call start the work itself.

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
        if not (isinstance(call, ast.Call) and self._is_coroutine_function(call.func, ctx)):
            return
        defined = self._defined(call.func, ctx)
        if defined is not None and _is_generator(ctx.facts.index, defined):
            yield (
                call,
                f"{_name(call)}() creates an async generator that nothing iterates, so its "
                "body never runs; iterate it ('async for') or make it a plain 'async def'",
            )
            return
        yield (
            call,
            f"{_name(call)}() creates a coroutine that nothing awaits, so its body never "
            "runs; add 'await' (or schedule it with asyncio.create_task and keep the task)",
        )

    @staticmethod
    def _is_coroutine_function(func: ast.AST, ctx: Context) -> bool:
        if ctx.qualname(func) in _COROUTINE_FUNCTIONS:
            return True
        return CoroutineNotAwaited._defined(func, ctx) is not None

    @staticmethod
    def _defined(func: ast.AST, ctx: Context) -> Function | None:
        """The plain ``async def`` of this module that calling ``func`` runs. A decorator may
        make the call do something else (textual's @work starts a worker and returns it),
        so only plain ones count; of two that may be in effect, both must be plain
        ``async def``s, and both async generators or neither."""
        defined = ctx.facts.function_named(
            func,
            ctx.scope(),
            same=lambda f: (_is_plain_async(f), _is_generator(ctx.facts.index, f)),
        )
        return defined if defined is not None and _is_plain_async(defined) else None


def _is_plain_async(function: Function) -> bool:
    return isinstance(function, ast.AsyncFunctionDef) and all(
        is_transparent(d) for d in function.decorator_list
    )


def _is_generator(index: ModuleIndex, function: ast.AST) -> bool:
    """Whether ``function`` yields in its own body (an ``async def`` that does is an async
    generator: calling it runs nothing until someone iterates it)."""
    return any(isinstance(n, (ast.Yield, ast.YieldFrom)) for n in index.in_scope(function))


class TaskDropped(Rule):
    """
    ## What it does
    Finds the task returned by `asyncio.create_task()`, `asyncio.ensure_future()` or
    `loop.create_task()` thrown away: called as a statement, or stored in a local
    variable that is never read (a name declared `global` or `nonlocal` is kept).
    `asyncio.run_coroutine_threadsafe()` is not reported: it hands work to another
    thread's loop.

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
    in_coroutines_only = True

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
    `async def`: `acquire()`, `wait()`, `get()`, `put()` (on a queue with a `maxsize`:
    other queues' `put()` never waits), and a `with lock:` block that contains an `await`.
    What a name holds is known from its assignment or from its annotation
    (`cond: threading.Condition`).

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
    in_coroutines_only = True

    _WAITS: ClassVar[dict[str, set[str]]] = {
        "thread_lock": {"acquire"},
        "thread_semaphore": {"acquire"},
        "thread_condition": {"acquire", "wait", "wait_for"},
        "thread_event": {"wait"},
        # put() waits only on a queue built with a maxsize; SimpleQueue's never waits.
        "thread_queue": {"get", "join"},
        "thread_queue_bounded": {"get", "put", "join"},
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
    and is not reported: cancelled in the same function, or, for a `self.*` task, anywhere
    in the module (a `stop()` method, a helper), also through another name (`t =
    self._task`) and through `gather`/`wait`/`wait_for`. A handler after which the
    coroutine ends without awaiting anything more (it returns, `break`s out of the last
    loop, clears the flag its `while` tests, or only synchronous cleanup follows) stops the
    work anyway: that milder case is GW115, reported only when selected.

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

    ## Measured precision
    Off unless selected (`--select GW114`): on real projects it was not tuned on, too few of
    its findings are real. `benchmarks/results/check_findings_holdout2.md` (21 projects,
    504,000 lines): 0 true, 3 false, 3 debatable (0%, 95% interval 0–56%); the 1.5 M-line
    holdout of issue 15, before the changes above: 1 true of 51;
    `benchmarks/results/check_findings_holdout3.md` (25 projects, 671,000 lines): 2 true, 1
    false, 1 debatable (67%, 95% interval 21–94%). Most handlers that swallow the
    cancellation are how the task's owner stops it, deliberately.
    """

    code = "GW114"
    name = "cancelled-error-swallowed"
    nodes = (ast.Try,)
    opt_in = True
    in_coroutines_only = True
    #: GW115 reports the handlers that end the coroutine; GW114 the others.
    at_coroutine_end: ClassVar[bool] = False

    def check(self, node: ast.AST, ctx: Context) -> Iterator[Hit]:
        assert isinstance(node, ast.Try)
        awaits = [n for stmt in node.body for n in _awaits(stmt)]
        if not awaits or self._awaits_cancelled_task(awaits, ctx):
            return
        for handler in node.handlers:
            catches = self._catches_cancellation(handler, ctx)
            if not catches or self._reraises(handler, ctx) or _hands_on(handler):
                continue
            ends = _ends_coroutine(node, handler, ctx)
            if ends is not self.at_coroutine_end:
                continue
            if ends and self._runs_only_as_a_task(ctx):
                continue
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

    @staticmethod
    def _reraises(handler: ast.ExceptHandler, ctx: Context) -> bool:
        index = ctx.facts.index
        never_return = index.memo(_never_returning, index.tree)
        for stmt in handler.body:
            for n in [stmt, *walk_scope(stmt)]:
                if isinstance(n, ast.Raise) or (
                    isinstance(n, ast.Attribute) and n.attr == "uncancel"
                ):
                    return True
                if isinstance(n, ast.Call) and _called_name(n) in never_return:
                    return True
        return False

    @staticmethod
    def _awaits_cancelled_task(awaits: list[ast.Await], ctx: Context) -> bool:
        """Every await in the ``try`` waits for a task that this code cancels: in the same
        function, or (for ``self.*`` attributes) anywhere in the module, through a helper
        or another method. Seen through ``t = self._task`` and through ``gather``/``wait``/
        ``wait_for``/``shield`` of such tasks."""
        scope = ctx.function()
        if scope is None:
            return False
        index = ctx.facts.index
        cancelled = set(index.memo(_cancelled_in_scope, scope))
        cancelled |= index.memo(_cancelled_attributes, index.tree)
        aliases = index.memo(_aliases, scope)
        cancelled |= {a for a, b in aliases if b in cancelled}
        cancelled |= {b for a, b in aliases if a in cancelled}
        awaited = [name for a in awaits for name in _awaited_names(a.value, ctx)]
        return bool(awaited) and None not in awaited and set(awaited) <= cancelled

    @staticmethod
    def _runs_only_as_a_task(ctx: Context) -> bool:
        """The coroutine is referenced in this module, and only to be run as a task or
        handed over as a callback (per-connection handlers, keep-alive loops): nothing
        awaits it, so nothing can tell how it ended."""
        function = ctx.function()
        name = getattr(function, "name", None)
        index = ctx.facts.index
        referenced = index.memo(_task_references, index.tree)
        return name is not None and name in referenced and f"!{name}" not in referenced


class CancellationEndsCoroutine(CancelledErrorSwallowed):
    """
    ## What it does
    Finds a coroutine that ends by swallowing its cancellation: `except
    asyncio.CancelledError` (or a catch-all) with no re-raise, after which the coroutine
    ends without awaiting anything more (see GW114). Off unless selected (`--select
    GW115`): the work stops either way, so this is about correctness of the task's final
    state, not about a hang. A coroutine that this module only runs as a task
    (`create_task(self._reader())`) or hands over as a callback (`start_server(handle)`),
    and never awaits or calls otherwise, is not reported: nothing awaits it, so nothing
    can tell how it ended.

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

    ## Measured precision
    `benchmarks/results/check_findings_holdout2.md`: 8 true, 9 false, 3 debatable (47%, 95%
    interval 26–69%); issue 15's 1.5 M-line holdout, before the exemptions above: 1 true of
    29; `benchmarks/results/check_findings_holdout3.md` (25 projects, 671,000 lines): 2
    true, 1 false, 1 debatable (67%, 95% interval 21–94%).
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
    """Whether the coroutine ends, with no further ``await``, once the handler is done:
    the handler returns, or control falls (or ``break``s) out to the end of the function
    through statements that do not suspend. Awaits in ``finally`` blocks and ``async
    with`` exits on the way are cleanup, not more work. A ``while`` loop around the ``try``
    ends when the handler assigns something its test reads (``self._running = False``)."""
    function = ctx.function()
    last = handler.body[-1] if handler.body else None
    if isinstance(last, ast.Return):
        return True
    if not isinstance(function, ast.AsyncFunctionDef) or isinstance(last, ast.Continue):
        return False
    breaking = isinstance(last, ast.Break)
    assigned = {
        name
        for stmt in handler.body
        for n in [stmt, *walk_scope(stmt)]
        if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign))
        for target in (n.targets if isinstance(n, ast.Assign) else [n.target])
        if (name := dotted(target)) is not None
    }
    statement: ast.AST = node
    chain = ctx.ancestors[ctx.ancestors.index(function) :]
    for container in reversed(chain):
        field, rest = _rest_of_block(statement, container)
        if not breaking and _suspends(rest):
            return False
        if isinstance(container, (ast.While, ast.For, ast.AsyncFor)) and field == "body":
            if breaking:
                breaking = False
            elif not (isinstance(container, ast.While) and assigned & _names_read(container.test)):
                return False  # the loop goes round again
        elif (
            not breaking
            and isinstance(container, ast.Try)
            and field == "body"
            and _suspends(container.orelse)
        ):
            return False
        statement = container
    return True


def _rest_of_block(statement: ast.AST, container: ast.AST) -> tuple[str, Iterator[ast.stmt]]:
    """The field of ``container`` that holds ``statement``, and the statements after it,
    read lazily: ``_suspends`` stops at the first one that suspends."""
    for field in ("body", "orelse", "finalbody", "handlers", "cases"):
        block = getattr(container, field, None)
        if isinstance(block, list) and statement in block:
            rest = block[block.index(statement) + 1 :] if field != "handlers" else []
            return field, (s for s in rest if isinstance(s, ast.stmt))
    return "", iter(())


def _suspends(statements: Iterable[ast.stmt]) -> bool:
    return any(
        isinstance(n, (ast.Await, ast.AsyncFor, ast.AsyncWith, ast.Yield, ast.YieldFrom))
        for stmt in statements
        for n in [stmt, *walk_scope(stmt)]
    )


def _names_read(test: ast.AST) -> set[str]:
    return {
        name
        for n in ast.walk(test)
        if isinstance(n, (ast.Name, ast.Attribute)) and (name := dotted(n)) is not None
    }


def _never_returning(index: ModuleIndex, module: ast.Module) -> frozenset[str]:
    """Functions and methods of the module annotated ``-> NoReturn`` (or ``Never``)."""
    return frozenset(
        n.name
        for n, _ in index.nodes
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))
        and n.returns is not None
        and ast.unparse(n.returns).rsplit(".", 1)[-1] in {"NoReturn", "Never"}
    )


def _cancelled_in_scope(index: ModuleIndex, scope: ast.AST) -> frozenset[str]:
    """What ``scope`` itself calls ``cancel()`` on (see ``_cancelled_names``)."""
    return frozenset(_cancelled_names(index.in_scope(scope)))


def _cancelled_attributes(index: ModuleIndex, module: ast.Module) -> frozenset[str]:
    """The ``self.*`` attributes the module calls ``cancel()`` on anywhere."""
    cancelled = _cancelled_names(node for node, _ in index.nodes)
    return frozenset(name for name in cancelled if name.startswith("self."))


def _cancelled_names(nodes: Iterable[ast.AST]) -> Iterator[str]:
    """What ``nodes`` call ``cancel()`` on; for ``for t in tasks: t.cancel()``, also
    ``tasks``."""
    for node in nodes:
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "cancel"
            and (name := dotted(node.func.value)) is not None
        ):
            yield name
        elif isinstance(node, (ast.For, ast.AsyncFor)) and isinstance(node.target, ast.Name):
            loop_variable = node.target.id
            collection = dotted(node.iter)
            if collection is not None and any(
                isinstance(n, ast.Call)
                and isinstance(n.func, ast.Attribute)
                and n.func.attr == "cancel"
                and dotted(n.func.value) == loop_variable
                for stmt in node.body
                for n in [stmt, *walk_scope(stmt)]
            ):
                yield collection


def _aliases(index: ModuleIndex, scope: ast.AST) -> list[tuple[str, str]]:
    """``(a, b)`` for each ``a = b`` between two plain names or attributes in ``scope``."""
    return [
        (a, b)
        for n in index.in_scope(scope)
        if isinstance(n, ast.Assign) and len(n.targets) == 1
        if (a := dotted(n.targets[0])) is not None and (b := dotted(n.value)) is not None
    ]


_WAITS_FOR_ITS_ARGUMENTS = frozenset(
    {"asyncio.gather", "asyncio.wait", "asyncio.wait_for", "asyncio.shield"}
)


def _awaited_names(value: ast.AST, ctx: Context) -> list[str | None]:
    """The tasks an ``await`` waits for, by name (None for anything else)."""
    if isinstance(value, ast.Call) and ctx.qualname(value.func) in _WAITS_FOR_ITS_ARGUMENTS:
        names: list[str | None] = []
        for arg in value.args[:1] if ctx.qualname(value.func) != "asyncio.gather" else value.args:
            inner = arg.value if isinstance(arg, ast.Starred) else arg
            if isinstance(inner, (ast.List, ast.Tuple, ast.Set)):
                names += [dotted(e) for e in inner.elts]
            else:
                names.append(dotted(inner))
        return names
    return [dotted(value)]


#: Calls that run a coroutine as a task of its own, or as the loop's main coroutine
#: (``asyncio.run(serve())``): nothing else awaits it.
_TASK_CALLS = frozenset(
    {
        "create_task",
        "ensure_future",
        "run_coroutine_threadsafe",
        "Task",
        "run",
        "run_until_complete",
    }
)


def _task_references(index: ModuleIndex, module: ast.Module) -> frozenset[str]:
    """Names of functions the module refers to (by name or as an attribute), and
    ``!name`` for those that it calls other than as the argument of a task factory
    (``create_task``, ``ensure_future``): awaited, or handed to ``gather``/``wait_for``."""
    task_arguments = {
        id(arg)
        for n, _ in index.nodes
        if isinstance(n, ast.Call) and _called(n) in _TASK_CALLS
        for arg in n.args[:1]
    }
    references: set[str] = set()
    for n, _ in index.nodes:
        if isinstance(n, ast.Call):
            name = _called(n)
            if name is not None and id(n) not in task_arguments:
                references.add(f"!{name}")
        if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            references.add(n.id)
        elif isinstance(n, ast.Attribute):
            references.add(n.attr)
    return frozenset(references)


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


def _called(call: ast.Call) -> str | None:
    """The last name of what is called: ``create_task`` for ``loop().create_task(...)``."""
    func = call.func
    return func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)


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
