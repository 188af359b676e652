"""The experiment end to end: profile, sweep, fit, recommend, within one time budget."""

from __future__ import annotations

import inspect
import itertools
import multiprocessing
import time
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from .._core._backends import BACKENDS, advised_backends
from .._core._clocks import core_budget
from .._core._probe import settle_cpu
from .._core._python import python_description
from .._errors import BudgetExceeded, InputsInvalid, InvalidOption
from .._version import __version__
from . import _recommend
from ._backends import Job, trial
from ._foreign import (
    FREE_THREADED,
    ForeignPython,
    foreign_trial,
    inspect_python,
    require_free_threaded,
)
from ._guard import Overran, hard_deadline, run_guarded
from ._profile import first_call, profile
from ._report import SCHEMA, AdviceReport, Measurement, Profile, Recommendation
from ._sweep import Plan, Sweep, plan

MIN_BUDGET_S = 1.0
MAX_ITEMS = 10_000


def run_advice(
    fn: Callable[[Any], Any],
    items: Iterable[Any],
    *,
    budget: float = 20.0,
    backends: Sequence[str] | None = None,
    ref: str | None = None,
    start_method: str | None = None,
    python: str | None = None,
    on_trial: Callable[[str, int], None] | None = None,
) -> AdviceReport:
    """Measure ``fn`` over ``items`` under each concurrency model and recommend one.

    The budget is a hard limit: past it (and a grace of a tenth), whatever is still
    running is abandoned and the advice comes from what was measured, naming the
    trial and the line the function was stuck on.
    """
    _check_options(budget, backends, start_method)
    foreign = _free_threaded_python(python)
    started = time.perf_counter()
    job = Job(fn=fn, is_coroutine=inspect.iscoroutinefunction(fn), ref=ref)
    experiment = _Experiment(job, _sample(items), budget, started + budget)
    outcome = run_guarded(
        lambda: experiment.run(backends, foreign, start_method, on_trial),
        hard_deadline(started, budget),
        getattr(fn, "__code__", None),
    )
    name = getattr(fn, "__qualname__", getattr(fn, "__name__", "function"))
    if isinstance(outcome, Overran):
        experiment.abandon(name, outcome)
    prof, the_plan, sweep = experiment.results()
    measurements = _recommend.with_speedups(list(sweep.measurements))
    noise = _recommend.noise(measurements)
    backend, workers, chunk, rate, speedup = _recommend.choose(
        measurements, noise, is_coroutine=job.is_coroutine
    )
    import_line = _recommend.import_line_for(ref, getattr(fn, "__module__", "yourmodule"), name)
    if backend == "asyncio" and not job.is_coroutine:
        code = _recommend.blocking_asyncio_code(workers, import_line, name)
    else:
        code = _recommend.code_for(backend, workers, chunk, import_line, name)
    pmap_code = _recommend.pmap_code_for(backend, workers, chunk, import_line, name)
    recommendation = Recommendation(backend, workers, chunk, rate, speedup, code, pmap_code)
    scaling = _recommend.models(measurements, experiment.cores, computes=prof.cpu_fraction >= 0.5)
    return AdviceReport(
        schema=SCHEMA,
        gilwise_version=__version__,
        python=python_description(),
        target=ref or f"{getattr(fn, '__module__', '?')}:{name}",
        usable_cores=experiment.cores,
        start_method=start_method or multiprocessing.get_start_method(),
        budget_s=budget,
        spent_s=time.perf_counter() - started,
        noise=noise,
        profile=prof,
        measurements=tuple(measurements),
        models=tuple(scaling),
        recommendation=recommendation,
        explanation=tuple(
            _recommend.explain(prof, measurements, scaling, recommendation, experiment.cores)
        ),
        skipped=the_plan.skipped,
        budget_notes=tuple(sweep.notes),
    )


class _Experiment:
    """Profile then sweep, keeping each stage's result where the caller can read it
    even when the experiment is abandoned at the hard deadline."""

    def __init__(self, job: Job, sample: list[Any], budget: float, deadline: float) -> None:
        self.job = job
        self.sample = sample
        self.budget = budget
        self.deadline = deadline
        self.cores = core_budget().usable
        self.profile: Profile | None = None
        self.plan: Plan | None = None
        self.sweep: Sweep | None = None
        self.stage = "calling the function on the first item"

    def run(
        self,
        backends: Sequence[str] | None,
        foreign: ForeignPython | None,
        start_method: str | None,
        on_trial: Callable[[str, int], None] | None,
    ) -> None:
        job, sample, budget = self.job, self.sample, self.budget
        settle_cpu(min(1.5, 0.075 * budget))
        first_s, first_result = first_call(job, sample[0])
        probe_s = min(0.5, max(0.05, 0.04 * budget))
        _check_budget_fits(first_s, budget)
        self.stage = "profiling the function"
        self.profile = profile(
            job,
            sample,
            cores=self.cores,
            first_call_s=first_s,
            first_result=first_result,
            seconds=probe_s,
        )
        _check_budget_fits(self.profile.item_wall_s, self.deadline - time.perf_counter())
        self.plan = plan(
            self.profile,
            self.cores,
            self.deadline - time.perf_counter(),
            backends,
            bool(foreign),
            items=len(sample) if len(sample) < MAX_ITEMS else None,
        )
        sweep = Sweep(job, sample, self.profile, self.plan, self.deadline, start_method, on_trial)
        if foreign is not None:
            sweep.run_trial = _with_free_threaded(foreign)
        self.sweep = sweep
        sweep.run()

    def results(self) -> tuple[Profile, Plan, Sweep]:
        """What the stages produced; all of them once ``run`` returned or ``abandon`` allowed."""
        if self.profile is None or self.plan is None or self.sweep is None:
            raise RuntimeError("the experiment did not get to its sweep")  # a bug, not the user's
        return self.profile, self.plan, self.sweep

    def abandon(self, name: str, overran: Overran) -> None:
        """Go on with what was measured, or say why nothing can be advised."""
        where = f" at {overran.where}" if overran.where else ""
        sweep = self.sweep
        if sweep is None or not sweep.measurements:
            stage = "measuring it serially" if sweep is not None else self.stage
            raise BudgetExceeded(
                f"{name} did not return within the budget of {self.budget:g} s while "
                f"{stage}{where}; give it items it finishes on, or a larger --budget"
            )
        trial = f"{sweep.current[0]} x{sweep.current[1]}" if sweep.current else "the last trial"
        if not where and sweep.current and _runs_elsewhere(sweep.current[0]):
            where = " in a worker (its line cannot be read from here)"
        # The sweep thread runs on: freeze what it measured so far.
        sweep.measurements = list(sweep.measurements)
        sweep.notes = [
            *sweep.notes,
            f"{trial} was stopped at the budget: {name} had not returned{where}",
        ]


def _runs_elsewhere(backend: str) -> bool:
    """Whether ``backend`` runs the calls in another interpreter, out of this one's sight."""
    return BACKENDS[backend].pickles


def _free_threaded_python(python: str | None) -> ForeignPython | None:
    if python is None:
        return None
    foreign = inspect_python(python)
    require_free_threaded(foreign)
    return foreign


def _with_free_threaded(foreign: ForeignPython) -> Callable[..., Measurement]:
    """The sweep's trial runner, sending the free-threaded backend to the other python."""

    def run_trial(
        job: Job,
        backend: str,
        workers: int,
        batch: Sequence[Any],
        *,
        chunksize: int = 1,
        start_method: str | None = None,
    ) -> Measurement:
        if backend == FREE_THREADED:
            return foreign_trial(foreign, job, workers, batch, chunksize=chunksize)
        return trial(job, backend, workers, batch, chunksize=chunksize, start_method=start_method)

    return run_trial


def _check_options(budget: float, backends: Sequence[str] | None, start_method: str | None) -> None:
    if not budget >= MIN_BUDGET_S:
        raise InvalidOption(f"the budget must be at least {MIN_BUDGET_S:g} s (got {budget:g})")
    known = advised_backends()
    unknown = sorted(set(backends or ()) - set(known))
    if unknown:
        raise InvalidOption(
            f"unknown backend(s) {', '.join(unknown)}; choose from {', '.join(known)}"
        )
    methods = multiprocessing.get_all_start_methods()
    if start_method is not None and start_method not in methods:
        raise InvalidOption(
            f"unknown start method {start_method!r}; this platform has {', '.join(methods)}"
        )


def _sample(items: Iterable[Any]) -> list[Any]:
    if isinstance(items, (str, bytes)) or not isinstance(items, Iterable):
        raise InputsInvalid(f"items must be an iterable of inputs, not a {type(items).__name__}")
    sample = list(itertools.islice(items, MAX_ITEMS))
    if not sample:
        raise InputsInvalid("there are no items; advise needs at least one item to call")
    return sample


def _check_budget_fits(call_s: float, budget_left: float) -> None:
    """Refuse a budget that cannot hold the minimum experiment: a few dozen calls."""
    needed = 40 * call_s
    if needed > budget_left:
        raise InvalidOption(
            f"one call takes {call_s:.2f} s, so measuring needs about {needed:.0f} s; "
            f"give a budget of at least {max(needed * 2, MIN_BUDGET_S):.0f} s or smaller items"
        )
