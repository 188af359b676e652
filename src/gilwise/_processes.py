"""Child processes and Ctrl-C: a terminal's Ctrl-C reaches every process in its group.

gilwise ends its own worker processes when the user presses Ctrl-C; a child that gets
the SIGINT too would print a traceback of its own. Processes started with SIGINT blocked
keep it blocked (the mask survives fork and exec), so they stay quiet.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator


@contextlib.contextmanager
def ctrl_c_held() -> Iterator[None]:
    """SIGINT blocked in this thread for the duration (where the platform can block it)."""
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def start_forkserver_quietly(start_method: str | None = None) -> None:
    """Start multiprocessing's fork server (and its resource tracker) now, Ctrl-C held.

    Where it is the start method (the default from CPython 3.14 on Linux), the first
    pool starts it: a Ctrl-C while it is still importing printed its traceback beside
    gilwise's one line (seen on 3.14). Started here, it never sees SIGINT.
    """
    import multiprocessing

    method = start_method or multiprocessing.get_start_method()
    if method != "forkserver":
        return
    from multiprocessing import forkserver

    with ctrl_c_held():
        forkserver.ensure_running()
