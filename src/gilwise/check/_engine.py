"""Check one source text: parse, learn the module's facts, walk it once, apply the rules."""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from ._context import Context
from ._finding import Finding
from ._names import ModuleFacts
from ._noqa import is_suppressed, skips_file, suppressions
from ._rule import Hit, Rule, registered_rules

# Python's own line breaks; str.splitlines() also splits on form feeds and more.
_LINE_BREAK = re.compile(r"\r\n|\r|\n")

#: Codes of findings about a whole file (documented in rules/_files.py).
PARSE_ERROR = "GW001"
READ_ERROR = "GW002"


@dataclass(frozen=True)
class Selection:
    """Which codes to report: ruff's rule that the longest matching prefix decides.

    Example:
        >>> Selection(select=("GW1",), ignore=("GW104",)).wants("GW104")
        False
    """

    select: tuple[str, ...] = ("GW",)
    ignore: tuple[str, ...] = ()

    def runs(self, rule: type[Rule]) -> bool:
        """Whether ``rule`` runs: wanted, and named exactly if it is opt-in."""
        return self.wants(rule.code) and (not rule.opt_in or rule.code in self.select)

    def wants(self, code: str) -> bool:
        """Whether findings with ``code`` are reported."""
        best_select = max((len(p) for p in self.select if code.startswith(p)), default=-1)
        best_ignore = max((len(p) for p in self.ignore if code.startswith(p)), default=-1)
        return best_select > best_ignore


def check_source(
    source: str | bytes, path: str = "<string>", selection: Selection | None = None
) -> list[Finding]:
    """Check one module's source and return its findings, sorted by position.

    Example:
        >>> src = "import time\\nasync def f():\\n    time.sleep(1)\\n"
        >>> [f.code for f in check_source(src)]
        ['GW101']
    """
    selection = selection or Selection()
    text = _decode(source)
    if skips_file(text):
        return []
    try:
        with warnings.catch_warnings():
            # The compiler's warnings about the user's code (invalid escapes, `x is 1`)
            # are not ours to print; a checker's output is its findings.
            warnings.simplefilter("ignore", SyntaxWarning)
            warnings.simplefilter("ignore", DeprecationWarning)
            tree = ast.parse(source, filename=path)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        return _only_if_wanted(selection, [parse_error(path, exc)])
    rules = [rule() for rule in registered_rules().values() if selection.runs(rule)]
    lines = _LINE_BREAK.split(text)
    suppressed = suppressions(text)
    findings = [
        finding
        for code, hit in rule_hits(tree, rules)
        if not is_suppressed(suppressed, (finding := _finding(path, lines, code, hit)).line, code)
    ]
    return sorted(set(findings))


def parse_error(path: str, exc: BaseException) -> Finding:
    """A GW001 finding for a file Python's parser rejects."""
    line = getattr(exc, "lineno", None) or 1
    column = getattr(exc, "offset", None) or 1
    reason = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
    if isinstance(exc, (RecursionError, MemoryError)):
        reason = "too deeply nested for the parser"
    return Finding(path, line, column, PARSE_ERROR, f"cannot parse: {reason}")


def read_error(path: str, reason: str) -> Finding:
    """A GW002 finding for a file that cannot be read."""
    return Finding(path, 1, 1, READ_ERROR, f"cannot read: {reason}")


def _only_if_wanted(selection: Selection, findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if selection.wants(f.code)]


def _decode(source: str | bytes) -> str:
    if isinstance(source, str):
        return source
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except SyntaxError:
        encoding = "utf-8"
    try:
        return source.decode(encoding, errors="replace")
    except LookupError:
        return source.decode("utf-8", errors="replace")


def rule_hits(tree: ast.Module, rules: Iterable[Rule]) -> list[tuple[str, Hit]]:
    """Every rule's hits in ``tree``, as (code, hit), in walk order."""
    dispatch: defaultdict[type[ast.AST], list[Rule]] = defaultdict(list)
    for rule in rules:
        for node_type in rule.nodes:
            dispatch[node_type].append(rule)
    ctx = Context(ModuleFacts.of(tree))
    hits: list[tuple[str, Hit]] = []
    # An explicit stack, not recursion: generated code can nest deeper than the
    # interpreter's recursion limit.
    stack: list[tuple[ast.AST, bool]] = [(tree, False)]
    while stack:
        node, leaving = stack.pop()
        if leaving:
            ctx.ancestors.pop()
            continue
        for rule in dispatch.get(type(node), ()):
            hits.extend((rule.code, hit) for hit in rule.check(node, ctx))
        ctx.ancestors.append(node)
        stack.append((node, True))
        stack.extend((child, False) for child in reversed(list(ast.iter_child_nodes(node))))
    return hits


def _finding(path: str, lines: list[str], code: str, hit: Hit) -> Finding:
    node, message = hit
    line = getattr(node, "lineno", 1)
    end_line = getattr(node, "end_lineno", None)
    return Finding(
        path,
        line,
        _column(lines, line, getattr(node, "col_offset", 0)),
        code,
        message,
        end_line,
        None if end_line is None else _column(lines, end_line, getattr(node, "end_col_offset", 0)),
    )


def _column(lines: list[str], line: int, byte_offset: int | None) -> int:
    """1-based character column from ast's 0-based UTF-8 byte offset."""
    if byte_offset is None:
        return 1
    if not 0 < line <= len(lines):
        return byte_offset + 1
    prefix = lines[line - 1].encode("utf-8")[:byte_offset]
    return len(prefix.decode("utf-8", errors="replace")) + 1
