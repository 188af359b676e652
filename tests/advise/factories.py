"""Hand-built profiles and measurements for tests that must not depend on timing."""

from __future__ import annotations

from typing import Any

from gilwise.advise._report import Measurement, Profile


def a_profile(**changes: Any) -> Profile:
    values: dict[str, Any] = {
        "first_call_s": 0.001,
        "item_wall_s": 0.001,
        "item_cpu_s": 0.001,
        "cpu_fraction": 1.0,
        "probe_threads": 2,
        "parallel_cpu_cores": 1.0,
        "probe_speedup": 1.0,
        "gil_held_fraction": 1.0,
        "releases_gil": False,
        "item_pickle_bytes": 30,
        "result_pickle_bytes": 30,
        "pickle_s": 0.00003,
        "pickle_share": 0.03,
        "picklable": True,
        "not_picklable_reason": None,
        "is_coroutine": False,
        "calibration_calls": 100,
    }
    values.update(changes)
    return Profile(**values)


def a_measurement(backend: str, workers: int, rate: float, **changes: Any) -> Measurement:
    values: dict[str, Any] = {
        "backend": backend,
        "workers": workers,
        "chunksize": 1,
        "items": 100,
        "wall_s": 100 / rate,
        "startup_s": 0.01,
        "shutdown_s": 0.005,
        "items_per_s": rate,
        "speedup": 0.0,
    }
    values.update(changes)
    return Measurement(**values)
