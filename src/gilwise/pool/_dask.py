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

from ._chunk import FutureChunks, run_chunk
from ._registry import BackendOptions
from ._types import ChunkDone, Outcome, RunSettings

# Imported by name so that mypy and a plain install need not have it: ImportError
# here becomes "pip install gilwise[dask]" in the registry (the row's ``extra``).
distributed: Any = importlib.import_module("distributed")


class DaskBackend(FutureChunks):
    name = "dask"

    def __init__(self, workers: int | None, *, client: Any = None) -> None:
        super().__init__()
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
        self._remote_fn: Any = None

    def begin(self, settings: RunSettings) -> None:
        super().begin(settings)
        # Scatter the function once per map, not with every chunk.
        self._remote_fn = self._client.scatter(settings.fn, broadcast=True, hash=False)

    def _send(self, settings: RunSettings, items: list[Any]) -> Any:
        return self._client.submit(run_chunk, self._remote_fn, items, settings.timeout, pure=False)

    def poll(self, timeout: float | None) -> Sequence[Outcome | ChunkDone]:
        if not self._futures:
            return []
        try:
            done = distributed.wait(
                list(self._futures), timeout=timeout, return_when="FIRST_COMPLETED"
            ).done
        except distributed.TimeoutError:
            return []
        return self._collect(done)

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


def make_backend(options: BackendOptions) -> DaskBackend:
    # No default count here: without one the cluster's threads are the workers.
    return DaskBackend(options.workers, client=options.client)
