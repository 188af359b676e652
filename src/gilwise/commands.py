"""What each CLI command does, kept apart from argument parsing."""

from __future__ import annotations

import sys

from .monitor import MonitorConfig
from .monitor._runner import Session, module_target, script_target

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

    from .monitor import Report


def run_program(
    *,
    script: str | None,
    module: str | None,
    args: list[str],
    interval: float,
    stall_ms: float,
    json_path: str | None,
    quiet: bool,
) -> NoReturn:
    """Run the program under the monitor; exits the way the program exits."""
    config = MonitorConfig(interval_s=interval, stall_ms=stall_ms)
    target = module_target(module) if module else script_target(script or "")

    def finish(report: Report) -> None:
        # Renderers (and rich) load only now, so the program does not pay for them.
        if json_path:
            from .report._json import write_json

            try:
                write_json(report, json_path)
            except OSError as exc:
                print(f"gilwise: could not write {json_path}: {exc}", file=sys.stderr)
        if not quiet:
            from .report._terminal import render_summary

            render_summary(report)

    Session(target, config, finish).run(args)
