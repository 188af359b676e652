"""Inputs that are not plain UTF-8 files found by a walk: other encodings, FIFOs, excludes
applied to files named on the command line (pre-commit), as ruff's --force-exclude does."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gilwise.check import CheckConfig, check_source
from gilwise.check._config import load_config
from gilwise.check._paths import discover
from gilwise.check._runner import check_paths
from gilwise.cli import main

BLOCKING = "import time\nasync def f():\n    time.sleep(1)\n"


@pytest.mark.parametrize(
    ("codec", "name"),
    [("utf-16", "UTF-16"), ("utf-16-be", None), ("utf-32", "UTF-32"), ("utf-32-be", None)],
)
def test_a_utf16_or_utf32_file_is_named_as_such_not_as_null_bytes(
    codec: str, name: str | None
) -> None:
    # Python refuses such source (cookie or not), so it is reported, not checked.
    body = BLOCKING.encode(codec)
    if name is None:  # the -be codecs write no byte-order mark: add it
        name = codec[:6].upper()
        body = ("\ufeff" + BLOCKING).encode(codec)
    [finding] = check_source(body, "wide.py")
    assert finding.code == "GW001"
    assert f"the file is {name}" in finding.message
    assert "save it as UTF-8" in finding.message
    assert "null bytes" not in finding.message


def test_a_coding_cookie_naming_utf16_is_explained() -> None:
    [finding] = check_source(b"# coding: utf-16\nx = 1\n", "cookie.py")
    assert finding.code == "GW001"
    assert "the coding cookie names utf-16" in finding.message


def test_a_utf16_file_can_still_be_skipped_with_gilwise_noqa() -> None:
    assert check_source(("# gilwise: noqa\n" + BLOCKING).encode("utf-16")) == []


def test_an_unknown_coding_cookie_is_reported_at_line_1_column_1() -> None:
    [finding] = check_source(b"# -*- coding: no-such-codec -*-\nx = 1\n")
    assert finding.code == "GW001"
    assert (finding.line, finding.column) == (1, 1)
    assert "unknown encoding" in finding.message


def test_a_utf8_bom_is_still_fine() -> None:
    [finding] = check_source(b"\xef\xbb\xbf" + BLOCKING.encode())
    assert finding.code == "GW101"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pkg" / "generated").mkdir(parents=True)
    (tmp_path / "pkg" / "app.py").write_text(BLOCKING)
    (tmp_path / "pkg" / "generated" / "out.py").write_text(BLOCKING)
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "lib" / "dep.py").write_text(BLOCKING)
    (tmp_path / "pyproject.toml").write_text('[tool.gilwise.check]\nexclude = ["pkg/generated/"]\n')
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _names(paths: list[Path], root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in paths}


def test_without_force_exclude_files_named_are_checked(project: Path) -> None:
    named = [Path("pkg/generated/out.py"), Path(".venv/lib/dep.py"), Path("pkg/app.py")]
    found = discover(named, project, ("pkg/generated/",), True)
    assert _names(found.files, project) == {
        "pkg/generated/out.py",
        ".venv/lib/dep.py",
        "pkg/app.py",
    }


def test_force_exclude_applies_configured_and_default_excludes_to_named_files(
    project: Path,
) -> None:
    named = [Path("pkg/generated/out.py"), Path(".venv/lib/dep.py"), Path("pkg/app.py")]
    found = discover(named, project, ("pkg/generated/",), True, force_exclude=True)
    assert _names(found.files, project) == {"pkg/app.py"}
    assert found.warnings == []  # pre-commit names excluded files all the time: no noise


def test_force_exclude_applies_to_named_folders_too(project: Path) -> None:
    found = discover([Path("pkg/generated")], project, ("pkg/generated/",), True, True)
    assert found.files == []
    found = discover([Path("pkg")], project, ("pkg/generated/",), True, True)
    assert _names(found.files, project) == {"pkg/app.py"}


def test_force_exclude_on_the_command_line_and_in_pyproject(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    named = ["pkg/generated/out.py", "pkg/app.py"]
    assert main(["check", "--no-cache", *named]) == 1
    assert "pkg/generated/out.py:3:5: GW101" in capsys.readouterr().out
    assert main(["check", "--no-cache", "--force-exclude", *named]) == 1
    out = capsys.readouterr().out
    assert "generated" not in out
    assert "(1 file checked)" in out
    (project / "pyproject.toml").write_text(
        '[tool.gilwise.check]\nexclude = ["pkg/generated/"]\nforce-exclude = true\n'
    )
    assert load_config(project).force_exclude
    assert main(["check", "--no-cache", "pkg/generated/out.py"]) == 0


def test_the_pre_commit_hook_forces_excludes() -> None:
    hooks = (Path(__file__).parents[2] / ".pre-commit-hooks.yaml").read_text()
    assert "entry: gilwise check --force-exclude" in hooks


@pytest.mark.timeout(30)
def test_a_fifo_found_by_the_walk_is_a_warning_not_a_hang(project: Path) -> None:
    os.mkfifo(project / "pkg" / "pipe.py")
    result = check_paths(["pkg"], CheckConfig(root=project))
    assert [f.path for f in result.findings] == ["pkg/app.py", "pkg/generated/out.py"]
    assert any("pipe.py is not a regular file; skipped" in w for w in result.warnings)


@pytest.mark.timeout(30)
def test_a_file_replaced_by_a_fifo_after_the_walk_is_not_waited_on(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gilwise.check._runner as runner
    from gilwise.check._paths import discover

    real = discover

    def swap(*args: object, **kwargs: object) -> object:
        found = real(*args, **kwargs)  # type: ignore[arg-type]
        (project / "pkg" / "app.py").unlink()
        os.mkfifo(project / "pkg" / "app.py")
        return found

    monkeypatch.setattr(runner, "discover", swap)
    result = check_paths(["pkg/app.py"], CheckConfig(root=project))
    [finding] = result.findings
    assert finding.code == "GW002"
    assert "not a regular file" in finding.message
