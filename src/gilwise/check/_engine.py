"""Check one source text: parse, learn the module's facts, walk it once, apply the rules."""

from __future__ import annotations

import ast
import codecs
import contextlib
import gc
import io
import re
import tokenize
import warnings
from collections import defaultdict
from collections.abc import Iterable, Iterator
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

#: Byte-order marks of the encodings Python cannot read source in, longest first: the
#: UTF-32-LE mark begins with the UTF-16-LE one.
_WIDE_BOMS = (
    (codecs.BOM_UTF32_LE, "UTF-32", "utf-32"),
    (codecs.BOM_UTF32_BE, "UTF-32", "utf-32"),
    (codecs.BOM_UTF16_LE, "UTF-16", "utf-16"),
    (codecs.BOM_UTF16_BE, "UTF-16", "utf-16"),
)


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
    text = decode_source(source)
    if skips_file(text):
        return []
    wide = _wide_encoding(source)
    if wide is not None:
        return _only_if_wanted(selection, [Finding(path, 1, 1, PARSE_ERROR, wide)])
    with _collector_paused():
        try:
            tree = _parse(source, path)
        except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
            return _only_if_wanted(selection, [parse_error(path, exc)])
        rules = [rule() for rule in registered_rules().values() if selection.runs(rule)]
        hits = rule_hits(tree, rules)
    if not hits:
        return []
    lines = split_lines(text)
    findings = [_finding(path, lines, code, hit) for code, hit in hits]
    suppressed = suppressions(text) if _any_noqa(lines, findings) else {}
    return sorted({f for f in findings if not is_suppressed(suppressed, f.line, f.code)})


def _any_noqa(lines: list[str], findings: list[Finding]) -> bool:
    """Whether a reported line could carry a ``# noqa``: tokenizing a whole file for its
    comments costs about a second per MB, and most findings' lines have none."""
    return any(0 < f.line <= len(lines) and "noqa" in lines[f.line - 1].lower() for f in findings)


def _parse(source: str | bytes, path: str) -> ast.Module:
    with warnings.catch_warnings():
        # The compiler's warnings about the user's code (invalid escapes, `x is 1`)
        # are not ours to print; a checker's output is its findings.
        warnings.simplefilter("ignore", SyntaxWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return ast.parse(source, filename=path)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cyclic garbage collector off while one module is parsed and walked.

    A syntax tree holds no reference cycles, but each full collection walks every live
    object, and the tree grows as the parser builds it: on a 5 MB module the passes made
    parsing and the module facts superlinear. Nothing here creates cyclic garbage worth
    collecting; the collector is back on (if it was on) before the function returns.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def parse_error(path: str, exc: BaseException) -> Finding:
    """A GW001 finding for a file Python's parser rejects."""
    # An unknown coding cookie is reported at line 0, offset -1: positions start at 1.
    line = max(getattr(exc, "lineno", None) or 1, 1)
    column = max(getattr(exc, "offset", None) or 1, 1)
    reason = getattr(exc, "msg", None) or str(exc) or type(exc).__name__
    if isinstance(exc, (RecursionError, MemoryError)):
        reason = "too deeply nested for the parser"
    return Finding(path, line, column, PARSE_ERROR, f"cannot parse: {reason}")


def read_error(path: str, reason: str) -> Finding:
    """A GW002 finding for a file that cannot be read."""
    return Finding(path, 1, 1, READ_ERROR, f"cannot read: {reason}")


def _only_if_wanted(selection: Selection, findings: list[Finding]) -> list[Finding]:
    return [f for f in findings if selection.wants(f.code)]


def _wide_encoding(source: str | bytes) -> str | None:
    """Why a UTF-16 or UTF-32 file cannot be checked, or None for any other file.

    Python reads source as UTF-8 or the ASCII-compatible encoding its coding cookie names:
    it refuses a UTF-16 file (as "null bytes"), cookie or not. Editors and shells (Windows
    PowerShell's ``>``) still write them, so say what the file is and what to do.
    """
    if isinstance(source, str):
        return None
    for bom, name, _ in _WIDE_BOMS:
        if source.startswith(bom):
            return (
                f"cannot parse: the file is {name} (it starts with a {name} byte-order mark) "
                "and Python reads source only in UTF-8 or an ASCII-based encoding; "
                "save it as UTF-8"
            )
    named = _cookie_encoding(source)
    if named is not None and named.startswith(("utf-16", "utf-32")):
        return (
            f"cannot parse: the coding cookie names {named}, which Python cannot read "
            "source in; save the file as UTF-8"
        )
    return None


#: PEP 263's coding cookie, in one of the first two lines.
_COOKIE = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def _cookie_encoding(source: bytes) -> str | None:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except SyntaxError:
        # CPython 3.14+ refuses a cookie whose codec cannot decode the line it is on
        # (utf-16): read the cookie itself.
        match = next(filter(None, map(_COOKIE.match, source.splitlines()[:2])), None)
        if match is None:
            return None
        encoding = match.group(1).decode("ascii", errors="replace")
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        return None


def decode_source(source: str | bytes) -> str:
    """The text of a module's source: by its coding cookie or BOM, else as UTF-8."""
    if isinstance(source, str):
        return source
    for bom, _, codec in _WIDE_BOMS:
        if source.startswith(bom):
            # Only to read a `# gilwise: noqa` line: the file is reported, not checked.
            return source.decode(codec, errors="replace")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except SyntaxError:
        encoding = "utf-8"
    try:
        return source.decode(encoding, errors="replace")
    except LookupError:
        return source.decode("utf-8", errors="replace")


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` as Python numbers them (not str.splitlines(): form feeds and
    other separators do not end a line)."""
    return _LINE_BREAK.split(text)


def rule_hits(tree: ast.Module, rules: Iterable[Rule]) -> list[tuple[str, Hit]]:
    """Every rule's hits in ``tree``, as (code, hit), in source order (a node before the
    nodes inside it)."""
    # The rules for each node type, in coroutines and elsewhere.
    in_coroutines: defaultdict[type[ast.AST], list[Rule]] = defaultdict(list)
    elsewhere: defaultdict[type[ast.AST], list[Rule]] = defaultdict(list)
    for rule in rules:
        for node_type in rule.nodes:
            in_coroutines[node_type].append(rule)
            if not rule.in_coroutines_only:
                elsewhere[node_type].append(rule)
    facts = ModuleFacts.of(tree)
    hits: list[tuple[str, Hit]] = []
    for node, place in facts.index.nodes:
        if type(node) not in in_coroutines:
            continue  # most nodes: no rule looks at them
        dispatch = in_coroutines if isinstance(place.function, ast.AsyncFunctionDef) else elsewhere
        wanted = dispatch.get(type(node))
        if wanted:
            ctx = Context(facts, place)
            for rule in wanted:
                for hit in rule.check(node, ctx):
                    hits.append((rule.code, hit))
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
