"""The public library interface: watch(), start(), stop()."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import gilwise
from gilwise.monitor._kernel import KernelStates

pytestmark = pytest.mark.timeout(60)


@pytest.mark.e2e
def test_watch_reports_a_thread_it_saw() -> None:
    done = threading.Event()

    def work() -> None:
        while not done.wait(0.001):
            sum(range(2000))

    with gilwise.watch(interval=0.005) as w:
        t = threading.Thread(target=work, name="the-worker")
        t.start()
        # Long enough for a dozen samples even when ticks are spaced out to keep the
        # sampler's share of the GIL under 1% (with the GIL's futex found first).
        threading.Event().wait(1.0)
        done.set()
        t.join()
    report = w.report
    assert report.schema == "gilwise.run/1"
    worker = next(th for th in report.threads if th.name == "the-worker")
    assert worker.samples > 5
    assert worker.cpu_seconds is not None
    assert worker.cpu_seconds > 0


def test_report_before_the_block_ends_is_an_error() -> None:
    with gilwise.watch() as w:
        with pytest.raises(gilwise.MonitorNotRunning, match="snapshot"):
            _ = w.report
        assert w.snapshot().complete is False
    assert w.report.complete is True


def test_start_twice_and_stop_without_start() -> None:
    gilwise.start()
    try:
        with pytest.raises(gilwise.MonitorAlreadyRunning, match=r"gilwise\.stop"):
            gilwise.start()
    finally:
        gilwise.stop()
    with pytest.raises(gilwise.MonitorNotRunning):
        gilwise.stop()


def test_errors_share_one_base() -> None:
    assert issubclass(gilwise.MonitorAlreadyRunning, gilwise.GilwiseError)
    assert issubclass(gilwise.TargetNotFound, gilwise.GilwiseError)


def test_sampler_is_invisible_to_the_program() -> None:
    before = (threading.active_count(), [t.name for t in threading.enumerate()])
    with gilwise.watch():
        during = (threading.active_count(), [t.name for t in threading.enumerate()])
    assert during == before


def _blocked_signals(tid: int) -> set[int]:
    status = Path(f"/proc/self/task/{tid}/status").read_text()
    mask = int(
        next(line for line in status.splitlines() if line.startswith("SigBlk:")).split()[1], 16
    )
    return {number for number in range(1, 65) if mask >> (number - 1) & 1}


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc")
def test_sampler_thread_leaves_every_signal_to_the_program() -> None:
    """A SIGTERM taken by the sampler thread would never run the program's handler
    (Python runs handlers in the main thread): seen as a program outliving kill -TERM."""
    before = _task_ids()
    main_mask = _blocked_signals(threading.get_native_id())
    with gilwise.watch():
        # The sampler, and the short-lived helper thread its start-up calibration may
        # have running at this moment: every thread the monitor starts must pass.
        started = _task_ids() - before
        masks = {tid: _settled_mask(tid) for tid in started}
        assert _blocked_signals(threading.get_native_id()) == main_mask
    seen = [mask for mask in masks.values() if mask is not None]
    assert seen, f"no thread the monitor started could be read: {started}"
    for blocked in seen:
        assert {signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGUSR1} <= blocked
        assert signal.SIGSEGV not in blocked  # a fault in the sampler must still crash loudly


def _task_ids() -> set[int]:
    return {int(t.name) for t in Path("/proc/self/task").iterdir()}


def _settled_mask(tid: int) -> set[int] | None:
    """The thread's blocked signals once it has set them (None: it has ended)."""
    # glibc starts a thread with every signal blocked, then sets the mask it inherits.
    deadline = time.monotonic() + 10
    while True:
        try:
            blocked = _blocked_signals(tid)
        except (FileNotFoundError, ProcessLookupError, StopIteration):
            return None
        if signal.SIGSEGV not in blocked or time.monotonic() > deadline:
            return blocked
        time.sleep(0.01)


def _answer_from_child(child: Callable[[], bytes]) -> bytes:
    """Fork, run ``child`` in the child process, and return what it answered."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:
        try:
            os.write(write_end, child())
        except BaseException as exc:  # report anything to the parent
            os.write(write_end, repr(exc).encode()[:200])
        finally:
            os._exit(0)
    os.close(write_end)
    answer = os.read(read_end, 200)
    os.waitpid(pid, 0)
    return answer


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_forked_child_can_start_its_own_monitor() -> None:
    def child() -> bytes:  # the inherited monitor is disabled, a new one may start
        gilwise.start()
        return b"ok" if gilwise.stop().schema == "gilwise.run/1" else b"bad"

    gilwise.start()
    try:
        assert _answer_from_child(child) == b"ok"
    finally:
        gilwise.stop()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_watch_block_spanning_a_fork_ends_cleanly_in_the_child() -> None:
    with gilwise.watch() as w:

        def child() -> bytes:  # the child leaves the block too: it must not hang or raise
            w.__exit__(None, None, None)
            errors = " ".join(w.report.monitor_errors)
            return b"ok" if "forked child" in errors else errors.encode()

        answer = _answer_from_child(child)
    assert answer == b"ok"
    assert w.report.monitor_errors == ()


def _fresh_python_prints(code: str) -> str:
    """What ``code`` prints in a fresh, isolated interpreter (its imports are its own)."""
    done = subprocess.run(
        [sys.executable, "-I", "-c", code], capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


@pytest.mark.timeout(60)
def test_starting_the_monitor_imports_neither_typing_nor_re() -> None:
    # Every file an import reads lets go of the GIL: beside three CPU-bound threads,
    # typing (and re with it) took watch() 0.4-0.7 s to start.
    probe = (
        "import sys, gilwise\n"
        "with gilwise.watch():\n"
        "    print(sorted({'typing', 're'} & set(sys.modules)))\n"
    )
    assert _fresh_python_prints(probe) == "[]"


@pytest.mark.timeout(60)
@pytest.mark.skipif(not KernelStates().available, reason="needs Linux's syscall files")
def test_start_finds_the_gil_before_it_returns() -> None:
    # Left to the sampler's thread, beside three CPU-bound threads started inside the
    # block, the set-up took 0.10-0.15 s and the count began that late in a 0.25 s run.
    probe = (
        "import gilwise\n"
        "monitor = gilwise.start()\n"
        "print(monitor.sources.kernel_if_found.gil_window is not None)\n"
        "gilwise.stop()\n"
    )
    assert _fresh_python_prints(probe) == "True"


@pytest.mark.timeout(60)
def test_importing_watch_imports_the_monitors_set_up_modules() -> None:
    # Imported by the sampler's thread after watch() started, beside two CPU-bound
    # threads, they delayed the count to 0.3-0.45 s in; imported with `watch`, a program
    # that imports it as it starts pays them then.
    probe = (
        "import sys\n"
        "from gilwise import watch\n"
        "print([m in sys.modules for m in ('ctypes', 'dis', 'gilwise.monitor._outside')])\n"
    )
    assert _fresh_python_prints(probe) == "[True, True, True]"
