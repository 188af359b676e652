"""The monitor's settings and where the sampler gets its readings."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gilwise._core import _clocks
from gilwise._core._clocks import ThreadAgeReader, children_cpu_seconds
from gilwise._core._procfs import read_file
from gilwise.monitor import MonitorConfig, Sources
from gilwise.monitor import _config as config


@pytest.mark.parametrize(("interval", "stall"), [(0.0, 100.0), (0.01, 0.0), (-1.0, 100.0)])
def test_config_rejects_bad_values(interval: float, stall: float) -> None:
    from gilwise import InvalidOption

    with pytest.raises(InvalidOption, match="try"):
        MonitorConfig(interval_s=interval, stall_ms=stall)


def test_the_kernels_readers_are_found_on_first_use_not_when_the_monitor_is_made(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Setting them up reads /proc and calibrates: a program that ends at once should not pay.
    found: list[str] = []
    monkeypatch.setattr(config, "_kernel_states", lambda: found.append("kernel"))
    monkeypatch.setattr(config, "_schedstat_reader", lambda: found.append("schedstat"))
    monkeypatch.setattr(config, "_thread_age_reader", lambda: found.append("thread_age"))
    sources = Sources()
    assert found == []
    assert sources.kernel_if_found is None
    sources.kernel  # noqa: B018  (the first use finds it)
    sources.schedstat  # noqa: B018
    sources.thread_age  # noqa: B018
    sources.kernel  # noqa: B018  (found once)
    assert found == ["kernel", "schedstat", "thread_age"]


def test_a_reader_that_cannot_be_set_up_is_unavailable(monkeypatch: pytest.MonkeyPatch) -> None:
    # Found in the sampler's own thread, where an exception would end the sampling.
    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("no /proc here")

    monkeypatch.setattr(config, "KernelStates", broken)
    monkeypatch.setattr(config, "SchedStatReader", broken)
    monkeypatch.setattr(config, "ThreadAgeReader", broken)
    assert Sources().kernel is None
    assert Sources().schedstat is None
    assert Sources().thread_age is None


def _stat_line(name: bytes, start_ticks: int, fields_after: int = 30) -> bytes:
    """/proc/self/task/TID/stat: pid, (name), then fields 3 on; field 22 is the start."""
    fields = [b"S"] + [b"7"] * 18 + [str(start_ticks).encode()] + [b"0"] * fields_after
    return b"123 (" + name + b") " + b" ".join(fields)


@pytest.mark.parametrize(
    ("raw", "age"),
    [
        (_stat_line(b"worker", 1000), 2.995),  # 13 s after boot; it started at 10 s
        (_stat_line(b"a (b) c", 1150), 1.495),  # a name with spaces and parentheses
        (_stat_line(b"late", 1300), 0.0),  # rounding cannot make an age negative
        (_stat_line(b"cut", 1000, fields_after=0), None),  # the read stopped at the start
        (b"123 (x) S 1 2", None),
        (b"", None),
        (None, None),
        (b"123 (x) S " + b"z " * 40, None),
    ],
)
def test_a_threads_age_is_read_from_its_start_in_the_kernels_ticks(
    raw: bytes | None, age: float | None
) -> None:
    reader = ThreadAgeReader(read=lambda path: raw, boottime=lambda: 13.0)
    result = reader.read(42)
    if age is None:
        assert result is None
    else:
        assert result == pytest.approx(age)


def test_live_children_count_their_cpu_and_their_reaped_childrens(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(os, "listdir", lambda path: ["1", "2"])
    monkeypatch.setattr(_clocks, "_may_have_children", lambda: True)
    files = {
        "/proc/self/task/1/children": "10 11 ",
        "/proc/self/task/2/children": "11",
        # fields 14-17 (utime, stime, cutime, cstime) in 10 ms ticks; a name with spaces
        "/proc/10/stat": "10 (pool worker) R 1 " + "0 " * 9 + "50 10 30 10 0",
        "/proc/11/stat": "11 (w) S 1 " + "0 " * 9 + "20 0 0 0 0",
    }
    hz = os.sysconf("SC_CLK_TCK")
    assert _clocks._live_children_cpu(files.get) == pytest.approx(120 / hz)


@pytest.mark.timeout(60)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="live children: /proc")
def test_a_childs_cpu_is_counted_alive_and_once_reaped() -> None:

    before = children_cpu_seconds()
    burn = "import time\nend = time.process_time() + 0.3\nwhile time.process_time() < end: pass\n"
    child = subprocess.Popen(
        [sys.executable, "-c", burn + "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while children_cpu_seconds() - before < 0.25 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert children_cpu_seconds() - before >= 0.25  # alive: read from /proc
    finally:
        child.communicate(b"")
    # Reaped: from os.times(), in clock ticks (10 ms): the child's 0.3 s can read as
    # 37.300000000000004 - 37.00000000000001, a float's width under 0.3 (CI, 2026-12-01).
    tick = 1 / os.sysconf("SC_CLK_TCK")
    assert children_cpu_seconds() - before >= 0.3 - tick


_CHILDREN_PROBE = """
import subprocess, sys, time
from gilwise._core._clocks import _may_have_children
print(_may_have_children())
child = subprocess.Popen([sys.executable, "-c", "raise SystemExit(3)"])
print(_may_have_children())
time.sleep(0.5)  # it has ended, not been waited for
print(_may_have_children())
print(child.wait())
print(_may_have_children())
"""


@pytest.mark.timeout(60)
@pytest.mark.skipif(not hasattr(os, "waitid"), reason="os.waitid")
def test_no_children_is_told_in_one_call_and_an_ended_child_stays_waitable() -> None:
    # Reading each thread's children file cost watch()'s caller 0.18-0.24 s beside busy
    # threads; the check must not reap a child the program will wait for itself.
    done = subprocess.run(
        [sys.executable, "-c", _CHILDREN_PROBE], capture_output=True, text=True, check=True
    )
    assert done.stdout.split() == ["False", "True", "True", "3", "False"]


def test_a_small_file_is_read_whole_or_up_to_its_limit(tmp_path: Path) -> None:
    path = tmp_path / "big"
    path.write_bytes(b"x" * 100_000)
    assert read_file(str(path)) == b"x" * 100_000
    assert read_file(str(path), 256) == b"x" * 256
    assert read_file(str(tmp_path / "missing")) is None
