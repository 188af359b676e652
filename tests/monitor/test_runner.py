"""``gilwise run`` runs programs exactly as python does: end-to-end, in subprocesses."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]


def _gilwise(*args: str, cwd: Path, **kw: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gilwise", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=90,
        **kw,
    )


def _python(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], cwd=cwd, capture_output=True, text=True, timeout=90
    )


def _script(tmp_path: Path, body: str, name: str = "prog.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(body))
    return path


IDENTITY = """
    import sys, os, threading
    print(repr(sys.argv))
    print(__name__, os.path.basename(__file__), os.path.basename(sys.path[0]))
    print(threading.active_count())
    code = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    sys.exit(code)
"""


@pytest.mark.parametrize("exit_code", ["0", "3"])
def test_program_sees_what_python_gives_it(tmp_path: Path, exit_code: str) -> None:
    _script(tmp_path, IDENTITY)
    plain = _python("prog.py", exit_code, "--flag", cwd=tmp_path)
    watched = _gilwise("run", "--quiet", "prog.py", exit_code, "--flag", cwd=tmp_path)
    assert watched.stdout == plain.stdout
    assert watched.returncode == plain.returncode == int(exit_code)
    assert watched.stderr == ""


def test_the_monitors_set_up_modules_are_imported_before_the_program(tmp_path: Path) -> None:
    # Imported by the sampler beside threads already busy, every file read waited for
    # the GIL: 0.45 s of a 0.7 s set-up beside two CPU-bound threads, nothing counted.
    # The watcher's link too (10-90 ms of the set-up beside them).
    _script(
        tmp_path,
        "import sys\nprint(*(m in sys.modules for m in "
        "('ctypes', 'dis', 'gilwise.monitor._outside')))\n",
    )
    watched = _gilwise("run", "--quiet", "prog.py", cwd=tmp_path)
    assert watched.stdout == "True True True\n"


def test_gilwise_like_options_after_the_script_belong_to_the_program(tmp_path: Path) -> None:
    _script(tmp_path, IDENTITY)
    watched = _gilwise("run", "--quiet", "prog.py", "0", "--json", "x", cwd=tmp_path)
    assert "'--json', 'x'" in watched.stdout
    assert not (tmp_path / "x").exists()


def test_uncaught_exception_traceback_and_exit_code(tmp_path: Path) -> None:
    _script(
        tmp_path,
        """
        def inner():
            raise ValueError("boom")
        inner()
        """,
    )
    plain = _python("prog.py", cwd=tmp_path)
    watched = _gilwise("run", "--quiet", "prog.py", cwd=tmp_path)
    assert watched.returncode == plain.returncode == 1
    assert watched.stderr == plain.stderr
    assert "gilwise" not in watched.stderr


def test_keyboard_interrupt_ends_like_python(tmp_path: Path) -> None:
    _script(tmp_path, "raise KeyboardInterrupt\n")
    plain = _python("prog.py", cwd=tmp_path)
    watched = _gilwise("run", "--quiet", "--json", "r.json", "prog.py", cwd=tmp_path)
    assert watched.returncode == plain.returncode == -signal.SIGINT
    assert watched.stderr == plain.stderr
    assert json.loads((tmp_path / "r.json").read_text())["exit_code"] == 128 + signal.SIGINT


def test_sys_exit_with_message(tmp_path: Path) -> None:
    _script(tmp_path, "import sys\nsys.exit('fatal: no config')\n")
    watched = _gilwise("run", "--quiet", "prog.py", cwd=tmp_path)
    assert (watched.returncode, watched.stderr) == (1, "fatal: no config\n")


def test_module_mode(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "__main__.py").write_text("import sys\nprint(__name__, __package__, sys.argv[1:])\n")
    plain = _python("-m", "pkg", "a", "-b", cwd=tmp_path)
    watched = _gilwise("run", "--quiet", "-m", "pkg", "a", "-b", cwd=tmp_path)
    assert watched.stdout == plain.stdout == "__main__ pkg ['a', '-b']\n"


@pytest.fixture
def unrunnable(tmp_path: Path) -> Path:
    """Programs python refuses or cannot compile, each made as a user would have them."""
    _script(tmp_path, "x = 1\ndef broken(:\n", name="bad.py")
    (tmp_path / "nul.py").write_bytes(b"\x00\x01binary\x02")
    _script(tmp_path, "# -*- coding: klingon -*-\nprint(1)\n", name="enc.py")
    (tmp_path / "folder").mkdir()
    (tmp_path / "pkg_without_main").mkdir()
    (tmp_path / "pkg_without_main" / "__init__.py").write_text("")
    return tmp_path


@pytest.mark.parametrize(
    "program",
    [
        ["missing.py"],
        ["bad.py"],
        ["nul.py"],
        ["enc.py"],
        ["folder"],
        ["-m", "no_such_module_xyz"],
        ["-m", "pkg_without_main"],
    ],
    ids=["missing", "syntax-error", "null-bytes", "bad-coding", "folder", "no-module", "package"],
)
def test_a_program_that_cannot_start_fails_as_under_python(
    unrunnable: Path, program: list[str]
) -> None:
    plain = _python(*program, "arg", cwd=unrunnable)
    watched = _gilwise("run", "--quiet", *program, "arg", cwd=unrunnable)
    assert (watched.returncode, watched.stdout, watched.stderr) == (
        plain.returncode,
        plain.stdout,
        plain.stderr,
    )
    # (3.10 runs a file with null bytes up to the first one, and exits 0: so do we)


def test_an_application_folder_is_refused_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__main__.py").write_text("print('ran')\n")
    result = _gilwise("run", "app", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout == ""  # refused, not run unwatched
    assert result.stderr.startswith("gilwise: 'app' is an application folder or zip;")


def test_output_into_a_closed_pipe_fails_as_under_python(tmp_path: Path) -> None:
    _script(tmp_path, "for i in range(100_000):\n    print(i)\n")

    def first_line_then_close(command: list[str]) -> tuple[int, str]:
        with subprocess.Popen(
            command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        ) as proc:
            assert proc.stdout is not None
            assert proc.stderr is not None
            assert proc.stdout.readline() == "0\n"
            proc.stdout.close()  # as `| head -1` does
            err = proc.stderr.read()
            return proc.wait(timeout=60), err

    plain = first_line_then_close([sys.executable, "prog.py"])
    watched = first_line_then_close([sys.executable, "-m", "gilwise", "run", "--quiet", "prog.py"])
    assert watched == plain
    assert "BrokenPipeError" in plain[1]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ([], "give a script"),
        (["--interval", "-1", "bad.py"], "interval must be"),
        (["--json", "no/such/folder/r.json", "bad.py"], "does not exist; create it"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(tmp_path: Path, args: list[str], message: str) -> None:
    _script(tmp_path, "x = 1\n", name="bad.py")
    result = _gilwise("run", *args, cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert message in lines[-1]
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "no").exists()


def test_summary_and_json_report(tmp_path: Path) -> None:
    _script(
        tmp_path,
        """
        import threading, time
        def work():
            # Long enough to be sampled twice on a loaded machine, where three GIL-bound
            # threads leave the sampler a few ticks a second: a thread seen once has no
            # CPU figure (its clock is unreadable once it has ended).
            end = time.monotonic() + 1.5
            while time.monotonic() < end:
                sum(i * i for i in range(10_000))
        threads = [threading.Thread(target=work) for _ in range(3)]
        for t in threads: t.start()
        for t in threads: t.join()
        """,
    )
    (tmp_path / "out").mkdir()
    result = _gilwise("run", "--json", "out/report.json", "prog.py", cwd=tmp_path)
    assert result.returncode == 0
    umask = os.umask(0o022)
    os.umask(umask)
    mode = (tmp_path / "out" / "report.json").stat().st_mode & 0o777
    assert mode == 0o666 & ~umask  # as any file the user's shell makes, not 0600
    assert "gilwise" in result.stderr
    assert "GIL" in result.stderr
    data = json.loads((tmp_path / "out" / "report.json").read_text())
    assert data["schema"] == "gilwise.run/1"
    assert data["exit_code"] == 0
    assert data["complete"] is True
    assert {"verdicts", "gil", "process", "threads", "loops"} <= set(data)
    workers = [t for t in data["threads"] if "work" in t["name"]]
    assert len(workers) == 3
    assert all(t["cpu_seconds"] > 0 for t in workers)


def test_report_survives_os_exit(tmp_path: Path) -> None:
    _script(tmp_path, "import os, time\ntime.sleep(0.2)\nos._exit(7)\n")
    result = _gilwise("run", "--quiet", "--json", "r.json", "prog.py", cwd=tmp_path)
    assert result.returncode == 7
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["exit_code"] == 7


def test_report_survives_sigterm(tmp_path: Path) -> None:
    _script(tmp_path, "import time\nprint('ready', flush=True)\ntime.sleep(60)\n")
    with subprocess.Popen(
        [sys.executable, "-m", "gilwise", "run", "--quiet", "--json", "r.json", "prog.py"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None
        assert proc.stdout.readline() == "ready\n"
        # Into its sleep first: a SIGTERM landing between the eval loop's last signal check
        # and the sleep's system call waits for the whole sleep before python runs the
        # report's handler (seen 1 run in 4 on 3.14; a known gap, see the closing note of
        # 2026-11-30), which is not what this test is about.
        time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == -signal.SIGTERM  # died of the signal, as without us
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["exit_code"] == 128 + signal.SIGTERM


def test_forked_child_does_not_write_the_report(tmp_path: Path) -> None:
    _script(
        tmp_path,
        """
        import os, sys, time
        pid = os.fork()
        if pid == 0:
            time.sleep(0.1)
            sys.exit(5)  # a normal exit runs atexit in the child too
        _, status = os.waitpid(pid, 0)
        print(os.getpid(), os.waitstatus_to_exitcode(status))
        """,
    )
    result = _gilwise("run", "--quiet", "--json", "r.json", "prog.py", cwd=tmp_path)
    parent_pid, child_status = result.stdout.split()
    assert child_status == "5"
    data = json.loads((tmp_path / "r.json").read_text())
    assert data["process"]["pid"] == int(parent_pid)
    assert data["exit_code"] == 0


def test_daemon_threads_alive_at_exit(tmp_path: Path) -> None:
    _script(
        tmp_path,
        """
        import threading, time
        def forever():
            while True:
                sum(range(1000))
        for _ in range(3):
            threading.Thread(target=forever, daemon=True).start()
        time.sleep(0.3)
        print("done")
        """,
    )
    result = _gilwise("run", "--quiet", "--json", "r.json", "prog.py", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "done\n")
    assert json.loads((tmp_path / "r.json").read_text())["complete"] is True


def test_thousands_of_short_lived_threads(tmp_path: Path) -> None:
    _script(
        tmp_path,
        """
        import threading
        for _ in range(3000):
            t = threading.Thread(target=sum, args=(range(100),))
            t.start()
            t.join()
        print("ok")
        """,
    )
    started = time.monotonic()
    result = _gilwise("run", "--quiet", "--json", "r.json", "prog.py", cwd=tmp_path)
    assert (result.returncode, result.stdout) == (0, "ok\n")
    data = json.loads((tmp_path / "r.json").read_text())
    assert len(data["threads"]) <= 2 * 64 + 1
    assert time.monotonic() - started < 80


def test_version() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gilwise", "--version"], capture_output=True, text=True, timeout=30
    )
    assert result.returncode == 0
    assert result.stdout.startswith("gilwise ")


def test_bundled_example_runs(tmp_path: Path) -> None:
    env = {**os.environ, "COLUMNS": "120"}
    result = _gilwise("run", "-m", "gilwise.examples.showcase", cwd=tmp_path, env=env)
    assert result.returncode == 0
    assert "LOOP_BLOCKED" in result.stderr
    assert "showcase.py" in result.stderr


def test_the_program_finds_the_switch_interval_the_monitor_found(tmp_path: Path) -> None:
    # The GIL's calibration, before the program, shortens it meanwhile.
    _script(tmp_path, "import sys\nprint(sys.getswitchinterval())\n")
    plain = _python("prog.py", cwd=tmp_path)
    watched = _gilwise("run", "--quiet", "prog.py", cwd=tmp_path)
    assert watched.stdout == plain.stdout
