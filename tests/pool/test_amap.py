"""``amap``: the same map for ``async for``."""

from __future__ import annotations

import asyncio
import sys
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

from gilwise.pool import ItemTimeout, amap

from . import funcs

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

pytestmark = pytest.mark.timeout(30)


@pytest.mark.e2e
def test_coroutines_run_on_the_callers_loop_in_order() -> None:
    async def main() -> list[int]:
        items = [(i, 0.01 * (5 - i % 5)) for i in range(40)]
        async with amap(funcs.async_sleep_then, items, workers=10) as it:
            assert it.backend == "asyncio"
            return [x async for x in it]

    assert asyncio.run(main()) == list(range(40))


def test_async_iterable_input_and_buffersize() -> None:
    pulled = 0

    async def source() -> AsyncIterator[tuple[int, float]]:
        nonlocal pulled
        for i in range(100):
            pulled += 1
            yield (i, 0.0)

    async def main() -> None:
        consumed = 0
        async for value in amap(funcs.async_sleep_then, source(), buffersize=4):
            assert value == consumed
            consumed += 1
            assert pulled - consumed <= 4
        assert consumed == 100

    asyncio.run(main())


@pytest.mark.e2e
def test_timeout_cancels_the_task() -> None:
    async def main() -> list[object]:
        items = [(0, 0.0), (1, 10.0), (2, 0.0)]
        it = amap(funcs.async_sleep_then, items, timeout=0.3, on_error="return")
        return [x async for x in it]

    started = time.monotonic()
    got = asyncio.run(main())
    assert time.monotonic() - started < 5
    assert got[0] == 0
    assert got[2] == 2
    assert isinstance(got[1], ItemTimeout)
    assert "cancelled" in str(got[1])


def test_collect_on_the_loop_raises_a_group_at_the_end() -> None:
    async def main() -> list[int]:
        got: list[int] = []
        items = [(i, i == 2) for i in range(5)]

        async def consume() -> None:
            async for x in amap(funcs.maybe_fail, items, backend="asyncio", on_error="collect"):
                got.append(x)

        with pytest.raises(ExceptionGroup) as info:
            await consume()
        assert [str(e) for e in info.value.exceptions] == ["item 2 fails"]
        return got

    assert asyncio.run(main()) == [0, 1, 3, 4]


@pytest.mark.e2e
@pytest.mark.parametrize("backend", ["thread", "process"])
def test_blocking_backends_from_a_loop(backend: str) -> None:
    async def main() -> list[int]:
        ticks = 0

        async def ticker() -> None:
            nonlocal ticks
            while True:
                await asyncio.sleep(0.01)
                ticks += 1

        task = asyncio.ensure_future(ticker())
        it = amap(funcs.sleep_then, [(i, 0.05) for i in range(10)], backend=backend, workers=2)
        got = [x async for x in it]
        task.cancel()
        assert ticks > 5  # the loop kept running while the map waited
        return got

    assert asyncio.run(main()) == list(range(10))


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("fn", "seconds"),
    # A blocking function's thread cannot be stopped: it runs its call to the end (and
    # asyncio.run waits for it), so its sleeps are short.
    [(funcs.async_sleep_then, 10.0), (funcs.sleep_then, 0.3)],
)
def test_breaking_out_cancels_the_calls_in_flight(
    fn: Callable[[tuple[int, float]], Any], seconds: float
) -> None:
    # The first item is done at once, three others are in flight when the caller breaks
    # out: their tasks must end with the map, not go on in the background (they did: a
    # test breaking out after the first of four 50 ms sleeps failed on a busy machine).
    async def main() -> None:
        items = [(0, 0.0)] + [(i, seconds) for i in range(1, 1000)]
        it = amap(fn, items, workers=4)
        async with it:
            async for _ in it:
                break
        assert not [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]

    asyncio.run(main())
