from __future__ import annotations

import dataclasses
import io
import re

import pytest
from rich.console import Console

from gilwise.monitor import Frame, LineStat
from gilwise.monitor._report import GilHolder
from gilwise.report._figures import MAX_THREADS_SHOWN, short_name
from gilwise.report._terminal import console_width, render_summary

from ..monitor.reports import loop, report, stall, thread
from .test_figures import many_threads


def _render(built: object) -> str:
    console = Console(record=True, width=120, color_system=None)
    render_summary(built, console)  # type: ignore[arg-type]
    return console.export_text()


def test_summary_shows_verdicts_figures_threads_and_stalls() -> None:
    built = report(
        wait=0.8,
        waiting_threads=2.5,
        cores=1.0,
        threads=(thread("alpha"), thread("beta"), thread("gamma")),
        loops=(loop(stall(450.0)),),
    )
    text = _render(built)
    for expected in ("GIL_BOUND", "LOOP_BLOCKED", "80%", "alpha", "stall 450 ms", "lib.py:12"):
        assert expected in text
    assert "called from coroutine" in text


@pytest.mark.parametrize("odd", ["[bold red]x[/]", ":fire:", "[/]"])
def test_program_strings_print_literally(odd: str) -> None:
    # Thread names, functions, files and the command are the program's: rich must not
    # read them as markup (a "[/]" in a name raised) or as emoji codes (":fire:" in a
    # script's name printed as a flame, in the title and in table cells alike).
    name = odd.replace("/", "-")  # for file names
    hot = LineStat(f"/app/{name}.py", 3, f"{odd}fn", 10, 0)
    built = report(wait=0.8, threads=(thread(odd, running=0.9, top_lines=(hot,)),))
    holder = GilHolder(f"/app/{name}/w.py", 7, "crunch", odd, 0.9, 1.8)
    built = built.with_updates(
        command=(f"{name}.py",), gil=dataclasses.replace(built.gil, holders=(holder,))
    )
    text = _render(built)
    assert f"gilwise · {name}.py" in text  # the title
    assert f"{name}/w.py:7" in text  # the GIL's holder
    assert f"{odd}fn {name}.py:3" in text  # the hottest line
    assert re.search(rf"^\W*{re.escape(odd)} ", text, re.MULTILINE)  # the thread's row


def test_many_threads_are_summarised() -> None:
    text = _render(report(threads=many_threads(2000)))
    rows = [line for line in text.splitlines() if re.match(r"\W*(w\d+|[\d,]+ other)", line)]
    assert len(rows) == MAX_THREADS_SHOWN + 1  # the same bound as the HTML chart
    assert "w20 " in text
    assert "w21 " not in text
    assert "1,980 other threads" in rows[-1]
    assert "the other 1,980 are summed in the last row" in text


def test_long_thread_names_keep_the_end_that_tells_them_apart() -> None:
    pool = tuple(thread(f"ThreadPoolExecutor-0_{n}") for n in (1, 15, 16))
    text = _render(report(threads=pool))
    assert "ThreadPoolExecutor-0_1 " in text  # 22 characters: whole
    assert "ThreadPoolExec…or-0_15 " in text
    assert "ThreadPoolExec…or-0_16 " in text


def test_a_long_hottest_line_does_not_cut_the_thread_names() -> None:
    # rich squeezed the name column to make room and cut names at their end.
    far = LineStat("/lib/python3.11/threading.py", 1139, "Thread._wait_for_tstate_lock" * 3, 0, 9)
    burn = LineStat("/app/w.py", 3, "burn", 10, 0)
    threads = (thread("Thread-2 (burn)", top_lines=(burn,)), thread("MainThread", top_lines=(far,)))
    text = _render(report(threads=threads))
    assert "Thread-2 (burn) " in text


class _Piped(io.StringIO):
    def isatty(self) -> bool:
        return False


@pytest.mark.parametrize(("columns", "width"), [(None, 110), ("150", None), ("wide", 110)])
def test_piped_output_is_drawn_110_wide_unless_columns_says_otherwise(
    monkeypatch: pytest.MonkeyPatch, columns: str | None, width: int | None
) -> None:
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert console_width(_Piped()) == width


@pytest.mark.parametrize("name", ["a", "x" * 22, "ThreadPoolExecutor-0_15", "y" * 300])
def test_a_short_name_fits_its_width(name: str) -> None:
    short = short_name(name, 22)
    assert len(short) == min(len(name), 22)
    assert short == name or (short.endswith(name[-7:]) and "…" in short)


def test_the_thread_table_says_which_column_counts_what() -> None:
    assert "running: of its samples" in _render(report(threads=(thread("alpha"),)))


@pytest.mark.parametrize(
    ("method", "probes", "samples", "shown", "hidden"),
    [
        ("counted: threads asleep on the GIL's futex", 500, 500, "· counted", "rough"),
        ("estimate: CPU-clock deficit", 500, 500, "· estimated", "rough"),
        ("counted: threads asleep on the GIL's futex", 12, 12, "only 12 samples", "estimated"),
        # The watcher read 2,900 times where the sampler got 12 turns: not a rough figure.
        ("counted from outside: threads asleep", 12, 2900, "· counted", "rough"),
        ("counted: threads asleep on the GIL's futex", 12, 0, "only 12 samples", "estimated"),
    ],
)
def test_gil_wait_says_how_it_was_obtained(
    method: str, probes: int, samples: int, shown: str, hidden: str
) -> None:
    built = report(wait=0.5)
    gil = dataclasses.replace(
        built.gil,
        method=method,
        probe=dataclasses.replace(built.gil.probe, count=probes),
        samples=samples,
    )
    text = _render(built.with_updates(gil=gil))
    assert shown in text
    assert hidden not in text


def test_a_run_without_samples_shows_no_made_up_figures() -> None:
    built = report(wait=None)
    gil = dataclasses.replace(built.gil, probe=dataclasses.replace(built.gil.probe, count=0))
    text = _render(built.with_updates(gil=gil))
    assert "no samples: the run ended" in text
    assert re.search(r"GIL latency +n/a \(no probes\)", text)
    assert "threads:" not in text
    assert "rough figure" not in text


@pytest.mark.parametrize(
    ("holder", "said"),
    [
        (Frame("/app/hog.py", 7, "crunch"), "held by thread 'asyncio_0':"),
        (None, "held by thread 'asyncio_0', at a line no sample saw"),
    ],
)
def test_a_stall_behind_a_gil_holder_names_its_thread(holder: Frame | None, said: str) -> None:
    behind = dataclasses.replace(
        stall(560.0),
        causes={"gil": 1.0},
        gil_holder=holder,
        gil_holder_thread="asyncio_0",
        culprit=holder,
    )
    text = _render(report(loops=(loop(behind),)))
    assert f"the loop waited for the GIL, {said}" in text


@pytest.mark.parametrize(("children", "shown"), [(1.6, True), (0.0, False)])
def test_child_processes_cpu_is_shown_beside_the_processs_own(children: float, shown: bool) -> None:
    text = _render(report(cores=0.05, children=children))
    assert ("child processes 1.60 cores" in text) is shown


@pytest.mark.parametrize(
    ("thread", "threads", "said"),
    [
        ("asyncio_0", 1, ", mostly in thread 'asyncio_0'"),
        ("Thread-N (handle)", 120, ", mostly in 120 threads named 'Thread-N (handle)'"),
        ("", 0, ""),
    ],
)
def test_an_unseen_holders_thread_is_named_where_known(
    thread: str, threads: int, said: str
) -> None:
    built = report(wait=0.5)
    gil = dataclasses.replace(
        built.gil,
        holder_unseen_share=1.0,
        holder_unseen_thread=thread,
        holder_unseen_threads=threads,
    )
    text = _render(built.with_updates(gil=gil))
    assert f"a line no sample saw{said}: 100% of the wait" in text


def test_gil_holders_are_named() -> None:
    from gilwise.monitor._report import GilHolder

    holder = GilHolder("/app/hog.py", 7, "crunch", "worker-1", 0.75, 1.5)
    built = report(wait=0.5)
    text = _render(built.with_updates(gil=dataclasses.replace(built.gil, holders=(holder,))))
    assert "GIL held by" in text
    assert "hog.py:7 in crunch (worker-1): 75% of the wait" in text


@pytest.mark.parametrize(("wait", "shown"), [(0.5, True), (0.004, False)])
def test_holders_are_left_out_where_the_wait_rounds_to_nothing(wait: float, shown: bool) -> None:
    # "0% of the time someone waited" above "a line no sample saw: 100% of the wait" named a
    # holder for a few stray milliseconds.
    built = report(wait=wait)
    gil = dataclasses.replace(built.gil, holder_unseen_share=1.0)
    assert ("GIL held by" in _render(built.with_updates(gil=gil))) is shown


def test_the_cpu_row_counts_the_threads_seen() -> None:
    built = report(threads=(thread("a", ident=1), thread("b", ident=2)))
    proc = dataclasses.replace(built.process, threads_seen=2, max_threads_alive=2)
    gil = dataclasses.replace(built.gil, probe=dataclasses.replace(built.gil.probe, count=40))
    text = _render(built.with_updates(process=proc, gil=gil))
    assert "threads: 2 seen, 2 at once" in text


@pytest.mark.parametrize(
    ("thread_cpu", "said"), [(0.2, "0.80 s of the process's CPU (80%)"), (0.99, "")]
)
def test_cpu_of_threads_no_sample_met_is_told(thread_cpu: float, said: str) -> None:
    # A threaded HTTP server's per-request threads lived a few ms: 72% of its CPU was in
    # no row, and the table read as if the program had done little.
    built = report(cores=1.0, threads=(thread("main", ident=1, cpu_seconds=thread_cpu),))
    text = " ".join(_render(built).split())
    assert ("ran in threads no sample met" in text) is bool(said)
    assert said in text


@pytest.mark.parametrize(("counted_from", "said"), [(0.6, True), (0.05, False)])
def test_a_count_that_began_late_in_the_run_says_where(counted_from: float, said: bool) -> None:
    built = report(wait=0.9)
    gil = dataclasses.replace(built.gil, counted_from_s=counted_from, method="counted: ...")
    text = " ".join(_render(built.with_updates(gil=gil)).split())
    assert ("counted from 0.60 s in (the monitor's" in text) is said


def test_no_cpu_is_called_unseen_where_a_threads_clock_was_unknown() -> None:
    built = report(cores=1.0, threads=(thread("main", ident=1, cpu_seconds=None),))
    assert "ran in threads no sample met" not in _render(built)
