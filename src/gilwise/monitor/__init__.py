"""The in-process monitor: standard library only, so it can run in production processes.

This is the monitor's face: users and gilwise's other packages import from here, never
from its private modules. Each name loads its module on first use, so the program being
watched does not wait for the report classes at start-up.
"""

from __future__ import annotations

from .._core._lazy import attribute

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._config import MonitorConfig, Sources
    from ._histogram import HistogramCounts as HistogramCounts
    from ._report import (
        Frame,
        GilReport,
        Latency,
        LineStat,
        LoopReport,
        ProcessReport,
        Report,
        Span,
        Stall,
        TaskLink,
        ThreadReport,
        TimelinePoint,
        Verdict,
    )
    from ._sampler import Monitor
    from ._statistics import MonitorStatistics as MonitorStatistics
    from ._verdicts import FEW_SAMPLES as FEW_SAMPLES
    from ._verdicts import MACHINE_BUSY_CORES as MACHINE_BUSY_CORES
    from ._verdicts import MACHINE_BUSY_SHARE as MACHINE_BUSY_SHARE
    from ._verdicts import verdicts_for as verdicts_for

__all__ = [
    "Frame",
    "GilReport",
    "Latency",
    "LineStat",
    "LoopReport",
    "Monitor",
    "MonitorConfig",
    "ProcessReport",
    "Report",
    "Sources",
    "Span",
    "Stall",
    "TaskLink",
    "ThreadReport",
    "TimelinePoint",
    "Verdict",
]

_LAZY = {
    # The public names are the report classes, but for the sampler and its settings.
    **dict.fromkeys(__all__, "._report"),
    "Monitor": "._sampler",
    **dict.fromkeys(("MonitorConfig", "Sources"), "._config"),
    # Not for users: the exporters, the pytest plugin, the notebook magics and the tour.
    "HistogramCounts": "._histogram",
    "MonitorStatistics": "._statistics",
    **dict.fromkeys(
        ("FEW_SAMPLES", "MACHINE_BUSY_CORES", "MACHINE_BUSY_SHARE", "verdicts_for"), "._verdicts"
    ),
}


def __getattr__(name: str) -> object:
    return attribute(__name__, _LAZY, name)


def __dir__() -> list[str]:
    # The lazy names are not in the namespace until first used (PEP 562).
    return sorted(set(globals()) | set(__all__))
