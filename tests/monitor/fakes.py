"""Fake frames, threads and clocks for driving the monitor deterministically."""

from __future__ import annotations

import dis
import time
from dataclasses import dataclass, field
from types import CodeType


@dataclass
class FakeFrame:
    """The three attributes the sampler reads from a frame."""

    f_code: CodeType
    f_lasti: int
    f_back: FakeFrame | None = None


@dataclass
class FakeThread:
    ident: int
    native_id: int
    name: str


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


@dataclass
class FakeCpu:
    """Per-thread CPU clocks the test advances by hand."""

    clocks: dict[int, float] = field(default_factory=dict)

    def __call__(self, ident: int, native_id: int | None) -> float | None:
        return self.clocks.get(ident)

    def run(self, ident: int, seconds: float) -> None:
        self.clocks[ident] = self.clocks.get(ident, 0.0) + seconds


def call_offset(code: CodeType, name: str) -> int:
    """Offset of the first call instruction after ``name`` is loaded in ``code``."""
    seen = False
    for ins in dis.get_instructions(code):
        if ins.argval == name:
            seen = True
        elif seen and ins.opname.startswith("CALL"):
            return ins.offset
    raise LookupError(f"no call to {name} in {code.co_name}")


def non_call_offset(code: CodeType) -> int:
    """Offset of an instruction that is not a call (a thread preempted mid-bytecode)."""
    for ins in dis.get_instructions(code):
        if not ins.opname.startswith(("CALL", "PRECALL")):
            return ins.offset
    raise LookupError(code.co_name)


# Real functions whose code objects the fakes point into.
def sleeper() -> None:
    time.sleep(1)


def spinner() -> int:
    total = 0
    for i in range(10**9):
        total += i
    return total


def hasher(data: bytes) -> str:
    import hashlib

    return hashlib.sha256(data).hexdigest()


def joiner(lock: object) -> None:
    lock.acquire()  # type: ignore[attr-defined]


def at_sleep() -> FakeFrame:
    return FakeFrame(sleeper.__code__, call_offset(sleeper.__code__, "sleep"))


def at_spin() -> FakeFrame:
    return FakeFrame(spinner.__code__, non_call_offset(spinner.__code__))


def at_hash() -> FakeFrame:
    return FakeFrame(hasher.__code__, call_offset(hasher.__code__, "sha256"))


def at_acquire() -> FakeFrame:
    return FakeFrame(joiner.__code__, call_offset(joiner.__code__, "acquire"))
