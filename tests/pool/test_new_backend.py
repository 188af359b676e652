"""A new backend is one module plus one row of the backends' table.

The fake backend here needs exactly two things: its module, tests/pool/fake_backend.py,
and the row :data:`FAKE` (in the package, a row of ``gilwise._core._backends``). With
them ``pmap`` and ``Pool`` run it, its timeouts say what they meant, and the advisor's
per-backend tables (names, words, code) have it.
"""

from __future__ import annotations

import sys

import pytest

import gilwise
from gilwise import InvalidOption, ItemTimeout
from gilwise._core._backends import BACKENDS, BackendSpec
from gilwise.advise import _advisor, _recommend

from . import funcs

FAKE = BackendSpec(
    name="fake",
    module="tests.pool.fake_backend",
    default_workers=3,
    timeout_means="the fake call ran to its end and its result was dropped",
    pickles=False,
    words="a fake pool",
    workers_are="fakes",
    code=None,
)


@pytest.fixture
def fake(monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake backend's row in the table, for one test."""
    monkeypatch.setitem(BACKENDS, FAKE.name, FAKE)


def test_without_its_row_the_backend_is_unknown() -> None:
    with pytest.raises(InvalidOption, match="unknown backend 'fake'; use one of auto, serial"):
        gilwise.pmap(funcs.square, [1], backend="fake")


@pytest.mark.usefixtures("fake")
def test_pmap_and_pool_run_it_with_the_rows_default_workers() -> None:
    assert list(gilwise.pmap(funcs.square, range(10), backend="fake")) == [n * n for n in range(10)]
    with gilwise.Pool("fake") as pool:
        assert (pool.backend, pool.workers) == ("fake", 3)
        assert list(pool.map(funcs.square, [2, 3], ordered=False)) == [4, 9]


@pytest.mark.usefixtures("fake")
def test_its_timeout_says_what_the_row_says_it_meant() -> None:
    with pytest.raises(ItemTimeout, match="the fake call ran to its end"):
        list(gilwise.pmap(funcs.sleep_then, [(0, 0.05)], backend="fake", timeout=0.01))


@pytest.mark.usefixtures("fake")
def test_the_advisors_tables_have_it() -> None:
    _advisor._check_options(5.0, ["fake"], None)  # a name the advisor accepts
    pick = gilwise.Recommendation("fake", 3, 1, 100.0, 2.0, "")
    assert "Use a fake pool with 3 workers" in _recommend._verdict_line(pick)
    # No standard-library equivalent: the code to apply it is the pmap code.
    code = _recommend.code_for("fake", 3, 1, "from m import f", "f")
    assert 'gilwise.pmap(f, items, backend="fake", workers=3)' in code


def test_a_row_whose_extra_is_missing_names_the_pip_command(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As if distributed were not installed: the dask backend's module cannot import.
    monkeypatch.setitem(sys.modules, "distributed", None)
    monkeypatch.delitem(sys.modules, "gilwise.pool._dask", raising=False)
    with pytest.raises(gilwise.ExtraNotInstalled, match=r"needs distributed .*gilwise\[dask\]"):
        gilwise.Pool("dask")
