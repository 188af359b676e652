"""Trials in another interpreter: threads on a free-threaded CPython given with ``--python``.

The other interpreter runs this package's own trial code (standard library only) from
this package's source folder, loads the user's function again by its reference
(``module:function`` or ``file.py:function``), and sends the measurement back as JSON.
The items go over stdin pickled with protocol 4, which every supported CPython reads.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._errors import InvalidOption, UserCodeFailed
from ._backends import Job
from ._report import Measurement

#: The backend name a free-threaded interpreter's thread pool is reported under.
FREE_THREADED = "free-threaded"
_PACKAGE_ROOT = str(Path(__file__).resolve().parents[2])  # the folder holding gilwise/
_PROBE = (
    "import json, sys; print(json.dumps({'version': sys.version.split()[0], "
    "'gil': getattr(sys, '_is_gil_enabled', lambda: True)()}))"
)
_CHILD = """
import dataclasses, json, pickle, sys
from gilwise.advise._backends import Job, trial
from gilwise.advise._target import load_callable
task = pickle.load(sys.stdin.buffer)
fn = load_callable(task["ref"])
job = Job(fn=fn, is_coroutine=False, ref=task["ref"])
result = trial(job, "thread", task["workers"], task["batch"], chunksize=task["chunksize"])
print(json.dumps(dataclasses.asdict(result)))
"""


@dataclass(frozen=True)
class ForeignPython:
    """Another interpreter to measure threads in."""

    path: str
    version: str
    free_threaded: bool


def inspect_python(path: str) -> ForeignPython:
    """What ``path`` is; a clear error when it cannot run or is too old."""
    try:
        done = subprocess.run(
            [path, "-c", _PROBE], capture_output=True, text=True, timeout=30, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise InvalidOption(
            f"--python {path}: cannot run it ({exc}); give a python executable"
        ) from exc
    if done.returncode != 0:
        raise InvalidOption(f"--python {path}: it failed to start: {done.stderr.strip()[-200:]}")
    facts = json.loads(done.stdout)
    major, minor = (int(p) for p in facts["version"].split(".")[:2])
    if (major, minor) < (3, 10):
        raise InvalidOption(f"--python {path}: CPython {facts['version']} is older than 3.10")
    return ForeignPython(path, facts["version"], free_threaded=not facts["gil"])


def require_free_threaded(python: ForeignPython) -> None:
    """Refuse an interpreter that has the GIL: its threads would show nothing new."""
    if not python.free_threaded:
        raise InvalidOption(
            f"--python {python.path}: CPython {python.version} runs with the GIL, so its "
            "threads would measure the same as here; give a free-threaded build such as "
            "python3.13t or python3.14t"
        )


def foreign_trial(
    python: ForeignPython,
    job: Job,
    workers: int,
    batch: Sequence[Any],
    *,
    chunksize: int = 1,
) -> Measurement:
    """A thread-pool trial of ``job`` in ``python``, reported as the free-threaded backend.

    Starting the interpreter and importing the function count as start-up, like a
    process pool's start.
    """
    if job.ref is None:
        raise InvalidOption(
            "--python needs a function importable by reference (module:function or "
            "file.py:function); pass the reference on the command line"
        )
    task = {"ref": job.ref, "workers": workers, "batch": list(batch), "chunksize": chunksize}
    try:
        payload = pickle.dumps(task, protocol=4)
    except Exception as exc:
        raise InvalidOption(
            f"--python: the items cannot be pickled for {python.path}: {exc}"
        ) from exc
    started = time.perf_counter()
    done = subprocess.run(
        [python.path, "-c", _CHILD],
        input=payload,
        capture_output=True,
        env=_child_env(),
        timeout=600,
        check=False,
    )
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise UserCodeFailed(
            f"the trial in {python.path} failed:\n{done.stderr.decode(errors='replace')[-2000:]}"
        )
    inner = Measurement(**json.loads(done.stdout.decode().strip().splitlines()[-1]))
    # The interpreter's start and the function's import are start-up; the rest of what
    # the subprocess took beyond the inner trial is shutdown.
    outer_startup = max(0.0, elapsed - inner.startup_s - inner.wall_s - inner.shutdown_s)
    return Measurement(
        backend=FREE_THREADED,
        workers=inner.workers,
        chunksize=inner.chunksize,
        items=inner.items,
        wall_s=inner.wall_s,
        startup_s=inner.startup_s + outer_startup,
        shutdown_s=inner.shutdown_s,
        items_per_s=inner.items_per_s,
        speedup=0.0,
    )


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    paths = [_PACKAGE_ROOT, os.getcwd(), env.get("PYTHONPATH", "")]
    env["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
    return env
