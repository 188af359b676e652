"""``gilwise attach``: the protocol, the agent, the controller and every refusal.

Most of these run on every Python: a stand-in target runs the attach script the way
CPython 3.14's ``sys.remote_exec`` does (in its main thread, at a point where it runs
Python code). ``test_attach_real.py`` does the same against real 3.14+ targets.
"""

from __future__ import annotations

import json
import os
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gilwise._errors import AttachRefused, TargetNotFound
from gilwise.monitor import _attach
from gilwise.monitor._agent import receive_message, send_message, serve
from gilwise.monitor._attach import Attachment, TargetProcess, check_attachable, inspect_target
from gilwise.monitor._report import Report

from .reports import loop, report, stall

pytestmark = pytest.mark.timeout(60)

SRC = str(Path(__file__).resolve().parents[2] / "src")

# A stand-in for a CPython 3.14 target: every 20 ms its main thread looks for a script
# path in TRIGGER and runs the script as sys.remote_exec would (fresh globals). It
# prints a running count, so a test can see that it went on unchanged.
STAND_IN = """\
import os, sys, threading, time
trigger = sys.argv[1]
print("ready", flush=True)
n = 0
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    if os.path.exists(trigger):
        with open(trigger) as fh:
            path = fh.read()
        os.unlink(trigger)
        with open(path) as fh:
            source = fh.read()
        exec(compile(source, path, "exec"), {"__name__": "__main__"})
    n += sum(range(1000)) > 0
    time.sleep(0.02)
print("threads", sorted(t.name for t in threading.enumerate()), flush=True)
"""


@pytest.fixture
def stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[subprocess.Popen[str]]:
    """A running stand-in target; attaching to it goes through its trigger file."""
    trigger = tmp_path / "trigger"
    program = tmp_path / "stand_in.py"
    program.write_text(STAND_IN)
    env = {**os.environ, "PYTHONPATH": SRC}
    proc = subprocess.Popen(
        [sys.executable, str(program), str(trigger), "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline() == "ready\n"

    def send(target: TargetProcess, script_path: str) -> None:
        trigger.with_suffix(".tmp").write_text(script_path)
        os.replace(trigger.with_suffix(".tmp"), trigger)

    monkeypatch.setattr(_attach, "_send_script", send)
    monkeypatch.setattr(_attach, "check_attachable", lambda target: None)
    yield proc
    proc.kill()
    proc.communicate()


def _target(pid: int, version: tuple[int, int] = (3, 14)) -> TargetProcess:
    return TargetProcess(pid, sys.executable, version, os.getuid(), os.getgid(), ("app.py",))


# -- finding and refusing targets -------------------------------------------------------------


@pytest.mark.parametrize(
    ("exe", "version"),
    [
        ("/usr/bin/python3.14", (3, 14)),
        ("/opt/py/bin/python3.15t", (3, 15)),
        ("/usr/bin/python3.14-dbg", (3, 14)),
        ("/usr/bin/python3", None),
        ("/usr/local/bin/uwsgi", None),
    ],
)
def test_version_from_the_interpreter_name(exe: str, version: tuple[int, int] | None) -> None:
    assert _attach._version_from_name(exe) == version


def test_no_such_process() -> None:
    with pytest.raises(TargetNotFound, match="no process with PID"):
        inspect_target(2**22 + 12345)


def test_not_itself() -> None:
    with pytest.raises(AttachRefused, match="itself"):
        inspect_target(os.getpid())


@pytest.mark.e2e
def test_a_program_that_is_not_python() -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    deadline = time.monotonic() + 10
    while not os.readlink(f"/proc/{sleeper.pid}/exe").endswith("sleep"):  # exec'd yet?
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        with pytest.raises(AttachRefused, match="not Python"):
            inspect_target(sleeper.pid)
    finally:
        sleeper.kill()
        sleeper.wait()


@pytest.mark.e2e
def test_a_python_process_is_found_with_its_version() -> None:
    code = "import time; print('ready', flush=True); time.sleep(30)"
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        # Once it prints, it has exec'd python: /proc shows its own command line.
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n"
        target = inspect_target(child.pid)
    finally:
        child.kill()
        child.communicate()
    assert target.version == sys.version_info[:2]
    assert target.command[1:] == ("-c", code)


@pytest.mark.parametrize("version", [(3, 10), (3, 13)])
def test_older_pythons_are_refused_with_what_to_do(version: tuple[int, int]) -> None:
    with pytest.raises(AttachRefused, match=r"needs CPython 3\.14.*gilwise run"):
        check_attachable(_target(1234, version))


@pytest.mark.parametrize(
    ("kind", "message", "expected"),
    [
        ("PermissionError", "[Errno 1] Operation not permitted", "no permission to attach"),
        ("OSError", "Operation not permitted", "no permission to attach"),
        ("RuntimeError", "Remote debugging is not enabled in the remote process", "turned off"),
        ("RuntimeError", "PyRuntime address lookup failed", "CPython"),
        ("RuntimeError", "something new", "could not attach to PID"),
    ],
)
def test_refusals_name_the_fix(kind: str, message: str, expected: str) -> None:
    # The PID of this test process: alive, so no "ended" message.
    refusal = _attach._refusal(_target(os.getpid()), kind, message)
    assert isinstance(refusal, AttachRefused)
    assert expected in str(refusal)
    assert "\n" not in str(refusal)


def test_refusal_of_a_target_that_ended() -> None:
    refusal = _attach._refusal(_target(2**22 + 12345), "RuntimeError", "anything")
    assert isinstance(refusal, TargetNotFound)


# -- the wire -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "message", [{"type": "hello"}, {"type": "report", "report": {"x": list(range(100_000))}}]
)
def test_messages_cross_whole(message: dict[str, Any]) -> None:
    left, right = socket.socketpair()
    with left, right:
        sender = threading.Thread(target=send_message, args=(left, message))
        sender.start()
        assert receive_message(right) == message
        sender.join()
        left.close()
        assert receive_message(right) is None


# -- the agent, driven by the controller, in this process -----------------------------------------


@pytest.fixture
def attached(tmp_path: Path) -> Iterator[Attachment]:
    """An Attachment to an agent serving this very process from a thread."""
    path = str(tmp_path / "s")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(1)
    options = {"interval_s": 0.005, "stall_ms": 50, "command": ["attach", "1", "app.py"]}
    agent = threading.Thread(target=serve, args=(path, options), name="agent-under-test")
    agent.start()
    sock, _ = server.accept()
    server.close()
    attachment = Attachment(_target(os.getpid()), sock)
    attachment._expect_hello(10)
    yield attachment
    attachment.close()
    agent.join(10)
    assert not agent.is_alive()


@pytest.mark.e2e
def test_snapshots_then_a_final_report(attached: Attachment) -> None:
    time.sleep(0.1)
    first = attached.snapshot()
    assert first is not None
    assert not first.complete
    assert first.command == ("attach", "1", "app.py")
    final = attached.stop()
    assert final is not None
    assert final.complete
    assert final.duration_s >= first.duration_s
    assert not attached.target_ended


@pytest.mark.e2e
def test_the_agent_thread_is_left_out_of_the_report(attached: Attachment) -> None:
    # Threads started with _thread are named thread-IDENT; this process may have its own
    # (pytest-xdist's), which belong in the report.
    known = {t.ident for t in threading.enumerate()}
    raw_before = {f"thread-{ident}" for ident in sys._current_frames() if ident not in known}
    time.sleep(0.1)
    final = attached.stop()
    assert final is not None
    names = {t.name for t in final.threads}
    assert "MainThread" in names
    assert not any("agent" in name for name in names)
    assert {name for name in names if name.startswith("thread-")} <= raw_before


@pytest.mark.e2e
def test_hanging_up_stops_the_monitor(tmp_path: Path) -> None:
    # The controller dies (kill -9): its socket closes, the agent stops its sampler.
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        agent = threading.Thread(target=serve, args=(path, {"interval_s": 0.01, "stall_ms": 100}))
        agent.start()
        sock, _ = server.accept()
    assert (receive_message(sock) or {}).get("type") == "hello"
    sock.close()
    agent.join(10)
    assert not agent.is_alive()  # the conftest fixture checks the sampler ended too


@pytest.mark.e2e
def test_a_late_answer_is_not_taken_for_the_next_one(attached: Attachment) -> None:
    # A snapshot answered after the controller stopped waiting must not be read as the
    # answer to the next request (they carry the request's id).
    attached._next_id += 1
    send_message(attached._sock, {"type": "snapshot", "id": attached._next_id})
    time.sleep(0.2)  # its answer is now waiting, unread
    fresh = attached.snapshot()
    assert fresh is not None
    later = attached.snapshot()
    assert later is not None
    assert later.duration_s >= fresh.duration_s


@pytest.mark.e2e
def test_a_message_slow_to_arrive_is_read_whole() -> None:
    # A report cut in two by a wait longer than the controller's timeout: reading it in
    # pieces must not leave its second half to be misread as the next message.
    ours, theirs = socket.socketpair()
    attachment = Attachment(_target(os.getpid()), ours)
    body = json.dumps({"type": "report", "final": False, "id": 1, "report": report().to_dict()})
    data = struct.pack("!I", len(body)) + body.encode()

    def slow_agent() -> None:
        assert receive_message(theirs) == {"type": "snapshot", "id": 1}
        theirs.sendall(data[: len(data) // 2])
        time.sleep(0.5)
        theirs.sendall(data[len(data) // 2 :])
        send_message(theirs, {"type": "report", "final": True, "report": report().to_dict()})

    agent = threading.Thread(target=slow_agent)
    agent.start()
    with attachment, theirs:
        snapshot = attachment.snapshot(timeout=0.1)
        assert snapshot == report()
        assert attachment.stop(timeout=10) == report()
    agent.join(10)


@pytest.mark.e2e
def test_bad_options_are_sent_back_as_an_error(tmp_path: Path) -> None:
    path = str(tmp_path / "s")
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as server:
        server.bind(path)
        server.listen(1)
        agent = threading.Thread(target=serve, args=(path, {"interval_s": -1, "stall_ms": 100}))
        agent.start()
        sock, _ = server.accept()
    attachment = Attachment(_target(os.getpid()), sock)
    with pytest.raises(AttachRefused, match=r"could not start.*interval"):
        attachment._expect_hello(10)
    agent.join(10)


# -- the whole attach, against the stand-in -----------------------------------------------------


@pytest.mark.e2e
def test_attach_watch_and_detach(stand_in: subprocess.Popen[str]) -> None:
    target = inspect_target(stand_in.pid)
    before = set(os.listdir(f"/proc/{stand_in.pid}/task"))
    with Attachment.open(target, interval_s=0.01, stall_ms=100) as attachment:
        time.sleep(0.3)
        assert attachment.snapshot() is not None
        report = attachment.stop()
    assert report is not None
    assert report.complete
    assert report.command is not None
    assert report.command[:2] == ("attach", str(stand_in.pid))
    assert {t.name for t in report.threads} == {"MainThread"}
    # Nothing of gilwise stays: its threads end, the program's own remain.
    deadline = time.monotonic() + 10
    while set(os.listdir(f"/proc/{stand_in.pid}/task")) != before:
        assert time.monotonic() < deadline, "gilwise threads stayed in the target"
        time.sleep(0.05)
    assert not list(Path(tempfile.gettempdir()).glob("gilwise-attach-*/attach.py"))


@pytest.mark.e2e
def test_attach_twice_in_a_row(stand_in: subprocess.Popen[str]) -> None:
    target = inspect_target(stand_in.pid)
    for _ in range(2):
        with Attachment.open(target, interval_s=0.01, stall_ms=100) as attachment:
            time.sleep(0.2)
            report = attachment.stop()
        assert report is not None
        assert report.complete


@pytest.mark.e2e
def test_a_target_that_exits_mid_watch_still_gives_its_report(
    tmp_path: Path, stand_in: Any
) -> None:
    target = inspect_target(stand_in.pid)
    with Attachment.open(target, interval_s=0.01, stall_ms=100) as attachment:
        # End the stand-in early with a normal exit (atexit hooks run), through its
        # script channel.
        script = tmp_path / "exit.py"
        script.write_text("import sys\nsys.exit(0)\n")
        (tmp_path / "trigger").write_text(str(script))
        assert attachment.wait_for_end(20)
    assert attachment.target_ended
    assert attachment.final is not None
    assert attachment.final.complete


@pytest.mark.e2e
def test_a_killed_target_ends_the_watch(stand_in: subprocess.Popen[str]) -> None:
    target = inspect_target(stand_in.pid)
    with Attachment.open(target, interval_s=0.01, stall_ms=100) as attachment:
        assert attachment.snapshot() is not None
        stand_in.kill()
        assert attachment.wait_for_end(10)
        assert attachment.target_ended
        assert attachment.final is None
        assert attachment.stop() is None


@pytest.mark.e2e
def test_gilwise_missing_in_the_target_names_its_python(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    trigger = tmp_path / "trigger"
    program = tmp_path / "stand_in.py"
    program.write_text(STAND_IN)
    # -I: isolated, so neither PYTHONPATH nor the test's site-packages give it gilwise.
    proc = subprocess.Popen(
        [sys.executable, "-I", "-S", str(program), str(trigger), "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
    )
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        monkeypatch.setattr(_attach, "_send_script", lambda t, p: trigger.write_text(p))
        monkeypatch.setattr(_attach, "check_attachable", lambda target: None)
        with pytest.raises(AttachRefused, match=r"not installed where PID .* pip install gilwise"):
            Attachment.open(inspect_target(proc.pid), interval_s=0.01, stall_ms=100)
    finally:
        proc.kill()
        _, err = proc.communicate()
    assert err == ""


@pytest.mark.e2e
def test_a_target_that_never_runs_the_script(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Its main thread is blocked: the script waits, the controller gives up and says why;
    # when the script runs after all, it only removes itself.
    monkeypatch.setattr(_attach, "_send_script", lambda t, p: None)
    monkeypatch.setattr(_attach, "check_attachable", lambda target: None)
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        with pytest.raises(AttachRefused, match="did not run gilwise's start-up script"):
            Attachment.open(
                inspect_target(sleeper.pid), interval_s=0.01, stall_ms=100, start_timeout=0.5
            )
    finally:
        sleeper.kill()
        sleeper.wait()
    leftovers = list(Path(tempfile.gettempdir()).glob("gilwise-attach-*/attach.py"))
    assert leftovers, "the pending script must stay for the target to find"
    for script in leftovers:
        result = subprocess.run(
            [sys.executable, str(script)], capture_output=True, text=True, timeout=30
        )
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
        assert not script.parent.exists()


# -- the command line ---------------------------------------------------------------------------


def _gilwise(*args: str, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gilwise", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHONPATH": SRC},
        **kw,
    )


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["attach", "abc"], "is not a process ID"),
        (["attach", "0"], "is not a process ID"),
        (["attach", "1", "--duration", "0"], "--duration must be a positive"),
        (["attach", "1", "--interval", "-1"], "interval must be between"),
        (["attach", str(2**22 + 12345)], "no process with PID"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(args: list[str], message: str) -> None:
    result = _gilwise(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.e2e
def test_the_command_watches_and_writes_the_report(
    stand_in: subprocess.Popen[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from gilwise.cli import main

    out = tmp_path / "r.json"
    code = main(["attach", str(stand_in.pid), "--duration", "0.5", "--json", str(out)])
    assert code == 0
    saved = Report.from_dict(json.loads(out.read_text()))
    assert saved.complete
    assert saved.command is not None
    assert saved.command[0] == "attach"
    err = capsys.readouterr().err
    assert f"watching PID {stand_in.pid}" in err
    assert "exited during the watch" not in err


# -- the live view --------------------------------------------------------------------------------


def test_status_line_names_the_verdict_and_the_last_stall() -> None:
    from gilwise.report._live import status_line

    line = status_line(report(loops=(loop(stall(300.0)),)))
    assert "LOOP_BLOCKED" in line
    assert "last stall 300 ms at /app/lib.py:12" in line
    assert "\n" not in line


def test_plain_lines_are_spaced_out(tmp_path: Path) -> None:
    from gilwise.report._live import LiveView

    with open(tmp_path / "log", "w") as stream:
        view = LiveView(stream, plain_every=3600)
        for _ in range(5):
            view.update(report(), "ends in 4 s")
        view.close()
    lines = (tmp_path / "log").read_text().splitlines()
    assert len(lines) == 1
    assert lines[0].endswith("ends in 4 s")


@pytest.mark.e2e
def test_the_refresher_redraws_until_stopped() -> None:
    from gilwise.report._live import LiveView, Refresher

    drawn: list[Report] = []
    hidden: list[int] = []

    class Recording(LiveView):
        def update(self, report: Report, note: str = "") -> None:
            drawn.append(report)

    refresher = Refresher(lambda: report(), Recording(), hidden.append, every=0.01)
    refresher.start()
    deadline = time.monotonic() + 10
    while len(drawn) < 3:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    refresher.stop()
    count = len(drawn)
    time.sleep(0.05)
    assert len(drawn) == count
    assert len(hidden) == 1
    assert hidden[0] != threading.get_ident()


@pytest.mark.e2e
def test_run_live_writes_status_lines_when_piped(tmp_path: Path) -> None:
    program = tmp_path / "prog.py"
    program.write_text("import time\ntime.sleep(1.6)\nprint('done')\n")
    result = _gilwise("run", "--live", str(program), cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == "done\n"
    status = [line for line in result.stderr.splitlines() if line.startswith("gilwise 1s")]
    assert len(status) == 1, result.stderr
