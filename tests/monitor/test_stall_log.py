"""Stalls logged through `logging`: the message, the rate limit (on a fake clock), end to end."""

from __future__ import annotations

import asyncio
import logging
import time

import pytest

import gilwise
from gilwise.monitor._report import Frame, Stall
from gilwise.monitor._stall_log import LOGGER_NAME, StallLog, stall_message

from .fakes import FakeClock

HERE = Frame(__file__, 1, "module")


def _stall(ms: float = 250.0) -> Stall:
    outer = Frame("/app/server.py", 10, "main")
    culprit = Frame("/app/server.py", 42, "handle")
    return Stall(
        duration_ms=ms,
        started_at_s=1.0,
        samples=12,
        stack=(outer, culprit),
        culprit=culprit,
        coroutine=culprit,
    )


@pytest.fixture
def logs(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.WARNING, logger=LOGGER_NAME)
    return caplog


def test_message_has_duration_culprit_and_stack_like_a_traceback() -> None:
    text = stall_message(_stall(), "MainThread")
    head, *rest = text.splitlines()
    assert head == (
        "event loop in thread 'MainThread' stalled for 250 ms; "
        "blocking call at /app/server.py:42 in handle"
    )
    assert rest == [
        "Stack (most recent call last):",
        '  File "/app/server.py", line 10, in main',
        '  File "/app/server.py", line 42, in handle',
    ]


def test_message_without_a_stack_says_why() -> None:
    bare = Stall(duration_ms=120, started_at_s=0, samples=0, stack=(), culprit=None, coroutine=None)
    assert "no stack" in stall_message(bare, "worker")


def test_record_carries_structured_fields(logs: pytest.LogCaptureFixture) -> None:
    StallLog(per_minute=6, clock=FakeClock()).offer(_stall(), "MainThread", "asyncio.Loop")
    (record,) = logs.records
    assert record.name == "gilwise"
    assert record.levelno == logging.WARNING
    assert record.gilwise_stall_ms == 250.0  # type: ignore[attr-defined]
    assert record.gilwise_culprit == "/app/server.py:42 in handle"  # type: ignore[attr-defined]


def test_rate_limit_allows_a_burst_then_one_per_period(
    logs: pytest.LogCaptureFixture,
) -> None:
    clock = FakeClock()
    log = StallLog(per_minute=6, clock=clock)  # a burst of 6, then one every 10 s
    logged = [log.offer(_stall(), "t", "loop") for _ in range(10)]
    assert logged == [True] * 6 + [False] * 4
    clock.advance(9.9)
    assert not log.offer(_stall(), "t", "loop")
    clock.advance(0.2)
    assert log.offer(_stall(), "t", "loop")
    assert "[5 earlier stalls not logged: rate limit]" in logs.records[-1].getMessage()
    assert log.statistics().logged == 7
    assert log.statistics().suppressed == 5


def test_tokens_refill_up_to_the_burst_only(logs: pytest.LogCaptureFixture) -> None:
    clock = FakeClock()
    log = StallLog(per_minute=2, clock=clock)
    clock.advance(3600)  # an hour of quiet does not bank an hour of records
    assert [log.offer(_stall(), "t", "loop") for _ in range(3)] == [True, True, False]


def test_flush_reports_what_was_left_out(logs: pytest.LogCaptureFixture) -> None:
    log = StallLog(per_minute=1, clock=FakeClock())
    log.offer(_stall(), "t", "loop")
    log.offer(_stall(), "t", "loop")
    log.missed(3)
    log.flush()
    assert "4 more event-loop stalls were not logged" in logs.records[-1].getMessage()
    log.flush()
    assert len(logs.records) == 2


def test_a_silenced_logger_costs_no_tokens(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.ERROR, logger=LOGGER_NAME)
    log = StallLog(per_minute=1, clock=FakeClock())
    assert not log.offer(_stall(), "t", "loop")
    caplog.set_level(logging.WARNING, logger=LOGGER_NAME)
    assert log.offer(_stall(), "t", "loop")


async def _blocks_once() -> None:
    await asyncio.sleep(0.05)
    time.sleep(0.4)  # the blocking line
    await asyncio.sleep(0.05)


@pytest.mark.e2e
@pytest.mark.timeout(30)
def test_watch_logs_a_real_stall_with_its_line(logs: pytest.LogCaptureFixture) -> None:
    with gilwise.watch(stall_ms=100):
        asyncio.run(_blocks_once())
    line = f"{__file__}:{_blocks_once.__code__.co_firstlineno + 2} in _blocks_once"
    # Only the stalls at that line: on a loaded machine (CI under xdist) the loop can also
    # stall for want of a CPU, elsewhere, and that is logged too.
    stalls = [r.getMessage() for r in logs.records if line in r.getMessage()]
    assert len(stalls) == 1, [r.getMessage() for r in logs.records]
    assert "stalled for" in stalls[0]
    assert "time.sleep(0.4)  # the blocking line" in stalls[0]


@pytest.mark.e2e
@pytest.mark.timeout(30)
def test_logging_can_be_turned_off(logs: pytest.LogCaptureFixture) -> None:
    with gilwise.watch(stall_ms=100, stall_logs_per_minute=0):
        asyncio.run(_blocks_once())
    assert logs.records == []


def test_rate_must_be_sensible() -> None:
    with pytest.raises(gilwise.InvalidOption, match="try 6"):
        gilwise.MonitorConfig(stall_logs_per_minute=-1)
