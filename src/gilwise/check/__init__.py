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
from ._finding import CheckResult, Finding
from ._runner import check_paths

__all__ = ["CheckConfig", "CheckResult", "Finding", "Selection", "check_paths", "check_source"]
