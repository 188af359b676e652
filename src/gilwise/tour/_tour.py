"""Run the lessons in order and collect their findings (JSON schema ``gilwise.tour/1``)."""

from __future__ import annotations

import dataclasses
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .._core._clocks import (
    busy_cpu_seconds,
    children_cpu_seconds,
    core_budget,
    process_cpu_seconds,
)
from .._core._json import JsonReport
from .._core._probe import settle_cpu
from .._core._python import python_description
from .._errors import InvalidOption
from .._version import __version__
from ..monitor import MACHINE_BUSY_CORES, MACHINE_BUSY_SHARE
from ._lesson import Context, Finding, LessonResult
from .lessons import (
    blocked_loop,
    cpu_bound,
    gil_releasing,
    io_bound,
    new_pythons,
    pickling,
    race,
    responsiveness,
)

SCHEMA = "gilwise.tour/1"
LESSONS: tuple[types.ModuleType, ...] = (
    cpu_bound,
    io_bound,
    gil_releasing,
    blocked_loop,
    pickling,
    responsiveness,
    race,
    new_pythons,
)


@dataclass(frozen=True)
class TourReport(JsonReport):
    """Every lesson's finding on this machine."""

    schema: str
    gilwise_version: str
    python: str
    usable_cores: float
    quick: bool
    seconds: float
    lessons: tuple[LessonResult, ...]


def select(only: Sequence[int] | None) -> list[tuple[int, types.ModuleType]]:
    """The lessons to run, numbered from 1."""
    numbered = list(enumerate(LESSONS, start=1))
    if only is None:
        return numbered
    unknown = sorted(set(only) - {n for n, _ in numbered})
    if unknown:
        raise InvalidOption(
            f"no lesson {', '.join(map(str, unknown))}; lessons are numbered 1 to {len(LESSONS)}"
        )
    return [(n, m) for n, m in numbered if n in set(only)]


class _OthersCpu:
    """Cores' worth of CPU other processes took on our cores since this was made."""

    def __init__(self) -> None:
        self._started = time.perf_counter()
        self._busy = busy_cpu_seconds()
        self._ours = _own_cpu_seconds()

    def cores(self) -> float | None:
        busy = busy_cpu_seconds()
        wall = time.perf_counter() - self._started
        if busy is None or self._busy is None or wall <= 0:
            return None
        others = busy - self._busy - (_own_cpu_seconds() - self._ours)
        return max(0.0, others) / wall


def _own_cpu_seconds() -> float:
    # Our process and its child processes: a lesson's process pools are its own work,
    # not another process's.
    return process_cpu_seconds() + children_cpu_seconds()


def _unless_machine_busy(finding: Finding, others: float | None, cores: float) -> Finding:
    """A claim that did not hold while other processes took the cores it needed was not
    measurable here, which is not the same as false."""
    if finding.held is not False or others is None:
        return finding
    if others < MACHINE_BUSY_CORES or others < MACHINE_BUSY_SHARE * cores:
        return finding
    return dataclasses.replace(
        finding,
        held=None,
        not_shown=(
            f"the machine was busy: other processes used {others:.1f} of the {cores:g} "
            "cores during this lesson, so it could not be measured fairly; run the tour "
            "again on a quieter machine"
        ),
    )


def run_tour(
    *,
    quick: bool = False,
    only: Sequence[int] | None = None,
    on_lesson: Callable[[int, str], None] | None = None,
    on_result: Callable[[LessonResult], None] | None = None,
) -> TourReport:
    """Run the chosen lessons; ``on_result`` sees each finding as soon as it is measured."""
    chosen = select(only)
    ctx = Context(cores=core_budget().usable, quick=quick)
    started = time.perf_counter()
    settle_cpu(2.0)
    results = []
    for number, lesson in chosen:
        if on_lesson is not None:
            on_lesson(number, lesson.TITLE)
        lesson_started = time.perf_counter()
        others = _OthersCpu()
        finding = lesson.run(ctx)
        finding = _unless_machine_busy(finding, others.cores(), ctx.cores)
        result = LessonResult(
            number=number,
            key=lesson.__name__.rsplit(".", 1)[-1],
            title=lesson.TITLE,
            claim=lesson.CLAIM,
            seconds=time.perf_counter() - lesson_started,
            finding=finding,
        )
        results.append(result)
        if on_result is not None:
            on_result(result)
    return TourReport(
        schema=SCHEMA,
        gilwise_version=__version__,
        python=python_description(),
        usable_cores=ctx.cores,
        quick=quick,
        seconds=time.perf_counter() - started,
        lessons=tuple(results),
    )
