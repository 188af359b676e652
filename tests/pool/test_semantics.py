"""Every semantic of a map, on every backend that runs in this process or its children."""

from __future__ import annotations

import inspect
import os
import sys
import time
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck
from hypothesis import strategies as st

import gilwise
from gilwise.pool import ItemTimeout, Pool, RemoteTraceback, pmap
from tests._hypothesis import given, settings

from . import funcs
from .conftest import BACKENDS

if sys.version_info < (3, 11):
    from exceptiongroup import ExceptionGroup

pytestmark = pytest.mark.timeout(30)


def run(
    backend: str, fn: Any, items: Any, pool: Pool | None = None, **options: Any
) -> gilwise.pool.MapIterator[Any]:
    """A map on ``backend``; the process backend reuses the module's pool when given one."""
    if pool is not None and backend == "process":
        return pool.map(fn, items, **options)
    return pmap(fn, items, backend=backend, workers=2, **options)


# A map on any backend runs real threads, processes or an event loop, with real sleeps.
@pytest.fixture(params=[pytest.param(name, marks=pytest.mark.e2e) for name in BACKENDS])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


# -- ordering and completeness ------------------------------------------------------------


@pytest.mark.e2e
@pytest.mark.parametrize("name", BACKENDS)
@settings(max_examples=15, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    flags=st.lists(st.booleans(), max_size=60),
    ordered=st.booleans(),
    on_error=st.sampled_from(["return", "collect"]),
)
def test_every_item_once_in_order_under_random_failures(
    name: str, flags: list[bool], ordered: bool, on_error: str, process_pool: Pool
) -> None:
    items = [(i, fail) for i, fail in enumerate(flags)]
    it = run(name, funcs.maybe_fail, items, process_pool, ordered=ordered, on_error=on_error)
    if on_error == "return":
        got = list(it)
        values = [g if isinstance(g, int) else int(str(g).split()[1]) for g in got]
        assert all(isinstance(g, ValueError) == flags[v] for g, v in zip(got, values, strict=True))
        expected = list(range(len(flags)))
    else:
        got, values = [], []
        try:
            for value in it:
                values.append(value)
        except ExceptionGroup as group:
            failed = sorted(int(str(e).split()[1]) for e in group.exceptions)
            assert failed == [i for i, fail in enumerate(flags) if fail]
        else:
            assert not any(flags)
        expected = [i for i, fail in enumerate(flags) if not fail]
    if ordered:
        assert values == expected
    else:
        assert sorted(values) == expected


def test_results_in_input_order_when_later_items_finish_first(backend: str) -> None:
    items = [(0, 0.3), (1, 0.0), (2, 0.1), (3, 0.0)]
    assert list(pmap(funcs.sleep_then, items, backend=backend, workers=2)) == [0, 1, 2, 3]


def test_unordered_hands_out_fast_items_first(backend: str) -> None:
    if backend == "serial":
        pytest.skip("one item at a time: completion order is input order")
    items = [(0, 1.0), (1, 0.0), (2, 0.0)]
    got = list(pmap(funcs.sleep_then, items, backend=backend, workers=2, ordered=False))
    assert sorted(got) == [0, 1, 2]
    assert got[-1] == 0


def test_empty_input(backend: str) -> None:
    assert list(pmap(funcs.ident, [], backend=backend)) == []


# -- buffersize ---------------------------------------------------------------------------


class Counting:
    """An endless input that counts what the map pulled from it."""

    def __init__(self) -> None:
        self.pulled = 0

    def __iter__(self) -> Iterator[int]:
        while True:
            self.pulled += 1
            yield self.pulled - 1


@pytest.mark.parametrize("buffersize", [1, 3, 8])
def test_endless_input_holds_at_most_buffersize(backend: str, buffersize: int) -> None:
    source = Counting()
    it = pmap(funcs.ident, iter(source), backend=backend, workers=2, buffersize=buffersize)
    with it:
        for consumed, value in enumerate(it, start=1):
            assert value == consumed - 1
            assert source.pulled - consumed <= buffersize
            if consumed == 200:
                break
    stats = it.statistics()
    assert stats.pulled == source.pulled


# -- errors -------------------------------------------------------------------------------


def test_raise_fails_fast_with_the_worker_traceback(backend: str) -> None:
    items = [(0, 0.0), (1, 5.0), (2, 5.0), (3, 0.0)]

    def fn(pair: tuple[int, float]) -> int:
        return funcs.raise_deep(pair[0]) if pair[0] == 0 else funcs.sleep_then(pair)

    remote = backend in ("process", "interpreter")  # the traceback comes over as text
    target: Callable[[Any], int] = funcs.raise_deep if remote else fn
    started = time.monotonic()
    with pytest.raises(KeyError, match="deep 0") as info:
        list(pmap(target, [0] if remote else items, backend=backend, workers=2))
    assert time.monotonic() - started < 4
    if remote:
        assert isinstance(info.value.__cause__, RemoteTraceback)
        assert "_inner_failure" in str(info.value.__cause__)
    else:
        assert any(f.name == "_inner_failure" for f in _frames(info.value))
    assert "gilwise: item 0, attempt 1" in getattr(info.value, "__notes__", [])


def _frames(exc: BaseException) -> list[Any]:
    import traceback

    return list(traceback.extract_tb(exc.__traceback__))


def test_raise_stops_long_running_items_promptly(backend: str) -> None:
    if backend == "serial":
        pytest.skip("serial runs one item at a time")
    # Items 0 and 1 sleep 10 s; item 2 fails at once (a negative sleep raises ValueError).
    data = [(0, 10.0), (1, 10.0), (2, -1.0)]
    started = time.monotonic()
    with pytest.raises(ValueError, match="non-negative"):
        list(pmap(funcs.sleep_then, data, backend=backend, workers=3, chunksize=1))
    assert time.monotonic() - started < 5


def test_return_puts_the_exception_in_place(backend: str) -> None:
    got = list(pmap(funcs.maybe_fail, [(0, False), (1, True)], backend=backend, on_error="return"))
    assert got[0] == 0
    assert isinstance(got[1], ValueError)


# -- retries ------------------------------------------------------------------------------


def test_retries_until_success(backend: str, tmp_path: Path) -> None:
    items = [(str(tmp_path), i, 2) for i in range(6)]
    it = pmap(funcs.flaky, items, backend=backend, workers=2, retries=2, backoff=0.01)
    assert list(it) == list(range(6))
    assert it.statistics().retried == 12
    assert all(os.path.getsize(tmp_path / str(i)) == 3 for i in range(6))


def test_retries_run_out(backend: str, tmp_path: Path) -> None:
    items = [(str(tmp_path), 0, 5)]
    with pytest.raises(ConnectionError) as info:
        list(pmap(funcs.flaky, items, backend=backend, retries=1, backoff=0.01))
    notes: list[str] = getattr(info.value, "__notes__", [])
    assert notes
    assert "attempt 2" in notes[-1]


def test_retry_on_filters_exceptions(backend: str, tmp_path: Path) -> None:
    items = [(str(tmp_path), 0, 1)]
    with pytest.raises(ConnectionError):
        list(pmap(funcs.flaky, items, backend=backend, retries=3, retry_on=KeyError, backoff=0))
    assert os.path.getsize(tmp_path / "0") == 1
    ok = pmap(funcs.flaky, [(str(tmp_path), 1, 1)], backend=backend, retries=3, retry_on=OSError)
    assert list(ok) == [1]


# -- timeouts -----------------------------------------------------------------------------


def test_timeout_reports_the_slow_item_and_keeps_the_rest(backend: str) -> None:
    items = [(0, 0.0), (1, 3.0), (2, 0.0), (3, 0.0)]
    started = time.monotonic()
    fn = funcs.async_sleep_then if backend == "asyncio" else funcs.sleep_then
    got = list(pmap(fn, items, backend=backend, workers=2, timeout=0.5, on_error="return"))
    assert [g for g in got if not isinstance(g, BaseException)] == [0, 2, 3]
    assert isinstance(got[1], ItemTimeout)
    assert isinstance(got[1], TimeoutError)
    assert backend in str(got[1])
    if backend != "serial":
        assert time.monotonic() - started < 2.8


# -- stopping -----------------------------------------------------------------------------


def test_consumer_exception_stops_the_map(backend: str) -> None:
    items = [(i, 0.05) for i in range(1000)]
    it = pmap(funcs.sleep_then, items, backend=backend, workers=2)

    def consume() -> None:
        with it:
            for _ in it:
                raise RuntimeError("consumer fails")

    with pytest.raises(RuntimeError):
        consume()
    stats = it.statistics()
    assert stats.pulled < 1000
    with pytest.raises(StopIteration):
        next(it)


def test_dropping_the_iterator_stops_the_map(backend: str) -> None:
    it = pmap(funcs.sleep_then, ((i, 0.05) for i in range(10_000)), backend=backend, workers=2)
    next(it)
    del it  # the autouse fixture proves no worker process is left


def test_generator_close_from_a_wrapping_generator(backend: str) -> None:
    def wrapped() -> Generator[int, None, None]:
        with pmap(funcs.sleep_then, [(i, 0.02) for i in range(500)], backend=backend) as it:
            yield from it

    gen = wrapped()
    assert next(gen) == 0
    gen.close()


def test_pool_reuses_workers_across_maps(backend: str) -> None:
    if backend == "serial":
        pytest.skip("no workers")
    with Pool(backend, workers=2) as pool:
        first = set(pool.map(funcs.in_worker_pid, range(20)))
        second = set(pool.map(funcs.in_worker_pid, range(20)))
    assert first == second or backend != "process"
    assert list(Pool(backend, workers=2).map(funcs.square, range(4))) == [0, 1, 4, 9]


def test_invalid_options_say_what_to_do() -> None:
    with pytest.raises(gilwise.InvalidOption, match="positive whole number"):
        pmap(funcs.ident, [], workers=0)
    with pytest.raises(gilwise.InvalidOption, match="use 'raise'"):
        pmap(funcs.ident, [], on_error="ignore")  # type: ignore[arg-type]
    with pytest.raises(gilwise.InvalidOption, match="unknown backend"):
        pmap(funcs.ident, [], backend="gpu")


@pytest.mark.e2e
def test_asyncio_backend_runs_coroutines_concurrently() -> None:
    items = [(i, 0.2) for i in range(20)]
    started = time.monotonic()
    results = list(pmap(funcs.async_sleep_then, items, backend="asyncio", workers=20))
    # pmap's annotations give a coroutine function's results as coroutines, though the
    # asyncio backend awaits them.
    assert results == list(range(20))  # type: ignore[comparison-overlap]
    assert time.monotonic() - started < 3
    assert inspect.iscoroutinefunction(funcs.async_sleep_then)
