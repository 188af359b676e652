"""``gilwise._core`` is the foundation layer: it imports the standard library only, and
its tables are consistent; its small helpers do what they say."""

from __future__ import annotations

import ast
import contextlib
import sys
from pathlib import Path

import pytest

from gilwise._core._backends import BACKENDS, BackendSpec, pool_backends
from gilwise._core._switch import switch_interval

CORE = Path(__file__).resolve().parents[1] / "src" / "gilwise" / "_core"


def _imports(path: Path) -> list[tuple[int, str]]:
    """Each import of ``path`` as (relative level, module): level 0 for absolute ones."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(0, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            found.append((node.level, node.module or ""))
    return found


@pytest.mark.parametrize("path", sorted(CORE.glob("*.py")), ids=lambda p: p.name)
def test_core_imports_the_standard_library_and_itself_only(path: Path) -> None:
    for level, module in _imports(path):
        if level == 0:
            top = module.split(".")[0]
            assert top == "__future__" or top in sys.stdlib_module_names, module
        else:
            assert level == 1, f"{path.name} imports from above _core: {'.' * level}{module}"


@pytest.mark.parametrize("spec", BACKENDS.values(), ids=lambda spec: spec.name)
def test_each_backend_row_agrees_with_itself(spec: BackendSpec) -> None:
    if spec.module is not None:
        assert spec.timeout_means, "a pool backend's timeouts must say what they did"
    if spec.pmap_backend is not None:
        assert spec.pmap_backend in pool_backends()
    if spec.code is not None:
        # The printed code and the pmap code put the workers' start in the same place.
        assert ('if __name__ == "__main__":' in spec.code) == spec.reimports_main
    assert spec.extra is None or spec.requires, "name what the extra installs"


@pytest.mark.parametrize("raises", [False, True])
def test_the_switch_interval_is_set_for_the_block_and_put_back(raises: bool) -> None:
    before = sys.getswitchinterval()
    inside = []
    expected = pytest.raises(ZeroDivisionError) if raises else contextlib.nullcontext()
    with expected, switch_interval(before / 4):
        inside.append(sys.getswitchinterval())
        if raises:
            1 / 0  # noqa: B018
    assert inside == [pytest.approx(before / 4)]
    assert sys.getswitchinterval() == before
