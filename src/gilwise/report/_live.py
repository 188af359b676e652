"""``--live``: the figures so far, redrawn about once a second while a watch runs.

On a terminal the summary panel itself is redrawn in place (rich's Live) and removed
at the end, where the final summary is printed as usual. When stderr is a file or a
pipe, a plain status line is written every few seconds instead, one per line, so logs
stay readable.
"""

from __future__ import annotations

import _thread
import sys
import time
from collections.abc import Callable
from typing import TextIO

from rich.console import Console, Group
from rich.live import Live
from rich.text import Text

from .._core._signals import blocked_for_new_threads
from ..monitor import Report
from ._terminal import summary

#: Seconds between plain status lines when the output is not a terminal.
PLAIN_EVERY_S = 5.0


class LiveView:
    """Shows successive snapshots of a watch; :meth:`close` clears the live display."""

    def __init__(self, stream: TextIO | None = None, plain_every: float = PLAIN_EVERY_S):
        self._stream = stream if stream is not None else sys.stderr
        self._console = Console(file=self._stream, highlight=False)
        self._live: Live | None = None
        self._plain_every = plain_every
        self._last_plain: float | None = None

    @property
    def interactive(self) -> bool:
        return self._console.is_terminal

    def update(self, report: Report, note: str = "") -> None:
        """Show ``report`` (a snapshot); ``note`` is a short status such as 'ends in 4 s'."""
        if not self.interactive:
            self._plain(report, note)
            return
        view = Group(summary(report), Text(f"live · {note}" if note else "live", style="dim"))
        if self._live is None:
            self._live = Live(view, console=self._console, auto_refresh=False, transient=True)
            self._live.start()
        self._live.update(view, refresh=True)

    def _plain(self, report: Report, note: str) -> None:
        now = time.monotonic()
        if self._last_plain is not None and now - self._last_plain < self._plain_every:
            return
        self._last_plain = now
        line = status_line(report) + (f" · {note}" if note else "")
        print(line, file=self._stream, flush=True)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()
            self._live = None


def status_line(report: Report) -> str:
    """One line of the figures so far: verdicts, GIL wait, CPU, loop lag and the last stall."""
    codes = ",".join(v.code for v in report.verdicts) or "–"
    gil = report.gil.wait_fraction
    parts = [
        f"gilwise {report.duration_s:.0f}s",
        codes,
        "GIL wait " + ("–" if gil is None else f"{gil:.0%}"),
        f"CPU {report.process.cpu_cores_used:.2f} cores",
        f"threads {report.process.max_threads_alive}",
    ]
    for loop in report.loops:
        parts.append(
            f"loop {loop.thread_name}: lag p99 {loop.lag.p99_ms:.0f} ms, {loop.stalls_total} stalls"
        )
        last = max(loop.stalls, key=lambda s: s.started_at_s, default=None)
        if last is not None and last.culprit is not None:
            parts.append(
                f"last stall {last.duration_ms:.0f} ms at {last.culprit.file}:{last.culprit.line}"
            )
    return " · ".join(parts)


class Refresher:
    """Redraws a :class:`LiveView` from ``snapshot()`` every ``every`` seconds, in a thread.

    For ``gilwise run --live``, where the monitor shares the process with the program:
    the thread is a raw one (absent from ``threading.enumerate()``), left out of the
    report through ``hide``, and blocks the process's signals, as the sampler does.
    """

    def __init__(
        self,
        snapshot: Callable[[], Report],
        view: LiveView,
        hide: Callable[[int], None],
        every: float = 1.0,
    ) -> None:
        self._snapshot = snapshot
        self._view = view
        self._hide = hide
        self._every = every
        self._stop = _thread.allocate_lock()
        self._done = _thread.allocate_lock()

    def start(self) -> None:
        self._stop.acquire()
        self._done.acquire()
        with blocked_for_new_threads():
            _thread.start_new_thread(self._run, ())

    def _run(self) -> None:
        try:
            self._hide(_thread.get_ident())
            while not self._stop.acquire(timeout=self._every):
                try:
                    self._view.update(self._snapshot())
                except Exception:  # a failed redraw must not touch the program
                    continue
        finally:
            self._done.release()

    def stop(self) -> None:
        """Stop redrawing (waits up to 2 s for a redraw in progress) and clear the view."""
        if self._stop.locked():
            self._stop.release()
            if self._done.acquire(timeout=2.0):
                self._done.release()
        self._view.close()
