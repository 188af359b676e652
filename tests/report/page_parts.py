"""Read a rendered HTML report back: its header facts, tables, chart figures and bullets."""

from __future__ import annotations

import html.parser
import json
from dataclasses import dataclass, field
from typing import Any


@dataclass
class PageParts:
    """What a reader of the page sees, as data."""

    facts: dict[str, str] = field(default_factory=dict)
    tables: list[list[list[str]]] = field(default_factory=list)
    charts: list[dict[str, Any]] = field(default_factory=list)
    captions: list[str] = field(default_factory=list)
    paragraphs: list[str] = field(default_factory=list)
    bullets: list[str] = field(default_factory=list)

    def table_with(self, column: str) -> list[dict[str, str]]:
        """The first table with ``column`` in its header, as one dict per row."""
        for rows in self.tables:
            if column in rows[0]:
                return [dict(zip(rows[0], row, strict=True)) for row in rows[1:]]
        raise AssertionError(f"no table has a {column!r} column")

    def traces(self, name_part: str) -> list[dict[str, Any]]:
        """Every trace, in every chart, whose name contains ``name_part``."""
        found = [t for c in self.charts for t in c["data"] if name_part in t.get("name", "")]
        assert found, f"no trace named like {name_part!r}"
        return found


def page_parts(page: str) -> PageParts:
    parser = _Reader()
    parser.feed(page)
    parser.close()
    return parser.parts


class _Reader(html.parser.HTMLParser):
    #: Elements whose text is collected, and where it goes when the element ends.
    _TEXT = frozenset({"dt", "dd", "th", "td", "figcaption", "p", "li", "script"})

    def __init__(self) -> None:
        super().__init__()
        self.parts = PageParts()
        self._text: list[str] | None = None
        self._chart = False
        self._term = ""
        self._row: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "table":
            self.parts.tables.append([])
        elif tag == "tr":
            self._row = []
        if tag in self._TEXT:
            self._text = []
            self._chart = tag == "script" and ("class", "gilwise-chart") in attrs

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "tr":
            self.parts.tables[-1].append(self._row)
        if tag not in self._TEXT or self._text is None:
            return
        text = "".join(self._text).strip()
        self._text = None
        if tag == "script":
            if self._chart:
                self.parts.charts.append(json.loads(text))
        elif tag == "dt":
            self._term = text
        elif tag == "dd":
            self.parts.facts[self._term] = text
        elif tag in {"th", "td"}:
            self._row.append(text)
        elif tag == "figcaption":
            self.parts.captions.append(text)
        elif tag == "p":
            self.parts.paragraphs.append(text)
        else:
            self.parts.bullets.append(text)
