"""Whose code a file is: the standard library's or an installed package's, or the
program's own (the line a sample or a stuck call is blamed on)."""

from __future__ import annotations

import functools
import os
import sys


def is_library_file(filename: str) -> bool:
    """Whether ``filename`` belongs to the standard library or an installed package."""
    return filename.startswith(_library_prefixes())


@functools.cache
def _library_prefixes() -> tuple[str, ...]:
    """Where the standard library and installed packages live: a line is blamed on the
    program's own code, the line that called into them.

    Read from modules every program has loaded (os, site), not from sysconfig: the
    sampler asks first while the program runs, and importing sysconfig then held the
    GIL and released it around each file read, which beside CPU-bound threads kept the
    sampler from its ticks for 0.2 s.
    """
    folders = {os.path.dirname(os.__file__)}  # the standard library, lib-dynload below it
    site = sys.modules.get("site")  # absent under `python -S`: no packages then either
    if site is not None:
        folders.update(site.getsitepackages())
        if site.ENABLE_USER_SITE:
            folders.add(site.getusersitepackages())
    return (*sorted(folder.rstrip(os.sep) + os.sep for folder in folders), "<frozen ")
