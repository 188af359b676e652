"""Renderers: turn a report into something to read or to load elsewhere.

Each output is one module; ``_outputs.py`` lists them. Nothing loads here until a name
is used, so that ``gilwise run`` loads rich, Plotly or Jinja only when it renders with
them. The names below are the renderers other packages call (the notebook magics).
"""

from __future__ import annotations

from .._core._lazy import attribute

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._html import require_html as require_html
    from ._html_run import run_html as run_html
    from ._terminal import render_summary as render_summary

_LAZY = {"render_summary": "._terminal", "require_html": "._html", "run_html": "._html_run"}


def __getattr__(name: str) -> object:
    return attribute(__name__, _LAZY, name)
