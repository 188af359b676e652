"""What a per-item timeout means on each backend, said once, in the error it raises."""

from __future__ import annotations

from .._errors import ItemTimeout
from ._types import Task

_MEANING = {
    "serial": "the call could not be interrupted; it ran to its end and its result was dropped",
    "thread": "the thread was abandoned (it runs on in the background; its result is dropped)"
    " and a new thread took its place",
    "process": "its worker process was killed and replaced",
    "asyncio": "its task was cancelled",
    "interpreter": "the call was abandoned in its interpreter (it runs on; its result is dropped)",
    "dask": "the item was abandoned on its dask worker and its result dropped",
}


def timeout_error(task: Task, limit: float, backend: str) -> ItemTimeout:
    """The error for ``task`` running past ``limit`` seconds on ``backend``."""
    return ItemTimeout(
        f"item {task.index} ran longer than timeout={limit:g} s on the {backend} backend: "
        f"{_MEANING[backend]}; raise timeout=, or pass retries= to try it again"
    )


def earliest(a: float | None, b: float | None) -> float | None:
    """The sooner of two waits in seconds, where None means no limit."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
