"""Measure a function under each concurrency model and recommend one.

This is the advisor's face: users and gilwise's other packages import from here, never
from its private modules. The engine loads on first use, so importing gilwise stays
cheap for the monitor.
"""

from __future__ import annotations

from .._core._lazy import attribute

TYPE_CHECKING = False
if TYPE_CHECKING:  # `import gilwise` loads this module: typing would cost `gilwise run` start-up
    from collections.abc import Callable, Iterable, Sequence
    from typing import Any

    from ._backends import Job as Job
    from ._backends import trial as trial
    from ._model import usl_speedup as usl_speedup
    from ._report import AdviceReport, Measurement, Profile, Recommendation, ScalingModel


def advise(
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    budget: float = 20.0,
    backends: Sequence[str] | None = None,
    start_method: str | None = None,
    python: str | None = None,
) -> AdviceReport:
    """Run ``fn`` over ``items`` serially, in threads, processes and asyncio; recommend one.

    ``fn`` takes one item (a coroutine function is run on an event loop). At most
    ``budget`` seconds are spent. The report holds every measurement, the scaling
    model per backend, the recommendation with code to apply it, and its reasons.
    ``python``: the path of a free-threaded CPython (3.13t, 3.14t) to measure a thread
    pool without the GIL too; ``fn`` must then be importable by module and name.

    Example:
        >>> import gilwise
        >>> report = gilwise.advise(abs, range(-1000, 1000), budget=2)  # doctest: +SKIP
        >>> report.recommendation.backend  # doctest: +SKIP
        'serial'
    """
    from ._advisor import run_advice

    ref = _importable_ref(fn) if python is not None else None
    return run_advice(
        fn,
        items,
        budget=budget,
        backends=backends,
        start_method=start_method,
        python=python,
        ref=ref,
    )


def _importable_ref(fn: Callable[[Any], Any]) -> str | None:
    """``module:qualname`` for a function another interpreter can import, else None."""
    module, name = getattr(fn, "__module__", None), getattr(fn, "__qualname__", "")
    if not module or module == "__main__" or "<" in name:
        return None
    return f"{module}:{name}"


__all__ = ["AdviceReport", "Measurement", "Profile", "Recommendation", "ScalingModel", "advise"]

_LAZY = {
    **dict.fromkeys(
        ("AdviceReport", "Measurement", "Profile", "Recommendation", "ScalingModel"), "._report"
    ),
    # Not for users: the tour's lessons run trials, the HTML page draws the fitted model.
    **dict.fromkeys(("Job", "trial"), "._backends"),
    "usl_speedup": "._model",
}


def __getattr__(name: str) -> object:
    return attribute(__name__, _LAZY, name)
