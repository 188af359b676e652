"""A command run as from a terminal, for tests of Ctrl-C: its own process group, SIGINT on."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path


def gilwise_in_own_group(*args: str, cwd: Path) -> subprocess.Popen[str]:
    """``python -m gilwise ARGS`` leading its own process group, stderr captured."""
    return subprocess.Popen(
        [sys.executable, "-m", "gilwise", *args],
        cwd=cwd,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        # A test started in a shell's background inherits SIGINT ignored: restore it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


def group_members(pid: int) -> list[str]:
    """PIDs still in the process group ``pid`` leads."""
    return subprocess.run(["pgrep", "-g", str(pid)], capture_output=True, text=True).stdout.split()


def group_left_after(pid: int, seconds: float = 10.0) -> list[str]:
    """The group's members once it has emptied, or after ``seconds``. multiprocessing's
    fork server and resource tracker leave on their own once the parent is gone (they
    read EOF on its pipes), a moment after it."""
    deadline = time.monotonic() + seconds
    while (left := group_members(pid)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def ctrl_c_once(proc: subprocess.Popen[str], ready: Callable[[], bool]) -> tuple[int, str]:
    """Wait (at most 60 s) until ``ready()``, then Ctrl-C as a terminal sends it: to the
    whole group. The exit status and what the command said on stderr."""
    deadline = time.monotonic() + 60
    while not ready() and time.monotonic() < deadline:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    return proc.returncode, err
