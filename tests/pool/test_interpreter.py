"""The interpreter backend: what it says where CPython lacks the pool, and what it sends."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gilwise import InvalidOption
from gilwise.pool import pmap
from gilwise.pool._interpreter import interpreter_pool as real_interpreter_pool

from . import funcs
from .conftest import HAS_INTERPRETER_POOL

pytestmark = pytest.mark.timeout(30)


@pytest.mark.skipif(HAS_INTERPRETER_POOL, reason="this Python has InterpreterPoolExecutor")
def test_without_the_pool_the_error_names_what_to_use(monkeypatch: pytest.MonkeyPatch) -> None:
    from gilwise.pool import _interpreter

    monkeypatch.setattr(_interpreter, "interpreter_pool", real_interpreter_pool)
    with pytest.raises(InvalidOption, match=r"3\.14.*backend='process'"):
        list(pmap(funcs.square, [1], backend="interpreter"))


def _closure(offset: int) -> Callable[[int], int]:
    def add(x: int) -> int:
        return x + offset

    return add


@pytest.mark.parametrize("fn", [lambda x: x, _closure(1)], ids=["lambda", "closure"])
def test_a_function_that_cannot_be_imported_by_name_is_refused_with_the_fix(
    fn: Callable[[int], int],
) -> None:
    with pytest.raises(InvalidOption, match=r"top of a module.*backend='process'"):
        list(pmap(fn, [1], backend="interpreter"))


def test_items_and_results_cross_by_pickle() -> None:
    items = [{"n": i, "tags": ("a", i)} for i in range(50)]
    assert list(pmap(funcs.ident, items, backend="interpreter", workers=2)) == items


@pytest.mark.skipif(not HAS_INTERPRETER_POOL, reason="needs CPython 3.14's InterpreterPoolExecutor")
def test_calls_run_in_sub_interpreters() -> None:
    ids = set(pmap(funcs.interpreter_id, range(40), backend="interpreter", workers=2, chunksize=1))
    assert 0 not in ids  # 0 is the main interpreter
    assert ids
