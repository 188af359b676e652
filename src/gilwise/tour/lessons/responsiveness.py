"""Lesson 6: responsiveness. A CPU-bound thread delays an I/O thread by the switch interval."""

from __future__ import annotations

import statistics
import threading
import time

from ..._core._switch import switch_interval
from .._lesson import Context, Finding, Row

TITLE = "Responsive or fast: the latency of an I/O thread next to a CPU-bound thread"
CLAIM = (
    "A thread whose I/O finishes must wait for the GIL; a CPU-bound thread gives it up only "
    "every switch interval (5 ms by default), and sys.setswitchinterval sets how long "
    "that wait can be."
)
INTERVALS_S = (0.0005, 0.005, 0.05)


def _spin(stop: threading.Event, counts: list[int]) -> None:
    while not stop.is_set():
        sum(range(200))
        counts[0] += 1


def _latencies(stop: threading.Event, out: list[float]) -> None:
    # Stands in for a server thread: wait 1 ms for a "request", then need the GIL to answer.
    while not stop.is_set():
        started = time.perf_counter()
        time.sleep(0.001)
        out.append(time.perf_counter() - started - 0.001)


def measure(interval: float, seconds: float) -> tuple[float, float, float]:
    """Median and 99th-percentile wake-up delay (ms), and CPU-thread loops per second."""
    stop, counts = threading.Event(), [0]
    delays: list[float] = []
    threads = [
        threading.Thread(target=_spin, args=(stop, counts)),
        threading.Thread(target=_latencies, args=(stop, delays)),
    ]
    with switch_interval(interval):
        try:
            for t in threads:
                t.start()
            time.sleep(seconds)
        finally:
            stop.set()
            for t in threads:
                t.join()
    ranked = sorted(delays) or [0.0]
    p99 = ranked[min(len(ranked) - 1, int(0.99 * len(ranked)))]
    return statistics.median(ranked) * 1e3, p99 * 1e3, counts[0] / seconds


def run(ctx: Context) -> Finding:
    seconds = ctx.seconds(1.2)
    results = {interval: measure(interval, seconds) for interval in INTERVALS_S}
    default_rate = results[0.005][2]
    rows = tuple(
        Row(
            f"switch interval {interval * 1e3:g} ms",
            p50,
            "ms median delay",
            f"p99 {p99:.1f} ms · CPU thread {rate / default_rate:.2f}x",
        )
        for interval, (p50, p99, rate) in results.items()
    )
    short, long_ = results[INTERVALS_S[0]], results[INTERVALS_S[-1]]
    measured = (
        f"The I/O thread's median delay was {short[0]:.2f} ms at a 0.5 ms interval and "
        f"{long_[0]:.1f} ms at 50 ms; the CPU thread ran {short[2] / default_rate:.2f}x and "
        f"{long_[2] / default_rate:.2f}x its speed at the default 5 ms."
    )
    return Finding(rows, measured, _MEANING, _CHECK, held=long_[0] > 5 * short[0])


_MEANING = (
    "A CPU-bound thread in a web server adds up to the switch interval to every request's "
    "latency. Move CPU work to a process pool, or lower the interval if latency matters "
    "more than throughput."
)
_CHECK = "gilwise run your_server.py   (see 'GIL latency' in the summary)"
