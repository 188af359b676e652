"""The calibration probe's judgements, shared by the advisor's profile and by
``pmap(backend="auto")``: the same measurements lead both to the same answer.

Does a call that computes let other threads run (:func:`gil_evidence`), what does a
process pay to ship an item and its result (:func:`pickle_costs`), and a warm CPU
before anything is timed (:func:`settle_cpu`).
"""

from __future__ import annotations

import pickle
import time
from typing import Any


def gil_evidence(
    cpu_fraction: float, parallel_cores: float, speedup: float, threads: int, cores: float
) -> tuple[bool | None, float | None]:
    """Whether calls overlap in threads, and the share of a call's CPU time spent holding the GIL.

    A function holding the GIL for a share ``h`` of its CPU time can keep at most
    ``1/h`` cores busy, however many threads run it; so when the threads used fewer
    cores than they could, ``h`` is about ``1 / cores used``.
    """
    ceiling = min(threads, cores) * cpu_fraction
    if cpu_fraction < 0.3:
        # Mostly waiting: what matters is whether the waits overlap.
        return speedup >= 1.3, None
    if ceiling < 1.5:
        return None, None  # one core: parallel CPU use cannot show here
    if parallel_cores >= 0.85 * ceiling:
        return True, None
    held = min(1.0, 1.0 / max(parallel_cores, 1e-9))
    return parallel_cores >= 1.3, held


def pickle_costs(item: Any, result: Any) -> tuple[int | None, int | None, float | None, str | None]:
    """Pickled sizes of an item and a result, the seconds a round trip of both takes, and
    why they cannot be pickled, if they cannot."""
    try:
        started = time.perf_counter()
        item_bytes = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        result_bytes = pickle.dumps(result, protocol=pickle.HIGHEST_PROTOCOL)
        pickle.loads(item_bytes)
        pickle.loads(result_bytes)
        elapsed = time.perf_counter() - started
    except Exception as exc:
        return None, None, None, f"an item or its result cannot be pickled ({exc})"
    return len(item_bytes), len(result_bytes), elapsed, None


def settle_cpu(seconds: float) -> None:
    """Keep one core busy for a moment before measuring anything.

    Many machines (laptops, cloud VMs) run a core slowly for a second or more after
    it was idle; without this the first configuration measured, the serial baseline,
    looks slower than it is. Seen on the 2-core CI VM: twice as slow for 1.4 s.
    """
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        sum(range(1000))
