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
    ConfigInvalid,
    ExtraNotInstalled,
    GilwiseError,
    InputsInvalid,
    InvalidOption,
    MetricsExportFailed,
    MonitorAlreadyRunning,
    MonitorNotRunning,
    TargetInvalid,
    TargetNotFound,
    UserCodeFailed,
)
from ._version import __version__
from .advise import advise

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._watch import Watch, start, stop, watch
    from .advise._report import AdviceReport, Measurement, Profile, Recommendation, ScalingModel
    from .check import CheckConfig, CheckResult, Finding, check_paths, check_source
    from .integrations import OpenTelemetryExporter, PrometheusExporter
    from .monitor import Monitor, MonitorConfig
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
    from .pool import (
        ItemTimeout,
        MapIterator,
        MapStatistics,
        PoisonItem,
        Pool,
        WorkersFailed,
        amap,
        pmap,
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

# The monitor loads on first use too: the pytest plugin, imported by every pytest run
# where gilwise is installed, must cost nothing until --gilwise asks for it.
_WATCH_NAMES = frozenset({"Watch", "start", "stop", "watch"})
_MONITOR_NAMES = frozenset({"Monitor", "MonitorConfig"})
_EXPORTER_NAMES = frozenset({"OpenTelemetryExporter", "PrometheusExporter"})
_CHECK_NAMES = frozenset({"CheckConfig", "CheckResult", "Finding", "check_paths", "check_source"})
# The parallel map loads on first use: it imports multiprocessing and rich.
_POOL_NAMES = frozenset(
    {
        "ItemTimeout",
        "MapIterator",
        "MapStatistics",
        "PoisonItem",
        "Pool",
        "WorkersFailed",
        "amap",
        "pmap",
    }
)


def __getattr__(name: str) -> object:
    if name in _POOL_NAMES:
        from . import pool

        return getattr(pool, name)
    if name in _CHECK_NAMES:
        from . import check

        return getattr(check, name)
    if name in _WATCH_NAMES:
        from . import _watch

        return getattr(_watch, name)
    if name in _MONITOR_NAMES:
        from . import monitor

        return getattr(monitor, name)
    if name in _EXPORTER_NAMES:
        from . import integrations

        return getattr(integrations, name)
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
    "CheckConfig",
    "CheckResult",
    "ConfigInvalid",
    "ExtraNotInstalled",
    "Finding",
    "Frame",
    "GilReport",
    "GilwiseError",
    "InputsInvalid",
    "InvalidOption",
    "ItemTimeout",
    "Latency",
    "LineStat",
    "LoopReport",
    "MapIterator",
    "MapStatistics",
    "Measurement",
    "MetricsExportFailed",
    "Monitor",
    "MonitorAlreadyRunning",
    "MonitorConfig",
    "MonitorNotRunning",
    "OpenTelemetryExporter",
    "PoisonItem",
    "Pool",
    "ProcessReport",
    "Profile",
    "PrometheusExporter",
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
    "WorkersFailed",
    "__version__",
    "advise",
    "amap",
    "check_paths",
    "check_source",
    "pmap",
    "start",
    "stop",
    "watch",
]
