"""Run the lessons in order and collect their findings (JSON schema ``gilwise.tour/1``)."""

from __future__ import annotations

import json
import time
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from .._errors import InvalidOption
from .._version import __version__
from ..advise._backends import settle_cpu
from ..monitor._cpu import core_budget
from ..monitor._report import from_dict, python_description, to_dict
from ._lesson import Context, LessonResult
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
class TourReport:
    """Every lesson's finding on this machine."""

    schema: str
    gilwise_version: str
    python: str
    usable_cores: float
    quick: bool
    seconds: float
    lessons: tuple[LessonResult, ...]

    def to_dict(self) -> dict[str, Any]:
        return to_dict(self)

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent, allow_nan=False)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TourReport:
        return from_dict(cls, data)


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
        finding = lesson.run(ctx)
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
