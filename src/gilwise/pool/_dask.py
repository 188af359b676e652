"""The dask backend: chunks of items as ``distributed`` tasks, on a client you pass or a
``LocalCluster`` started for the map on 127.0.0.1.

Only ``capacity()`` chunks are submitted at a time, so ``buffersize`` holds on the
cluster too: dask never sees the rest of the input. Chunks are sized like the
process backend's (about 50 ms each, learnt from the first results). A per-item
``timeout`` is enforced on the worker: the call runs in a helper thread there and is
abandoned (its result dropped) when it passes the limit; dask cannot stop a running
task.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from typing import Any

from ._chunk import chunk_outcomes, run_chunk
from ._chunking import MAX_CHUNK, ChunkSizer
from ._engine import failed
from ._types import ChunkDone, Outcome, Run, RunSettings

# Imported by name so that mypy and a plain install need not have it: ImportError
# here becomes "pip install gilwise[dask]" in the registry.
distributed: Any = importlib.import_module("distributed")


class DaskBackend:
    name = "dask"

    def __init__(self, workers: int | None, *, client: Any = None) -> None:
        self._own = client is None
        if client is None:
            cluster = distributed.LocalCluster(
                n_workers=workers or 2,
                threads_per_worker=1,
                processes=True,
                host="127.0.0.1",
                dashboard_address=None,
            )
            client = distributed.Client(cluster)
        self._client = client
        threads = sum(client.nthreads().values()) or 1
        self.workers = workers or threads
        self._futures: dict[Any, Run] = {}
        self._settings: RunSettings | None = None
        self._sizer = ChunkSizer(None)
        self._remote_fn: Any = None

    def begin(self, settings: RunSettings) -> None:
        self._settings = settings
        cap = MAX_CHUNK
        if settings.buffersize is not None:
            cap = max(1, settings.buffersize // (2 * self.workers))
        self._sizer = ChunkSizer(settings.chunksize, cap=cap)
        # Scatter the function once per map, not with every chunk.
        self._remote_fn = self._client.scatter(settings.fn, broadcast=True, hash=False)

    def capacity(self) -> int:
        held = sum(len(chunk.items) for chunk in self._futures.values())
        return max(0, 2 * self.workers * self._sizer.size() - held)

    def submit(self, runs: list[Run]) -> None:
        assert self._settings is not None
        size = self._sizer.size()
        for run in runs:
            while run.items:
                chunk, run = run.split(size)
                future = self._client.submit(
                    run_chunk, self._remote_fn, chunk.items, self._settings.timeout, pure=False
                )
                self._futures[future] = chunk

    def poll(self, timeout: float | None) -> Sequence[Outcome | ChunkDone]:
        if not self._futures:
            return []
        try:
            done = distributed.wait(
                list(self._futures), timeout=timeout, return_when="FIRST_COMPLETED"
            ).done
        except distributed.TimeoutError:
            return []
        out: list[Outcome | ChunkDone] = []
        for future in done:
            out.extend(self._outcomes(future, self._futures.pop(future)))
        return out

    def _outcomes(self, future: Any, chunk: Run) -> list[Outcome | ChunkDone]:
        try:
            values, errors, elapsed = future.result()
        except Exception as exc:
            # The task itself failed (a worker lost too often): every item gets the error.
            return [failed(task, exc) for task in chunk.tasks()]
        self._sizer.observe(len(values), elapsed)
        limit = self._settings.timeout if self._settings else None
        return chunk_outcomes(chunk, values, errors, timeout=limit, backend="dask")

    def end(self, *, abandon: bool) -> None:
        if self._futures:
            self._client.cancel(list(self._futures))
        self._futures.clear()

    def close(self) -> None:
        self.end(abandon=True)
        if self._own:
            cluster = self._client.cluster
            self._client.close()
            if cluster is not None:
                cluster.close()

    def chunksize(self) -> int:
        return self._sizer.size()

    def deaths(self) -> int:
        return 0
