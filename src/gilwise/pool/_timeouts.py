"""The error a per-item timeout raises, saying what it meant on its backend (from its row)."""

from __future__ import annotations

from .._core._backends import BACKENDS
from .._errors import ItemTimeout
from ._types import Task


def timeout_error(task: Task, limit: float, backend: str) -> ItemTimeout:
    """The error for ``task`` running past ``limit`` seconds on ``backend``."""
    return ItemTimeout(
        f"item {task.index} ran longer than timeout={limit:g} s on the {backend} backend: "
        f"{BACKENDS[backend].timeout_means}; raise timeout=, or pass retries= to try it again"
    )


def earliest(a: float | None, b: float | None) -> float | None:
    """The sooner of two waits in seconds, where None means no limit."""
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)
