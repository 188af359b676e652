"""Stalls logged through :mod:`logging` (logger ``gilwise``), with their stack, rate-limited.

A service that stalls its loop once tends to stall it thousands of times: the log gets
a token bucket (a burst of ``per_minute`` records, then one every ``60 / per_minute``
seconds), and the next record that goes out says how many were left out. Records are
written by the sampler thread, never by the stalled loop's own thread, so a slow log
handler cannot add to the loop's lag.
"""

from __future__ import annotations

import linecache
import logging
from collections.abc import Callable
from dataclasses import dataclass

from .._core._where import where

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._report import Frame, Stall

LOGGER_NAME = "gilwise"

#: Most frames of a stack written into one record (the innermost ones).
MAX_FRAMES_LOGGED = 30

logger = logging.getLogger(LOGGER_NAME)
# The library convention: a program that configured no logging does not get our
# warnings on stderr through logging's last-resort handler. One that configured
# logging sees them through its own handlers.
logger.addHandler(logging.NullHandler())


@dataclass(frozen=True)
class StallLogStatistics:
    """What the stall log did so far."""

    logged: int
    suppressed: int


class StallLog:
    """Writes stall records to the ``gilwise`` logger, at most ``per_minute`` a minute.

    Example:
        >>> log = StallLog(per_minute=2, clock=lambda: 0.0)
        >>> log.statistics()
        StallLogStatistics(logged=0, suppressed=0)
    """

    def __init__(
        self,
        per_minute: float,
        clock: Callable[[], float],
        target: logging.Logger | None = None,
    ) -> None:
        self._rate = per_minute / 60.0
        self._capacity = max(1.0, per_minute)
        self._tokens = self._capacity
        self._clock = clock
        self._last: float | None = None
        self._logger = target or logger
        self._suppressed_since_last = 0
        self._logged = 0
        self._suppressed = 0

    def offer(self, stall: Stall, thread_name: str, loop_class: str) -> bool:
        """Log ``stall`` if the rate allows, else count it; True when it was logged."""
        if not self._logger.isEnabledFor(logging.WARNING):
            return False
        if not self._take_token():
            self._suppressed_since_last += 1
            self._suppressed += 1
            return False
        left_out = self._suppressed_since_last
        self._suppressed_since_last = 0
        self._logged += 1
        self._logger.warning(
            "%s",
            stall_message(stall, thread_name, left_out),
            extra={
                "gilwise_stall_ms": stall.duration_ms,
                "gilwise_thread": thread_name,
                "gilwise_loop": loop_class,
                "gilwise_culprit": _where(stall.culprit) if stall.culprit else None,
                "gilwise_tasks": [task.name for task in stall.tasks],
            },
        )
        return True

    def missed(self, count: int) -> None:
        """Count stalls that finished but were dropped before they could be offered."""
        self._suppressed_since_last += count
        self._suppressed += count

    def flush(self) -> None:
        """At the end of monitoring: say how many stalls were left out since the last record."""
        if self._suppressed_since_last and self._logger.isEnabledFor(logging.WARNING):
            self._logger.warning(
                "%d more event-loop stalls were not logged (rate limit: %g a minute); "
                "the report has them all",
                self._suppressed_since_last,
                self._rate * 60,
            )
        self._suppressed_since_last = 0

    def statistics(self) -> StallLogStatistics:
        return StallLogStatistics(logged=self._logged, suppressed=self._suppressed)

    def _take_token(self) -> bool:
        now = self._clock()
        if self._last is not None:
            self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


def stall_message(stall: Stall, thread_name: str, left_out: int = 0) -> str:
    """The log text of one stall: a headline, then the stack like a traceback."""
    head = f"event loop in thread {thread_name!r} stalled for {stall.duration_ms:.0f} ms"
    if stall.culprit is not None:
        head += f"; blocking call at {_where(stall.culprit)}"
    if stall.coroutine is not None and stall.coroutine != stall.culprit:
        head += f" (coroutine {stall.coroutine.function} at {_where(stall.coroutine)})"
    if stall.tasks:
        head += f"; in {stall.task_chain(_where)}"
    if left_out:
        head += f" [{left_out} earlier stalls not logged: rate limit]"
    if not stall.stack:
        return head + "\n  (no stack: the loop was stalled before the sampler saw it)"
    lines = [head, "Stack (most recent call last):"]
    frames = stall.stack[-MAX_FRAMES_LOGGED:]
    if len(stall.stack) > len(frames):
        lines.append(f"  ... {len(stall.stack) - len(frames)} outer frames left out")
    for frame in frames:
        lines.append(f'  File "{frame.file}", line {frame.line}, in {frame.function}')
        source = linecache.getline(frame.file, frame.line).strip()
        if source:
            lines.append(f"    {source}")
    return "\n".join(lines)


def _where(frame: Frame) -> str:
    return where(frame.file, frame.line, frame.function)
