"""Renderers: turn a :class:`gilwise.Report` into something to read or to load elsewhere."""

from __future__ import annotations

from ._json import write_json
from ._terminal import render_summary

__all__ = ["render_summary", "write_json"]
