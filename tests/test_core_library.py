"""Whose code a file is, as the sampler and the advisor's guard blame lines."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from gilwise._core._library import is_library_file


@pytest.mark.parametrize(
    ("filename", "library"),
    [
        (json.__file__, True),  # the standard library
        (pytest.__file__, True),  # an installed package
        ("<frozen importlib._bootstrap>", True),
        (__file__, False),  # the program's own code
        ("/srv/app/handlers.py", False),
    ],
)
def test_library_files_are_told_from_the_programs_own(filename: str, library: bool) -> None:
    assert is_library_file(filename) is library


@pytest.mark.timeout(60)
def test_telling_them_apart_imports_nothing_new(tmp_path: Path) -> None:
    """The sampler asks first while the program runs: an import then (sysconfig, once)
    held the GIL and released it around file reads, starving the sampler for 0.2 s."""
    probe = (
        "import sys\n"
        "from gilwise._core._library import is_library_file\n"
        "before = set(sys.modules)\n"
        "is_library_file(__file__)\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    script = tmp_path / "probe.py"
    script.write_text(probe)
    done = subprocess.run(
        [sys.executable, str(script)], capture_output=True, text=True, timeout=50, check=True
    )
    assert done.stdout.strip() == "[]"
