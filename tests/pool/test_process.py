"""The process backend's own guarantees: worker deaths, poison items, start methods, cloudpickle."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import random
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from gilwise.pool import PoisonItem, Pool, pmap

from . import funcs
from .conftest import child_pids

# Every test here starts real worker processes.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(45)]


@pytest.mark.parametrize("seed", [1, 2])
def test_random_worker_deaths_lose_and_duplicate_nothing(tmp_path: Path, seed: int) -> None:
    rng = random.Random(seed)
    # Each chosen item kills its worker once or twice (os._exit or SIGKILL), at random.
    deaths = {i: rng.choice([1, 2]) for i in rng.sample(range(200), 12)}
    items = [(str(tmp_path), i, deaths.get(i, 0)) for i in range(200)]
    it = pmap(funcs.die_sometimes, items, backend="process", workers=2, chunksize=8)
    assert list(it) == list(range(200))
    assert it.statistics().worker_deaths == sum(deaths.values())


def test_unordered_survives_deaths_too(tmp_path: Path) -> None:
    items = [(str(tmp_path), i, 1 if i % 25 == 3 else 0) for i in range(100)]
    got = list(pmap(funcs.die_sometimes, items, backend="process", workers=2, ordered=False))
    assert sorted(got) == list(range(100))


def test_an_item_that_kills_three_workers_is_poison() -> None:
    got = list(pmap(funcs.always_die, range(8), backend="process", workers=2, on_error="return"))
    assert [g for g in got if not isinstance(g, BaseException)] == [0, 1, 2, 4, 5, 6, 7]
    assert isinstance(got[3], PoisonItem)
    assert got[3].index == 3
    assert "exit code 7" in str(got[3])


def test_poison_is_not_retried() -> None:
    with pytest.raises(PoisonItem, match="item 3 killed 3 worker"):
        list(pmap(funcs.always_die, range(5), backend="process", workers=2, retries=5))


def test_lambdas_and_closures_go_through_cloudpickle() -> None:
    offset = 10
    assert list(pmap(lambda x: x + offset, range(3), backend="process", workers=2)) == [
        10,
        11,
        12,
    ]


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_start_method_is_respected(method: str) -> None:
    with Pool("process", workers=1, start_method=method) as pool:
        assert list(pool.map(funcs.square, range(5))) == [0, 1, 4, 9, 16]


def test_adaptive_chunks_grow_for_tiny_items() -> None:
    it = pmap(funcs.ident, range(20_000), backend="process", workers=2)
    assert list(it) == list(range(20_000))
    assert it.statistics().chunksize > 100


def test_blas_threads_are_limited_in_workers() -> None:
    env = list(pmap(_env_threads, [0], backend="process", workers=1))
    assert env == ["1"]
    env = list(pmap(_env_threads, [0], backend="process", workers=1, blas_threads=None))
    assert env != ["1"] or os.environ.get("OMP_NUM_THREADS") == "1"


def _env_threads(_: int) -> str | None:
    return os.environ.get("OMP_NUM_THREADS")


_NUMPY_PARENT = """
import sys
import time
import numpy  # OpenBLAS loads with its threads before any worker starts
import threadpoolctl
from gilwise.pool import pmap

def blas_threads(_):
    time.sleep(0.25)  # a worker limits the pools it inherited after 0.2 s of work
    return max(p["num_threads"] for p in threadpoolctl.threadpool_info())

if __name__ == "__main__":
    limit = None if sys.argv[1] == "None" else int(sys.argv[1])
    it = pmap(blas_threads, range(6), backend="process", workers=2, blas_threads=limit,
              start_method=sys.argv[2], chunksize=1)
    print(list(it))
"""


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_native_pools_loaded_before_the_workers_start_are_limited(
    method: str, tmp_path: Path
) -> None:
    """numpy imported in the parent: a forked worker inherits OpenBLAS already loaded, and a
    spawned one loads it again with ``__main__``; both run with ``blas_threads`` threads
    from their second item on (each worker's first item is its first 0.25 s of work)."""
    pytest.importorskip("numpy")
    script = tmp_path / "numpy_parent.py"
    script.write_text(_NUMPY_PARENT)

    def run(limit: str) -> list[int]:
        done = subprocess.run(
            [sys.executable, str(script), limit, method],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "OPENBLAS_NUM_THREADS": "2", "OMP_NUM_THREADS": "2"},
        )
        assert done.returncode == 0, done.stderr
        return [int(n) for n in done.stdout.strip("[]\n").split(",")]

    limited = run("1")
    assert limited.count(2) <= 2  # at most one first item per worker
    assert limited[-1] == 1
    assert set(run("None")) == {2}


def test_close_kills_workers_busy_on_long_items() -> None:
    before = child_pids()
    it = pmap(funcs.sleep_then, [(i, 30.0) for i in range(4)], backend="process", workers=2)
    with pytest.raises(TimeoutError):
        _next_with_alarm(it, 0.5)
    started = time.monotonic()
    it.close()
    assert time.monotonic() - started < 3
    assert not multiprocessing.active_children()
    assert not (child_pids() - before)


def _next_with_alarm(it: object, seconds: float) -> None:
    def on_alarm(signum: int, frame: object) -> None:
        raise TimeoutError

    previous = signal.signal(signal.SIGALRM, on_alarm)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        next(it)  # type: ignore[call-overload]
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


_CTRL_C_SCRIPT = textwrap.dedent(
    """
    import os, signal, sys, time
    from gilwise.pool import pmap

    # As run from a terminal. A test suite started in the background of a shell
    # (`pytest &`) ignores SIGINT, and a program inherits that: Ctrl-C would do nothing.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def slow(x):
        time.sleep(60)
        return x

    if __name__ == "__main__":
        it = pmap(slow, range(10), backend="process", workers=2)
        print("started", flush=True)
        try:
            next(it)
        except KeyboardInterrupt:
            print("interrupted", flush=True)
            raise
    """
)


@pytest.mark.timeout(30)
def test_ctrl_c_stops_the_map_and_leaves_no_workers(tmp_path: Path) -> None:
    script = tmp_path / "ctrl_c.py"
    script.write_text(_CTRL_C_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        time.sleep(0.5)
        workers = _children_of(proc.pid)
        assert len(workers) >= 2
        started = time.monotonic()
        os.killpg(proc.pid, signal.SIGINT)  # as a terminal's Ctrl-C: the whole process group
        out, err = proc.communicate(timeout=15)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)  # only left to kill when the test failed
        proc.wait()
    assert time.monotonic() - started < 10
    assert "interrupted" in out
    assert "KeyboardInterrupt" in err
    deadline = time.monotonic() + 5
    while any(Path(f"/proc/{pid}").exists() for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if Path(f"/proc/{pid}").exists()]


_KILLED_PARENT_SCRIPT = textwrap.dedent(
    """
    import time
    from gilwise.pool import pmap

    def short(x):
        time.sleep(0.2)
        return x

    if __name__ == "__main__":
        for k, _ in enumerate(pmap(short, range(10_000), backend="process", workers=2)):
            if k == 0:
                print("running", flush=True)
    """
)


@pytest.mark.timeout(30)
def test_workers_exit_when_the_parent_is_killed_outright(tmp_path: Path) -> None:
    """SIGKILL gives the parent no chance to stop its workers: they must notice alone."""
    script = tmp_path / "killed_parent.py"
    script.write_text(_KILLED_PARENT_SCRIPT)
    with subprocess.Popen(
        [sys.executable, str(script)], stdout=subprocess.PIPE, text=True, start_new_session=True
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "running"
        workers = _children_of(proc.pid)
        assert len(workers) >= 2
        proc.kill()
    deadline = time.monotonic() + 10
    while [pid for pid in workers if _alive(pid)] and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if _alive(pid)]


def _alive(pid: int) -> bool:
    """Running or sleeping; a zombie has exited (whoever adopted it may not reap it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[1] == str(pid):
                found.append(int(entry.name))
    return found
