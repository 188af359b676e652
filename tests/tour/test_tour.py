from __future__ import annotations

import concurrent.futures as cf
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from gilwise._errors import InvalidOption
from gilwise.report._tour_terminal import closing, lesson_panel
from gilwise.tour._lesson import Finding, LessonResult, Row
from gilwise.tour._tour import LESSONS, TourReport, _unless_machine_busy, run_tour, select
from gilwise.tour.lessons import blocked_loop, gil_releasing, new_pythons, race

from ..terminal import ctrl_c_once, gilwise_in_own_group, group_left_after, group_members


def test_every_lesson_has_a_title_a_claim_and_a_runner() -> None:
    assert len(LESSONS) == 8
    for lesson in LESSONS:
        assert lesson.TITLE
        assert lesson.CLAIM.endswith(".")
        assert callable(lesson.run)


@pytest.mark.parametrize("only", [[0], [9], [1, 12]])
def test_unknown_lesson_numbers_are_refused(only: list[int]) -> None:
    with pytest.raises(InvalidOption, match="numbered 1 to 8"):
        select(only)


def test_a_subset_keeps_the_lesson_numbers() -> None:
    assert [n for n, _ in select([7, 4])] == [4, 7]


@pytest.fixture(scope="module")
def loop_and_race() -> TourReport:
    return run_tour(quick=True, only=[4, 7])


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_a_blocking_call_is_caught_by_the_monitor_with_its_line(loop_and_race: TourReport) -> None:
    lesson = loop_and_race.lessons[0]
    assert lesson.key == "blocked_loop"
    blocked, fixed = lesson.finding.rows
    # The blocking call sleeps 200 ms; wide margins for a loaded machine.
    assert blocked.value >= 100
    assert fixed.value < blocked.value
    lines = Path(blocked_loop.__file__).read_text().splitlines()
    (line,) = [n for n, text in enumerate(lines, 1) if text.startswith("    time.sleep(BLOCK_S)")]
    assert f"blocked_loop.py:{line}" in lesson.finding.measured


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_the_locked_counter_is_exact(loop_and_race: TourReport) -> None:
    lesson = loop_and_race.lessons[1]
    unsafe, safe = lesson.finding.rows
    expected = race.THREADS * 300
    assert safe.value == expected
    assert unsafe.value <= expected


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_the_tour_report_round_trips_through_json(loop_and_race: TourReport) -> None:
    data = json.loads(loop_and_race.to_json())
    assert data["schema"] == "gilwise.tour/1"
    assert TourReport.from_dict(data) == loop_and_race


def _result(label: str, held: bool | None) -> LessonResult:
    finding = Finding(
        rows=(Row(label, 1.5, "x"),),
        measured="measured [red]here[/red]",
        meaning="means",
        check="gilwise run x.py",
        held=held,
    )
    return LessonResult(1, "k", "Title [bold]", "A claim.", 0.1, finding)


@pytest.mark.parametrize(
    ("held", "words"),
    [(True, "held here"), (False, "did NOT hold here"), (None, "not shown on this machine")],
)
def test_panels_say_whether_the_claim_held_and_escape_markup(held: bool | None, words: str) -> None:
    console = Console(record=True, width=200)
    console.print(lesson_panel(_result("<script>[bold]x[/bold]", held)))
    text = console.export_text()
    assert words in text
    assert "<script>[bold]x[/bold]" in text
    assert "measured [red]here[/red]" in text


def test_closing_line_lists_claims_that_did_not_hold() -> None:
    report = TourReport(
        "gilwise.tour/1", "0", "cpython", 2.0, True, 1.0, (_result("a", True), _result("b", False))
    )
    console = Console(record=True, width=200)
    console.print(closing(report))
    text = console.export_text()
    assert "1 of 2 claims held" in text
    assert "Did not hold: 1" in text


def _tour(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gilwise", "tour", *args],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=cwd,
    )


@pytest.mark.e2e
@pytest.mark.timeout(150)
def test_the_command_prints_lessons_and_writes_json(tmp_path: Path) -> None:
    done = _tour("--quick", "--only", "7", "--json", "tour.json", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "A race" in done.stdout
    assert json.loads((tmp_path / "tour.json").read_text())["lessons"][0]["number"] == 7


@pytest.mark.e2e
@pytest.mark.timeout(60)
@pytest.mark.parametrize(("only", "words"), [("9", "no lesson 9"), ("x", "lesson numbers")])
def test_the_command_refuses_bad_lesson_numbers(tmp_path: Path, only: str, words: str) -> None:
    done = _tour("--only", only, cwd=tmp_path)
    assert done.returncode == 2
    assert words in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.e2e
@pytest.mark.timeout(120)
@pytest.mark.parametrize("free_threaded", [False, True])
def test_lesson_8_measures_what_this_interpreter_has_beside_processes(
    monkeypatch: pytest.MonkeyPatch, free_threaded: bool
) -> None:
    """No free-threaded build runs in CI: ``gil_disabled`` stands in for one (the threads
    row is then measured on this GIL build, so only its presence is checked)."""
    monkeypatch.setattr(new_pythons, "gil_disabled", lambda: free_threaded)
    (lesson,) = run_tour(quick=True, only=[8]).lessons
    labels = [row.label for row in lesson.finding.rows]
    interpreters = hasattr(cf, "InterpreterPoolExecutor")
    if not (free_threaded or interpreters):
        assert labels == []
        assert lesson.finding.held is None
        assert "3.14" in lesson.finding.meaning
        return
    n = labels[-1].split()[0]
    expected = ["serial"]
    expected += [f"{n} threads, GIL disabled"] if free_threaded else []
    expected += [f"{n} sub-interpreters"] if interpreters else []
    assert labels == [*expected, f"{n} processes"]
    assert "processes started and stopped in" in lesson.finding.measured
    assert all(row.value > 0 for row in lesson.finding.rows)


@pytest.mark.e2e
@pytest.mark.timeout(120)
def test_ctrl_c_ends_the_tour_with_one_line_and_130_leaving_no_process(tmp_path: Path) -> None:
    proc = gilwise_in_own_group("tour", "--only", "2", cwd=tmp_path)
    # Once lesson 2's loopback server process runs beside the tour.
    said = ctrl_c_once(proc, ready=lambda: len(group_members(proc.pid)) >= 2)
    assert said == (130, "gilwise: interrupted\n")
    assert group_left_after(proc.pid) == []


@pytest.mark.parametrize(
    ("held", "others", "cores", "now"),
    [
        (False, 1.2, 2.0, None),  # others took the cores: not measurable, not false
        (False, 0.3, 2.0, False),  # a little background load: the claim did not hold
        (False, None, 2.0, False),  # no system counters: as measured
        (True, 1.5, 2.0, True),  # held despite the load: it held
        (False, 0.9, 16.0, False),  # under a quarter of a big machine
    ],
)
def test_a_claim_that_failed_on_a_busy_machine_is_not_measurable(
    held: bool, others: float | None, cores: float, now: bool | None
) -> None:
    finding = Finding((), "measured", "meaning", "check", held)
    after = _unless_machine_busy(finding, others, cores)
    assert after.held is now
    assert (after.not_shown is not None) == (now is None)
    if now is None:
        assert f"other processes used {others:.1f} of the {cores:g} cores" in str(after.not_shown)


@pytest.mark.parametrize(
    ("cores", "counted"),
    [(None, True), (1.0, True), (1.49, True), (1.9, False), (3.7, False)],
)
def test_numpy_counts_toward_the_claim_only_when_one_thread_used_one_core(
    cores: float | None, counted: bool
) -> None:
    # A BLAS with threads of its own (OpenBLAS, MKL) has every core in the serial run:
    # threads of ours cannot add any, and that says nothing about the GIL.
    assert gil_releasing.blas_runs_threads(cores) is not counted
    note = gil_releasing._blas_note(cores)
    assert (note == "") is counted
    if not counted:
        assert "left out of the claim" in note
