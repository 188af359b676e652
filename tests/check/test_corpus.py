"""The labelled corpus: every marked line reported with its codes, nothing else reported."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gilwise.check import Selection, check_source
from gilwise.check._rule import registered_rules

CORPUS = Path(__file__).parent / "corpus"
_MARK = re.compile(r"#\s*(expect|ok):((?:\s+GW\d{3})+)")
_FILE_CODES = {"GW001", "GW002"}
#: Every rule, the opt-in ones included.
EVERYTHING = Selection(("GW", *(r.code for r in registered_rules().values() if r.opt_in)))


def _marks(path: Path, kind: str) -> set[tuple[int, str]]:
    marks: set[tuple[int, str]] = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        for found, codes in _MARK.findall(line):
            if found == kind:
                marks.update((number, code) for code in codes.split())
    return marks


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.py")), ids=lambda p: p.stem)
def test_corpus_file_reports_exactly_the_marked_lines(path: Path) -> None:
    found = {(f.line, f.code) for f in check_source(path.read_bytes(), str(path), EVERYTHING)}
    assert found == _marks(path, "expect")


def test_every_rule_has_a_positive_and_a_negative_example_in_the_corpus() -> None:
    files = sorted(CORPUS.glob("*.py"))
    positive = {code for path in files for _, code in _marks(path, "expect")}
    negative = {code for path in files for _, code in _marks(path, "ok")}
    rule_codes = set(registered_rules()) - _FILE_CODES
    assert rule_codes - positive == set()
    assert rule_codes - negative == set()


def test_opt_in_rules_run_only_when_named() -> None:
    source = (CORPUS / "asyncio_tasks.py").read_bytes()
    assert "GW115" not in {f.code for f in check_source(source)}
    assert "GW115" not in {f.code for f in check_source(source, selection=Selection(("GW1",)))}
    named = check_source(source, selection=Selection(("GW115",)))
    assert {f.code for f in named} == {"GW115"}


def test_an_async_generator_called_as_a_statement_is_named_as_one() -> None:
    source = (CORPUS / "asyncio_tasks.py").read_text()
    line = source.splitlines().index("    close_loop()  # expect: GW110") + 1
    (finding,) = [f for f in check_source(source) if f.line == line]
    assert "async generator that nothing iterates" in finding.message
