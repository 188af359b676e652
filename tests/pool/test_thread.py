"""The thread backend's own rules, on its state rather than on real timing."""

from __future__ import annotations

import threading

import pytest

from gilwise.pool._thread import ThreadBackend
from gilwise.pool._types import Run, RunSettings

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize(
    ("timeout", "started", "expect"),
    [
        (0.5, False, 0.05),  # queued items may start any moment: look again soon
        (None, False, None),  # no timeout: nothing to watch for
        (10.0, True, 0.05),  # one runs (deadline in ~10 s), one still waits to start
    ],
)
def test_items_waiting_to_start_are_looked_at_again_soon(
    timeout: float | None, started: bool, expect: float | None
) -> None:
    """Seen on a loaded machine: the slow item's thread ran only after the parent had
    begun waiting without a deadline, so its timeout was never noticed."""
    release = threading.Event()
    running = threading.Event()

    def fn(item: int) -> int:
        running.set()
        release.wait(10)
        return item

    backend = ThreadBackend(1)
    try:
        backend.begin(RunSettings(fn, timeout, None, None))
        if not started:
            backend._in_flight = 2  # two items handed over, neither picked up yet
        else:
            backend.submit([Run(0, [1, 2])])
            assert running.wait(10)
        wait = backend._next_deadline_in()
        assert wait == (None if expect is None else pytest.approx(expect, abs=1e-9))
    finally:
        release.set()
        backend.end(abandon=True)
        backend.close()


def _pool_threads() -> set[int | None]:
    return {t.ident for t in threading.enumerate() if t.name == "gilwise-thread"}


def test_a_map_of_few_items_starts_no_more_threads_than_items() -> None:
    # pmap of 3 items with 16 workers started 16 threads (16 processes on the process
    # backend), 13 of which never got an item. (Threads other tests abandoned to a
    # timeout may still run: only this map's count.)
    from gilwise import pmap

    before = _pool_threads()
    started = pmap(lambda _: len(_pool_threads() - before), range(3), backend="thread", workers=16)
    assert max(started) <= 3


@pytest.mark.parametrize(("workers", "items", "count"), [(16, 3, 3), (16, None, 16), (4, 0, 1)])
def test_the_worker_count_is_capped_by_a_known_length(
    workers: int, items: int | None, count: int
) -> None:
    from gilwise.pool._registry import BackendOptions

    assert BackendOptions("thread", workers, None, None, items=items).worker_count() == count
