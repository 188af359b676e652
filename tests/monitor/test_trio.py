"""trio runs found from another thread and driven through the loop interface LoopWatch uses."""

from __future__ import annotations

import sys
import threading
import time
from types import CodeType

import pytest

from gilwise.monitor._trio import RUN_FILE, TrioLoop, find_trio_run

trio = pytest.importorskip("trio")


class _Frame:
    """A frame as find_trio_run reads it: code, locals, the caller."""

    def __init__(self, code: CodeType, f_locals: dict[str, object], back: _Frame | None) -> None:
        self.f_code = code
        self.f_locals = f_locals
        self.f_back = back


def _code(name: str, filename: str) -> CodeType:
    return compile(f"def {name}(): pass", filename, "exec").co_consts[0]  # type: ignore[no-any-return]


class _BrokenRunner:
    def current_trio_token(self) -> object:
        raise AttributeError("this trio keeps its token elsewhere")


@pytest.mark.parametrize(
    ("runner", "found"),
    [(None, False), (_BrokenRunner(), False)],
)
def test_a_run_that_cannot_be_read_is_left_alone(runner: object, found: bool) -> None:
    base = _Frame(_code("run", f"/venv/site-packages/{RUN_FILE}"), {"runner": runner}, None)
    top = _Frame(_code("handler", "/app/main.py"), {}, base)
    assert (find_trio_run(top) is not None) is found  # type: ignore[arg-type]


def test_a_thread_without_a_trio_run_has_none() -> None:
    assert find_trio_run(sys._getframe()) is None


@pytest.mark.timeout(30)
def test_a_run_is_found_from_another_thread_and_beats_until_it_ends() -> None:
    beats: list[float] = []
    found: list[TrioLoop] = []

    def beat(loop: TrioLoop) -> None:
        beats.append(time.monotonic())
        if len(beats) == 3:
            raise ValueError("a failing beat must not crash the program's run")
        loop.call_later(0.01, beat, loop)

    def watch(run_thread: int) -> None:
        deadline = time.monotonic() + 10
        while not found and time.monotonic() < deadline:
            frame = sys._current_frames().get(run_thread)
            loop = find_trio_run(frame) if frame is not None else None
            if loop is not None:
                found.append(loop)
                loop.call_soon_threadsafe(beat, loop)
            time.sleep(0.005)

    async def main() -> str:
        watcher = threading.Thread(target=watch, args=(threading.get_ident(),))
        watcher.start()
        while len(beats) < 3:
            await trio.sleep(0.01)
        await trio.to_thread.run_sync(watcher.join)
        return "done"

    assert trio.run(main) == "done"
    assert len(beats) == 3  # the failing beat ended the chain, nothing else
    (loop,) = found
    assert loop.is_closed()
    with pytest.raises(RuntimeError, match="finished"):
        loop.call_soon_threadsafe(beat, loop)
