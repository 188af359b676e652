"""The dask backend on a real LocalCluster on loopback (skipped without distributed)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gilwise.pool import ItemTimeout, pmap

from . import funcs

distributed = pytest.importorskip("distributed")

# A real scheduler and workers, on threads and loopback sockets.
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(60)]


@pytest.fixture(scope="module")
def client() -> Iterator[Any]:
    # Threads in one process: a real scheduler and workers on 127.0.0.1, started fast.
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=False,
            protocol="tcp",
            host="127.0.0.1",
            dashboard_address=None,
        ) as cluster,
        distributed.Client(cluster) as c,
    ):
        yield c


def test_ordered_and_complete(client: Any) -> None:
    it = pmap(funcs.square, range(500), backend=client)
    assert it.backend == "dask"
    assert list(it) == [x * x for x in range(500)]


def test_buffersize_bounds_what_dask_sees(client: Any) -> None:
    pulled = 0

    def source() -> Iterator[int]:
        nonlocal pulled
        while True:
            pulled += 1
            yield pulled - 1

    with pmap(funcs.ident, source(), backend=client, buffersize=6) as it:
        for consumed, value in enumerate(it, start=1):
            assert value == consumed - 1
            assert pulled - consumed <= 6
            if consumed == 60:
                break


def test_errors_retries_and_timeouts(client: Any, tmp_path: Path) -> None:
    got = list(pmap(funcs.maybe_fail, [(0, False), (1, True)], backend=client, on_error="return"))
    assert got[0] == 0
    assert isinstance(got[1], ValueError)
    items = [(str(tmp_path), i, 1) for i in range(4)]
    assert list(pmap(funcs.flaky, items, backend=client, retries=1, backoff=0.01)) == [0, 1, 2, 3]
    slow = list(
        pmap(
            funcs.sleep_then,
            [(0, 0.0), (1, 3.0)],
            backend=client,
            timeout=0.3,
            chunksize=1,
            on_error="return",
        )
    )
    assert slow[0] == 0
    assert isinstance(slow[1], ItemTimeout)


def test_raise_fails_fast(client: Any) -> None:
    # Both items fail; "raise" raises whichever failure reaches the client first, and the
    # two workers race, so either may be the one (seen in CI: item 2 first).
    with pytest.raises(KeyError, match=r"deep [12]") as raised:
        list(pmap(funcs.raise_deep, range(1, 3), backend=client))
    notes: list[str] = getattr(raised.value, "__notes__", [])
    assert notes
    assert notes[-1].startswith("gilwise: item ")
