"""What a lesson is given (a context to measure with) and what it gives back (a finding)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from ..advise import Job, Measurement, trial


@dataclass(frozen=True)
class Row:
    """One measured figure of a lesson, as a table row."""

    label: str
    value: float
    unit: str
    note: str = ""


@dataclass(frozen=True)
class Finding:
    """What a lesson measured on this machine and what it means.

    ``held`` says whether the lesson's claim held here: True, False (the tour says
    so rather than hide it), or None when this machine cannot show it (one core).
    """

    rows: tuple[Row, ...]
    measured: str
    meaning: str
    check: str
    held: bool | None
    not_shown: str | None = None


@dataclass(frozen=True)
class LessonResult:
    """A finding with its lesson's identity and cost."""

    number: int
    key: str
    title: str
    claim: str
    seconds: float
    finding: Finding


@dataclass
class Context:
    """The machine and the time allowed; lessons measure through it.

    Measuring goes through the advisor's own trial runner, so the tour's numbers
    and ``gilwise advise``'s are made the same way.
    """

    cores: float
    quick: bool

    @property
    def workers(self) -> int:
        """Workers for parallel runs: every usable core, at least two, at most eight."""
        return max(2, min(8, math.floor(self.cores)))

    def seconds(self, full: float) -> float:
        """A lesson's time for one configuration: a quarter of it with --quick."""
        return full / 4 if self.quick else full

    def items_for(self, fn: Callable[[Any], Any], item: Any, seconds: float) -> list[Any]:
        """As many copies of ``item`` as one serial worker gets through in ``seconds``."""
        calls, started = 0, time.perf_counter()
        while calls < 3 or time.perf_counter() - started < 0.05:
            fn(item)
            calls += 1
        per_call = (time.perf_counter() - started) / calls
        return [item] * max(8, math.ceil(seconds / per_call))

    def measure(
        self,
        fn: Callable[[Any], Any],
        backend: str,
        workers: int,
        items: Sequence[Any],
        *,
        coroutine: bool = False,
        chunksize: int = 1,
    ) -> Measurement:
        return trial(Job(fn, coroutine), backend, workers, items, chunksize=chunksize)

    def compare(
        self,
        fn: Callable[[Any], Any],
        configs: Sequence[tuple[str, int, int]],
        items: Sequence[Any],
        rounds: int = 2,
    ) -> list[Measurement]:
        """The best of ``rounds`` runs of each ``(backend, workers, chunksize)``.

        Runs go round-robin so a machine that speeds up or slows down part-way
        (a VM's CPU leaving a power-saving state) affects every configuration alike;
        the best run is kept because noise only ever makes a run slower.
        """
        best: list[Measurement | None] = [None] * len(configs)
        for _ in range(rounds):
            for i, (backend, workers, chunksize) in enumerate(configs):
                m = self.measure(fn, backend, workers, items, chunksize=chunksize)
                current = best[i]
                if current is None or m.items_per_s > current.items_per_s:
                    best[i] = m
        return [m for m in best if m is not None]


def speedup(m: Measurement, baseline: Measurement) -> float:
    return m.items_per_s / baseline.items_per_s


def throughput_row(label: str, m: Measurement, baseline: Measurement) -> Row:
    start = (m.startup_s + m.shutdown_s) * 1e3
    return Row(
        label, m.items_per_s, "items/s", f"{speedup(m, baseline):.2f}x · start+stop {start:.0f} ms"
    )
