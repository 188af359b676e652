"""The in-process monitor: standard library only, so it can run in production processes."""

from __future__ import annotations

from ._sampler import Monitor, MonitorConfig, Sources

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._report import Report

__all__ = ["Monitor", "MonitorConfig", "Report", "Sources"]


def __getattr__(name: str) -> object:
    # The report classes load on first use: the program being watched does not wait
    # for them at start-up.
    if name == "Report":
        from ._report import Report

        return Report
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
