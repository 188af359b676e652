"""A backend that exists only for tests: with its row, all a new backend needs.

``tests/pool/test_new_backend.py`` adds its row to ``gilwise._core._backends.BACKENDS``
and maps through it. It runs each run of items in the caller's thread when polled; a
call past the timeout is reported once it returns, as on the serial backend.
"""

from __future__ import annotations

import time
from collections import deque

from gilwise.pool._engine import failed
from gilwise.pool._registry import BackendOptions
from gilwise.pool._timeouts import timeout_error
from gilwise.pool._types import Outcome, Run, RunSettings, Task


class FakeBackend:
    name = "fake"

    def __init__(self, workers: int) -> None:
        self.workers = workers
        self._runs: deque[Run] = deque()
        self._settings: RunSettings | None = None

    def begin(self, settings: RunSettings) -> None:
        self._settings = settings

    def capacity(self) -> int:
        return 0 if self._runs else self.workers

    def submit(self, runs: list[Run]) -> None:
        self._runs.extend(runs)

    def poll(self, timeout: float | None) -> list[Outcome]:
        if not self._runs or self._settings is None:
            return []
        settings = self._settings
        return [self._call(settings, task) for task in self._runs.popleft().tasks()]

    def _call(self, settings: RunSettings, task: Task) -> Outcome:
        started = time.monotonic()
        try:
            value = settings.fn(task.item)
        except Exception as exc:
            return failed(task, exc)
        limit = settings.timeout
        if limit is not None and time.monotonic() - started > limit:
            return failed(task, timeout_error(task, limit, self.name))
        return Outcome(task, value)

    def end(self, *, abandon: bool) -> None:
        self._runs.clear()

    def close(self) -> None:
        self._runs.clear()

    def chunksize(self) -> int:
        return 1

    def deaths(self) -> int:
        return 0


def make_backend(options: BackendOptions) -> FakeBackend:
    return FakeBackend(options.worker_count())
