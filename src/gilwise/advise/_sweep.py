"""Choose which configurations to measure, and measure them within the budget.

Worker counts double from one until throughput stops growing by 10% (or the
ceiling for the function's character is reached), so flat backends cost few
trials and I/O-bound functions still reach hundreds of threads.
"""

from __future__ import annotations

import math
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .._core._backends import BACKENDS
from ._backends import HAS_INTERPRETER_POOL, Job, trial
from ._report import Measurement, Profile

#: Doubling the workers must raise throughput this much to keep climbing.
_MIN_GAIN = 1.10
_MAX_BATCH = 200_000
#: Configurations measured once whose best run is this close to the fastest are run
#: again: the pick's tolerance is at most 8%, so those are nearly all it may choose among.
_NEAR_BEST = 0.90
#: At most this many of them, nearest to the fastest first: each costs a trial.
_MAX_NEAR_REPEATS = 4


@dataclass(frozen=True)
class Plan:
    """Backends to try with their worker ceilings, and why others were left out."""

    ladders: dict[str, int]
    skipped: tuple[str, ...]
    trial_s: float


def plan(
    profile: Profile,
    cores: float,
    budget_s: float,
    wanted: Sequence[str] | None,
    free_threaded: bool = False,
    items: int | None = None,
) -> Plan:
    """Which backends to measure and how far to climb each one's worker count;
    ``free_threaded``: a free-threaded interpreter was given for threads without the GIL;
    ``items``: how many inputs the user gave, the most workers a pool of theirs can use."""
    io_like = profile.is_coroutine or profile.cpu_fraction < 0.5
    cpu_ceiling = max(2, 2 * math.ceil(cores))
    ladders: dict[str, int] = {"serial": 1}
    skipped: list[str] = []
    if profile.is_coroutine:
        ladders["asyncio"] = 1024
        skipped.append("thread, process: a coroutine function runs on an event loop")
    else:
        ladders["thread"] = 512 if io_like else cpu_ceiling
        ladders["asyncio"] = 512 if io_like else cpu_ceiling
        if profile.picklable:
            ladders["process"] = min(64, 4 * cpu_ceiling) if io_like else cpu_ceiling
        else:
            skipped.append(f"process: {profile.not_picklable_reason}")
        if free_threaded:
            ladders["free-threaded"] = 512 if io_like else cpu_ceiling
        if HAS_INTERPRETER_POOL and profile.picklable:
            ladders["interpreter"] = cpu_ceiling
        elif not HAS_INTERPRETER_POOL:
            skipped.append("interpreter: sub-interpreter pools need CPython 3.14 or newer")
    if wanted is not None:
        for name in [n for n in ladders if n not in wanted and n != "serial"]:
            del ladders[name]
    if items is not None and any(top > items for top in ladders.values()):
        # 40 URLs to fetch got "512 threads, 358x": measured on the 40 cycled, a rate
        # their own batch of 40 can never reach.
        ladders = {name: min(top, max(1, items)) for name, top in ladders.items()}
        skipped.append(
            f"pools of more than {items} workers: the inputs are {items} items, so the "
            "rest would sit idle (give more items to measure wider pools)"
        )
    # The repeats: three, and one or two near-best ones (1.3-1.9 a sweep in simulations).
    trials = sum(1 + math.ceil(math.log2(top)) for top in ladders.values()) + 5
    trial_s = min(1.0, max(0.05, 0.75 * budget_s / trials))
    return Plan(ladders=ladders, skipped=tuple(skipped), trial_s=trial_s)


def next_rung(workers: int, top: int) -> int:
    """The worker count after ``workers``: twice as many, or the ceiling itself where
    that lies between (6 on three cores, 40 for 40 items), so the ceiling is measured."""
    return top if workers < top < 2 * workers else 2 * workers


@dataclass
class Sweep:
    """Runs the plan's trials, stopping each ladder when it flattens or the budget ends."""

    job: Job
    items: Sequence[Any]
    profile: Profile
    plan: Plan
    deadline: float
    start_method: str | None = None
    on_trial: Callable[[str, int], None] | None = None
    run_trial: Callable[..., Measurement] = trial
    clock: Callable[[], float] = time.perf_counter
    measurements: list[Measurement] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: The trial running now (backend, workers): what to name if it never ends.
    current: tuple[str, int] | None = None

    def run(self) -> list[Measurement]:
        serial = self._measure("serial", 1, self._batch_size(1 / self.profile.item_wall_s, 1, 1))
        if serial is None:
            return self.measurements
        for backend, top in self.plan.ladders.items():
            if backend != "serial":
                self._climb(backend, top)
        self._repeat_best()
        return self.measurements

    def _climb(self, backend: str, top: int) -> None:
        workers, previous = 1, None
        while workers <= top:
            expected = self._first_rate(backend) if previous is None else previous.items_per_s * 2
            chunk = self._chunksize(backend, workers)
            result = self._measure(
                backend,
                workers,
                self._batch_size(expected, workers, chunk),
                chunk,
                keep=self._repeats_cost(backend, workers),
            )
            if result is None:
                return
            if previous is not None and result.items_per_s < _MIN_GAIN * previous.items_per_s:
                return
            previous, workers = result, next_rung(workers, top)

    def _repeat_best(self) -> None:
        """Measure again the fastest configurations and the serial baseline
        (:meth:`_to_repeat`): the pick rests on two runs of every contender, and their
        spread is the noise figure."""
        leaders, near, baseline = self._to_repeat()
        for m in leaders:
            if not self._measure_again(m):
                return
        # A near-best repeat that does not fit is skipped, not the end, and leaves room
        # for the baseline's: speedups depend on it, the pick only a little on each of these.
        keep = sum(self._trial_guess(m.backend, m.workers) for m in baseline)
        for m in near:
            self._measure_again(m, keep=keep)
        for m in baseline:
            self._measure_again(m)

    def _to_repeat(self) -> tuple[list[Measurement], list[Measurement], list[Measurement]]:
        """What :meth:`_repeat_best` runs again, in order: the fastest run and the fastest
        of another backend; up to four more, measured once, whose best is within 10% of
        the fastest (nearest first; one-worker pools are never picked when serial ran);
        the serial baseline, unless it is already among them.

        Without the near-best ones most contenders rest on one run, so a lucky run cannot
        be told from a real gain: in 3,000 simulated sweeps with ±6% jitter a 4-thread
        pool as fast as a 2-thread one took the pick in 6.6% of them (3.6% with them),
        and picks where 2 threads give 1.8x differed in 20 of 600 batches of 5 (3 with
        them); docs/advise.md has the figures.
        """
        ranked = sorted(self.measurements, key=lambda m: m.items_per_s, reverse=True)
        if not ranked:
            return [], [], []
        first = ranked[0]
        leaders = [first, *[m for m in ranked if m.backend != first.backend][:1]]
        serial = self.measurements[0]
        runs = Counter((m.backend, m.workers) for m in self.measurements)
        taken = {id(m) for m in leaders} | {id(serial)}
        near = [
            m
            for m in ranked
            if id(m) not in taken
            and m.workers > 1
            and runs[(m.backend, m.workers)] == 1
            and m.items_per_s >= _NEAR_BEST * first.items_per_s
        ]
        # The serial baseline again, last: speedups are against the better of a run
        # at the start and one at the end, so a machine slow at first does not inflate them.
        baseline = [serial] if all(m is not serial for m in leaders) else []
        return leaders, near[:_MAX_NEAR_REPEATS], baseline

    def _measure_again(self, m: Measurement, keep: float = 0.0) -> bool:
        """Run ``m``'s configuration again as its repeat; whether it fitted the budget."""
        again = self._measure(m.backend, m.workers, m.items, m.chunksize, keep=keep)
        if again is not None:
            self.measurements[-1] = replace(again, repeat=1)
        return again is not None

    def _repeats_cost(self, backend: str, workers: int) -> float:
        """What the repeats will take should the trial of ``backend`` x ``workers`` be the
        last before them: those the runs so far call for and one more (a new run adds at
        most one to :meth:`_to_repeat`), each pool with the dearest start-up seen or
        guessed for this trial. Climbing stops short of it, so the pick always rests on
        two runs (seen without it: sub-interpreter ladders on 3.14 spent the budget, no
        repeats)."""
        # One repeat more than now, less the serial baseline's (no pool): as many as now.
        pools = min(sum(map(len, self._to_repeat())), 2 + _MAX_NEAR_REPEATS)
        startups = [m.startup_s + m.shutdown_s for m in self.measurements]
        dearest = max([*startups, self._startup_guess(backend, workers)])
        return pools * (self.plan.trial_s + dearest) + self._trial_guess("serial", 1)

    def _trial_guess(self, backend: str, workers: int) -> float:
        """Seconds a trial of ``backend`` x ``workers`` is expected to take, start-up included."""
        return self.plan.trial_s + self._startup_guess(backend, workers)

    def _measure(
        self, backend: str, workers: int, batch: int, chunksize: int = 1, keep: float = 0.0
    ) -> Measurement | None:
        """Run one trial if it fits before the deadline with ``keep`` seconds to spare."""
        expected = self.plan.trial_s + self._startup_guess(backend, workers)
        if self.clock() + expected + keep > self.deadline:
            if not self.notes:
                self.notes.append(f"budget spent before {backend} x{workers}")
            return None
        if self.on_trial is not None:
            self.on_trial(backend, workers)
        items = [self.items[i % len(self.items)] for i in range(batch)]
        self.current = (backend, workers)
        result = self.run_trial(
            self.job, backend, workers, items, chunksize=chunksize, start_method=self.start_method
        )
        self.current = None
        self.measurements.append(result)
        return result

    def _first_rate(self, backend: str) -> float:
        """Items/s to size a backend's first batch: one worker pays the call plus the
        hand-off (about 30 µs to a thread, the pickle round trip and ~100 µs to a
        process), so a 2 MiB argument does not get a batch sized for a 1 µs call."""
        p = self.profile
        overhead = 0.0 if backend == "serial" else 30e-6
        if BACKENDS[backend].pickles:
            overhead = (p.pickle_s or 0.0) + 100e-6
        return 1.0 / (p.item_wall_s + overhead)

    def _batch_size(self, expected_rate: float, workers: int, chunk: int) -> int:
        wanted = math.ceil(self.plan.trial_s * expected_rate)
        return int(min(_MAX_BATCH, max(wanted, 4 * workers * chunk, 3)))

    def _chunksize(self, backend: str, workers: int) -> int:
        """Items per task for process-like pools: about 10 ms of work, so the fixed
        cost of a round trip to a worker (tens of microseconds) stays under 1%."""
        if not BACKENDS[backend].pickles:
            return 1
        return max(1, min(512, math.ceil(0.010 / max(self.profile.item_wall_s, 1e-7))))

    def _startup_guess(self, backend: str, workers: int) -> float:
        earlier = [m.startup_s + m.shutdown_s for m in self.measurements if m.backend == backend]
        if earlier:
            return max(earlier) * max(1.0, workers / max(1, self._last_workers(backend)))
        if backend == "free-threaded":
            return 0.2  # another interpreter starts and imports the function first
        return 0.05 * workers if BACKENDS[backend].pickles else 0.0

    def _last_workers(self, backend: str) -> int:
        return max(m.workers for m in self.measurements if m.backend == backend)
