"""The JSON report file (schema ``gilwise.run/1``, see docs/report-schema.md)."""

from __future__ import annotations

import os

from ..monitor._report import Report, write_atomic


def write_json(report: Report, path: str | os.PathLike[str]) -> None:
    """Write ``report`` to ``path`` atomically (a reader never sees a partial file)."""
    write_atomic(path, report.to_json(indent=2) + "\n")
