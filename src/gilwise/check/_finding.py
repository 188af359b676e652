"""What the checker reports: one finding per problem, with where it is and what to do."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, order=True)
class Finding:
    """One problem at one place in a file.

    Lines and columns count from 1, like editors and ruff show them.

    Example:
        >>> Finding("app.py", 3, 5, "GW101", "time.sleep() blocks the event loop").location()
        'app.py:3:5'
    """

    path: str
    line: int
    column: int
    code: str
    message: str
    end_line: int | None = None
    end_column: int | None = None

    def location(self) -> str:
        """``path:line:column``, the form editors and terminals turn into links."""
        return f"{self.path}:{self.line}:{self.column}"


@dataclass(frozen=True)
class CheckResult:
    """Everything one check run found, and what it could not look at."""

    findings: tuple[Finding, ...]
    files_checked: int
    #: Problems with the run rather than the code (an unreadable directory, a symlink loop).
    warnings: tuple[str, ...] = ()
