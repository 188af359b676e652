"""Small functions of known character for the advisor's tests (module level: picklable)."""

from __future__ import annotations

import asyncio
import hashlib
import time

CALLS: list[int] = []


def square(x: int) -> int:
    return x * x


def spin(n: int) -> int:
    """Pure-Python arithmetic: holds the GIL all along."""
    return sum(i * i for i in range(n))


def nap(x: int) -> int:
    time.sleep(0.002)
    return x


def digest(size: int) -> str:
    """hashlib on a large buffer releases the GIL."""
    return hashlib.sha256(b"x" * size).hexdigest()


def record(x: int) -> int:
    CALLS.append(x)
    return x


async def anap(x: int) -> int:
    await asyncio.sleep(0.001)
    return x


def fail_on_three(x: int) -> int:
    if x == 3:
        raise ValueError("three is not allowed")
    return x


def numbers() -> list[int]:
    return list(range(10))


class Scaler:
    @staticmethod
    def double(x: int) -> int:
        return 2 * x
