"""The advisor's result: plain frozen data and its JSON form (schema ``gilwise.advise/1``)."""

from __future__ import annotations

from dataclasses import dataclass, field

from .._core._json import JsonReport

SCHEMA = "gilwise.advise/1"


@dataclass(frozen=True)
class Profile:
    """What one call of the function costs, measured before any pool is started.

    ``cpu_fraction`` is thread CPU time over the wall time of serial calls in which the
    thread could run: near 1 for computation, near 0 for waiting. Time it spent runnable
    without a CPU (other processes had the cores; ``cpu_starved_fraction`` of the wall
    time, Linux only) is left out, so a busy machine does not make computing look like
    waiting. ``parallel_cpu_cores`` is the process CPU rate
    while ``probe_threads`` threads ran the function at once: a function that holds
    the GIL cannot exceed about one core however many threads run it.
    """

    first_call_s: float
    item_wall_s: float
    item_cpu_s: float
    cpu_fraction: float
    probe_threads: int
    parallel_cpu_cores: float | None
    probe_speedup: float | None
    gil_held_fraction: float | None
    releases_gil: bool | None
    item_pickle_bytes: int | None
    result_pickle_bytes: int | None
    pickle_s: float | None
    pickle_share: float | None
    picklable: bool
    not_picklable_reason: str | None
    is_coroutine: bool
    calibration_calls: int
    cpu_starved_fraction: float | None = None


@dataclass(frozen=True)
class Measurement:
    """One configuration run once: throughput in steady state plus pool start/stop cost."""

    backend: str
    workers: int
    chunksize: int
    items: int
    wall_s: float
    startup_s: float
    shutdown_s: float
    items_per_s: float
    speedup: float
    repeat: int = 0


@dataclass(frozen=True)
class ScalingModel:
    """Universal Scalability Law fit of one backend's speedup against its worker count.

    ``speedup(n) = n / (1 + contention*(n-1) + coherency*n*(n-1))``, relative to the
    backend's own one-worker throughput. With ``coherency`` 0 it is Amdahl's law, and
    ``contention`` is the serial fraction.
    """

    backend: str
    law: str
    contention: float
    coherency: float
    r_squared: float | None
    points: int
    peak_workers: float | None
    predicted: tuple[tuple[int, float], ...]


@dataclass(frozen=True)
class Recommendation:
    """The configuration to use, and what it is expected to give."""

    backend: str
    workers: int
    chunksize: int
    items_per_s: float
    speedup: float
    #: Standard-library code (concurrent.futures or asyncio) that applies it.
    code: str
    #: The same with ``gilwise.pmap``.
    pmap_code: str = ""


@dataclass(frozen=True)
class AdviceReport(JsonReport):
    """Everything ``gilwise advise`` measured and concluded (JSON schema ``gilwise.advise/1``)."""

    schema: str
    gilwise_version: str
    python: str
    target: str
    usable_cores: float
    start_method: str
    budget_s: float
    spent_s: float
    noise: float | None
    profile: Profile
    measurements: tuple[Measurement, ...]
    models: tuple[ScalingModel, ...]
    recommendation: Recommendation
    explanation: tuple[str, ...]
    skipped: tuple[str, ...] = field(default_factory=tuple)
    budget_notes: tuple[str, ...] = field(default_factory=tuple)
