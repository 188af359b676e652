"""Shared fixtures: every test must leave no monitor running behind it."""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator

import pytest

import gilwise._watch as watch_module


@pytest.fixture(autouse=True)
def no_monitor_outlives_a_test() -> Iterator[None]:
    """Fail a test that leaves a process-wide monitor or an extra sampler thread behind."""
    before = set(sys._current_frames())
    yield
    leaked_monitor = watch_module._active
    if leaked_monitor is not None:
        watch_module._active = None
        leaked_monitor.stop()
        pytest.fail("a gilwise monitor was still running after the test")
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        extra = set(sys._current_frames()) - before
        if not any(_is_sampler(sys._current_frames().get(i)) for i in extra):
            return
        time.sleep(0.01)
    pytest.fail("a gilwise sampler thread outlived the test")


def _is_sampler(frame: object) -> bool:
    while frame is not None:
        code = frame.f_code  # type: ignore[attr-defined]
        if code.co_name == "_run" and code.co_filename.endswith("_sampler.py"):
            return True
        frame = frame.f_back  # type: ignore[attr-defined]
    return False
