"""The sampler on real threads: what it must not do to the program it watches."""

from __future__ import annotations

import gc
import io
import threading
import time

import pytest

from gilwise.monitor import Monitor, MonitorConfig


def _returns_with_a_local() -> int:
    buffer = io.BytesIO(b"x" * 64)
    view = buffer.getbuffer()  # an export: finalised in one cycle with it, BytesIO complains
    size = len(view)
    view.release()
    return size


@pytest.mark.timeout(60)
def test_sampling_makes_no_reference_cycles_of_the_programs_frames() -> None:
    # sys._current_frames() holds the sampler's own frame too: kept, every tick was a
    # cycle holding each frame it looked at, and functions that returned meanwhile kept
    # their locals until the garbage collector ran (a BytesIO then finalised beside its
    # memoryview printed BufferError into a multiprocessing program's output).
    stop = threading.Event()

    def calls_functions() -> None:
        while not stop.is_set():
            _returns_with_a_local()

    gc.collect()
    gc.set_debug(gc.DEBUG_SAVEALL)
    try:
        worker = threading.Thread(target=calls_functions)
        monitor = Monitor(MonitorConfig(interval_s=0.002, gil_watcher=False))
        monitor.start()
        worker.start()
        time.sleep(0.5)
        stop.set()
        worker.join()
        report = monitor.stop()
        gc.collect()
        left = [type(o).__name__ for o in gc.garbage if type(o).__name__ in ("frame", "TickSample")]
    finally:
        gc.set_debug(0)
        gc.garbage.clear()
    assert sum(t.samples for t in report.threads) >= 5  # it did sample
    assert left == []
