"""Workloads of known character for the advisor's accuracy benchmark (module level: picklable)."""

from __future__ import annotations

import asyncio
import functools
import hashlib
import socket
import time

_imported = False


def cpu_pure(n: int) -> int:
    """Pure-Python arithmetic: holds the GIL."""
    return sum(i * i for i in range(n))


def sleep_io(x: int) -> int:
    time.sleep(0.005)
    return x


def socket_io(address: tuple[str, int], n: int) -> bytes:
    """A request to a loopback server (in its own process) that answers after 5 ms."""
    with socket.create_connection(address) as conn:
        conn.sendall(b"%d\n" % n)
        return conn.makefile("rb").readline()


@functools.lru_cache(maxsize=1)
def _buffer() -> bytes:
    return bytes(range(256)) * (4 << 12)


def hashlib_big(_: int) -> str:
    """sha256 of 1 MiB: releases the GIL."""
    return hashlib.sha256(_buffer()).hexdigest()


def tiny_large_arg(blob: bytes) -> int:
    """Cheap work on a 2 MiB argument: serial should win."""
    return blob[0] + blob[-1]


async def coroutine_io(x: int) -> int:
    await asyncio.sleep(0.005)
    return x


def mixed(n: int) -> int:
    """About 1 ms of Python, then 2 ms of waiting."""
    value = sum(i * i for i in range(n))
    time.sleep(0.002)
    return value


def unbalanced(n: int) -> int:
    """Task sizes from 1x to 16x: pools must balance the load."""
    return sum(i * i for i in range(n))


def costly_import(n: int) -> int:
    """The first call in each process pays 300 ms (an expensive import), then computes."""
    global _imported
    if not _imported:
        time.sleep(0.3)
        _imported = True
    return sum(i * i for i in range(n))
