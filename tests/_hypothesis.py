"""Hypothesis with the suite's profile loaded: tests import ``given`` and ``settings`` from here.

``@given`` and ``@settings`` copy the default settings when they decorate a test, so the
profile must be loaded before the first test module using them is imported. Loading it
here rather than in the root conftest keeps hypothesis (about 0.2 s to import) out of runs
that use none of its tests, and out of the root conftest's requirements; ruff's banned-api
rule (TID251) makes every test take ``given`` and ``settings`` from this module.
"""

from __future__ import annotations

from hypothesis import given, settings

# Hypothesis' per-example deadline is a timing assertion: on a loaded 2-core machine it
# fails at random, so it is off; pytest-timeout still catches hangs.
settings.register_profile("gilwise", deadline=None)
settings.load_profile("gilwise")

__all__ = ["given", "settings"]
