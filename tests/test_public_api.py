"""The public API: every exported name resolves, and the heavy parts load only on use."""

from __future__ import annotations

import subprocess
import sys

import pytest

import gilwise


@pytest.mark.parametrize("name", gilwise.__all__)
def test_every_exported_name_resolves(name: str) -> None:
    assert getattr(gilwise, name) is not None


def test_dir_lists_the_whole_public_api() -> None:
    # The lazy names never enter the module's namespace (__getattr__ does not cache
    # them), so this holds however many of them earlier tests used.
    names = dir(gilwise)
    assert set(gilwise.__all__) - set(names) == set()
    assert {"__doc__", "__name__", "_LAZY"} <= set(names)
    assert names == sorted(names)


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        gilwise.nope  # noqa: B018


@pytest.mark.timeout(60)
def test_import_gilwise_loads_neither_the_monitor_nor_the_pool() -> None:
    code = (
        "import sys, gilwise; "
        "print(sorted(m for m in sys.modules if m.startswith(('gilwise.monitor', "
        "'gilwise.pool', 'gilwise.check', 'multiprocessing', 'rich'))))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.timeout(60)
def test_advise_stays_the_function_once_its_modules_are_imported() -> None:
    # A lazily loaded `advise` lost to the subpackage of the same name as soon as any
    # gilwise.advise.* module was imported (the import system sets the attribute).
    code = "import gilwise, gilwise.advise._report; print(callable(gilwise.advise))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "True"


@pytest.mark.timeout(60)
def test_import_gilwise_loads_no_typing() -> None:
    """`gilwise run` imports gilwise first: typing would add to every program's start-up."""
    code = "import sys, gilwise; print('typing' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


def test_every_error_gilwise_raises_is_exported() -> None:
    # Callers catch these by name: one missing from the API can only be caught as its base.
    from gilwise import _errors

    errors = {
        name
        for name, value in vars(_errors).items()
        if isinstance(value, type) and issubclass(value, _errors.GilwiseError)
    }
    assert errors - set(gilwise.__all__) == set()
