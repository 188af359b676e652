"""Lesson 4: one blocking call stalls every task on an event loop; to_thread fixes it."""

from __future__ import annotations

import asyncio
import os
import time

from ... import _watch
from ...monitor import Report
from .._lesson import Context, Finding, Row

TITLE = "One blocking call stalls the event loop; asyncio.to_thread fixes it"
CLAIM = (
    "An event loop runs one callback at a time: a blocking call inside a coroutine "
    "freezes every other task until it returns. Handing it to a thread keeps the loop free."
)
BLOCK_S = 0.2


async def handle_blocking() -> None:
    time.sleep(BLOCK_S)  # noqa: GW101  (on purpose: the blocking call this lesson measures)


async def handle_fixed() -> None:
    await asyncio.to_thread(time.sleep, BLOCK_S)  # the same call, in a worker thread


async def _busy_service(handler: object, requests: int) -> None:
    """Twenty tasks ticking every 5 ms, and ``requests`` calls to the handler."""
    stop = asyncio.Event()

    async def ticker() -> None:
        while not stop.is_set():
            await asyncio.sleep(0.005)

    tickers = [asyncio.create_task(ticker()) for _ in range(20)]
    for _ in range(requests):
        await handler()  # type: ignore[operator]
        await asyncio.sleep(0.05)
    stop.set()
    await asyncio.gather(*tickers)


async def _watched(handler: object, requests: int) -> Report:
    # Started inside the coroutine, the monitor watches this loop at once.
    with _watch.watch(interval=0.005, stall_ms=50) as w:
        await _busy_service(handler, requests)
    return w.report


def run(ctx: Context) -> Finding:
    requests = 2 if ctx.quick else 5
    blocked = asyncio.run(_watched(handle_blocking, requests))
    fixed = asyncio.run(_watched(handle_fixed, requests))
    rows = (_lag_row("time.sleep in a coroutine", blocked), _lag_row("asyncio.to_thread", fixed))
    worst_blocked, worst_fixed = _max_lag(blocked), _max_lag(fixed)
    culprit = _culprit(blocked)
    measured = (
        f"Blocking: the loop's worst lag was {worst_blocked:.0f} ms "
        f"({_stalls(blocked)} stalls{culprit}); with to_thread: {worst_fixed:.1f} ms, "
        f"{_stalls(fixed)} stalls."
    )
    held = worst_blocked >= 0.75 * BLOCK_S * 1e3 and worst_fixed < 50
    return Finding(rows, measured, _MEANING, _CHECK, held=held)


def _max_lag(report: Report) -> float:
    return max((loop.lag.max_ms for loop in report.loops), default=0.0)


def _stalls(report: Report) -> int:
    return sum(loop.stalls_total for loop in report.loops)


def _lag_row(label: str, report: Report) -> Row:
    p99 = max((loop.lag.p99_ms for loop in report.loops), default=0.0)
    return Row(
        label, _max_lag(report), "ms worst lag", f"p99 {p99:.1f} ms · {_stalls(report)} stalls"
    )


def _culprit(report: Report) -> str:
    for loop in report.loops:
        for stall in loop.stalls:
            if stall.culprit is not None:
                return f", culprit {os.path.basename(stall.culprit.file)}:{stall.culprit.line}"
    return ""


_MEANING = (
    "Any blocking call in async code (requests, time.sleep, file reads, CPU-heavy parsing) "
    "delays every other request by its full length. `gilwise run` finds them and names "
    "the blocking line."
)
_CHECK = "gilwise run your_service.py"
