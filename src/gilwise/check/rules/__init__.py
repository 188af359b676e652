"""The rule families; importing this package registers every rule."""

from __future__ import annotations

from . import _asyncio, _executors, _files, _multiprocessing, _threading

__all__ = ["_asyncio", "_executors", "_files", "_multiprocessing", "_threading"]
