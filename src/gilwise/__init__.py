"""gilwise: work with the GIL, not against it.

Measure what concurrency really does in a running Python program: GIL contention,
per-thread CPU against wall time, event-loop lag and stalls with the blocking line,
and plain-language verdicts.

Example:
    >>> import gilwise
    >>> with gilwise.watch() as w:
    ...     pass
    >>> [v.code for v in w.report.verdicts]
    ['NO_ISSUE']
"""

from __future__ import annotations

from ._errors import (
    GilwiseError,
    InvalidOption,
    MonitorAlreadyRunning,
    MonitorNotRunning,
    TargetInvalid,
    TargetNotFound,
)
from ._version import __version__
from ._watch import Watch, start, stop, watch
from .monitor import Monitor, MonitorConfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .monitor._report import (
        Frame,
        GilReport,
        Latency,
        LineStat,
        LoopReport,
        ProcessReport,
        Report,
        Stall,
        ThreadReport,
        TimelinePoint,
        Verdict,
    )

_REPORT_TYPES = frozenset(
    {
        "Frame",
        "GilReport",
        "Latency",
        "LineStat",
        "LoopReport",
        "ProcessReport",
        "Report",
        "Stall",
        "ThreadReport",
        "TimelinePoint",
        "Verdict",
    }
)


def __getattr__(name: str) -> object:
    # Report classes load on first use, so `gilwise run` starts the program sooner.
    if name in _REPORT_TYPES:
        from .monitor import _report

        return getattr(_report, name)
    raise AttributeError(f"module 'gilwise' has no attribute {name!r}")


__all__ = [
    "Frame",
    "GilReport",
    "GilwiseError",
    "InvalidOption",
    "Latency",
    "LineStat",
    "LoopReport",
    "Monitor",
    "MonitorAlreadyRunning",
    "MonitorConfig",
    "MonitorNotRunning",
    "ProcessReport",
    "Report",
    "Stall",
    "TargetInvalid",
    "TargetNotFound",
    "ThreadReport",
    "TimelinePoint",
    "Verdict",
    "Watch",
    "__version__",
    "start",
    "stop",
    "watch",
]
