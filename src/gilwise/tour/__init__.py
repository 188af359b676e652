"""``gilwise tour``: the lessons of a concurrency talk, measured live on this machine.

This is the tour's face: the renderers import its report from here; each name loads
its module on first use.
"""

from __future__ import annotations

from .._core._lazy import attribute

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._lesson import LessonResult as LessonResult
    from ._lesson import Row as Row
    from ._tour import TourReport as TourReport

_LAZY = {"LessonResult": "._lesson", "Row": "._lesson", "TourReport": "._tour"}


def __getattr__(name: str) -> object:
    return attribute(__name__, _LAZY, name)
