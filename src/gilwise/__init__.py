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

from ._core._lazy import attribute
from ._errors import (
    AttachRefused,
    BudgetExceeded,
    CheckFailed,
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
    TargetUnsupported,
    UserCodeFailed,
)
from ._version import __version__
from .advise import advise  # eager: importing gilwise.advise.* would shadow a lazy name

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from ._watch import Watch, start, stop, watch
    from .advise import AdviceReport, Measurement, Profile, Recommendation, ScalingModel
    from .check import CheckConfig, CheckResult, Finding, check_paths, check_source
    from .integrations import OpenTelemetryExporter, PrometheusExporter
    from .monitor import (
        Frame,
        GilReport,
        Latency,
        LineStat,
        LoopReport,
        Monitor,
        MonitorConfig,
        ProcessReport,
        Report,
        Stall,
        TaskLink,
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

# Names that load on first use, and the module each comes from. `import gilwise` stays
# cheap: the pytest plugin imports it in every pytest run where gilwise is installed, and
# `gilwise run` starts the user's program sooner without the monitor's report classes,
# the checker, or pmap's multiprocessing and rich.
_LAZY = {
    **dict.fromkeys(("Watch", "start", "stop", "watch"), "._watch"),
    **dict.fromkeys(("Monitor", "MonitorConfig"), ".monitor"),
    **dict.fromkeys(("OpenTelemetryExporter", "PrometheusExporter"), ".integrations"),
    **dict.fromkeys(
        ("CheckConfig", "CheckResult", "Finding", "check_paths", "check_source"), ".check"
    ),
    **dict.fromkeys(
        (
            "ItemTimeout",
            "MapIterator",
            "MapStatistics",
            "PoisonItem",
            "Pool",
            "WorkersFailed",
            "amap",
            "pmap",
        ),
        ".pool",
    ),
    **dict.fromkeys(
        (
            "Frame",
            "GilReport",
            "Latency",
            "LineStat",
            "LoopReport",
            "ProcessReport",
            "Report",
            "Stall",
            "TaskLink",
            "ThreadReport",
            "TimelinePoint",
            "Verdict",
        ),
        ".monitor",
    ),
    **dict.fromkeys(
        ("AdviceReport", "Measurement", "Profile", "Recommendation", "ScalingModel"),
        ".advise",
    ),
}


def load_ipython_extension(ipython: Any) -> None:
    """Add the ``%%gilwise`` / ``%gilwise`` magics to IPython: ``%load_ext gilwise``.

    Example (in a notebook; needs ``pip install 'gilwise[jupyter]'``)::

        %load_ext gilwise

        %%gilwise --stall-ms 50
        run_my_pipeline()
    """
    # The magics (and IPython's magic machinery) load only when IPython asks.
    try:
        from .integrations import load_ipython_extension as load
    except ImportError as exc:  # an IPython older than the magics need
        raise ExtraNotInstalled(
            f"the %gilwise magics need IPython 8.8 or newer ({exc}): pip install 'gilwise[jupyter]'"
        ) from exc
    load(ipython)


def __getattr__(name: str) -> object:
    return attribute(__name__, _LAZY, name)


def __dir__() -> list[str]:
    # The lazy names are not in the module's namespace until first used, so dir() and
    # the REPL's completion would miss them without this (PEP 562).
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "AdviceReport",
    "AttachRefused",
    "BudgetExceeded",
    "CheckConfig",
    "CheckFailed",
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
    "TargetUnsupported",
    "TaskLink",
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
    "load_ipython_extension",
    "pmap",
    "start",
    "stop",
    "watch",
]
