"""Which Python this is, as every report names it."""

from __future__ import annotations

import sys


def python_description() -> str:
    """Interpreter version, plus whether the GIL is enabled on free-threaded builds."""
    version = sys.version.split()[0]
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    if is_gil_enabled is not None and not is_gil_enabled():
        return f"CPython {version} (free-threaded, GIL disabled)"
    return f"{sys.implementation.name} {version}"
