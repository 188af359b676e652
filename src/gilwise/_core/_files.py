"""Writing an output file so that a reader never sees half of it."""

from __future__ import annotations

import contextlib
import os


def write_atomic(path: str | os.PathLike[str], text: str) -> None:
    """Write ``text`` to ``path`` so a reader never sees half a file.

    The text goes to a temporary file in the same directory, is flushed to disk,
    then renamed over ``path``: a process killed mid-write leaves the old file intact.
    A missing folder is an error (a typo must not create folders), and the file gets
    the mode any new file gets under the umask, as ``open()`` would give it.
    """
    import tempfile

    target = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(target))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(target)}.", suffix=".tmp", dir=folder)
    try:
        os.fchmod(fd, 0o666 & ~_umask())  # mkstemp makes it 0600
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    # Linux shows it in /proc; setting it to read it back would briefly change it for
    # the program's other threads.
    with contextlib.suppress(OSError, ValueError), open("/proc/self/status") as status:
        for line in status:
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
