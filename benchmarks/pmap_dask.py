"""gilwise's dask backend against ``Client.map`` on the same LocalCluster, in one run.

A cluster of 2 single-threaded worker processes on 127.0.0.1; the same maps through
``gilwise.pmap(fn, items, backend=client)`` and ``client.gather(client.map(fn, items))``
(``pure=False``: every item runs). Tiny tasks show the per-task cost each pays (gilwise
sends chunks; ``Client.map`` one task per item); 10 ms tasks show the steady state.
Prints the best of three and gilwise's time as a ratio of ``Client.map``'s.

    python benchmarks/pmap_dask.py          (needs pip install 'gilwise[dask]')
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from typing import Any

import gilwise


def noop(x: int) -> int:
    return x


def ten_ms(x: int) -> int:
    end = time.perf_counter() + 0.010
    while time.perf_counter() < end:
        pass
    return x


def with_gilwise(client: Any, fn: Callable[[int], int], items: list[int]) -> list[int]:
    return list(gilwise.pmap(fn, items, backend=client))


def with_client_map(client: Any, fn: Callable[[int], int], items: list[int]) -> list[int]:
    return list(client.gather(client.map(fn, items, pure=False)))


def best_of(runs: int, work: Callable[[], Any]) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        work()
        times.append(time.perf_counter() - started)
    return min(times)


def main() -> None:
    from distributed import Client, LocalCluster

    cases = [("no-op", noop, 1_000), ("no-op", noop, 10_000), ("10 ms of CPU", ten_ms, 200)]
    with (
        LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            processes=True,
        ) as cluster,
        Client(cluster) as client,
    ):
        print("# gilwise dask backend vs Client.map: LocalCluster, 2 workers x 1 thread, best of 3")
        print(f"{'tasks':28} {'gilwise':>9} {'Client.map':>11} {'ratio':>7}")
        for label, fn, n in cases:
            items = list(range(n))
            ours = best_of(3, functools.partial(with_gilwise, client, fn, items))
            theirs = best_of(3, functools.partial(with_client_map, client, fn, items))
            print(f"{f'{n:,} x {label}':28} {ours:8.3f}s {theirs:10.3f}s {ours / theirs:7.2f}")


if __name__ == "__main__":
    main()
