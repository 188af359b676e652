"""``# noqa`` comments: which codes each line suppresses, the way flake8 and ruff read them."""

from __future__ import annotations

import io
import re
import tokenize
from collections.abc import Iterator

_NOQA = re.compile(
    r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE
)
_FILE_NOQA = re.compile(r"#\s*gilwise:\s*noqa\b", re.IGNORECASE)

#: None suppresses every code on the line; a set suppresses those codes.
Suppressions = dict[int, frozenset[str] | None]


def suppressions(text: str) -> Suppressions:
    """The ``# noqa`` comments of ``text`` by line number."""
    found: Suppressions = {}
    for line, comment in _comments(text):
        match = _NOQA.search(comment)
        if match is None:
            continue
        codes = match.group("codes")
        found[line] = (
            None if codes is None else frozenset(c.upper() for c in re.split(r"[,\s]+", codes))
        )
    return found


def skips_file(text: str) -> bool:
    """Whether a ``# gilwise: noqa`` comment on its own line excludes the whole file."""
    return any(
        _FILE_NOQA.match(comment.strip()) and not code.strip()
        for code, comment in _own_line_comments(text)
    )


def is_suppressed(suppressed: Suppressions, line: int, code: str) -> bool:
    """Whether a finding ``code`` on ``line`` is suppressed."""
    if line not in suppressed:
        return False
    codes = suppressed[line]
    return codes is None or code in codes


def _comments(text: str) -> Iterator[tuple[int, str]]:
    try:
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.COMMENT:
                yield token.start[0], token.string
    except (tokenize.TokenError, SyntaxError):
        # Only reached for files ast could parse but tokenize cannot; fall back to lines.
        for number, line in enumerate(text.splitlines(), start=1):
            if "#" in line:
                yield number, line[line.index("#") :]


def _own_line_comments(text: str) -> Iterator[tuple[str, str]]:
    for line in text.splitlines():
        if "#" in line:
            code, _, comment = line.partition("#")
            yield code, "#" + comment
