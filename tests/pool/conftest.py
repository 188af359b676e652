"""Pool fixtures: the backends to test on, and a check that no worker outlives a test."""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing
import os
import pickle
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from gilwise.pool import Pool, _interpreter

BACKENDS = ["serial", "thread", "process", "asyncio", "interpreter"]
HAS_INTERPRETER_POOL = hasattr(cf, "InterpreterPoolExecutor")


class PicklingThreadPool(cf.ThreadPoolExecutor):
    """Stands in for InterpreterPoolExecutor before 3.14: threads that, like separate
    interpreters, only get what survives pickle (lambdas and closures do not)."""

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> cf.Future[Any]:
        fn, args, kwargs = pickle.loads(pickle.dumps((fn, args, kwargs)))
        return super().submit(fn, *args, **kwargs)


@pytest.fixture(autouse=True)
def interpreter_stand_in(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without CPython 3.14's InterpreterPoolExecutor, the backend runs on the stand-in."""
    if not HAS_INTERPRETER_POOL:
        monkeypatch.setattr(_interpreter, "interpreter_pool", PicklingThreadPool)


def child_pids() -> set[int]:
    """Live (or zombie) children of this process, read from /proc, not from multiprocessing."""
    me = str(os.getpid())
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # The command name (field 2) may hold spaces: the fields we want follow its ')'.
        fields = stat.rsplit(")", 1)[1].split()
        if fields[1] == me and not _is_multiprocessing_helper(entry):
            found.add(int(entry.name))
    return found


def _is_multiprocessing_helper(entry: Path) -> bool:
    """multiprocessing's resource tracker and fork server live for the session on purpose."""
    try:
        cmdline = (entry / "cmdline").read_bytes()
    except OSError:
        return False
    return b"resource_tracker" in cmdline or b"forkserver" in cmdline


def wait_no_new_children(before: set[int], seconds: float = 5.0) -> set[int]:
    deadline = time.monotonic() + seconds
    while True:
        extra = child_pids() - before
        if not extra or time.monotonic() > deadline:
            return extra
        time.sleep(0.02)


@pytest.fixture(autouse=True)
def no_worker_outlives_a_test(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fail a test that leaves worker processes behind (zombies count).

    Tests on the module's shared pool are exempt: its workers live on purpose.
    """
    if "process_pool" in request.fixturenames:
        yield
        return
    before = child_pids()
    yield
    multiprocessing.active_children()  # reaps what has exited
    extra = wait_no_new_children(before)
    assert not extra, f"worker processes outlived the test: {sorted(extra)}"


@pytest.fixture(scope="module")
def process_pool() -> Iterator[Pool]:
    """One process pool for a module's many small maps (hypothesis runs dozens)."""
    with Pool("process", workers=2) as pool:
        yield pool
