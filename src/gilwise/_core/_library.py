"""Whose code a file is: the standard library's or an installed package's, or the
program's own (the line a sample or a stuck call is blamed on)."""

from __future__ import annotations

import os
import sysconfig

#: Where the standard library and installed packages live: a line is blamed on the
#: program's own code, the line that called into them.
_LIBRARY_PREFIXES = tuple(
    {sysconfig.get_paths()[key] + os.sep for key in ("stdlib", "platstdlib", "purelib", "platlib")}
    | {"<frozen "}
)


def is_library_file(filename: str) -> bool:
    """Whether ``filename`` belongs to the standard library or an installed package."""
    return filename.startswith(_LIBRARY_PREFIXES)
