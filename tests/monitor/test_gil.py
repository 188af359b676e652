from __future__ import annotations

import _thread
import sys
import threading

import pytest

from gilwise.monitor._gil import GilTotals, ThreadAccount, WindowCounts
from gilwise.monitor._stacks import ThreadState


@pytest.mark.parametrize(
    ("window", "expected"),
    [
        # running all the time, on a CPU a quarter of it: waited the other three quarters
        (WindowCounts(wall=1.0, cpu=0.25, samples=10, running=10), 0.75),
        # running and on a CPU all the time: no wait (the probe would say otherwise)
        (WindowCounts(wall=1.0, cpu=1.0, samples=10, running=10), 0.0),
        # runnable but starved of a CPU is not a GIL wait
        (WindowCounts(wall=1.0, cpu=0.5, run_queue=0.5, samples=4, running=4), 0.0),
        # waiting on I/O half the samples; ran 0.2 of its 0.5 s of demand
        (WindowCounts(wall=1.0, cpu=0.2, samples=10, running=5), 0.3),
        (WindowCounts(), 0.0),
    ],
)
def test_window_wait(window: WindowCounts, expected: float) -> None:
    assert window.wait() == pytest.approx(expected)


@pytest.mark.parametrize(
    ("window", "wake_cost", "expected"),
    [
        # an I/O thread waking 100 times, each wake-up paying 1 ms for the GIL
        (WindowCounts(wall=1.0, cpu=0.01, wakeups=100, samples=10, running=0), 0.001, 0.1),
        # the wait can never exceed the time the thread was off a CPU
        (WindowCounts(wall=1.0, cpu=0.5, wakeups=10**6, samples=10, running=0), 0.001, 0.5),
        # a pure CPU thread is never charged for wake-ups
        (WindowCounts(wall=1.0, cpu=1.0, wakeups=500, samples=10, running=10), 0.001, 0.0),
    ],
)
def test_window_wait_with_wake_ups(window: WindowCounts, wake_cost: float, expected: float) -> None:
    assert window.wait(wake_cost) == pytest.approx(expected)


def test_account_accumulates_cpu_deltas_and_states() -> None:
    account = ThreadAccount(ident=1, native_id=1, name="t")
    account.last_cpu = 10.0
    account.observe(0.1, 10.05, ThreadState.RUNNING)
    account.observe(0.1, 10.05, ThreadState.WAITING)
    assert account.cpu == pytest.approx(0.05)
    assert (account.samples, account.running, account.wall) == pytest.approx((2, 1, 0.2))
    assert account.close_window() == pytest.approx(0.05)
    assert account.gil_wait == pytest.approx(0.05)
    assert account.window.samples == 0


def test_account_without_cpu_clock_reports_none() -> None:
    account = ThreadAccount(ident=1, native_id=None, name="t")
    account.observe(0.1, None, ThreadState.RUNNING)
    assert account.cpu is None


def test_absorb_sums_finished_threads() -> None:
    total = ThreadAccount(ident=0, native_id=None, name="", merged=0)
    for _ in range(3):
        t = ThreadAccount(ident=1, native_id=1, name="t", wall=1.0, cpu=0.5)
        total.absorb(t)
    assert (total.merged, total.wall, total.cpu) == (3, 3.0, 1.5)


def test_totals_any_wait_saturates() -> None:
    totals = GilTotals()
    assert totals.wait_fraction is None
    assert totals.add_window(1.0, [0.75, 0.75, 0.75, 0.75]) == 1.0
    assert totals.add_window(1.0, [0.1]) == pytest.approx(0.1)
    assert totals.wait_fraction == pytest.approx(0.55)
    assert totals.mean_waiting_threads == pytest.approx(1.55)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux thread CPU clocks")
@pytest.mark.timeout(30)
def test_native_id_of_a_raw_thread_is_read_from_its_cpu_clock() -> None:
    """A thread started with ``_thread`` has no ``threading`` record of its native id."""
    from gilwise._core._clocks import native_id_of

    assert native_id_of(threading.get_ident()) == threading.get_native_id()
    seen: list[tuple[int, int]] = []
    ready, leave = _thread.allocate_lock(), _thread.allocate_lock()
    ready.acquire()
    leave.acquire()

    def raw() -> None:
        seen.append((_thread.get_ident(), _thread.get_native_id()))
        ready.release()
        leave.acquire()  # alive while it is looked up

    _thread.start_new_thread(raw, ())
    ready.acquire()
    try:
        [(ident, native_id)] = seen
        assert native_id_of(ident) == native_id
    finally:
        leave.release()


def _busy_account(ident: int, wall: float, cpu: float, samples: int = 10) -> ThreadAccount:
    account = ThreadAccount(ident=ident, native_id=None, name=f"t{ident}")
    account.window = WindowCounts(wall=wall, cpu=cpu, samples=samples, running=samples)
    return account


def test_a_gil_window_closes_after_its_length_and_enough_ticks() -> None:
    from gilwise.monitor._gil import GilWindows

    windows = GilWindows(window_s=0.25, min_samples=3)
    assert not windows.due(0.3)  # long enough, but one tick
    assert not windows.due(0.3)
    assert windows.due(0.3)
    windows.close(0.3, [], GilTotals())
    assert not windows.due(0.4)  # a new window, 0.1 s old


def test_a_gil_window_folds_every_threads_wait_in_ended_ones_too() -> None:
    from gilwise.monitor._gil import GilWindows

    windows = GilWindows(window_s=0.25, min_samples=1)
    ended = _busy_account(3, wall=0.5, cpu=0.25)
    windows.thread_ended(ended)  # it waited 0.25 s before it ended
    totals = GilTotals()
    live = [_busy_account(1, wall=1.0, cpu=0.5), _busy_account(2, wall=1.0, cpu=0.5)]
    length, fraction = windows.close(1.0, live, totals)
    assert length == 1.0
    assert fraction == 1.0  # 0.5 + 0.5 + 0.25 s of wait in a 1 s window: capped
    assert totals.wait_thread_seconds == pytest.approx(1.25)
    assert all(a.window.wall == 0.0 for a in live)  # their windows start again


def test_the_wake_cost_is_the_probes_median_above_the_machines_own_lateness() -> None:
    from gilwise.monitor._gil import GilWindows

    windows = GilWindows(window_s=0.25, min_samples=1)
    windows.wake_baseline = 0.0001
    for latency in (0.002, 0.002, 0.5):  # one very late tick does not set the price
        windows.record_probe(latency)
    waiting = ThreadAccount(ident=1, native_id=None, name="io")
    waiting.window = WindowCounts(wall=1.0, cpu=0.0, wakeups=100, samples=10, running=0)
    totals = GilTotals()
    windows.close(1.0, [waiting], totals)
    assert totals.wait_thread_seconds == pytest.approx(100 * 0.0019)
