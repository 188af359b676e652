"""Reading small Linux /proc files while keeping the GIL.

Python's own file I/O releases the GIL around every system call. For the sampler
that is costly: each release means queueing to take the GIL back, which behind
CPU-bound threads takes a switch interval (5 ms) or more, so a tick reading a file
per thread would crawl exactly when contention is worth measuring. libc's ``open``
/ ``read`` / ``close`` called through ``ctypes.PyDLL`` run with the GIL held; on
/proc they never block, so holding it costs microseconds.
"""

from __future__ import annotations

import os
from collections.abc import Callable

_O_RDONLY_CLOEXEC = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)


def gil_holding_reader() -> Callable[[str], bytes | None] | None:
    """A function reading a small file with the GIL held, or None where unavailable."""
    import ctypes  # here: only the sampler's thread needs it, once it runs

    try:
        libc = ctypes.PyDLL(None, use_errno=True)
        c_open, c_read, c_close = libc.open, libc.read, libc.close
    except (OSError, AttributeError):
        return None
    c_open.argtypes = [ctypes.c_char_p, ctypes.c_int]
    c_open.restype = ctypes.c_int
    c_read.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_size_t]
    c_read.restype = ctypes.c_ssize_t
    c_close.argtypes = [ctypes.c_int]
    c_close.restype = ctypes.c_int
    buffer = ctypes.create_string_buffer(256)

    def read(path: str) -> bytes | None:
        fd = c_open(path.encode(), _O_RDONLY_CLOEXEC)
        if fd < 0:
            return None
        try:
            n = c_read(fd, buffer, len(buffer))
        finally:
            c_close(fd)
        return buffer.raw[:n] if n >= 0 else None

    return read


def python_reader(path: str) -> bytes | None:
    """Plain Python file reading (releases the GIL per call): the portable fallback."""
    return read_file(path, 256)


def read_file(path: str, limit: int | None = None) -> bytes | None:
    """A file's bytes (its first ``limit``), None if it cannot be read.

    With the fewest system calls: each one lets go of the GIL and, beside busy threads,
    waits a switch interval or more to take it back. ``open()`` makes seven (fstat,
    isatty, lseek...); this, three or four. Beside three CPU-bound threads, ``watch()``
    took 0.35-0.68 s to start reading a file per thread through ``open()``.
    """
    try:
        fd = os.open(path, _O_RDONLY_CLOEXEC)
    except OSError:
        return None
    try:
        if limit is not None:
            return os.read(fd, limit)
        chunks = []
        while chunk := os.read(fd, 65536):
            chunks.append(chunk)
        return b"".join(chunks)
    except OSError:
        return None
    finally:
        os.close(fd)


def proc_reader() -> Callable[[str], bytes | None]:
    return gil_holding_reader() or python_reader
