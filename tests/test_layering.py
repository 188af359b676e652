"""The layers of docs/design.md hold: ``_core`` imports nothing above it; the monitor, the
checker, the advisor and the pool import the foundation only; and no package reaches
into another package's private modules (it imports the package's face, its
``__init__``) but for the exceptions listed here, each with its reason.

Imports under ``TYPE_CHECKING`` count: a type is a dependency too.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "gilwise"

#: What each lower layer may import: itself, and for the packages on the foundation the
#: foundation and the modules under everything (errors, the version, the Ctrl-C guard).
#: A unit is a package (``monitor``) or a module at the top (``_errors``).
_UNDER_ALL = {"_core", "_errors", "_processes", "_version"}
ALLOWED = {
    "_core": {"_core"},
    **{name: _UNDER_ALL | {name} for name in ("advise", "check", "monitor", "pool")},
}

#: Private modules another package imports, and why no package's face serves instead.
#: Keys: (importing module, imported module).
EXCEPTIONS: dict[tuple[str, str], str] = {}


@dataclass(frozen=True)
class Import:
    importer: str  # gilwise.report._terminal
    module: str  # absolute: gilwise.monitor._report
    line: int


def modules() -> Iterator[tuple[str, Path]]:
    """Every module of gilwise by its dotted name."""
    for path in sorted(SRC.rglob("*.py")):
        parts = path.relative_to(SRC.parent).with_suffix("").parts
        yield ".".join(parts[:-1] if parts[-1] == "__init__" else parts), path


def imports(name: str, path: Path) -> Iterator[Import]:
    """Each gilwise module ``path`` imports, relative imports made absolute."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(package, node.level, node.module)
            # `from ..monitor import _report` imports a module by the name it binds.
            targets = [base] + [f"{base}.{a.name}" for a in node.names if _is_module(base, a.name)]
        else:
            continue
        for target in targets:
            if target == "gilwise" or target.startswith("gilwise."):
                yield Import(name, target, node.lineno)


def _absolute(package: str, level: int, module: str | None) -> str:
    if level == 0:
        return module or ""
    parts = package.split(".")[: len(package.split(".")) - level + 1]
    return ".".join(parts + ([module] if module else []))


def _is_module(package: str, name: str) -> bool:
    folder = SRC.parent.joinpath(*package.split("."))
    return (folder / f"{name}.py").exists() or (folder / name / "__init__.py").exists()


def unit(module: str) -> str:
    """The package or top module ``module`` belongs to: ``gilwise.report._html`` -> report;
    the root package itself is ``""``."""
    return module.split(".")[1] if "." in module else ""


def is_private_cross_package(imp: Import) -> bool:
    """``imp`` reaches into a private module of another package (the foundation's excepted:
    every layer may read ``_core``). The modules at the top (the public API, the command
    line) compose the packages and are not themselves one."""
    importer, target = unit(imp.importer), unit(imp.module)
    inside = imp.module.split(".")[2:]
    return (
        _is_package(importer)
        and _is_package(target)
        and target not in (importer, "_core")
        and any(part.startswith("_") for part in inside)
    )


def _is_package(name: str) -> bool:
    return bool(name) and (SRC / name / "__init__.py").exists()


def private_cross_package_imports() -> list[Import]:
    return [
        imp
        for name, path in modules()
        for imp in imports(name, path)
        if is_private_cross_package(imp)
    ]


@pytest.mark.parametrize("layer", sorted(ALLOWED))
def test_a_lower_layer_imports_nothing_above_it(layer: str) -> None:
    above = [
        f"{imp.importer}:{imp.line} imports {imp.module}"
        for name, path in modules()
        if unit(name) == layer
        for imp in imports(name, path)
        if unit(imp.module) not in ALLOWED[layer]
    ]
    assert above == []


def test_private_cross_package_imports_are_the_listed_exceptions() -> None:
    found = {(imp.importer, imp.module) for imp in private_cross_package_imports()}
    assert sorted(found - EXCEPTIONS.keys()) == [], "import the package's face instead"
    assert sorted(EXCEPTIONS.keys() - found) == [], "an exception no longer needed"
