"""Functions the pool tests map: module level, so every backend (processes too) can run them."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from typing import Any


def ident(x: Any) -> Any:
    return x


def square(x: int) -> int:
    return x * x


def maybe_fail(pair: tuple[int, bool]) -> int:
    value, fail = pair
    if fail:
        raise ValueError(f"item {value} fails")
    return value


def sleep_then(pair: tuple[int, float]) -> int:
    value, seconds = pair
    time.sleep(seconds)
    return value


async def async_sleep_then(pair: tuple[int, float]) -> int:
    value, seconds = pair
    await asyncio.sleep(seconds)
    return value


def attempt(path: str) -> int:
    """Count this call in ``path`` (an append is atomic across processes); the count so far."""
    with open(path, "ab") as f:
        f.write(b"x")
    return os.path.getsize(path)


def flaky(args: tuple[str, int, int]) -> int:
    """Fail with OSError on the first ``fails`` attempts of ``value``."""
    directory, value, fails = args
    if attempt(os.path.join(directory, str(value))) <= fails:
        raise ConnectionError(f"attempt at {value} failed")
    return value


def die_sometimes(args: tuple[str, int, int]) -> int:
    """Kill this worker process the first ``deaths`` times it runs ``value``."""
    directory, value, deaths = args
    if attempt(os.path.join(directory, str(value))) <= deaths:
        if value % 2:
            os._exit(3)
        os.kill(os.getpid(), signal.SIGKILL)
    return value


def always_die(x: int) -> int:
    if x == 3:
        os._exit(7)
    return x


def in_worker_pid(_: Any) -> int:
    return os.getpid()


def raise_deep(x: int) -> int:
    return _inner_failure(x)


def _inner_failure(x: int) -> int:
    raise KeyError(f"deep {x}")


def interpreter_id(_: Any) -> int:
    """The id of the interpreter running the call (CPython 3.14+)."""
    import concurrent.interpreters  # type: ignore[import-not-found]

    return int(concurrent.interpreters.get_current().id)
