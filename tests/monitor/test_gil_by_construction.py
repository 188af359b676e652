"""GIL figures on real threads whose answer is known by construction (Linux: counted).

A thread waiting for a lock, a queue or a join never waits for the GIL; N threads
running pure Python always leave N-1 waiting. Margins are wide: these run on a loaded
2-core machine too. ``benchmarks/gil_truth.py`` holds the programs to the interpreter's
own thread-status reader on CPython 3.15.
"""

from __future__ import annotations

import queue
import re
import socket
import threading
import time
from collections.abc import Callable

import pytest

from gilwise.monitor import Monitor, MonitorConfig
from gilwise.monitor._report import Report
from gilwise.monitor._sampler import GIL_METHOD_KERNEL

from .test_kernel import needs_kernel

pytestmark = [needs_kernel, pytest.mark.e2e, pytest.mark.timeout(60)]

RUN_S = 1.5


def _watch(program: Callable[[], None]) -> Report:
    monitor = Monitor(MonitorConfig(interval_s=0.005))
    monitor.start()
    try:
        program()
    finally:
        report = monitor.stop()
    return report


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        sum(range(100))


def _lock_waiters() -> None:
    lock = threading.Lock()

    def waiter() -> None:
        with lock:
            pass

    lock.acquire()
    threads = [threading.Thread(target=waiter) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(RUN_S)
    lock.release()
    for t in threads:
        t.join()


def _queue_waiters() -> None:
    items: queue.Queue[object] = queue.Queue()
    threads = [threading.Thread(target=lambda: list(iter(items.get, None))) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(RUN_S)
    for _ in threads:
        items.put(None)
    for t in threads:
        t.join()


def _join_one_cpu_thread() -> None:
    worker = threading.Thread(target=_spin, args=(RUN_S,))
    worker.start()
    worker.join()


def _ping_pong() -> None:
    a, b = socket.socketpair()

    def echo() -> None:
        while data := b.recv(16):
            b.sendall(data)

    server = threading.Thread(target=echo)
    server.start()
    end = time.monotonic() + RUN_S
    while time.monotonic() < end:
        a.sendall(b"x")
        a.recv(16)
    a.close()
    server.join()
    b.close()


@pytest.mark.parametrize(
    "program", [_lock_waiters, _queue_waiters, _join_one_cpu_thread, _ping_pong]
)
def test_nobody_waits_for_the_gil(program: Callable[[], None]) -> None:
    report = _watch(program)
    assert report.gil.method == GIL_METHOD_KERNEL
    assert report.gil.wait_fraction is not None
    assert report.gil.wait_fraction <= 0.1
    assert "GIL_BOUND" not in {v.code for v in report.verdicts}


def test_three_cpu_threads_keep_two_waiting() -> None:
    def program() -> None:
        threads = [threading.Thread(target=_spin, args=(RUN_S,)) for _ in range(3)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    report = _watch(program)
    assert report.gil.method == GIL_METHOD_KERNEL
    assert report.gil.wait_fraction is not None
    assert report.gil.mean_waiting_threads is not None
    assert report.gil.wait_fraction >= 0.5
    assert report.gil.mean_waiting_threads >= 0.8
    assert "GIL_BOUND" in {v.code for v in report.verdicts}


def test_the_thread_holding_the_gil_in_c_is_blamed() -> None:
    # A regex that backtracks in C holds the GIL for long stretches; a pure-Python thread
    # waits behind it. The wait is charged to the regex's line, in its thread.
    def program() -> None:
        stop: list[bool] = []

        def hog() -> None:
            while not stop:
                re.match(r"(a+)+$", "a" * 21 + "b")

        hogger = threading.Thread(target=hog, name="hog")
        spinner = threading.Thread(target=_spin, args=(RUN_S,), name="spinner")
        hogger.start()
        spinner.start()
        spinner.join()
        stop.append(True)
        hogger.join()

    report = _watch(program)
    assert report.gil.holders, "nobody was blamed"
    top = report.gil.holders[0]
    assert top.thread_name == "hog"
    assert top.function == "match"
    assert sum(h.wait_share for h in report.gil.holders) <= 1.0001
