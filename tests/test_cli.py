from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import strategies as st

from gilwise.cli import _split_run_args, main
from tests._hypothesis import given

program_args = st.lists(st.text(min_size=1, max_size=8), max_size=5)


@given(program_args)
def test_everything_after_the_script_belongs_to_the_program(args: list[str]) -> None:
    own, program = _split_run_args(["--quiet", "--json", "r.json", "prog.py", *args])
    assert own == ["--quiet", "--json", "r.json"]
    assert program == ["prog.py", *args]


@given(program_args)
def test_everything_after_the_module_belongs_to_the_program(args: list[str]) -> None:
    own, program = _split_run_args(["--interval", "0.02", "-m", "pkg.mod", *args])
    assert own == ["--interval", "0.02", "-m", "pkg.mod"]
    assert program == args


def test_attached_module_and_double_dash() -> None:
    assert _split_run_args(["-mpkg", "x"]) == (["-m", "pkg"], ["x"])
    assert _split_run_args(["--quiet", "--", "-weird.py"]) == (["--quiet"], ["-weird.py"])


def test_no_command_prints_help_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    assert "run" in capsys.readouterr().err


def test_unknown_option_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["run", "--bogus", "x.py"])
    assert exc.value.code == 2


def test_tour_help_gives_the_duration_the_readme_gives(
    capsys: pytest.CaptureFixture[str],
) -> None:
    readme = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
    # The README's figure is the one measured (22.5 s on 2 cores); the help repeats it.
    measured = re.search(r"about (\d+) seconds on 2 cores", readme)
    assert measured is not None
    with pytest.raises(SystemExit):
        main(["tour", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert f"about {measured.group(1)} seconds" in help_text
    assert "minute" not in help_text


def test_a_known_command_builds_only_its_own_options() -> None:
    """`gilwise run` does not pay for building advise's or check's options."""
    from gilwise.cli import _parser

    def subcommands(parser: argparse.ArgumentParser) -> list[str]:
        (action,) = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        return list(action.choices)

    assert subcommands(_parser("run")) == ["run"]
    assert subcommands(_parser()) == ["run", "attach", "advise", "check", "tour", "report"]
    assert subcommands(_parser("--help")) == subcommands(_parser())


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_quiet_run_without_outputs_builds_no_report(tmp_path: Path) -> None:
    """Nothing asked for a report, so its classes are never loaded (start-up cost)."""
    script = tmp_path / "empty.py"
    script.write_text("pass\n")
    # Registered before gilwise's own exit hook, so it runs after it (atexit is LIFO).
    probe = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('report loaded:', 'gilwise.monitor._report' in "
        "sys.modules, file=sys.stderr))\n"
        "from gilwise.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    ran = {}
    for extra in ([], ["--json", str(tmp_path / "r.json")]):
        done = subprocess.run(
            [sys.executable, "-c", probe, "run", "--quiet", *extra, str(script)],
            capture_output=True,
            text=True,
            timeout=50,
        )
        assert done.returncode == 0, done.stderr
        ran[bool(extra)] = done.stderr.strip().splitlines()[-1]
    assert ran == {False: "report loaded: False", True: "report loaded: True"}


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_a_run_too_short_to_sample_claims_no_more_cpu_than_the_machine_has(
    tmp_path: Path,
) -> None:
    """Loading the report's classes after the run's wall time ended once read as the
    program using 3.7 cores of 2 on an empty script."""
    script = tmp_path / "empty.py"
    script.write_text("pass\n")
    out = tmp_path / "r.json"
    done = subprocess.run(
        [sys.executable, "-m", "gilwise", "run", "--quiet", "--json", str(out), str(script)],
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert done.returncode == 0, done.stderr
    process = json.loads(out.read_text())["process"]
    # A CPU clock can run a little ahead of the wall clock between two reads, no more.
    assert process["cpu_cores_used"] <= process["usable_cores"] + 0.25


@pytest.mark.parametrize(("columns", "width"), [("50", 50), ("120", 120), ("wide", 80)])
def test_help_fits_the_terminal_width_as_shutil_reports_it(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    columns: str,
    width: int,
) -> None:
    monkeypatch.setenv("COLUMNS", columns)  # not a number: stdout's width, here not a tty: 80
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    # The usage line is written by hand; argparse wraps the rest.
    lines = [line for line in capsys.readouterr().out.splitlines() if not line.startswith("usage")]
    assert max(len(line) for line in lines) <= width
    assert max(len(line) for line in lines) > width - 20  # the help uses the room it has


@pytest.mark.e2e
@pytest.mark.timeout(60)
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the watcher reads Linux's /proc")
@pytest.mark.parametrize("watcher", [True, False])
def test_the_gil_watcher_can_be_turned_off(tmp_path: Path, watcher: bool) -> None:
    """Without the watcher process nothing is counted from outside: no child appears."""
    script = tmp_path / "children.py"
    # What the program sees of its own children, as it ends.
    script.write_text(
        "import os, time\n"
        "time.sleep(2.0)\n"
        "def parent(pid):\n"
        "    try:\n"
        "        with open(f'/proc/{pid}/stat') as f:\n"
        "            return int(f.read().rsplit(')', 1)[1].split()[1])\n"
        "    except (OSError, ValueError, IndexError):\n"
        "        return None  # gone meanwhile\n"
        "print(sum(parent(p) == os.getpid() for p in os.listdir('/proc') if p.isdigit()))\n"
    )
    out = tmp_path / "r.json"
    flags = [] if watcher else ["--no-gil-watcher"]
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "gilwise",
            "run",
            "--quiet",
            *flags,
            "--json",
            str(out),
            str(script),
        ],
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert done.returncode == 0, done.stderr
    method = json.loads(out.read_text())["gil"]["method"]
    if watcher:
        assert done.stdout.strip() == "1"  # the watcher, while the program runs
        assert method.startswith("counted from outside")
    else:
        assert done.stdout.strip() == "0"
        assert not method.startswith("counted from outside")
