from __future__ import annotations

from pathlib import Path

import pytest

from gilwise.advise._backends import HAS_INTERPRETER_POOL, Job, call_each, trial
from gilwise.advise._target import load_callable
from tests.advise import workloads

IN_PROCESS = ["serial", "thread", "asyncio"]


@pytest.fixture(autouse=True)
def _no_calls_recorded() -> None:
    workloads.CALLS.clear()


@pytest.mark.timeout(60)
@pytest.mark.parametrize("backend", IN_PROCESS)
def test_every_item_is_called_once_after_one_warm_up_call_per_worker(backend: str) -> None:
    workers = 1 if backend == "serial" else 3
    result = trial(Job(workloads.record, False), backend, workers, list(range(20)))
    assert sorted(workloads.CALLS) == sorted([*range(workers), *range(20)])
    assert result.items == 20
    assert result.items_per_s == pytest.approx(20 / result.wall_s)
    assert result.startup_s >= 0
    assert result.shutdown_s >= 0


@pytest.mark.e2e
@pytest.mark.timeout(60)
@pytest.mark.parametrize("start_method", ["fork", "spawn"])
def test_process_pools_run_functions_from_files_under_any_start_method(
    tmp_path: object, start_method: str
) -> None:
    from pathlib import Path

    from gilwise.advise._target import load_callable

    source = Path(str(tmp_path)) / "standalone.py"
    source.write_text("def cube(x):\n    return x ** 3\n")
    ref = f"{source}:cube"
    job = Job(load_callable(ref), False, ref=ref)
    result = trial(job, "process", 2, list(range(40)), chunksize=4, start_method=start_method)
    assert (result.items, result.chunksize, result.workers) == (40, 4, 2)


@pytest.mark.timeout(60)
def test_coroutines_run_on_the_loop_with_bounded_concurrency() -> None:
    result = trial(Job(workloads.anap, True), "asyncio", 50, list(range(200)))
    # 200 sleeps of 1 ms, 50 at a time, take about 4 ms: far below 200 ms serially.
    assert result.wall_s < 0.15
    serial = trial(Job(workloads.anap, True), "serial", 1, list(range(20)))
    assert serial.items == 20


@pytest.mark.skipif(not HAS_INTERPRETER_POOL, reason="needs CPython 3.14's InterpreterPoolExecutor")
@pytest.mark.timeout(60)
def test_interpreter_pool() -> None:
    result = trial(Job(workloads.square, False), "interpreter", 2, list(range(20)))
    assert result.items == 20


def test_a_chunk_is_one_call_that_maps_every_item() -> None:
    assert call_each(workloads.square, [1, 2, 3]) == [1, 4, 9]


@pytest.mark.skipif(not HAS_INTERPRETER_POOL, reason="needs CPython 3.14's InterpreterPoolExecutor")
@pytest.mark.timeout(60)
def test_interpreter_trial_chunks_and_loads_a_script_function(tmp_path: Path) -> None:
    """A sub-interpreter cannot see a script's module until it loads it by reference;
    and the pool's own map would send every item alone, whatever the chunk size."""
    script = tmp_path / "work.py"
    script.write_text("def double(x):\n    return 2 * x\n")
    ref = f"{script}:double"
    result = trial(
        Job(load_callable(ref), False, ref), "interpreter", 2, list(range(50)), chunksize=8
    )
    assert (result.items, result.chunksize) == (50, 8)
    assert result.items_per_s > 0
