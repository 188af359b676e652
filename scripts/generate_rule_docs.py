"""Write docs/rules/: one page per rule from its docstring, and an index.

Run after changing a rule's documentation: ``python scripts/generate_rule_docs.py``.
tests/check/test_docs.py fails while the pages are out of date.
"""

from __future__ import annotations

import sys
from pathlib import Path

from gilwise.check._rule import index_page, registered_rules, rule_page

DOCS = Path(__file__).resolve().parent.parent / "docs" / "rules"


def main() -> int:
    DOCS.mkdir(parents=True, exist_ok=True)
    rules = registered_rules()
    for rule in rules.values():
        (DOCS / f"{rule.code}.md").write_text(rule_page(rule), encoding="utf-8")
    (DOCS / "README.md").write_text(index_page(rules.values()), encoding="utf-8")
    print(f"wrote {len(rules)} rule pages and the index to {DOCS}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
