"""Finding files and reading configuration: excludes, .gitignore, loops, pyproject.toml."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from gilwise import ConfigInvalid, TargetNotFound
from gilwise.check import _runner
from gilwise.check._config import CheckConfig, load_config
from gilwise.check._paths import discover
from gilwise.check._runner import check_paths

BLOCKING = "import time\nasync def f():\n    time.sleep(1)\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text(BLOCKING)
    (tmp_path / "pkg" / "stub.pyi").write_text("x: int\n")
    (tmp_path / "pkg" / "notes.txt").write_text("time.sleep(1)\n")
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "lib" / "dep.py").write_text(BLOCKING)
    (tmp_path / "pkg" / "__pycache__").mkdir()
    (tmp_path / "pkg" / "__pycache__" / "a.py").write_text(BLOCKING)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _names(paths: list[Path], root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in paths}


def test_directories_yield_python_files_outside_default_excludes(project: Path) -> None:
    found = discover([Path(".")], project, (), respect_gitignore=True)
    assert _names(found.files, project) == {"pkg/a.py", "pkg/stub.pyi"}


def test_gitignore_files_are_respected_unless_turned_off(project: Path) -> None:
    (project / "pkg" / "gen").mkdir()
    (project / "pkg" / "gen" / "out.py").write_text(BLOCKING)
    (project / "pkg" / ".gitignore").write_text("gen/\n")
    (project / ".gitignore").write_text("stub.pyi\n")
    found = discover([Path(".")], project, (), respect_gitignore=True)
    assert _names(found.files, project) == {"pkg/a.py"}
    everything = discover([Path(".")], project, (), respect_gitignore=False)
    assert "pkg/gen/out.py" in _names(everything.files, project)


def test_a_folder_named_explicitly_is_checked_even_if_a_parent_ignores_it(project: Path) -> None:
    (project / ".git").mkdir()
    (project / ".gitignore").write_text("pkg/\n")
    assert discover([Path(".")], project, (), True).files == []
    found = discover([Path("pkg")], project, (), True)
    assert _names(found.files, project) == {"pkg/a.py", "pkg/stub.pyi"}


def test_configured_excludes_are_gitignore_patterns(project: Path) -> None:
    found = discover([Path(".")], project, ("*.pyi",), respect_gitignore=True)
    assert _names(found.files, project) == {"pkg/a.py"}


def test_files_named_explicitly_are_always_checked(project: Path) -> None:
    found = discover([Path(".venv/lib/dep.py")], project, (), True)
    assert _names(found.files, project) == {".venv/lib/dep.py"}


def test_a_missing_path_is_a_usage_error(project: Path) -> None:
    with pytest.raises(TargetNotFound, match="no such file or directory: nope"):
        discover([Path("nope")], project, (), True)


@pytest.mark.timeout(20)
def test_a_symlink_loop_is_a_warning_and_the_walk_ends(project: Path) -> None:
    os.symlink(project / "pkg", project / "pkg" / "again")
    found = discover([Path(".")], project, (), respect_gitignore=True)
    assert _names(found.files, project) == {"pkg/a.py", "pkg/stub.pyi"}
    assert any("symlink loop" in w for w in found.warnings)


def test_a_broken_symlink_is_skipped(project: Path) -> None:
    os.symlink(project / "missing.py", project / "pkg" / "broken.py")
    found = discover([Path(".")], project, (), respect_gitignore=True)
    assert "pkg/broken.py" not in _names(found.files, project)


def test_check_paths_reports_findings_relative_to_the_current_directory(project: Path) -> None:
    result = check_paths(["pkg"], CheckConfig(root=project))
    assert [(f.path, f.code) for f in result.findings] == [("pkg/a.py", "GW101")]
    assert result.files_checked == 2


def test_per_file_ignores_apply_to_matching_files(project: Path) -> None:
    config = CheckConfig(root=project, per_file_ignores={"pkg/*.py": ("GW1",)})
    assert check_paths(["pkg"], config).findings == ()


def test_oversized_files_are_reported_not_read(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_runner, "MAX_FILE_BYTES", 10)
    result = check_paths(["pkg/a.py"], CheckConfig(root=project))
    [finding] = result.findings
    assert finding.code == "GW002"
    assert "limit" in finding.message


def test_bad_files_do_not_stop_the_others(project: Path) -> None:
    (project / "pkg" / "broken.py").write_bytes(b"def (:\n\x00")
    result = check_paths(["pkg"], CheckConfig(root=project))
    assert [f.code for f in result.findings] == ["GW101", "GW001"]


def _pyproject(root: Path, body: str) -> None:
    (root / "pyproject.toml").write_text(body)


def test_config_comes_from_the_nearest_pyproject_with_a_table(project: Path) -> None:
    _pyproject(
        project,
        '[tool.gilwise.check]\nselect = ["gw1"]\nignore = ["GW104"]\n'
        'exclude = ["gen/"]\nper-file-ignores = {"tests/*" = ["GW101"]}\n',
    )
    (project / "pkg" / "pyproject.toml").write_text("[project]\nname = 'x'\n")
    config = load_config(project / "pkg")
    assert config.select == ("GW1",)
    assert config.ignore == ("GW104",)
    assert config.exclude == ("gen/",)
    assert config.per_file_ignores == {"tests/*": ("GW101",)}
    assert config.root == project.resolve()


def test_no_pyproject_means_defaults_rooted_here(project: Path) -> None:
    config = load_config(project)
    assert config.select == ("GW",)
    assert config.source is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ('[tool.gilwise.check]\nslect = ["GW1"]\n', "unknown key 'slect'"),
        ('[tool.gilwise.check]\nselect = ["E501"]\n', "'E501' is not a rule code"),
        ('[tool.gilwise.check]\nselect = "GW1"\n', "must be a list of strings"),
        ("[tool.gilwise.check\n", "cannot read"),
        ("[tool.gilwise.check]\nrespect-gitignore = 1\n", "true or false"),
    ],
)
def test_a_bad_config_is_one_clear_error(project: Path, body: str, message: str) -> None:
    _pyproject(project, body)
    with pytest.raises(ConfigInvalid, match=message):
        load_config(project)


def test_an_explicit_config_path_must_exist(project: Path) -> None:
    with pytest.raises(ConfigInvalid, match="config file not found"):
        load_config(project, project / "other.toml")


def test_a_named_folder_below_a_default_exclude_is_checked(project: Path) -> None:
    inside = project / "lib" / "site-packages" / "dep"
    inside.mkdir(parents=True)
    (inside / "mod.py").write_text(BLOCKING)
    (inside / "__pycache__").mkdir()
    (inside / "__pycache__" / "mod.py").write_text(BLOCKING)
    found = discover([inside], project, (), respect_gitignore=True)
    assert _names(found.files, project) == {"lib/site-packages/dep/mod.py"}
    assert discover([project / "lib"], project, (), True).files == []


def test_a_named_folder_that_a_configured_exclude_covers_is_checked(project: Path) -> None:
    found = discover([Path("pkg")], project, ("pkg/",), respect_gitignore=True)
    assert _names(found.files, project) == {"pkg/a.py", "pkg/stub.pyi"}
    assert discover([Path(".")], project, ("pkg/",), True).files == []


def test_a_named_folder_with_nothing_to_check_is_a_warning(project: Path) -> None:
    (project / "empty").mkdir()
    found = discover([Path("empty")], project, (), respect_gitignore=True)
    assert found.warnings == ["no Python files to check in empty (all excluded or none)"]
