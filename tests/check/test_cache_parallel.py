"""Speed without changing the answer: the per-file cache and one process per core."""

from __future__ import annotations

import io
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

import gilwise.check._runner as runner
from gilwise import GilwiseError
from gilwise.check import CheckConfig, CheckResult, Finding, Selection, check_source
from gilwise.check._cache import Cache
from gilwise.cli import main
from gilwise.report._check import render

BLOCKING = "import time\nasync def f():\n    time.sleep(1)\n"
DROPPED = "import asyncio\nasync def g(job):\n    asyncio.create_task(job())\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text(BLOCKING)
    (tmp_path / "pkg" / "b.py").write_text(DROPPED + BLOCKING.replace("f()", "h()"))
    (tmp_path / "pkg" / "clean.py").write_text("x = 1\n")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _forbid_checking(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> list[Finding]:
        raise AssertionError("a cached file was checked again")

    monkeypatch.setattr(runner, "check_source", refuse)


def _count_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    checked: list[str] = []
    real = check_source

    def counting(source: bytes, path: str, selection: Selection) -> list[Finding]:
        checked.append(path)
        return real(source, path, selection)

    monkeypatch.setattr(runner, "check_source", counting)
    return checked


def test_a_second_run_answers_from_the_cache(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["check", "--jobs", "1"]) == 1
    first = capsys.readouterr().out
    _forbid_checking(monkeypatch)
    assert main(["check", "--jobs", "1"]) == 1
    assert capsys.readouterr().out == first


def test_the_cache_folder_is_tagged_and_ignored_by_git(project: Path) -> None:
    assert main(["check", "--jobs", "1"]) == 1
    cache = project / ".gilwise_cache"
    assert (cache / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f0688")
    assert (cache / ".gitignore").read_text() == "*\n"


def test_no_cache_reads_and_writes_nothing(project: Path) -> None:
    assert main(["check", "--no-cache", "--jobs", "1"]) == 1
    assert not (project / ".gilwise_cache").exists()


def test_the_key_covers_content_and_selection(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    checked = _count_checks(monkeypatch)
    config = CheckConfig(root=project)
    runner.check_paths(["pkg"], config, cache=True)
    assert sorted(checked) == ["pkg/a.py", "pkg/b.py", "pkg/clean.py"]
    checked.clear()
    (project / "pkg" / "a.py").write_text(BLOCKING + "\n")
    runner.check_paths(["pkg"], config, cache=True)
    assert checked == ["pkg/a.py"]
    checked.clear()
    result = runner.check_paths(["pkg"], CheckConfig(root=project, ignore=("GW101",)), cache=True)
    assert len(checked) == 3
    assert {f.code for f in result.findings} == {"GW111"}
    checked.clear()
    per_file = CheckConfig(root=project, per_file_ignores={"pkg/a.py": ("GW1",)})
    assert [f.path for f in runner.check_paths(["pkg"], per_file, cache=True).findings] == [
        "pkg/b.py",
        "pkg/b.py",
    ]
    assert checked == ["pkg/a.py"]


def test_an_entry_serves_the_same_content_at_another_path(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = CheckConfig(root=project)
    runner.check_paths(["pkg/a.py"], config, cache=True)
    (project / "copy.py").write_text(BLOCKING)
    _forbid_checking(monkeypatch)
    result = runner.check_paths(["copy.py"], config, cache=True)
    assert [(f.path, f.line, f.code) for f in result.findings] == [("copy.py", 3, "GW101")]


def test_a_damaged_entry_is_checked_again(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = CheckConfig(root=project)
    before = runner.check_paths(["pkg"], config, cache=True)
    for entry in (project / ".gilwise_cache").rglob("*"):
        if entry.is_file() and entry.parent.name != ".gilwise_cache":
            entry.write_text("{not json")
    checked = _count_checks(monkeypatch)
    assert runner.check_paths(["pkg"], config, cache=True) == before
    assert len(checked) == 3


def test_a_cache_that_cannot_be_written_is_a_warning(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (project / "not-a-folder").write_text("")
    monkeypatch.setenv("GILWISE_CACHE_DIR", str(project / "not-a-folder" / "cache"))
    result = runner.check_paths(["pkg"], CheckConfig(root=project), cache=True)
    assert len(result.findings) == 3
    [warning] = result.warnings
    assert warning.startswith("cannot use the cache in")
    assert "--no-cache" in warning


def test_gilwise_cache_dir_moves_the_cache(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GILWISE_CACHE_DIR", str(project / "elsewhere"))
    runner.check_paths(["pkg"], CheckConfig(root=project), cache=True)
    assert (project / "elsewhere" / "CACHEDIR.TAG").is_file()
    assert not (project / ".gilwise_cache").exists()


def test_a_new_checker_means_new_keys(project: Path) -> None:
    cache = Cache.open(project / "c")
    other = Cache(cache.directory, cache.salt + "x")
    assert cache.key(b"x = 1\n", Selection()) != other.key(b"x = 1\n", Selection())


# --- one process per core -------------------------------------------------------------


def _many_files(root: Path, count: int = 24) -> None:
    for i in range(count):
        body = (BLOCKING if i % 3 else DROPPED) * (i % 5 + 1)
        (root / "pkg" / f"m{i:02}.py").write_text(body + f"x{i} = 1\n" * (i * 7))
    (root / "pkg" / "broken.py").write_text("def f(:\n")


def _rendered(result: CheckResult) -> str:
    out = io.StringIO()
    for output_format in ("text", "json", "sarif", "github"):
        render(result, output_format, out)
    return out.getvalue()


def test_parallel_output_is_byte_identical_to_serial(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _many_files(project)
    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)
    # fork, so the recording wrapper below is what the workers run.
    monkeypatch.setattr(runner, "_start_method", lambda: multiprocessing.get_context("fork"))
    pids = project / "pids"
    pids.mkdir()
    real = check_source

    def recording(source: bytes, path: str, selection: Selection) -> list[Finding]:
        (pids / str(os.getpid())).touch()
        return real(source, path, selection)

    monkeypatch.setattr(runner, "check_source", recording)
    config = CheckConfig(root=project)
    serial = runner.check_paths(["pkg"], config, jobs=1)
    assert {p.name for p in pids.iterdir()} == {str(os.getpid())}
    for p in pids.iterdir():
        p.unlink()
    parallel = runner.check_paths(["pkg"], config, jobs=2)
    workers = {p.name for p in pids.iterdir()}
    assert str(os.getpid()) not in workers
    assert len(workers) == 2
    assert parallel == serial
    assert _rendered(parallel) == _rendered(serial)


def test_parallel_workers_fill_the_cache(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _many_files(project)
    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)
    config = CheckConfig(root=project)
    cold = runner.check_paths(["pkg"], config, jobs=2, cache=True)
    _forbid_checking(monkeypatch)
    assert runner.check_paths(["pkg"], config, jobs=2, cache=True) == cold


def test_few_or_small_files_are_checked_in_this_process() -> None:
    def tasks(*sizes: int) -> list[runner._Task]:
        return [
            runner._Task(Path(f"{i}.py"), f"{i}.py", Selection(), n) for i, n in enumerate(sizes)
        ]

    big = runner.PARALLEL_MIN_BYTES
    assert runner._workers(4, tasks(big * 4)) == 1  # one file: nothing to share
    assert runner._workers(4, tasks(100, 100, 100)) == 1  # too little work
    assert runner._workers(1, tasks(big, big)) == 1
    assert runner._workers(4, tasks(big, big)) == 2
    assert runner._workers(2, tasks(big, big, big)) == 2
    assert runner._workers(None, tasks(big, big)) == min(2, runner._cores())


def test_a_worker_that_dies_is_one_clear_error(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _many_files(project)
    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(runner, "_start_method", lambda: multiprocessing.get_context("fork"))

    def die(*args: object, **kwargs: object) -> list[Finding]:
        os._exit(3)

    monkeypatch.setattr(runner, "check_source", die)
    with pytest.raises(GilwiseError, match=r"a checker process died.*--jobs 1"):
        runner.check_paths(["pkg"], CheckConfig(root=project), jobs=2)
    assert multiprocessing.active_children() == []


def test_jobs_must_be_positive(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check", "--jobs", "0"]) == 2
    assert "--jobs must be 1 or more" in capsys.readouterr().err


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_ctrl_c_ends_the_workers_with_one_line(project: Path) -> None:
    body = "".join(f"async def f{i}(x):\n    return await x({i})\n\n" for i in range(6000))
    for i in range(6):
        (project / "pkg" / f"big{i}.py").write_text(body)
    command = [sys.executable, "-m", "gilwise", "check", "--no-cache", "--jobs", "2", "pkg"]
    # A new session, so the group's Ctrl-C reaches only the command and its workers; the
    # default SIGINT handler, which a shell's background job would not have.
    child = subprocess.Popen(
        command,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        workers = _wait_for_children(child.pid, 2)
        os.killpg(child.pid, signal.SIGINT)
        _, err = child.communicate(timeout=60)
    finally:  # a failed wait must not leave the command running into the next test
        if child.poll() is None:
            os.killpg(child.pid, signal.SIGKILL)
            child.communicate()
    assert child.returncode == 130
    assert err.decode().strip() == "gilwise: interrupted"
    time.sleep(0.5)
    assert [pid for pid in workers if Path(f"/proc/{pid}").exists()] == []


def _wait_for_children(pid: int, count: int) -> list[int]:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        if len(listed) >= count:
            return [int(child) for child in listed]
        time.sleep(0.05)
    raise AssertionError(f"the check did not start {count} workers in 30 s")


def _age(path: Path, seconds: float) -> None:
    then = time.time() - seconds
    os.utime(path, (then, then))


def _entries(version_folder: Path) -> list[Path]:
    return sorted(version_folder.glob("*/*"))  # entries sit in 256 bucket folders


def test_entries_unread_for_a_month_are_pruned_once_a_day(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gilwise import __version__
    from gilwise.check import _cache

    root = project / ".gilwise_cache"
    assert main(["check", "--jobs", "1"]) == 1
    current = _entries(root / __version__)
    assert len(current) == 3  # a.py, b.py, clean.py
    stale = root / "0.0.1" / "ab" / "cdef"  # an older gilwise's entry, read by nobody now
    stale.parent.mkdir(parents=True)
    stale.write_text("[]")
    for entry in [stale, *current]:
        _age(entry, _cache.MAX_UNUSED_S + 3600)
    marker = root / "last-pruned"
    _age(marker, _cache.PRUNE_EVERY_S - 3600)
    assert main(["check", "--jobs", "1"]) == 1  # pruned within the day: not due
    assert stale.exists()
    _age(marker, _cache.PRUNE_EVERY_S + 3600)
    _forbid_checking(monkeypatch)  # the current entries, read by the last run, must serve
    assert main(["check", "--jobs", "1"]) == 1
    assert not (root / "0.0.1").exists()
    assert _entries(root / __version__) == current
    assert (root / "CACHEDIR.TAG").exists()
    assert (root / ".gitignore").exists()


def test_reading_an_entry_keeps_it_young(project: Path) -> None:
    from gilwise import __version__

    assert main(["check", "--jobs", "1"]) == 1
    entries = _entries(project / ".gilwise_cache" / __version__)
    for entry in entries:
        _age(entry, 3 * 24 * 3600)
    assert main(["check", "--jobs", "1"]) == 1
    assert all(time.time() - e.stat().st_mtime < 3600 for e in entries)


def test_a_worker_dead_before_every_file_was_handed_out_is_the_same_clear_error(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # On CPython 3.10 a forked worker died before submit() had handed out every file,
    # and submit() itself raised BrokenProcessPool: a traceback from concurrent.futures.
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures.process import BrokenProcessPool

    _many_files(project)
    monkeypatch.setattr(runner, "PARALLEL_MIN_BYTES", 0)

    def broken(*args: object, **kwargs: object) -> None:
        raise BrokenProcessPool("A child process terminated abruptly")

    monkeypatch.setattr(ProcessPoolExecutor, "submit", broken)
    with pytest.raises(GilwiseError, match=r"a checker process died.*--jobs 1"):
        runner.check_paths(["pkg"], CheckConfig(root=project), jobs=2)
