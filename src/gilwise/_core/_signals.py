"""Keep gilwise's own threads (the sampler, the live view's refresher) out of the way of
the program's signals.

A signal sent to the process (``kill PID``, Ctrl-C) is taken by any one thread that
does not block it. Python runs its handlers in the main thread only, so when the
sampler thread took a SIGTERM the main thread slept on, and a program that dies at
once under ``python`` lived on under gilwise (seen: ``time.sleep(60)`` outliving
``kill -TERM``). gilwise's threads therefore block every signal meant for the process;
the kernel hands them to the program's threads, as without the monitor.
"""

from __future__ import annotations

import contextlib
import signal
from collections.abc import Iterator

#: Signals the kernel raises in the thread that caused them (a fault, ``abort()``):
#: blocking those would hide a crash of the monitor's own thread instead of redirecting them.
_SYNCHRONOUS = frozenset(
    getattr(signal, name)
    for name in ("SIGSEGV", "SIGBUS", "SIGFPE", "SIGILL", "SIGTRAP", "SIGSYS", "SIGABRT")
    if hasattr(signal, name)
)


def process_signals() -> set[signal.Signals]:
    """Every signal that can be blocked and is meant for the process, not a faulting thread."""
    cannot_block = {signal.SIGKILL, getattr(signal, "SIGSTOP", signal.SIGKILL)}
    return {s for s in signal.valid_signals() if s not in _SYNCHRONOUS | cannot_block}


@contextlib.contextmanager
def blocked_for_new_threads() -> Iterator[None]:
    """Block the process's signals in this thread for the duration.

    A thread started inside inherits the mask from its first instruction, with no
    window in which a signal could land on it. Signals that arrive meanwhile stay
    pending and reach this thread when the block ends.
    """
    if not hasattr(signal, "pthread_sigmask"):  # pragma: no cover - Windows
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, process_signals())
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
