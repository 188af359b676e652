"""Which asyncio task a stalled loop is running, and which tasks wait for it.

The loop thread's stack names the blocking line; the task says which piece of the
program that line belongs to, and the tasks awaiting it say who suffers first. Read
from the sampler thread while the loop thread is stuck in the task's step:
``asyncio.current_task(loop)`` accepts a loop running in another thread on every
supported version, and CPython 3.14's call-graph introspection
(``asyncio.capture_call_graph``, the data behind ``python -m asyncio pstree``) gives
the chain of awaiting tasks. Before 3.14 the chain is the stalled task alone.
"""

from __future__ import annotations

import os
import sys
from types import FrameType

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

#: Tasks kept per chain, the stalled one first; a deeper chain is cut at the outer end.
MAX_CHAIN = 8

#: One task: its name, and where its coroutine runs or awaits (file, line, function).
TaskLinkData = tuple[str, "tuple[str, int, str] | None"]


def task_chain(loop: Any) -> tuple[TaskLinkData, ...]:
    """The task ``loop`` is running and the tasks awaiting it, innermost first; never raises.

    Empty when no task runs (a plain callback stalls the loop) or asyncio's state
    could not be read consistently from this thread.
    """
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return ()
    try:
        task = asyncio.current_task(loop)
        if task is None:
            return ()
        capture = getattr(asyncio, "capture_call_graph", None)
        if capture is None:
            return (_link(task, _coroutine_frame(task)),)
        return _chain(capture(task))
    except Exception:  # the loop thread changed the graph under us: no chain this time
        return ()


def _chain(graph: Any) -> tuple[TaskLinkData, ...]:
    links: list[TaskLinkData] = []
    while graph is not None and len(links) < MAX_CHAIN:
        frames = [entry.frame for entry in graph.call_stack]
        links.append(_link(graph.future, _program_frame(frames)))
        # Several tasks may await one (gather, shields): follow the first.
        graph = graph.awaited_by[0] if graph.awaited_by else None
    return tuple(links)


def _link(task: Any, frame: FrameType | None) -> TaskLinkData:
    get_name = getattr(task, "get_name", None)
    name = str(get_name()) if get_name is not None else type(task).__name__
    if frame is None:
        return (name, None)
    code = frame.f_code
    line = frame.f_lineno or code.co_firstlineno
    return (name, (code.co_filename, line, getattr(code, "co_qualname", code.co_name)))


def _coroutine_frame(task: Any) -> FrameType | None:
    get_coro = getattr(task, "get_coro", None)
    coro = get_coro() if get_coro is not None else None
    frame = getattr(coro, "cr_frame", None)
    return frame if isinstance(frame, FrameType) else None


def _program_frame(frames: list[FrameType]) -> FrameType | None:
    """The innermost frame outside asyncio itself (a TaskGroup's ``__aexit__`` says little)."""
    asyncio_dir = os.path.dirname(getattr(sys.modules.get("asyncio"), "__file__", "") or "")
    for frame in frames:
        if not asyncio_dir or not frame.f_code.co_filename.startswith(asyncio_dir + os.sep):
            return frame
    return frames[0] if frames else None
