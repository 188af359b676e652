"""A package's face whose names load on first use (PEP 562).

Other packages import what they need from a package's ``__init__``, never from its
private modules; each name there loads its module only when first asked for, so the
face costs nothing to import (``gilwise run`` imports gilwise and the monitor before
the program starts).
"""

from __future__ import annotations

import importlib


def attribute(package: str, modules: dict[str, str], name: str) -> object:
    """``name`` from the module ``modules`` names for it (relative to ``package``)."""
    module = modules.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    return getattr(importlib.import_module(module, package), name)
