"""The labelled corpus: every marked line reported with its codes, nothing else reported."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gilwise.check import check_source
from gilwise.check._rule import registered_rules

CORPUS = Path(__file__).parent / "corpus"
_MARK = re.compile(r"#\s*(expect|ok):((?:\s+GW\d{3})+)")
_FILE_CODES = {"GW001", "GW002"}


def _marks(path: Path, kind: str) -> set[tuple[int, str]]:
    marks = set()
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        for found, codes in _MARK.findall(line):
            if found == kind:
                marks.update((number, code) for code in codes.split())
    return marks


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.py")), ids=lambda p: p.stem)
def test_corpus_file_reports_exactly_the_marked_lines(path: Path) -> None:
    found = {(f.line, f.code) for f in check_source(path.read_bytes(), str(path))}
    assert found == _marks(path, "expect")


def test_every_rule_has_a_positive_and_a_negative_example_in_the_corpus() -> None:
    files = sorted(CORPUS.glob("*.py"))
    positive = {code for path in files for _, code in _marks(path, "expect")}
    negative = {code for path in files for _, code in _marks(path, "ok")}
    rule_codes = set(registered_rules()) - _FILE_CODES
    assert rule_codes - positive == set()
    assert rule_codes - negative == set()
