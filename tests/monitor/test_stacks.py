from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable

import pytest

from gilwise.monitor._kernel import KernelState
from gilwise.monitor._stacks import (
    CallSites,
    FrameResolver,
    StackTable,
    ThreadState,
    at_blocking_call,
    classify,
    sample_stack,
    top_functions,
    top_lines,
)

from .fakes import FakeFrame, at_acquire, at_hash, at_sleep, at_spin, sleeper, spinner


def test_sample_stack_is_innermost_first_and_bounded() -> None:
    outer = FakeFrame(spinner.__code__, 0)
    inner = FakeFrame(sleeper.__code__, 2, f_back=outer)
    assert sample_stack(inner) == ((sleeper.__code__, 2), (spinner.__code__, 0))  # type: ignore[arg-type]
    assert len(sample_stack(inner, max_depth=1)) == 1  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("frame", "kernel", "expected"),
    [
        # preempted between bytecodes: wants the GIL
        (at_spin, None, ThreadState.RUNNING),
        (at_spin, KernelState.GIL, ThreadState.RUNNING),
        (at_spin, KernelState.ON_CPU, ThreadState.RUNNING),
        # `with lock:` blocks inside an instruction that is not a call: only the kernel
        # tells it apart from a thread preempted for the GIL
        (at_spin, KernelState.LOCK, ThreadState.WAITING),
        # in time.sleep: waiting, by name or by the kernel
        (at_sleep, None, ThreadState.WAITING),
        (at_sleep, KernelState.BLOCKED, ThreadState.WAITING),
        # back from sleep and queueing for the GIL on its futex
        (at_sleep, KernelState.GIL, ThreadState.RUNNING),
        # native code with the GIL released, on a CPU
        (at_hash, KernelState.ON_CPU, ThreadState.RUNNING),
        (at_hash, None, ThreadState.RUNNING),
        # a C call blocked in the kernel, whatever its name
        (at_hash, KernelState.BLOCKED, ThreadState.WAITING),
        # the program's own lock: a futex, but not the GIL's
        (at_acquire, KernelState.LOCK, ThreadState.WAITING),
        (at_acquire, None, ThreadState.WAITING),
    ],
)
def test_classify(frame: object, kernel: KernelState | None, expected: ThreadState) -> None:
    stack = sample_stack(frame())  # type: ignore[operator]
    assert classify(stack, CallSites(), kernel) is expected


def test_queueing_behind_the_sampler_alone_is_not_demand() -> None:
    # The sampler got the GIL at once: a thread queueing now queues behind it only.
    stack = sample_stack(at_sleep())  # type: ignore[arg-type]
    state = classify(stack, CallSites(), KernelState.GIL, gil_was_busy=False)
    assert state is ThreadState.WAITING


def test_empty_stack_is_waiting() -> None:
    assert classify((), CallSites(), None) is ThreadState.WAITING


def test_call_sites_cache_is_bounded() -> None:
    sites = CallSites(max_codes=1)
    assert sites.names_at(sleeper.__code__, at_sleep().f_lasti) == frozenset({"time", "sleep"})
    sites.names_at(spinner.__code__, 0)
    assert len(sites._cache) == 1


def test_stack_table_is_bounded() -> None:
    table = StackTable(max_keys=2, fallback_depth=1)
    deep = [((spinner.__code__, i), (sleeper.__code__, 0)) for i in range(10)]
    for stack in deep:
        table.add(ThreadState.RUNNING, stack)
    assert len(table) <= 4
    assert sum(n for _, _, n in table.items()) + table.dropped == 10


def test_resolver_and_top_lines() -> None:
    frame = at_sleep()
    table = StackTable()
    stack = sample_stack(frame)  # type: ignore[arg-type]
    for _ in range(3):
        table.add(ThreadState.WAITING, stack)
    table.add(ThreadState.RUNNING, sample_stack(at_spin()))  # type: ignore[arg-type]
    resolver = FrameResolver()
    (first, second) = top_lines(table, resolver)
    assert (first.function, first.waiting, first.running) == ("sleeper", 3, 0)
    assert first.line == sleeper.__code__.co_firstlineno + 1
    assert second.function == "spinner"
    functions = top_functions(table, resolver)
    assert {f.function for f in functions} == {"sleeper", "spinner"}
    assert resolver.resolve_stack(stack)[-1].function == "sleeper"


def _hot_sleeper(stop: threading.Event) -> None:
    # Many quick calls first, so CPython specialises the call site (on 3.11 the call
    # then happens inside PRECALL), then block at that same site.
    for _ in range(100):
        time.sleep(0)
    while not stop.is_set():
        time.sleep(0.05)


@pytest.mark.e2e
@pytest.mark.timeout(30)
def test_thread_blocked_at_a_specialised_call_site_is_waiting() -> None:
    stop = threading.Event()
    thread = threading.Thread(target=_hot_sleeper, args=(stop,))
    thread.start()
    try:
        time.sleep(0.3)
        frame = sys._current_frames()[thread.ident]  # type: ignore[index]
        state = classify(sample_stack(frame), CallSites(), None)
    finally:
        stop.set()
        thread.join()
    assert state is ThreadState.WAITING


def _hands_back(request: object) -> None:
    request.shutdown(1)  # type: ignore[attr-defined]
    request.close()  # type: ignore[attr-defined]


def _accepts(listener: object) -> None:
    # As socket.socket.accept does: a threaded server's accepting thread, back from it,
    # was named the GIL's holder at socket.py's line (gil_truth, the HTTP server).
    listener._accept()  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("function", "name"),
    [(_hands_back, "shutdown"), (_hands_back, "close"), (_accepts, "_accept")],
)
def test_socket_calls_that_let_go_of_the_gil_are_blocking(
    function: Callable[[object], None], name: str
) -> None:
    code, sites = function.__code__, CallSites()
    offsets = [
        offset
        for offset in range(0, len(code.co_code), 2)
        if name in (sites.names_at(code, offset) or ())
    ]
    assert offsets
    assert all(at_blocking_call(((code, offset),), sites) for offset in offsets)
