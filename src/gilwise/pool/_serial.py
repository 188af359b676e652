"""The serial backend: each task runs in the caller's thread when the map asks for a result.

It has every semantic of the other backends except parallelism, which makes it the
reference in tests and the way to debug a map (breakpoints and tracebacks as usual).
A ``timeout`` cannot interrupt a call here: a call that ran longer is reported as an
``ItemTimeout`` after it returns, and its result is dropped.
"""

from __future__ import annotations

import time
from collections import deque

from ._engine import failed
from ._registry import BackendOptions
from ._timeouts import timeout_error
from ._types import Outcome, Run, RunSettings, Task


class SerialBackend:
    name = "serial"
    workers = 1

    def __init__(self) -> None:
        self._queue: deque[Task] = deque()
        self._settings: RunSettings | None = None

    def begin(self, settings: RunSettings) -> None:
        self._settings = settings

    def capacity(self) -> int:
        return 0 if self._queue else 1

    def submit(self, runs: list[Run]) -> None:
        for run in runs:
            self._queue.extend(run.tasks())

    def poll(self, timeout: float | None) -> list[Outcome]:
        if not self._queue or self._settings is None:
            return []
        task = self._queue.popleft()
        started = time.monotonic()
        try:
            value = self._settings.fn(task.item)
        except Exception as exc:
            return [failed(task, exc)]
        limit = self._settings.timeout
        if limit is not None and time.monotonic() - started > limit:
            return [failed(task, timeout_error(task, limit, "serial"))]
        return [Outcome(task, value)]

    def end(self, *, abandon: bool) -> None:
        self._queue.clear()

    def close(self) -> None:
        self._queue.clear()

    def chunksize(self) -> int:
        return 1

    def deaths(self) -> int:
        return 0


def make_backend(options: BackendOptions) -> SerialBackend:
    return SerialBackend()
