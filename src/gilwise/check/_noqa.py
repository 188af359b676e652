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

#: Other linters' codes for the same problems, accepted in noqa comments as ours: a project
#: that silenced flake8-async or ruff on a line has already judged that line. ASYNC1xx
#: below 105 are flake8-async's first numbering (still ruff's before 0.5): 100 HTTP,
#: 101 open/sleep/subprocess, 102 blocking ``os`` calls; TRIO is flake8-async's old name.
_OTHER_LINTERS: dict[str, frozenset[str]] = {
    "GW101": frozenset({"ASYNC101", "ASYNC251"}),
    "GW102": frozenset({"ASYNC100", "ASYNC210", "ASYNC211", "ASYNC212"}),
    "GW103": frozenset({"ASYNC101", "ASYNC102", "ASYNC220", "ASYNC221", "ASYNC222"}),
    "GW104": frozenset({"ASYNC101", "ASYNC230", "ASYNC231", "ASYNC232", "ASYNC240"}),
    "GW106": frozenset({"ASYNC250"}),
    "GW109": frozenset({"ASYNC110"}),
    "GW110": frozenset({"ASYNC105"}),
    "GW111": frozenset({"ASYNC300", "RUF006"}),
    "GW114": frozenset({"ASYNC103", "ASYNC104"}),
    "GW115": frozenset({"ASYNC103", "ASYNC104"}),
}
_EQUIVALENT_CODES = {
    code: others | {f"TRIO{other[5:]}" for other in others if other.startswith("ASYNC")}
    for code, others in _OTHER_LINTERS.items()
}


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
    """Whether a finding ``code`` on ``line`` is suppressed, by its own code or by another
    linter's code for the same problem.

    Example:
        >>> is_suppressed(suppressions("sleep(1)  # noqa: ASYNC251"), 1, "GW101")
        True
    """
    if line not in suppressed:
        return False
    codes = suppressed[line]
    return codes is None or code in codes or not codes.isdisjoint(_EQUIVALENT_CODES.get(code, ()))


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
