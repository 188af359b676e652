"""Hold the experiment to its budget even when the user's function never returns.

A thread cannot be stopped from outside, and a pool waits for its busy workers when
it shuts down, so the experiment runs in a daemon thread and the caller waits for it
only until the hard deadline. Past it the caller goes on with what was measured and
names the line the function was stuck on; the abandoned thread runs on, which is why
the CLI ends its process with ``os._exit`` once the answer is out
(:func:`work_left_running`).
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import CodeType, FrameType
from typing import Generic, TypeVar

from .._core._library import is_library_file
from .._core._where import where

T = TypeVar("T")

#: Past the budget, the experiment gets this share of it more (at least the minimum) to
#: finish the trial it is in: a pool's start-up or shutdown may run a little over.
GRACE_SHARE = 0.10
MIN_GRACE_S = 0.5
#: How often the waiting caller wakes up, so that Ctrl-C is seen at once.
_POLL_S = 0.25

_abandoned: list[threading.Thread] = []


@dataclass(frozen=True)
class Overran:
    """The experiment was still running at the hard deadline."""

    #: ``file:line in function`` of the user's code a thread was running, if one was.
    where: str | None


@dataclass
class _Outcome(Generic[T]):
    value: T | None = None
    error: BaseException | None = None


def hard_deadline(started: float, budget_s: float) -> float:
    """When the experiment is stopped whatever it is doing."""
    return started + budget_s + max(MIN_GRACE_S, GRACE_SHARE * budget_s)


def run_guarded(
    work: Callable[[], T],
    deadline: float,
    code: CodeType | None,
    clock: Callable[[], float] = time.perf_counter,
) -> T | Overran:
    """``work()``'s result or error, or :class:`Overran` if it is still running at ``deadline``.

    ``code`` is the user's function's code: the thread running it is looked for, to
    say where it was stuck.
    """
    outcome: _Outcome[T] = _Outcome()
    done = threading.Event()

    def body() -> None:
        try:
            outcome.value = work()
        except BaseException as exc:  # handed to the caller, who raises it
            outcome.error = exc
        finally:
            done.set()

    thread = threading.Thread(target=body, name="gilwise-advise", daemon=True)
    thread.start()
    while not done.wait(max(0.0, min(_POLL_S, deadline - clock()))):
        if clock() >= deadline:
            _abandoned.append(thread)
            return Overran(where=where_stuck(code, sys._current_frames()))
    if outcome.error is not None:
        raise outcome.error
    return outcome.value  # type: ignore[return-value]


def where_stuck(code: CodeType | None, frames: dict[int, FrameType]) -> str | None:
    """Where a thread inside ``code`` is: its innermost line outside the standard library
    and installed packages (the user's own line that called into them), else the
    function's own line."""
    if code is None:
        return None
    for frame in frames.values():
        stack = _stack_of(frame)
        if any(f.f_code is code for f in stack):
            chosen = next((f for f in stack if not is_library_file(f.f_code.co_filename)), None)
            chosen = chosen or next(f for f in stack if f.f_code is code)
            return where(chosen.f_code.co_filename, chosen.f_lineno, chosen.f_code.co_name)
    return None


def _stack_of(frame: FrameType | None) -> list[FrameType]:
    """Innermost first."""
    stack = []
    while frame is not None:
        stack.append(frame)
        frame = frame.f_back
    return stack


def work_left_running() -> bool:
    """Whether an experiment abandoned at its deadline is still running in this process."""
    return any(thread.is_alive() for thread in _abandoned)
