"""Writing an output file so that a reader never sees half of it."""

from __future__ import annotations

import contextlib
import os
import threading


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` so a reader never sees half a file.

    The text goes to a temporary file in the same directory, is flushed to disk,
    then renamed over ``path``: a process killed mid-write leaves the old file intact.
    A missing folder is an error (a typo must not create folders), and the file gets
    the mode any new file gets under the umask, as ``open()`` would give it.
    """
    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    # Named by process and thread, created exclusively: no other writer can share it
    # (tempfile would do the same and cost `gilwise run --json` its import, and random's).
    tmp = os.path.join(
        folder, f".{os.path.basename(target)}.{os.getpid()}.{threading.get_ident()}.tmp"
    )
    with contextlib.suppress(FileNotFoundError):  # left by a killed process of the same pid
        os.unlink(tmp)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
