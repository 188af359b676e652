"""``gilwise attach`` against real CPython 3.14+ processes, through ``sys.remote_exec``.

CI runs these on 3.14 and 3.15 (``scripts/other-pythons``); older Pythons skip them, and
``test_attach.py`` covers the same paths with a stand-in target on every version.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gilwise._errors import AttachRefused
from gilwise.monitor._attach import Attachment, inspect_target
from gilwise.monitor._report import Report

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.timeout(120),
    pytest.mark.skipif(
        sys.version_info < (3, 14), reason="sys.remote_exec (PEP 768) is new in CPython 3.14"
    ),
]

SRC = str(Path(__file__).resolve().parents[2] / "src")

# A service: an event loop whose coroutine blocks it 250 ms every 300 ms, beside a thread
# that burns CPU. It prints a fixed sequence, so its output shows whether it ran unchanged.
SERVICE = """\
import asyncio, os, sys, threading, time

def crunch():
    while True:
        sum(i * i for i in range(20000))

async def blocker(rounds):
    for n in range(rounds):
        await asyncio.sleep(0.3)
        time.sleep(0.25)  # BLOCKS THE LOOP
        print("round", n, flush=True)

async def main():
    threading.Thread(target=crunch, name="cruncher", daemon=True).start()
    print("ready", flush=True)
    await blocker(int(sys.argv[1]))

asyncio.run(main())
"""
BLOCKING_LINE = SERVICE.splitlines().index("        time.sleep(0.25)  # BLOCKS THE LOOP") + 1


@pytest.fixture
def service_file(tmp_path: Path) -> Path:
    path = tmp_path / "service.py"
    path.write_text(SERVICE)
    return path


def _start(program: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    proc = subprocess.Popen(
        [sys.executable, str(program), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"
    return proc


@pytest.fixture
def service(service_file: Path) -> Iterator[subprocess.Popen[str]]:
    proc = _start(service_file, "60")
    yield proc
    proc.kill()
    proc.communicate()


def _gilwise(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gilwise", *args],
        capture_output=True,
        text=True,
        timeout=90,
        **kw,
    )


def _tasks(pid: int) -> set[str]:
    return set(os.listdir(f"/proc/{pid}/task"))


def _wait_for_tasks(pid: int, expected: set[str]) -> None:
    deadline = time.monotonic() + 10
    while _tasks(pid) != expected:
        assert time.monotonic() < deadline, "gilwise left threads running in the target"
        time.sleep(0.05)


def test_attach_finds_the_stall_line_and_the_cpu_thread(
    service: subprocess.Popen[str], tmp_path: Path
) -> None:
    before = _tasks(service.pid)
    out = tmp_path / "report.json"
    # Wide enough for the service's path: under pytest-xdist its temporary folder is
    # longer, and the summary's panel wrapped "service.py:10" across two lines.
    wide = {**os.environ, "COLUMNS": "400"}
    result = _gilwise("attach", str(service.pid), "--duration", "3", "--json", str(out), env=wide)
    assert result.returncode == 0, result.stderr
    report = Report.from_dict(json.loads(out.read_text()))
    assert report.complete
    assert report.command is not None
    assert report.command[:2] == ("attach", str(service.pid))
    stalls = [s for loop in report.loops for s in loop.stalls]
    assert stalls, "the 250 ms blocks were not seen"
    culprits = {(Path(s.culprit.file).name, s.culprit.line) for s in stalls if s.culprit}
    assert ("service.py", BLOCKING_LINE) in culprits
    cruncher = next(t for t in report.threads if t.name == "cruncher")
    assert cruncher.running_fraction > 0.5
    assert "LOOP_BLOCKED" in {v.code for v in report.verdicts}
    assert f"service.py:{BLOCKING_LINE}" in result.stderr
    _wait_for_tasks(service.pid, before)


def test_the_target_runs_unchanged(service_file: Path) -> None:
    alone = _start(service_file, "12")
    alone_out, alone_err = alone.communicate(timeout=60)
    watched = _start(service_file, "12")
    result = _gilwise("attach", str(watched.pid), "--duration", "1.5", "--quiet")
    out, err = watched.communicate(timeout=60)
    assert result.returncode == 0, result.stderr
    assert (watched.returncode, out, err) == (alone.returncode, alone_out, alone_err)


def test_attach_twice_in_a_row(service: subprocess.Popen[str]) -> None:
    before = _tasks(service.pid)
    for _ in range(2):
        result = _gilwise("attach", str(service.pid), "--duration", "1", "--quiet")
        assert result.returncode == 0, result.stderr
        _wait_for_tasks(service.pid, before)


def test_attach_while_the_machine_is_busy(service: subprocess.Popen[str]) -> None:
    burners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2)]
    try:
        result = _gilwise("attach", str(service.pid), "--duration", "2", "--quiet")
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    assert result.returncode == 0, result.stderr


def test_live_view_when_piped(service: subprocess.Popen[str]) -> None:
    result = _gilwise("attach", str(service.pid), "--duration", "2", "--live", "--quiet")
    assert result.returncode == 0, result.stderr
    status = [line for line in result.stderr.splitlines() if line.startswith("gilwise ")]
    assert status, result.stderr
    assert "ends in" in status[0]


def test_a_target_that_exits_mid_watch(service_file: Path, tmp_path: Path) -> None:
    proc = _start(service_file, "3")  # about a second of rounds
    out = tmp_path / "r.json"
    result = _gilwise("attach", str(proc.pid), "--duration", "30", "--json", str(out))
    proc.communicate(timeout=60)
    assert result.returncode == 0, result.stderr
    assert "exited during the watch" in result.stderr
    assert Report.from_dict(json.loads(out.read_text())).complete


def test_a_killed_target_leaves_its_last_figures(
    service: subprocess.Popen[str], tmp_path: Path
) -> None:
    out = tmp_path / "r.json"
    watch = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gilwise",
            "attach",
            str(service.pid),
            "--live",
            "--quiet",
            "--json",
            str(out),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert watch.stderr is not None
    assert watch.stderr.readline().startswith("gilwise ")  # a first snapshot has arrived
    service.kill()
    _, err = watch.communicate(timeout=60)
    assert watch.returncode == 0, err
    report = Report.from_dict(json.loads(out.read_text()))
    assert not report.complete
    assert any("ended without a last report" in e for e in report.monitor_errors)


def test_ctrl_c_ends_the_watch_with_a_report(service: subprocess.Popen[str]) -> None:
    watch = subprocess.Popen(
        [sys.executable, "-m", "gilwise", "attach", str(service.pid)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A test started in a shell's background inherits SIGINT ignored: restore it.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert watch.stderr is not None
    assert "watching PID" in watch.stderr.readline()
    time.sleep(2)  # a few of the service's 250 ms blocks
    watch.send_signal(signal.SIGINT)
    _, err = watch.communicate(timeout=60)
    assert watch.returncode == 0, err
    assert f"attach {service.pid}" in err
    assert "LOOP_BLOCKED" in err


def test_remote_debugging_turned_off_is_refused(service_file: Path) -> None:
    proc = _start(service_file, "60", env={**os.environ, "PYTHON_DISABLE_REMOTE_DEBUG": "1"})
    try:
        result = _gilwise("attach", str(proc.pid), "--duration", "1")
    finally:
        proc.kill()
        proc.communicate()
    assert result.returncode == 2
    assert "remote debugging turned off" in result.stderr
    assert "Traceback" not in result.stderr


def test_gilwise_missing_in_the_target_is_refused(service_file: Path, tmp_path: Path) -> None:
    # -I -S: no site-packages, so no gilwise, in the target.
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", str(service_file), "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        result = _gilwise("attach", str(proc.pid), "--duration", "1")
    finally:
        proc.kill()
        _, err = proc.communicate()
    assert result.returncode == 2
    assert "gilwise is not installed where PID" in result.stderr
    assert "pip install gilwise" in result.stderr
    assert err == ""


@pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("setpriv") is None, reason="needs root and setpriv"
)
def test_no_permission_is_refused(service: subprocess.Popen[str]) -> None:
    # The service runs as root; gilwise runs as nobody.
    result = subprocess.run(
        [
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--",
            sys.executable,
            "-m",
            "gilwise",
            "attach",
            str(service.pid),
            "--duration",
            "1",
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": SRC, "HOME": "/"},
    )
    assert result.returncode == 2, result.stderr
    assert "no permission to attach" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_blocked_main_thread_is_explained(tmp_path: Path) -> None:
    program = tmp_path / "blocked.py"
    program.write_text(
        "import threading\nprint('ready', flush=True)\nthreading.Event().wait(4)\n"
        "print('woke', flush=True)\n"
    )
    proc = _start(program)
    time.sleep(0.5)  # past its last bytecodes and into the wait (a pending script runs there)
    with pytest.raises(AttachRefused, match="did not run gilwise's start-up script"):
        Attachment.open(inspect_target(proc.pid), interval_s=0.01, stall_ms=100, start_timeout=1)
    # When the main thread wakes it runs the script, which only removes itself.
    out, err = proc.communicate(timeout=60)
    assert (proc.returncode, out, err) == (0, "woke\n", "")
