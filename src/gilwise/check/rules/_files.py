"""GW0xx: files the checker could not look into.

The engine reports these itself; they match no node, so they have no ``check``.
"""

from __future__ import annotations

from .._rule import Rule


class ParseError(Rule):
    """
    ## What it does
    Reports a file that Python's parser rejects: a syntax error, a null byte, nesting
    too deep for the parser, source written for a newer Python than the one running
    `gilwise check`, or a file saved as UTF-16 or UTF-32 (Python reads source only in
    UTF-8 or an ASCII-based encoding named by a coding cookie).

    ## Why is this bad?
    Nothing in the file was checked, so its pitfalls, if any, stay hidden. The finding
    makes that visible instead of passing silently.

    ## Example
    ```python
    items = (1, 2
    ```

    ## Use instead
    ```python
    items = (1, 2)
    ```
    """

    code = "GW001"
    name = "parse-error"
    nodes = ()


class ReadError(Rule):
    """
    ## What it does
    Reports a file that could not be read: no permission, a broken link, or a file over
    10 MiB (generated code or data, skipped to keep the run fast).

    ## Why is this bad?
    Nothing in the file was checked. Fix the permission, or exclude the file with
    `exclude` in `[tool.gilwise.check]` if it should not be checked.
    """

    code = "GW002"
    name = "read-error"
    nodes = ()
