"""Rule documentation: pages in docs/rules/ match the docstrings, examples do what they say."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from gilwise.check import Selection, check_source
from gilwise.check._rule import Rule, index_page, registered_rules, rule_page

DOCS = Path(__file__).parents[2] / "docs" / "rules"
RULES = list(registered_rules().values())
_SECTIONS = ["## What it does", "## Why is this bad?"]
_EXAMPLE_SECTIONS = ["## Example", "## Use instead"]


def _examples(rule: type[Rule]) -> list[str]:
    return re.findall(r"```python\n(.*?)```", rule.documentation(), re.DOTALL)


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_the_page_in_docs_matches_the_rule(rule: type[Rule]) -> None:
    page = DOCS / f"{rule.code}.md"
    assert page.read_text(encoding="utf-8") == rule_page(rule), (
        "docs/rules is out of date: run python scripts/generate_rule_docs.py"
    )


def test_the_index_lists_every_rule_and_no_stale_pages_remain() -> None:
    assert (DOCS / "README.md").read_text(encoding="utf-8") == index_page(RULES)
    pages = {p.stem for p in DOCS.glob("GW*.md")}
    assert pages == {r.code for r in RULES}


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_the_page_has_ruffs_sections_and_a_kebab_case_name(rule: type[Rule]) -> None:
    page = rule.documentation()
    for section in _SECTIONS:
        assert section in page
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)+", rule.name)
    assert rule.summary().endswith(".")


@pytest.mark.parametrize("rule", [r for r in RULES if r.code != "GW002"], ids=lambda r: r.code)
def test_the_bad_example_is_reported_and_the_good_one_is_not(rule: type[Rule]) -> None:
    for section in _EXAMPLE_SECTIONS:
        assert section in rule.documentation()
    bad, good = _examples(rule)[:2]
    selection = Selection(("GW", rule.code))
    assert rule.code in {f.code for f in check_source(bad, selection=selection)}
    assert check_source(good, selection=selection) == []


def test_codes_are_unique_and_grouped_by_family() -> None:
    families = {"0": "files", "1": "asyncio", "2": "threading", "3": "multiprocessing"}
    for rule in RULES:
        assert re.fullmatch(r"GW[0-4]\d\d", rule.code)
        module = rule.__module__.rsplit(".", 1)[-1]
        expected = families.get(rule.code[2], "executors")
        assert module == f"_{expected}"
