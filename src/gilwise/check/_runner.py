"""Check a set of files and directories with one configuration.

Files whose findings are in the cache are answered from it; the others are checked, on
one process per core when there are enough of them to pay for starting the processes.
Either way the findings are sorted at the end, so the output does not depend on which
process finished first.
"""

from __future__ import annotations

import dataclasses
import os
import stat
import sys
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pathspec

from .._errors import CheckFailed
from .._processes import ctrl_c_held
from ._cache import Cache, cache_dir
from ._config import CheckConfig, load_config
from ._engine import Selection, check_source, read_error
from ._finding import CheckResult, Finding
from ._paths import discover

if TYPE_CHECKING:
    import multiprocessing.context
    from concurrent.futures import ProcessPoolExecutor

#: Files larger than this are generated or data; reading them would only slow the run.
MAX_FILE_BYTES = 10 * 1024 * 1024
#: Below this much source to check, starting worker processes costs more than it saves
#: (a spawned worker imports gilwise for about 0.3 s; the checker takes ~0.4 s per MB:
#: measured, stdlib asyncio, 0.49 MB, took 0.36 s in one process and 0.31 s in two).
PARALLEL_MIN_BYTES = 256 * 1024


@dataclass(frozen=True)
class _Task:
    """One file to check, as a worker process receives it."""

    path: Path
    shown: str
    selection: Selection
    size: int


def check_paths(
    paths: Iterable[str | os.PathLike[str]] = (),
    config: CheckConfig | None = None,
    *,
    jobs: int | None = 1,
    cache: bool = False,
) -> CheckResult:
    """Check every Python file under ``paths`` (default: the current directory).

    Without ``config``, options come from the nearest pyproject.toml's
    ``[tool.gilwise.check]``, as on the command line. ``jobs`` is how many processes
    check files (None: one per core; the command line's default); ``cache`` keeps
    findings in ``.gilwise_cache`` in the project root, so unchanged files are not
    checked again (the command line's default).

    Example:
        >>> import gilwise
        >>> result = gilwise.check_paths(["src/gilwise/check"])
        >>> [f.code for f in result.findings], result.files_checked > 0
        ([], True)
    """
    config = config or load_config(Path.cwd())
    given = [Path(p) for p in paths] or [Path(".")]
    found = discover(
        given, config.root, config.exclude, config.respect_gitignore, config.force_exclude
    )
    warnings = list(found.warnings)
    store = _open_cache(config.root, warnings) if cache else None
    findings: list[Finding] = []
    pending: list[_Task] = []
    for task in _tasks(found.files, config):
        known, size = _lookup(task, store)
        if known is None:
            pending.append(dataclasses.replace(task, size=size))
        else:
            findings.extend(known)
    findings.extend(_check_all(pending, store, _workers(jobs, pending)))
    return CheckResult(tuple(sorted(findings)), len(found.files), tuple(warnings))


def _tasks(files: list[Path], config: CheckConfig) -> list[_Task]:
    per_file = [
        (pathspec.GitIgnoreSpec.from_lines([pattern]), codes)
        for pattern, codes in config.per_file_ignores.items()
    ]
    tasks = []
    for path in files:
        ignored = _per_file_ignores(path, config.root, per_file)
        selection = Selection(config.select, config.ignore + ignored)
        tasks.append(_Task(path, _display(path), selection, 0))
    return tasks


def _open_cache(root: Path, warnings: list[str]) -> Cache | None:
    directory = cache_dir(root)
    try:
        return Cache.open(directory)
    except OSError as exc:
        warnings.append(
            f"cannot use the cache in {directory}: {exc.strerror or exc}; "
            "pass --no-cache, or set GILWISE_CACHE_DIR to a writable folder"
        )
        return None


def _lookup(task: _Task, store: Cache | None) -> tuple[list[Finding] | None, int]:
    """The task's findings if they are known already, and the file's size.

    Known: in the cache, or the GW002 of a file that cannot be read. None means the file
    must be checked.
    """
    if store is None:
        try:
            return None, task.path.stat().st_size
        except OSError:
            return None, 0  # the check reads it again and reports why it cannot
    source = _read(task)
    if isinstance(source, list):
        return source, 0
    return store.get(store.key(source, task.selection), task.shown), len(source)


def _check_all(tasks: list[_Task], store: Cache | None, workers: int) -> list[Finding]:
    if workers <= 1:
        return [finding for task in tasks for finding in _check(task, store)]
    # Imported here: a run answered from the cache, or a small one, never needs them.
    from concurrent.futures import ProcessPoolExecutor

    # Largest first: a big file started last would keep one core busy alone at the end.
    tasks = sorted(tasks, key=lambda task: task.size, reverse=True)
    from concurrent.futures.process import BrokenProcessPool

    pool = ProcessPoolExecutor(workers, mp_context=_start_method())
    try:
        # Workers start inside submit(), with SIGINT blocked: a Ctrl-C reaches only this
        # process, which ends them, instead of printing a traceback from each.
        with ctrl_c_held():
            futures = [pool.submit(_check, task, store) for task in tasks]
        findings = [finding for future in futures for finding in future.result()]
    except BrokenProcessPool:
        # Seen from result(), or from submit() when a worker died before every file was
        # handed out (CPython 3.10, forked workers: a traceback from concurrent.futures).
        _abandon(pool)
        raise CheckFailed(
            "a checker process died (killed by the system, or out of memory); "
            "run 'gilwise check --jobs 1' to check in one process and see why"
        ) from None
    except BaseException:
        _abandon(pool)
        raise
    pool.shutdown()
    return findings


def _abandon(pool: ProcessPoolExecutor) -> None:
    """End the pool without waiting for the files still being checked (after Ctrl-C)."""
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        if process.is_alive():
            process.terminate()  # SIGTERM: their SIGINT is blocked, this one is not
    # The pool's own thread sees the workers gone and returns; waiting for it leaves no
    # process behind (it joins them).
    pool.shutdown(wait=True, cancel_futures=True)


def _check(task: _Task, store: Cache | None) -> list[Finding]:
    """Check one file (in this process or a worker) and remember its findings."""
    source = _read(task)
    if isinstance(source, list):
        return source
    findings = check_source(source, task.shown, task.selection)
    if store is not None:
        store.put(store.key(source, task.selection), findings)
    return findings


def _read(task: _Task) -> bytes | list[Finding]:
    """The file's bytes, or its GW002 finding (if wanted) when it cannot be read.

    Opened without blocking and checked to be a regular file before reading: a file
    replaced by a FIFO after discovery would otherwise stop the run for good.
    """
    try:
        fd = os.open(task.path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with open(fd, "rb") as file:
            status = os.fstat(file.fileno())
            if not stat.S_ISREG(status.st_mode):
                return _unreadable(task, "not a regular file")
            if status.st_size > MAX_FILE_BYTES:
                size = status.st_size // (1024 * 1024)
                return _unreadable(task, f"{size} MiB is over the {MAX_FILE_BYTES >> 20} MiB limit")
            return file.read()
    except OSError as exc:
        return _unreadable(task, exc.strerror or str(exc))


def _unreadable(task: _Task, reason: str) -> list[Finding]:
    return [read_error(task.shown, reason)] if task.selection.wants("GW002") else []


def _workers(jobs: int | None, tasks: list[_Task]) -> int:
    """How many processes to check ``tasks`` with: 1 (this one) when few or small."""
    wanted = _cores() if jobs is None or jobs < 1 else jobs
    if wanted <= 1 or len(tasks) < 2 or sum(task.size for task in tasks) < PARALLEL_MIN_BYTES:
        return 1
    if _in_daemon_process():
        return 1  # a daemonic process (a multiprocessing pool's worker) cannot have children
    return min(wanted, len(tasks))


def _in_daemon_process() -> bool:
    multiprocessing = sys.modules.get("multiprocessing")  # not imported: not a worker
    return multiprocessing is not None and bool(multiprocessing.current_process().daemon)


def _cores() -> int:
    """The cores this process may run on (the affinity mask, as taskset and cgroups set)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1  # pragma: no cover - macOS, Windows


def _start_method() -> multiprocessing.context.BaseContext:
    """fork where it is safe (a Linux process with one thread): workers start in
    milliseconds with everything imported; spawn elsewhere."""
    import multiprocessing

    if sys.platform == "linux" and _threads() == 1:
        return multiprocessing.get_context("fork")
    return multiprocessing.get_context("spawn")


def _threads() -> int:
    """The process's threads, native ones included (a BLAS pool, a C extension's own),
    as CPython 3.12+ counts them when it warns that a fork may deadlock."""
    try:
        return len(os.listdir("/proc/self/task"))
    except OSError:
        return threading.active_count()


def _per_file_ignores(
    path: Path, root: Path, per_file: list[tuple[pathspec.GitIgnoreSpec, tuple[str, ...]]]
) -> tuple[str, ...]:
    try:
        relative = path.relative_to(os.path.abspath(root)).as_posix()
    except ValueError:
        relative = path.name
    return tuple(code for spec, codes in per_file if spec.match_file(relative) for code in codes)


def _display(path: Path) -> str:
    """The path relative to the current directory when it is inside it."""
    try:
        return path.relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)
