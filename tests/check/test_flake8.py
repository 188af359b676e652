"""The flake8 plugin: same rules, flake8's selection and noqa."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

from gilwise.check._flake8 import Flake8Plugin

SOURCE = "import time\nasync def f():\n    time.sleep(1)\n    time.sleep(2)  # noqa: GW101\n"


def test_the_plugin_yields_flake8_tuples_with_zero_based_columns() -> None:
    results = list(Flake8Plugin(ast.parse(SOURCE)).run())
    assert [(line, col, msg.split()[0]) for line, col, msg, _ in results] == [
        (3, 4, "GW101"),
        (4, 4, "GW101"),
    ]
    assert all(kind is Flake8Plugin for *_, kind in results)


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_flake8_finds_the_plugin_and_applies_noqa(tmp_path: Path) -> None:
    pytest.importorskip("flake8")
    target = tmp_path / "app.py"
    target.write_text(SOURCE)
    done = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "GW", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 1, done.stderr
    assert done.stdout.splitlines() == [
        f"{target}:3:5: GW101 time.sleep() inside 'async def' blocks the event loop; "
        "use 'await asyncio.sleep(...)'"
    ]


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_opt_in_rules_are_off_in_a_plain_flake8_run(tmp_path: Path) -> None:
    pytest.importorskip("flake8")
    target = tmp_path / "app.py"
    target.write_text(
        "import asyncio\n\n\nasync def f(q):\n    try:\n        await q.get()\n"
        "    except asyncio.CancelledError:\n        pass\n"
    )
    plain = subprocess.run(
        [sys.executable, "-m", "flake8", str(target)], capture_output=True, text=True, check=False
    )
    assert "GW115" not in plain.stdout
    named = subprocess.run(
        [sys.executable, "-m", "flake8", "--select", "GW115", str(target)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert "GW115" in named.stdout
