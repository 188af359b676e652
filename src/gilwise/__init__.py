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
    InputsInvalid,
    InvalidOption,
    MonitorAlreadyRunning,
    MonitorNotRunning,
    TargetInvalid,
    TargetNotFound,
    UserCodeFailed,
)
from ._version import __version__
from ._watch import Watch, start, stop, watch
from .advise import advise
from .monitor import Monitor, MonitorConfig

TYPE_CHECKING = False
if TYPE_CHECKING:
    from .advise._report import AdviceReport, Measurement, Profile, Recommendation, ScalingModel
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
        "Measurement",
        "ProcessReport",
        "Report",
        "Stall",
        "ThreadReport",
        "TimelinePoint",
        "Verdict",
    }
)


_ADVICE_TYPES = frozenset(
    {"AdviceReport", "Measurement", "Profile", "Recommendation", "ScalingModel"}
)


def __getattr__(name: str) -> object:
    # Report classes load on first use, so `gilwise run` starts the program sooner.
    if name in _REPORT_TYPES:
        from .monitor import _report

        return getattr(_report, name)
    if name in _ADVICE_TYPES:
        from .advise import _report as _advice_report

        return getattr(_advice_report, name)
    raise AttributeError(f"module 'gilwise' has no attribute {name!r}")


__all__ = [
    "AdviceReport",
    "Frame",
    "GilReport",
    "GilwiseError",
    "InputsInvalid",
    "InvalidOption",
    "Latency",
    "LineStat",
    "LoopReport",
    "Measurement",
    "Monitor",
    "MonitorAlreadyRunning",
    "MonitorConfig",
    "MonitorNotRunning",
    "ProcessReport",
    "Profile",
    "Recommendation",
    "Report",
    "ScalingModel",
    "Stall",
    "TargetInvalid",
    "TargetNotFound",
    "ThreadReport",
    "TimelinePoint",
    "UserCodeFailed",
    "Verdict",
    "Watch",
    "__version__",
    "advise",
    "start",
    "stop",
    "watch",
]
