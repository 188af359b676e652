"""``backend="auto"`` and the progress bar."""

from __future__ import annotations

import io
import logging
import time

import pytest
from rich.console import Console

from gilwise.pool import Pool, _progress, pmap

from . import funcs

pytestmark = pytest.mark.timeout(30)


def _waits(x: int) -> int:
    time.sleep(0.002)
    return x


@pytest.mark.e2e
def test_auto_picks_threads_for_waiting_and_says_why(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gilwise"):
        it = pmap(_waits, range(200))
        assert it.backend == "thread"
        assert "wait" in it.reason
        assert list(it) == list(range(200))
    assert any("backend=thread" in r.getMessage() for r in caplog.records)


@pytest.mark.e2e
def test_auto_keeps_tiny_calls_serial() -> None:
    it = pmap(funcs.square, range(5000))
    assert list(it) == [x * x for x in range(5000)]
    # Serial normally; a loaded machine can make the calls look like waiting (threads).
    # Never processes: shipping would cost about what the call does.
    assert it.backend in ("serial", "thread")
    assert it.reason


def test_auto_short_input_ends_during_calibration() -> None:
    it = pmap(funcs.square, range(3))
    assert list(it) == [0, 1, 4]
    assert "calibration" in it.reason


def test_auto_applies_on_error_during_calibration() -> None:
    got = list(pmap(funcs.maybe_fail, [(0, False), (1, True)], on_error="return"))
    assert isinstance(got[1], ValueError)


@pytest.mark.e2e
def test_auto_pool_chooses_on_its_first_map_and_keeps_the_choice() -> None:
    with Pool("auto") as pool:
        assert pool.backend == "auto"
        first = pool.map(_waits, range(200))
        assert list(first) == list(range(200))
        assert pool.backend == first.backend == "thread"
        workers = pool.workers
        assert workers > 0
        # Later maps skip the calibration: no serial phase, the same workers.
        second = pool.map(funcs.square, range(50))
        assert list(second) == [x * x for x in range(50)]
        assert second.backend == "thread"
        assert second.reason == "backend='thread' was asked for"
        assert pool.workers == workers


@pytest.mark.e2e
def test_auto_pool_is_not_decided_by_a_map_that_ended_during_calibration() -> None:
    with Pool("auto") as pool:
        short = pool.map(funcs.square, range(3))
        assert list(short) == [0, 1, 4]
        assert "calibration" in short.reason
        assert pool.backend == "auto"
        assert list(pool.map(_waits, range(200))) == list(range(200))
        assert pool.backend == "thread"


@pytest.mark.e2e
@pytest.mark.parametrize("backend", ["thread", "process"])
@pytest.mark.parametrize("ordered", [True, False])
def test_progress_counts_every_item_once(
    backend: str, ordered: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    out = io.StringIO()
    monkeypatch.setattr(_progress, "make_console", lambda: Console(file=out, width=100))
    items = [(i, i % 2 == 0) for i in range(300)]
    it = pmap(
        funcs.maybe_fail,
        items,
        backend=backend,
        workers=2,
        ordered=ordered,
        on_error="return",
        progress="always",
    )
    list(it)
    assert it.progress is not None
    assert it.progress.completed == 300
    assert it.progress.failed == 150
    assert it.progress.total == 300
    assert "300/300" in out.getvalue()


def test_progress_true_is_quiet_off_a_terminal(monkeypatch: pytest.MonkeyPatch) -> None:
    it = pmap(funcs.square, range(10), backend="thread", progress=True)
    assert list(it) == [x * x for x in range(10)]
    assert it.progress is None
