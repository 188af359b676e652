"""The in-process monitor: standard library only, so it can run in production processes."""

from __future__ import annotations

from ._report import Report
from ._sampler import Monitor, MonitorConfig, Sources

__all__ = ["Monitor", "MonitorConfig", "Report", "Sources"]
