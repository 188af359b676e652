"""Trials in another interpreter (``--python``): the plumbing, with whatever CPython is here.

No free-threaded build is installed on the CI machine, so these tests run the other
interpreter's trials for real but pretend, where said, that it has no GIL.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import gilwise
from gilwise import InvalidOption
from gilwise.advise import _advisor, _foreign
from gilwise.advise._backends import Job
from gilwise.advise._foreign import ForeignPython, foreign_trial, inspect_python
from gilwise.cli import main
from tests.advise import workloads

pytestmark = pytest.mark.timeout(120)


def _other_python() -> str:
    """Another installed CPython if there is one (the real cross-version case), else this."""
    try:
        done = subprocess.run(
            ["pyenv", "prefix", "3.12"], capture_output=True, text=True, check=False
        )
    except OSError:
        return sys.executable
    lines = done.stdout.strip().splitlines()
    candidate = Path(lines[0]) / "bin" / "python3" if lines else None
    return str(candidate) if candidate is not None and candidate.exists() else sys.executable


@pytest.mark.e2e
def test_inspect_tells_a_gil_build_from_a_free_threaded_one() -> None:
    python = inspect_python(sys.executable)
    assert python.version == sys.version.split()[0]
    assert python.free_threaded is (not getattr(sys, "_is_gil_enabled", lambda: True)())


@pytest.mark.parametrize(
    ("path", "message"),
    [("/no/such/python", "cannot run it"), (sys.executable + "-not-there", "cannot run it")],
)
def test_a_bad_interpreter_path_is_a_clear_error(path: str, message: str) -> None:
    with pytest.raises(InvalidOption, match=message):
        inspect_python(path)


def test_a_gil_build_is_refused_with_the_fix() -> None:
    with pytest.raises(InvalidOption, match=r"python3\.13t or python3\.14t"):
        _foreign.require_free_threaded(ForeignPython("/x/python3", "3.12.1", False))


@pytest.mark.e2e
def test_a_trial_runs_in_the_other_interpreter_and_reports_back() -> None:
    python = inspect_python(_other_python())
    job = Job(workloads.square, False, "tests.advise.workloads:square")
    result = foreign_trial(python, job, 2, list(range(100)))
    assert (result.backend, result.workers, result.items) == ("free-threaded", 2, 100)
    assert result.items_per_s > 0
    assert result.startup_s > 0  # the interpreter's own start counts as start-up


@pytest.mark.e2e
def test_the_users_exception_in_the_other_interpreter_is_theirs() -> None:
    python = inspect_python(_other_python())
    job = Job(workloads.fail_on_three, False, "tests.advise.workloads:fail_on_three")
    with pytest.raises(gilwise.UserCodeFailed, match="ValueError"):
        foreign_trial(python, job, 2, [1, 2, 3])


def test_a_function_without_a_reference_cannot_go_there() -> None:
    python = ForeignPython(sys.executable, "3.11", True)
    with pytest.raises(InvalidOption, match="importable by reference"):
        foreign_trial(python, Job(lambda x: x, False, None), 1, [1])


@pytest.mark.e2e
def test_advise_measures_the_free_threaded_backend_when_given_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Pretend the interpreter is free-threaded: the trials still run in it for real.
    real = inspect_python(_other_python())
    monkeypatch.setattr(
        _advisor, "inspect_python", lambda path: ForeignPython(real.path, real.version, True)
    )
    # Only what this test is about, so other ladders (sub-interpreters on 3.14+) cannot
    # take the budget first on a busy machine.
    report = gilwise.advise(
        workloads.spin, [2_000, 4_000], budget=6, python=real.path, backends=["free-threaded"]
    )
    assert {m.backend for m in report.measurements} == {"serial", "free-threaded"}


@pytest.mark.e2e
def test_the_cli_refuses_a_gil_interpreter_before_measuring(
    capsys: pytest.CaptureFixture[str],
) -> None:
    if not getattr(sys, "_is_gil_enabled", lambda: True)():
        pytest.skip("this interpreter is free-threaded: it would be accepted")
    code = main(
        [
            "advise",
            "tests.advise.workloads:square",
            "--inputs",
            "tests.advise.workloads:numbers",
            "--python",
            sys.executable,
        ]
    )
    assert code == 2
    assert "runs with the GIL" in capsys.readouterr().err
