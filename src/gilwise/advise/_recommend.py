"""Turn measurements into a choice, the reasons for it in plain words, and code to apply it."""

from __future__ import annotations

import dataclasses
import math
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from string import Template

from .._core._backends import BACKENDS, advised_backends
from .._core._units import duration, size
from ._model import fit
from ._report import Measurement, Profile, Recommendation, ScalingModel

#: The order of simplicity, the backends' table order: among equally fast configurations
#: the first backend here wins, then the fewest workers. A free-threaded interpreter is a
#: different Python to install and deploy: least simple. asyncio is placed by the target
#: (see ``_rank``).
SIMPLICITY = tuple(name for name in advised_backends() if name != "asyncio")
#: The noise tolerance is the measured noise clamped to this range. The noise figure
#: is the largest spread of only two or three repeated pairs, so it often reads low:
#: in simulated sweeps with ±6% jitter per run it read under 5% in 37% of them, while
#: single runs of equal configurations differed by up to 12%. With a floor of 3%, an
#: equally fast 4-thread pool took the pick from a 2-thread one in 4.3% of them; with
#: 5%, in 2.9%. Above 8%, a real 10% gain would count as a tie.
MIN_TOLERANCE, MAX_TOLERANCE = 0.05, 0.08


def with_speedups(measurements: Sequence[Measurement]) -> list[Measurement]:
    """Fill each measurement's speedup against the best serial throughput."""
    serial = _best_rates(measurements).get(("serial", 1))
    if not serial:
        return list(measurements)
    return [dataclasses.replace(m, speedup=m.items_per_s / serial) for m in measurements]


def noise(measurements: Sequence[Measurement]) -> float | None:
    """The largest relative difference between two runs of the same configuration."""
    runs: dict[tuple[str, int], list[float]] = defaultdict(list)
    for m in measurements:
        runs[(m.backend, m.workers)].append(m.items_per_s)
    spreads = [abs(r[0] - r[1]) / ((r[0] + r[1]) / 2) for r in runs.values() if len(r) >= 2]
    return max(spreads) if spreads else None


def tolerance(noise_level: float | None) -> float:
    """The relative gap that still counts as equally fast: the noise, clamped."""
    return min(MAX_TOLERANCE, max(MIN_TOLERANCE, noise_level or 0.0))


def choose(
    measurements: Sequence[Measurement],
    noise_level: float | None,
    *,
    is_coroutine: bool = False,
) -> tuple[str, int, int, float, float]:
    """Backend, workers, chunksize, items/s and speedup of the configuration to use.

    Configurations are compared by their mean rates (:func:`mean_rates`): among those
    that may be picked (:func:`eligible`), every one within the tolerance of the
    fastest counts as equally fast, and the simplest of those wins: serial, threads,
    processes, sub-interpreters, free-threaded, then fewer workers. asyncio comes right
    after serial for a coroutine function and last for a plain one. The items/s given
    is the pick's best run.
    """
    best = _best_rates(measurements)
    means = mean_rates(measurements)
    tol = tolerance(noise_level)
    allowed = eligible(best, means, tol, is_coroutine=is_coroutine)
    reference = max(means[key] for key in allowed)
    contenders = [key for key in allowed if means[key] >= reference * (1 - tol)]
    backend, workers = min(contenders, key=lambda key: _rank(key, is_coroutine))
    chunk = max(m.chunksize for m in measurements if (m.backend, m.workers) == (backend, workers))
    rate = best[(backend, workers)]
    return backend, workers, chunk, rate, rate / best.get(("serial", 1), rate)


def mean_rates(measurements: Sequence[Measurement]) -> dict[tuple[str, int], float]:
    """Each configuration's mean run, a run more than 8% under its best counted as 8% under.

    The sweep runs every near-best configuration twice, so both sides of a comparison
    rest on the same evidence. In 3,000 simulated sweeps per workload with ±6% jitter
    (docs/advise.md has the table), threads truly 15% faster than serial lost the pick
    to serial in 1.2% of them with means on both sides; 20% when the reference was the
    fastest's slowest run and a contender counted its best (the lucky one of two), 2.3%
    comparing best runs, which gave an equal 4-thread pool the pick over a 2-thread one
    in 5.6% (1.0% and 3.6% with the other two). A run more than 8% slower than the
    best was disturbed (noise only slows), not evidence: with 1 run in 10 disturbed by
    20-40%, a plain mean made the serial-is-best pick unstable in 1 batch of 5 sweeps
    in 6, this one in 1 in 120.
    """
    runs: dict[tuple[str, int], list[float]] = defaultdict(list)
    for m in measurements:
        runs[(m.backend, m.workers)].append(m.items_per_s)
    floor = 1 - MAX_TOLERANCE
    return {key: sum(max(r, max(rs) * floor) for r in rs) / len(rs) for key, rs in runs.items()}


def eligible(
    best: dict[tuple[str, int], float],
    means: dict[tuple[str, int], float],
    tol: float,
    *,
    is_coroutine: bool,
) -> list[tuple[str, int]]:
    """The configurations ``choose`` may pick.

    A one-worker pool is left out whenever serial was measured: it is the serial loop
    plus a hand-off, so when a run says it is faster, the run is wrong (seen: thread x1
    picked for a function returning a 300,000-element list). Even when it beats all
    by more than the noise, the pick is made among the rest: serial, unless a pool
    with more workers is as fast. For a plain function asyncio is a thread pool behind
    an event loop, never simpler than the pool: it stays only where it wins outright,
    every other configuration's best run slower than the tolerance under its own
    mean rate.
    """
    has_serial = ("serial", 1) in best
    keys = [key for key in best if key[1] > 1 or key == ("serial", 1) or not has_serial]
    if is_coroutine:
        return keys
    others = max((best[key] for key in keys if key[0] != "asyncio"), default=0.0)
    return [key for key in keys if key[0] != "asyncio" or others < means[key] * (1 - tol)]


def _rank(key: tuple[str, int], is_coroutine: bool) -> tuple[float, int]:
    """Place in the order of simplicity: the backend's, then the worker count."""
    backend, workers = key
    if backend == "asyncio":
        # An event loop is how a coroutine function runs at all: next after serial.
        return (0.5 if is_coroutine else len(SIMPLICITY)), workers
    if backend in SIMPLICITY:
        return SIMPLICITY.index(backend), workers
    return len(SIMPLICITY) + 1, workers


def models(measurements: Sequence[Measurement], cores: float, computes: bool) -> list[ScalingModel]:
    """A scalability fit per backend with at least two worker counts.

    For pools of CPU-bound workers only counts up to the core count are fitted:
    past it, the flattening shows this machine's size, not the code's limits; and
    only for those is a prediction at more cores meaningful.
    """
    rates = _best_rates(measurements)
    out = []
    limit = max(1, math.floor(cores))
    predict_at = sorted({2 * limit, 4 * limit, 16, 64}) if computes else []
    for backend in sorted({b for b, _ in rates if b != "serial"}):
        own = {w: r for (b, w), r in rates.items() if b == backend}
        if 1 not in own:
            continue
        points = [(w, r / own[1]) for w, r in sorted(own.items())]
        cpu_limited = [(w, s) for w, s in points if w <= limit]
        chosen = cpu_limited if backend == "process" and len(cpu_limited) >= 2 else points
        model = fit(backend, chosen, predict_at)
        if model is not None:
            out.append(model)
    return out


def _best_rates(measurements: Sequence[Measurement]) -> dict[tuple[str, int], float]:
    """Each configuration's best throughput: noise (other load, a CPU clocked down)
    only ever slows a run, so the best run is the closest to the true figure."""
    best: dict[tuple[str, int], float] = {}
    for m in measurements:
        key = (m.backend, m.workers)
        best[key] = max(best.get(key, 0.0), m.items_per_s)
    return best


def best_per_backend(measurements: Sequence[Measurement]) -> dict[str, tuple[int, float]]:
    """Each backend's fastest worker count and its best items per second."""
    best: dict[str, tuple[int, float]] = {}
    for (backend, workers), rate in _best_rates(measurements).items():
        if backend not in best or rate > best[backend][1]:
            best[backend] = (workers, rate)
    return best


def explain(
    profile: Profile,
    measurements: Sequence[Measurement],
    scaling: Sequence[ScalingModel],
    recommendation: Recommendation,
    cores: float,
) -> list[str]:
    """Plain sentences, each tied to a measured figure, that justify the recommendation."""
    lines = [_character(profile), *_gil_line(profile, cores)]
    best = best_per_backend(measurements)
    serial_rate = best.get("serial", (1, 0.0))[1]
    if serial_rate:
        ranked = sorted(best.items(), key=lambda kv: kv[1][1], reverse=True)
        lines.append(
            "Best of each: "
            + "; ".join(
                f"{name} {rate / serial_rate:.2f}x at {workers} worker{'s' * (workers > 1)}"
                for name, (workers, rate) in ranked
            )
            + " (x = throughput against the plain loop)."
        )
    lines += _process_costs(profile, measurements, serial_rate)
    lines += [_model_line(m, cores) for m in scaling if m.backend == recommendation.backend]
    lines.append(_verdict_line(recommendation))
    return lines


def _character(profile: Profile) -> str:
    kind = "computes" if profile.cpu_fraction >= 0.5 else "mostly waits"
    text = (
        f"One call takes {duration(profile.item_wall_s)}, {profile.cpu_fraction:.0%} of it "
        f"on the CPU: the function {kind}."
    )
    starved = profile.cpu_starved_fraction or 0.0
    if starved >= 0.2:
        text += (
            f" The machine was busy: for {starved:.0%} of those calls the thread waited for a "
            "CPU that other processes held, so every figure below is less certain; rerun "
            "on a quieter machine to confirm."
        )
    if profile.first_call_s > 5 * profile.item_wall_s and profile.first_call_s > 0.01:
        text += (
            f" Its first call took {duration(profile.first_call_s)} (one-time set-up such as"
            " imports): every new worker process pays that again."
        )
    return text


def _gil_line(profile: Profile, cores: float) -> list[str]:
    threads, used = profile.probe_threads, profile.parallel_cpu_cores
    if profile.is_coroutine or used is None:
        return []
    if profile.cpu_fraction < 0.3:
        speed = profile.probe_speedup or 0.0
        overlap = "so waits overlap" if profile.releases_gil else "so calls do not overlap"
        return [f"{threads} threads at once finished {speed:.1f}x as many calls as one, {overlap}."]
    if profile.releases_gil is None:
        return [f"With {cores:g} usable core(s), running in parallel cannot be shown here."]
    if profile.releases_gil and profile.gil_held_fraction is None:
        return [
            f"It releases the GIL: {threads} threads used {used:.2f} cores at once, "
            "so threads run it in parallel without pickling anything."
        ]
    held = profile.gil_held_fraction or 1.0
    return [
        f"It holds the GIL about {held:.0%} of its run: {threads} threads used only "
        f"{used:.2f} cores, so threads cannot run it in parallel."
    ]


def _process_costs(
    profile: Profile, measurements: Sequence[Measurement], serial_rate: float
) -> list[str]:
    pool = [m for m in measurements if m.backend == "process"]
    if not pool or profile.pickle_s is None:
        return []
    lines = []
    share = profile.pickle_share or 0.0
    pickled = (profile.item_pickle_bytes or 0) + (profile.result_pickle_bytes or 0)
    text = (
        f"Sending an item and its result to a process ({size(pickled)}) costs "
        f"{duration(profile.pickle_s)}, {share:.0%} of a call"
    )
    lines.append(text + (": more than the work itself." if share > 1 else "."))
    fastest = max(pool, key=lambda m: m.items_per_s)
    start = fastest.startup_s + fastest.shutdown_s
    if serial_rate and fastest.items_per_s > serial_rate:
        saving = 1 / serial_rate - 1 / fastest.items_per_s
        lines.append(
            f"Starting and stopping {fastest.workers} worker processes took {duration(start)}: "
            f"worth it from about {math.ceil(start / saving)} items on."
        )
    return lines


def _model_line(model: ScalingModel, cores: float) -> str:
    fit_quality = f", R² {model.r_squared:.2f}" if model.r_squared is not None else ""
    text = (
        f"Scaling model for {model.backend} ({model.law}{fit_quality}, {model.points} points): "
        f"contention {model.contention:.0%}"
    )
    if model.peak_workers is not None:
        text += f"; adding workers stops helping near {model.peak_workers:.0f}"
    if model.predicted:
        predicted = ", ".join(f"{s:.1f}x at {n}" for n, s in model.predicted[:2])
        text += f"; given as many cores it predicts {predicted} workers"
    return text + "."


def _verdict_line(r: Recommendation) -> str:
    if r.backend == "serial":
        return (
            "Use a plain loop: no concurrent configuration was measurably faster, "
            "so parallelism would only add cost and complexity."
        )
    chunk = f", chunksize {r.chunksize}" if r.chunksize > 1 else ""
    return (
        f"Use {_words(r.backend)} with {r.workers} workers{chunk}: "
        f"{r.items_per_s:,.0f} items/s, {r.speedup:.2f}x the plain loop."
    )


def code_for(backend: str, workers: int, chunksize: int, import_line: str, name: str) -> str:
    """Copy-paste code that applies a recommendation with the standard library (the
    pmap code where the backend has no standard-library equivalent)."""
    spec = BACKENDS[backend]
    if spec.code is None:
        return pmap_code_for(backend, workers, chunksize, import_line, name)
    chunk = f", chunksize={chunksize}" if chunksize > 1 else ""
    code = Template(spec.code).substitute(
        import_line=import_line, name=name, workers=workers, chunk=chunk
    )
    return spec.note + code


def pmap_code_for(backend: str, workers: int, chunksize: int, import_line: str, name: str) -> str:
    """The same recommendation applied with ``gilwise.pmap`` (coroutines included)."""
    spec = BACKENDS[backend]
    options = [f'backend="{spec.pmap_backend or backend}"']
    if backend != "serial":
        options.append(f"workers={workers}")
    if chunksize > 1:
        options.append(f"chunksize={chunksize}")
    call = f"results = list(gilwise.pmap({name}, items, {', '.join(options)}))\n"
    if spec.reimports_main:
        call = f'if __name__ == "__main__":\n    {call}'
    return f"{spec.note}import gilwise\n\n{import_line}\n\n{call}"


def _words(backend: str) -> str:
    """The backend in plain words; its name where the table has no row for it."""
    spec = BACKENDS.get(backend)
    return spec.words if spec is not None else backend


def blocking_asyncio_code(workers: int, import_line: str, name: str) -> str:
    """asyncio code for a blocking function: calls go to threads, the loop stays free."""
    return (
        "import asyncio\nfrom concurrent.futures import ThreadPoolExecutor\n\n"
        f"{import_line}\n\n\n"
        "async def run_all(items):\n"
        "    loop = asyncio.get_running_loop()\n"
        f"    loop.set_default_executor(ThreadPoolExecutor(max_workers={workers}))\n"
        f"    calls = (asyncio.to_thread({name}, item) for item in items)\n"
        "    return await asyncio.gather(*calls)\n\n\n"
        "results = asyncio.run(run_all(items))\n"
    )


def import_line_for(ref: str | None, module: str, name: str) -> str:
    """``from X import f`` for the function, from where it was loaded."""
    if ref is not None:
        where, _, _ = ref.rpartition(":")
        module = Path(where).stem if where.endswith(".py") else where
    return f"from {module} import {name.split('.')[0]}"
