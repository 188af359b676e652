"""A rich progress bar that counts items as they finish, whatever order and chunking.

It advances on each final outcome (a success or an error that will not be retried),
not on each result read, so it is right under chunking, unordered completion and a
slow consumer alike. ``progress=True`` shows it only on a terminal (stderr is a TTY);
``progress="always"`` shows it anyway (a log file, a notebook).
"""

from __future__ import annotations

import sys
from typing import Any

from ._types import ProgressMode


def make_console() -> Any:
    """The console to draw on (a function, so tests can swap it)."""
    from rich.console import Console

    return Console(stderr=True)


class ProgressBar:
    """Items done out of the total (when the input has a length), with failures counted."""

    def __init__(self, total: int | None, description: str, *, force: bool) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        console = make_console()
        if force and not console.is_terminal:
            console.force_terminal = True
        self.completed = 0
        self.failed = 0
        self.total = total
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[failed]} failed"),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=False,
        )
        self._task = self._progress.add_task(description, total=total, failed=0)
        self._progress.start()

    def advance(self, ok: bool, count: int = 1) -> None:
        """Count ``count`` items finished, all succeeded (``ok``) or all failed."""
        self.completed += count
        if not ok:
            self.failed += count
        self._progress.update(self._task, advance=count, failed=self.failed)

    def close(self) -> None:
        self._progress.stop()


def progress_bar(mode: ProgressMode, total: int | None, description: str) -> ProgressBar | None:
    """A bar for ``mode``, or None when there is nothing to show it on."""
    if mode is False:
        return None
    if mode is True and not sys.stderr.isatty():
        return None
    return ProgressBar(total, description, force=mode == "always")
