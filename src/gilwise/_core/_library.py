"""Whose code a file is: the standard library's or an installed package's, or the
program's own (the line a sample or a stuck call is blamed on)."""

from __future__ import annotations

import functools
import os


def is_library_file(filename: str) -> bool:
    """Whether ``filename`` belongs to the standard library or an installed package."""
    return filename.startswith(_library_prefixes())


@functools.cache
def _library_prefixes() -> tuple[str, ...]:
    """Where the standard library and installed packages live: a line is blamed on the
    program's own code, the line that called into them."""
    # On first use (the sampler's first look at a stack), not when `gilwise run` starts.
    import sysconfig

    paths = sysconfig.get_paths()
    keys = ("stdlib", "platstdlib", "purelib", "platlib")
    return tuple({paths[key] + os.sep for key in keys} | {"<frozen "})
