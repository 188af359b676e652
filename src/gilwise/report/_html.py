"""Self-contained HTML reports: Plotly charts with plotly.js inlined, text escaped by Jinja2.

One page shape for every command: a header, then sections of paragraphs, tables,
charts, code and stack listings. The page works offline (no CDN) and records chart
failures and script errors in ``<body data-...>`` so a headless browser test can read
them.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .._errors import ExtraNotInstalled

#: Chart JSON goes inside <script>; these must not appear there raw (``</script>``, ``<!--``).
_UNSAFE_IN_SCRIPT = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


@dataclass(frozen=True)
class Table:
    """A table of already formatted cells."""

    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    numeric: frozenset[int] = frozenset()


@dataclass(frozen=True)
class Chart:
    """A Plotly figure as JSON (``fig.to_json()``), drawn by the page's script."""

    figure_json: str
    caption: str = ""


@dataclass(frozen=True)
class Listing:
    """A titled block of preformatted lines (a stack, a piece of code), folded by default."""

    title: str
    lines: tuple[str, ...]
    open: bool = False


@dataclass(frozen=True)
class Section:
    """One part of a report."""

    title: str
    paragraphs: tuple[str, ...] = ()
    bullets: tuple[str, ...] = ()
    charts: tuple[Chart, ...] = ()
    tables: tuple[Table, ...] = ()
    code: str | None = None
    listings: tuple[Listing, ...] = ()
    badge: str | None = None
    badge_kind: str = "neutral"


@dataclass(frozen=True)
class Page:
    """A whole report page."""

    title: str
    subtitle: str
    facts: tuple[tuple[str, str], ...]
    sections: tuple[Section, ...]
    footer: str = ""

    def chart_count(self) -> int:
        """How many charts the page should draw."""
        return sum(len(s.charts) for s in self.sections)


def render_page(page: Page) -> str:
    """The page as one HTML document with plotly.js inlined."""
    jinja2, plotly_js = _html_libraries()
    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("gilwise.report", "templates"),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )
    environment.filters["script_json"] = _script_json
    template = environment.get_template("report.html.j2")
    return str(template.render(page=page, plotly_js=plotly_js, chart_count=page.chart_count()))


def figure_json(figure: Any) -> str:
    """A Plotly figure's JSON with the page's shared look applied."""
    figure.update_layout(
        template="plotly_white",
        margin={"l": 60, "r": 20, "t": 40, "b": 50},
        height=figure.layout.height or 360,
        font={"family": "system-ui, sans-serif", "size": 13},
        legend={"orientation": "h", "x": 0, "y": 1.02, "yanchor": "bottom"},
    )
    return str(figure.to_json())


def _script_json(text: str) -> str:
    # Jinja's Markup is not used here: the result is placed in a <script> element as data,
    # where HTML escaping would corrupt it; escaping <, > and & keeps "</script>" out.
    from markupsafe import Markup

    json.loads(text)  # only well-formed JSON goes into a script element
    return Markup(text.translate(_UNSAFE_IN_SCRIPT))


def require_html() -> None:
    """Fail now, before minutes of measuring, if the ``html`` extra is missing."""
    _html_libraries()


def _html_libraries() -> tuple[Any, str]:
    try:
        import jinja2
        from plotly.offline import get_plotlyjs
    except ImportError as exc:
        raise ExtraNotInstalled(
            "HTML reports need Plotly and Jinja2: pip install 'gilwise[html]'"
        ) from exc
    return jinja2, get_plotlyjs()


def table(
    columns: Sequence[str], rows: Iterable[Sequence[str]], numeric: Iterable[int] = ()
) -> Table:
    """A :class:`Table` from any sequences."""
    return Table(tuple(columns), tuple(tuple(r) for r in rows), frozenset(numeric))
