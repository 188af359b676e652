"""The backends' table: one row per way of running a map, read by the pool, the advisor,
the tour and the docs.

A new backend is one row here plus its module, which defines
``make_backend(options) -> Backend`` (see ``gilwise.pool._registry``). The pool imports
that module by the row's ``module`` only when a map asks for the backend, so an
optional dependency costs nothing until then.

Rows go simplest first: among equally fast configurations the advisor picks the
earliest row (asyncio excepted: its place depends on whether the function is a
coroutine function), so the order is part of what the table says.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from typing import Literal

#: A default worker count: a number, or ``"cores"`` (the cores this process may use),
#: ``"threads"`` (concurrent.futures' default for threads), ``None`` (the backend's own).
DefaultWorkers = int | Literal["cores", "threads"] | None


@dataclass(frozen=True)
class BackendSpec:
    """What every layer needs to know about one backend.

    ``code`` is a :class:`string.Template` of the standard-library code the advisor
    prints to apply it (``$import_line``, ``$name``, ``$workers``, ``$chunk``); None
    where the standard library has no equivalent (the advisor prints the pmap code).
    """

    name: str
    #: The module whose ``make_backend(options)`` builds it; None: not a pool backend
    #: (the advisor's ``free-threaded``, the thread backend on another interpreter).
    module: str | None
    default_workers: DefaultWorkers
    #: Items, results and the function cross to another interpreter by pickle, so
    #: they must pickle, go in chunks, and a running call's line cannot be read here.
    pickles: bool
    #: The advisor's words for it: "Use a thread pool with 4 workers".
    words: str
    #: What its workers are, in the plural: "4 processes".
    workers_are: str
    code: str | None
    #: What a per-item timeout did to the call, as the ``ItemTimeout`` says it (pool
    #: backends).
    timeout_means: str = ""
    #: Whether the advisor measures and recommends it.
    advised: bool = True
    #: A line put before its code: how the code must be run.
    note: str = ""
    #: Its workers import the main module again (spawn, forkserver), so the code that
    #: starts them must sit under ``if __name__ == "__main__":``.
    reimports_main: bool = False
    #: The pool backend that runs it where that is another row (on another interpreter).
    pmap_backend: str | None = None
    #: What it needs that a plain install lacks, and the pip extra that installs it.
    requires: str = ""
    extra: str | None = None


def _executor_code(executor: str, *, guarded: bool = False) -> str:
    """The advisor's code for a ``concurrent.futures`` pool of ``executor``."""
    run = (
        f"with {executor}(max_workers=$workers) as pool:\n"
        "    results = list(pool.map($name, items$chunk))\n"
    )
    if guarded:
        run = 'if __name__ == "__main__":\n' + textwrap.indent(run, "    ")
    return f"from concurrent.futures import {executor}\n\n$import_line\n\n{run}"


_SERIAL_CODE = "$import_line\n\nresults = [$name(item) for item in items]\n"
_ASYNCIO_CODE = """\
import asyncio

$import_line


async def run_all(items):
    limit = asyncio.Semaphore($workers)

    async def one(item):
        async with limit:
            return await $name(item)

    return await asyncio.gather(*(one(item) for item in items))


results = asyncio.run(run_all(items))
"""

#: Every backend by name, simplest first (see the module's docstring).
BACKENDS: dict[str, BackendSpec] = {
    spec.name: spec
    for spec in (
        BackendSpec(
            name="serial",
            module="gilwise.pool._serial",
            default_workers=1,
            timeout_means="the call could not be interrupted; it ran to its end and its result"
            " was dropped",
            pickles=False,
            words="a plain loop",
            workers_are="calls in the caller's thread",
            code=_SERIAL_CODE,
        ),
        BackendSpec(
            name="thread",
            module="gilwise.pool._thread",
            default_workers="threads",
            timeout_means="the thread was abandoned (it runs on in the background; its result is"
            " dropped) and a new thread took its place",
            pickles=False,
            words="a thread pool",
            workers_are="threads",
            code=_executor_code("ThreadPoolExecutor"),
        ),
        BackendSpec(
            name="process",
            module="gilwise.pool._process",
            default_workers="cores",
            timeout_means="its worker process was killed and replaced",
            pickles=True,
            words="a process pool",
            workers_are="processes",
            code=_executor_code("ProcessPoolExecutor", guarded=True),
            reimports_main=True,
        ),
        BackendSpec(
            name="asyncio",
            module="gilwise.pool._asyncio",
            # Concurrency of a coroutine map: waits overlap; the event loop, not cores, limits it.
            default_workers=64,
            timeout_means="its task was cancelled",
            pickles=False,
            words="asyncio",
            workers_are="tasks",
            code=_ASYNCIO_CODE,
        ),
        BackendSpec(
            name="interpreter",
            module="gilwise.pool._interpreter",
            default_workers="cores",
            timeout_means="the call was abandoned in its interpreter (it runs on; its result is"
            " dropped)",
            pickles=True,
            words="a sub-interpreter pool",
            workers_are="sub-interpreters",
            code=_executor_code("InterpreterPoolExecutor"),
            requires="CPython 3.14+",
        ),
        BackendSpec(
            name="dask",
            module="gilwise.pool._dask",
            default_workers=None,
            timeout_means="the item was abandoned on its dask worker and its result dropped",
            pickles=True,
            words="a dask cluster",
            workers_are="dask worker threads",
            code=None,
            advised=False,
            requires="distributed",
            extra="dask",
        ),
        BackendSpec(
            name="free-threaded",
            module=None,
            default_workers="threads",
            pickles=False,
            words="threads on free-threaded CPython",
            workers_are="threads",
            code=_executor_code("ThreadPoolExecutor"),
            note="# Run this with the free-threaded interpreter (python3.13t / 3.14t).\n",
            pmap_backend="thread",
        ),
    )
}


def pool_backends() -> tuple[str, ...]:
    """The names ``pmap`` and ``Pool`` take (besides ``"auto"``), simplest first."""
    return tuple(name for name, spec in BACKENDS.items() if spec.module is not None)


def advised_backends() -> tuple[str, ...]:
    """The names the advisor measures and recommends, simplest first."""
    return tuple(name for name, spec in BACKENDS.items() if spec.advised)
