"""How every output writes a place in the source: ``path:line in function``."""

from __future__ import annotations

import os


def where(file: str, line: int, function: str, *, relative_to: str | None = None) -> str:
    """``path:line in function``. With ``relative_to`` (a folder), a path under it is
    written relative to it, as a reader there would type it; other paths stay whole."""
    return f"{file if relative_to is None else _relative(file, relative_to)}:{line} in {function}"


def _relative(path: str, folder: str) -> str:
    try:
        relative = os.path.relpath(path, folder)
    except ValueError:  # another drive (Windows)
        return path
    return path if relative.startswith("..") else relative
