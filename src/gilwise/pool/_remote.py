"""Exceptions raised in another process or thread, with the traceback from where they happened.

A worker formats the traceback where the exception was raised, as text, because
traceback objects cannot be pickled; the parent chains it as the ``__cause__`` of
the re-raised exception, the way ``concurrent.futures`` does (``_RemoteTraceback``).
"""

from __future__ import annotations

import pickle
import sys
import traceback
from typing import Any


class RemoteTraceback(Exception):
    """Carries the text of a worker's traceback; shown as the cause of the re-raised error."""

    def __init__(self, tb: str) -> None:
        super().__init__(tb)
        self.tb = tb

    def __str__(self) -> str:
        return self.tb


class RemoteError(Exception):
    """Stands in for a worker's exception that cannot be pickled: its type, message and text."""


def pack_error(exc: BaseException) -> tuple[BaseException, str]:
    """The exception (or a picklable stand-in) and its formatted traceback, ready to send."""
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    exc.__traceback__ = None
    try:
        pickle.loads(pickle.dumps(exc))
    except Exception:
        return RemoteError(f"{type(exc).__module__}.{type(exc).__qualname__}: {exc}"), tb
    return exc, tb


def unpack_error(packed: tuple[BaseException, str]) -> BaseException:
    """The exception with its worker traceback chained as ``__cause__``."""
    exc, tb = packed
    exc.__cause__ = RemoteTraceback(f'\n"""\n{tb}"""')
    return exc


def add_note(exc: BaseException, note: str) -> None:
    """``exc.add_note`` where it exists (3.11+); the attribute the backport prints otherwise."""
    if sys.version_info >= (3, 11):
        exc.add_note(note)
    else:
        notes: Any = getattr(exc, "__notes__", None)
        if not isinstance(notes, list):
            notes = []
        notes.append(note)
        exc.__notes__ = notes  # type: ignore[attr-defined]
