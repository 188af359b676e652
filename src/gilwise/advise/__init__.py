"""Measure a function under each concurrency model and recommend one.

The engine loads on first use, so importing gilwise stays cheap for the monitor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._report import AdviceReport


def advise(
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    budget: float = 20.0,
    backends: Sequence[str] | None = None,
    start_method: str | None = None,
) -> AdviceReport:
    """Run ``fn`` over ``items`` serially, in threads, processes and asyncio; recommend one.

    ``fn`` takes one item (a coroutine function is run on an event loop). At most
    ``budget`` seconds are spent. The report holds every measurement, the scaling
    model per backend, the recommendation with code to apply it, and its reasons.

    Example:
        >>> import gilwise
        >>> report = gilwise.advise(abs, range(-1000, 1000), budget=2)  # doctest: +SKIP
        >>> report.recommendation.backend  # doctest: +SKIP
        'serial'
    """
    from ._advisor import run_advice

    return run_advice(fn, items, budget=budget, backends=backends, start_method=start_method)


__all__ = ["advise"]
