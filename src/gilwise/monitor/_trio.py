"""trio runs, watched as asyncio loops are: a heartbeat inside the run, and stalls
named by the line that blocked it.

trio offers no public way to reach a run from another thread, so the run is found the
way a debugger finds it: the frame of ``trio.run`` on the run's thread holds its
``Runner``, whose ``TrioToken`` (public) takes callbacks from any thread. The heartbeat
is a trio system task that sleeps one interval and beats; :class:`LoopWatch` drives it
through :class:`TrioLoop`, the few methods of an asyncio loop it uses. Every step that
reaches into trio is guarded: a trio whose insides changed is left unwatched (and the
LOOP_NOT_WATCHED verdict says so), never disturbed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from types import FrameType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: The file trio's run loop lives in; its ``run`` (and ``unrolled_run``) frames hold the
#: run's ``Runner`` in a local named ``runner``.
RUN_FILE = os.path.join("trio", "_core", "_run.py")
_RUN_FUNCTIONS = frozenset({"run", "unrolled_run"})


def is_trio_run(frame: FrameType) -> bool:
    """Whether ``frame`` is trio's run loop (the run's thread has it at its base)."""
    code = frame.f_code
    return code.co_name in _RUN_FUNCTIONS and code.co_filename.endswith(RUN_FILE)


def find_trio_run(frame: FrameType) -> TrioLoop | None:
    """The trio run that ``frame``'s thread is running, if any; never raises."""
    f: FrameType | None = frame
    while f is not None:
        if is_trio_run(f):
            return _run_of(f)
        f = f.f_back
    return None


def _run_of(frame: FrameType) -> TrioLoop | None:
    try:
        runner = frame.f_locals.get("runner")
        token = runner.current_trio_token() if runner is not None else None
    except Exception:  # trio's insides changed, or the run is ending: leave it alone
        return None
    return None if token is None else TrioLoop(token)


class TrioLoop:
    """The part of an asyncio loop's interface :class:`LoopWatch` uses, over a trio run.

    ``call_soon_threadsafe`` goes through the run's ``TrioToken``; the first call starts
    the heartbeat task, and ``call_later`` (called by the beat itself, in the run's
    thread) tells that task when to beat next.
    """

    LOOP_CLASS = "trio.run"

    def __init__(self, token: Any) -> None:
        self._token = token
        self._finished = False
        self._task_started = False
        #: The next beat: after how long, and what to call.
        self._next: tuple[float, Callable[..., object], tuple[object, ...]] | None = None

    def is_closed(self) -> bool:
        return self._finished

    def is_running(self) -> bool:
        return not self._finished

    def call_soon_threadsafe(self, callback: Callable[..., object], *args: object) -> None:
        try:
            self._token.run_sync_soon(self._beat_now, callback, args)
        except Exception as exc:  # trio.RunFinishedError: the run has ended
            self._finished = True
            raise RuntimeError("the trio run has finished") from exc

    def call_later(self, delay: float, callback: Callable[..., object], *args: object) -> None:
        self._next = (delay, callback, args)

    def _beat_now(self, callback: Callable[..., object], args: tuple[object, ...]) -> None:
        # In the run's thread, between task steps.
        if not self._task_started:
            try:
                sys.modules["trio"].lowlevel.spawn_system_task(
                    self._heartbeat, name="gilwise heartbeat"
                )
            except Exception:
                self._finished = True
                return
            self._task_started = True
        _call_quietly(callback, args)

    async def _heartbeat(self) -> None:
        sleep = sys.modules["trio"].sleep
        try:
            while self._next is not None:
                delay, callback, args = self._next
                self._next = None
                await sleep(delay)
                _call_quietly(callback, args)
        finally:
            # Cancelled as the run ends (trio cancels its system tasks then), or the watch
            # stopped beating: either way this run takes no more beats.
            self._finished = True


def _call_quietly(callback: Callable[..., object], args: tuple[object, ...]) -> None:
    try:
        callback(*args)
    except Exception:  # an error escaping a system task would crash the program's run
        return
