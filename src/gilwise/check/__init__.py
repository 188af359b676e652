"""``gilwise check``: find concurrency pitfalls in source code before they run.

Example:
    >>> from gilwise.check import check_source
    >>> src = "import asyncio\\nasync def f(job):\\n    asyncio.create_task(job())\\n"
    >>> [(f.line, f.code) for f in check_source(src)]
    [(3, 'GW111')]
"""

from __future__ import annotations

from ._config import CheckConfig
from ._engine import Selection, check_source
from ._engine import decode_source as decode_source
from ._engine import split_lines as split_lines
from ._finding import CheckResult, Finding
from ._rule import Rule as Rule
from ._rule import registered_rules as registered_rules
from ._runner import check_paths

# The names imported `as` themselves are not for users: the findings' renderers
# (``gilwise.report._check``) read the rules, and the source lines as the checker read them.
__all__ = ["CheckConfig", "CheckResult", "Finding", "Selection", "check_paths", "check_source"]
