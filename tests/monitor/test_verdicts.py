from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import pytest

from gilwise.monitor._report import Frame, LineStat, Report, Stall
from gilwise.monitor._verdicts import MANY_THREADS, verdicts_for

from .reports import loop, report, stall, thread

BUSY = (thread("a"), thread("b"), thread("c"))
IDLE = (thread("a", running=0.05), thread("b", running=0.1))


@pytest.mark.parametrize(("stalled", "said"), [(True, "LOOP_BLOCKED's"), (False, "tasks await")])
def test_an_asyncio_program_mostly_waiting_is_not_told_to_use_asyncio(
    stalled: bool, said: str
) -> None:
    waiting = thread("MainThread", running=0.0)
    stalls = (stall(),) if stalled else ()
    built = report(cores=0.05, threads=(waiting,), loops=(loop(*stalls),))
    io_bound = next(v for v in verdicts_for(built) if v.code == "IO_BOUND")
    assert "asyncio" not in io_bound.fix
    assert said in io_bound.fix


@pytest.mark.parametrize(
    ("method", "codes"),
    [
        ("counted from outside: ...", ["GIL_BOUND"]),
        ("counted: ...", ["GIL_BOUND"]),
        ("estimate: ...", ["NO_ISSUE"]),
    ],
)
def test_a_thread_counted_waiting_for_the_gil_is_busy_though_seen_in_its_poll(
    method: str, codes: list[str]
) -> None:
    # A regex in a worker keeps the GIL; the event loop's thread waits for it 65% of the
    # time but is sampled (when the sampler gets in at all) back in its selector's poll.
    regex = thread("asyncio_0", running=1.0, cpu_fraction=0.95)
    loop_thread = thread("MainThread", running=0.1, cpu_fraction=0.01, gil_wait_fraction=0.65)
    built = report(
        wait=0.65, waiting_threads=0.65, cores=0.95, threads=(regex, loop_thread), method=method
    )
    assert [v.code for v in verdicts_for(built)] == codes


@pytest.mark.parametrize(
    ("cpu", "gil_wait", "gil_bound"),
    [
        (0.06, 0.07, False),  # 16 socket clients: sampled "running" on their way back
        (0.15, 0.06, True),
        (0.45, 0.5, True),  # two CPU-bound threads taking turns
    ],
)
def test_counted_threads_are_busy_by_their_cpu_and_counted_wait_not_their_samples(
    cpu: float, gil_wait: float, gil_bound: bool
) -> None:
    # The sampler, which has just taken the GIL, finds a thread back from recv that has
    # had no CPU yet "running": 24-38% of its samples, where CPython's reader saw each
    # of 16 socket clients hold or want the GIL under a fifth of its life.
    clients = tuple(
        thread(f"client-{n}", running=0.3, cpu_fraction=cpu, gil_wait_fraction=gil_wait)
        for n in range(16)
    )
    built = report(
        wait=0.35, waiting_threads=1.0, cores=1.0, threads=clients, method="counted from outside"
    )
    assert ("GIL_BOUND" in [v.code for v in verdicts_for(built)]) is gil_bound


@pytest.mark.parametrize(
    ("held", "gil_bound"),
    [
        (None, True),  # CPython 3.10-3.14: CPU time and counted wait, 0.2 of each life
        (0.02, False),  # 3.15's status: the GIL held 2%, wanted 14%: under a fifth
        (0.1, True),
    ],
)
def test_where_the_status_says_who_held_the_gil_threads_take_turns_by_that(
    held: float | None, gil_bound: bool
) -> None:
    # 16 socket clients: their CPU time is mostly the kernel's, in send and recv, done
    # without the GIL; CPython's reader saw each hold or want it 15-17% of its life.
    clients = tuple(
        thread(
            f"client-{n}",
            running=0.3,
            cpu_fraction=0.06,
            gil_wait_fraction=0.14,
            gil_held_fraction=held,
        )
        for n in range(16)
    )
    built = report(
        wait=0.8,
        waiting_threads=4.5,
        cores=1.6,
        user_cores=0.6,  # the rest the kernel's, in send and recv
        threads=clients,
        method="counted from outside",
    )
    assert ("GIL_BOUND" in [v.code for v in verdicts_for(built)]) is gil_bound


@pytest.mark.parametrize(
    ("method", "gil_bound"), [("counted from outside", True), ("estimate", False)]
)
def test_handlers_no_sample_caught_are_busy_by_their_counted_figures(
    method: str, gil_bound: bool
) -> None:
    # A threaded server's handlers live a few ms: the ticks rarely sample one, the
    # watcher counts each one's wait and its CPU clock is read as it goes.
    accept = thread("serve_forever", running=0.1, cpu_fraction=0.05, gil_wait_fraction=0.1)
    handlers = tuple(
        thread(f"handler-{n}", samples=0, running=0.0, cpu_fraction=0.3, gil_wait_fraction=0.6)
        for n in range(40)
    )
    built = report(
        wait=0.7, waiting_threads=1.8, cores=1.0, threads=(accept, *handlers), method=method
    )
    assert ("GIL_BOUND" in [v.code for v in verdicts_for(built)]) is gil_bound


@pytest.mark.parametrize(
    ("built", "codes"),
    [
        (report(wait=0.9, waiting_threads=2.0, cores=1.0, threads=BUSY), ["GIL_BOUND"]),
        # one busy thread cannot queue for the GIL behind itself
        (report(wait=0.9, cores=1.0, threads=(thread(),)), ["NO_ISSUE"]),
        (report(wait=0.1, cores=1.9, threads=BUSY), ["NATIVE_PARALLEL"]),
        (report(wait=0.05, cores=1.0, run_queue=0.4, threads=BUSY), ["OVERSUBSCRIBED"]),
        # the run queue filled by other processes: the machine was busy, the program not
        # oversubscribed (it had no more busy threads than cores)
        (
            report(wait=0.05, cores=1.0, run_queue=0.4, threads=BUSY[:2], others=1.2),
            ["MACHINE_BUSY"],
        ),
        # three busy threads on two cores oversubscribe them, whoever else runs
        (
            report(wait=0.05, cores=1.0, run_queue=0.4, threads=BUSY, others=1.2),
            ["OVERSUBSCRIBED", "MACHINE_BUSY"],
        ),
        # GIL queueing is measured apart from CPU waits: still GIL-bound, with the caveat
        (
            report(wait=0.9, waiting_threads=1.0, cores=1.0, threads=BUSY[:2], others=1.0),
            ["GIL_BOUND", "MACHINE_BUSY"],
        ),
        # a little background load is not a busy machine
        (report(cores=0.9, threads=(thread(),), others=0.3), ["NO_ISSUE"]),
        (report(cores=0.05, threads=IDLE), ["IO_BOUND"]),
        # a process pool's parent waits for its workers: not told to add threads
        (report(cores=0.05, threads=IDLE, children=1.6), ["CHILD_PROCESSES"]),
        # children working little beside a waiting parent: it waits on something else
        (report(cores=0.05, threads=IDLE, children=0.3), ["IO_BOUND"]),
        # a parent busy beside its children: its own verdicts stand
        (
            report(wait=0.9, waiting_threads=2.0, cores=1.0, threads=BUSY, children=1.0),
            ["GIL_BOUND"],
        ),
        # busy loopback I/O: much kernel time, little user code, mostly waiting
        (report(cores=1.9, user_cores=0.3, threads=IDLE), ["IO_BOUND"]),
        (report(cores=0.05, threads=IDLE, loops=(loop(stall()),)), ["LOOP_BLOCKED", "IO_BOUND"]),
        (report(cores=0.9, threads=(thread(),)), ["NO_ISSUE"]),
        # no thread sampled at all: nothing can be said to be fine
        (report(wait=None, waiting_threads=None, run_queue=None, cores=0.9), ["TOO_FEW_SAMPLES"]),
        # short CPU bursts queueing for the GIL between long waits: GIL-bound, and never
        # also "mostly waiting on I/O, the GIL is not the bottleneck"
        (
            report(wait=0.5, waiting_threads=0.6, cores=0.5, threads=(*BUSY, *IDLE * 3)),
            ["GIL_BOUND"],
        ),
    ],
)
def test_verdict_codes(built: Report, codes: list[str]) -> None:
    assert [v.code for v in built.verdicts] == codes


@pytest.mark.parametrize(
    ("probe_max_ms", "duration_s", "words"),
    [
        (450.0, 1.0, "waited up to 450 ms to get the GIL back"),
        (0.0, 2.6, "could not get the GIL for most of the run"),  # 3 samples of 260
        (2.0, 0.1, "the run was too short"),
    ],
)
def test_few_samples_never_read_as_no_issue(
    probe_max_ms: float, duration_s: float, words: str
) -> None:
    built = report(cores=0.9, threads=(thread(samples=3),))
    probe = dataclasses.replace(built.gil.probe, count=3, max_ms=probe_max_ms)
    gil = dataclasses.replace(built.gil, probe=probe)
    (verdict,) = verdicts_for(dataclasses.replace(built, gil=gil, duration_s=duration_s))
    assert verdict.code == "TOO_FEW_SAMPLES"
    assert words in verdict.message
    assert verdict.evidence["samples"] == 3


def test_io_bound_with_few_threads_suggests_a_larger_pool() -> None:
    (verdict,) = report(cores=0.05, threads=IDLE).verdicts
    assert "overlap in a larger thread pool" in verdict.fix
    assert verdict.evidence["max_threads_alive"] == len(IDLE)


@pytest.mark.parametrize("alive", [MANY_THREADS, 2000])
def test_io_bound_with_many_threads_does_not_suggest_more_threads(alive: int) -> None:
    built = report(cores=0.05, threads=IDLE)
    many = dataclasses.replace(built.process, max_threads_alive=alive)
    (verdict,) = verdicts_for(dataclasses.replace(built, process=many))
    assert verdict.code == "IO_BOUND"
    assert "larger thread pool" not in verdict.fix
    assert f"With {alive} threads alive at once, more threads will not help" in verdict.fix
    assert "asyncio" in verdict.fix
    assert verdict.evidence["max_threads_alive"] == alive


def test_every_verdict_has_evidence_and_a_fix() -> None:
    built = report(wait=0.9, waiting_threads=2.0, cores=1.0, threads=BUSY, loops=(loop(stall()),))
    for verdict in built.verdicts:
        assert verdict.message
        assert verdict.fix
        assert verdict.evidence


def test_loop_blocked_names_the_culprit_and_the_coroutine() -> None:
    built = report(loops=(loop(stall(150, "small"), stall(900, "fetch")),))
    (blocked,) = [v for v in built.verdicts if v.code == "LOOP_BLOCKED"]
    assert "/app/lib.py:12 in fetch" in blocked.message
    assert "coroutine handler" in blocked.message
    assert blocked.evidence["stalls"] == 2
    assert "asyncio.to_thread" in blocked.fix


def _poll_stall(duration_ms: float) -> Stall:
    poll = Frame("/usr/lib/python3/selectors.py", 468, "EpollSelector.select")
    return Stall(duration_ms, 1.0, 3, (poll,), poll, None)


def test_a_stall_in_the_loops_own_poll_is_not_named_as_the_blocking_line() -> None:
    behind = dataclasses.replace(
        stall(150.0, "slow_regex"),
        gil_holder=Frame("/app/lib.py", 12, "slow_regex"),
        gil_holder_thread="worker",
    )
    built = report(cores=0.5, threads=IDLE, loops=(loop(_poll_stall(400.0), behind),))
    blocked = next(v for v in built.verdicts if v.code == "LOOP_BLOCKED")
    assert "slow_regex" in blocked.message
    assert "'worker'" in blocked.message
    assert "process" in blocked.fix


def test_a_longer_stall_without_samples_does_not_hide_the_gil_holder() -> None:
    behind = dataclasses.replace(
        stall(120.0, "slow_regex"),
        gil_holder=Frame("/app/lib.py", 12, "slow_regex"),
        gil_holder_thread="worker",
    )
    unseen = Stall(142.0, 2.0, 0, (), None, None)  # the sampler never saw the loop stuck
    built = report(cores=0.5, threads=IDLE, loops=(loop(unseen, behind),))
    blocked = next(v for v in built.verdicts if v.code == "LOOP_BLOCKED")
    assert "the longest with a known line (120 ms)" in blocked.message
    assert "slow_regex" in blocked.message
    assert "process" in blocked.fix


def test_a_stall_behind_a_gil_holder_whose_line_was_unseen_is_not_fixed_with_a_thread() -> None:
    # A regex in `asyncio.to_thread`'s worker: the program already uses a thread.
    behind = Stall(
        560.0, 1.0, 1, (), None, None, causes={"gil": 1.0}, gil_holder_thread="asyncio_0"
    )
    built = report(cores=0.5, threads=IDLE, loops=(loop(behind),))
    blocked = next(v for v in built.verdicts if v.code == "LOOP_BLOCKED")
    assert "'asyncio_0' held at a line no sample saw" in blocked.message
    assert "process" in blocked.fix
    assert "to_thread" not in blocked.fix


def test_a_stall_with_the_holders_line_comes_before_a_longer_one_with_its_thread_alone() -> None:
    # Five stalls behind a regex: the longest saw only the regex's thread.
    lined = dataclasses.replace(
        stall(150.0, "slow_regex"),
        causes={"gil": 1.0},
        gil_holder=Frame("/app/lib.py", 12, "slow_regex"),
        gil_holder_thread="asyncio_0",
    )
    threaded = Stall(
        161.0, 2.0, 1, (), None, None, causes={"gil": 1.0}, gil_holder_thread="asyncio_0"
    )
    built = report(cores=0.5, threads=IDLE, loops=(loop(threaded, lined),))
    blocked = next(v for v in built.verdicts if v.code == "LOOP_BLOCKED")
    assert "the longest with a known line (150 ms)" in blocked.message
    assert "slow_regex" in blocked.message


def test_only_poll_stalls_say_the_loop_was_waiting_to_run() -> None:
    built = report(cores=0.5, threads=IDLE, loops=(loop(_poll_stall(400.0)),))
    blocked = next(v for v in built.verdicts if v.code == "LOOP_BLOCKED")
    assert "its own poll" in blocked.message
    assert "selectors.py" not in blocked.message


@pytest.mark.parametrize(
    ("file", "name"),
    [
        ("/venv/lib/python3.12/site-packages/trio/_core/_run.py", "trio"),
        ("/venv/lib/python3.12/site-packages/gevent/hub.py", "gevent"),
    ],
)
def test_a_loop_gilwise_does_not_watch_is_said_plainly(file: str, name: str) -> None:
    loop_thread = thread(
        "MainThread",
        running=0.1,
        top_functions=(LineStat(file, 1, "run", 5, 95), LineStat("/app/main.py", 3, "main", 5, 95)),
    )
    verdicts = verdicts_for(dataclasses.replace(report(cores=0.05), threads=(loop_thread,)))
    codes = [v.code for v in verdicts]
    assert "LOOP_NOT_WATCHED" in codes
    assert "NO_ISSUE" not in codes
    (verdict,) = [v for v in verdicts if v.code == "LOOP_NOT_WATCHED"]
    assert f"runs a {name} event loop" in verdict.message
    assert verdict.evidence == {"loops": name}


def test_an_asyncio_program_is_not_told_its_loop_is_unwatched() -> None:
    codes = [v.code for v in report(cores=0.05).verdicts]
    assert "LOOP_NOT_WATCHED" not in codes


def test_a_watched_trio_run_is_not_called_unwatched_and_gets_trios_fix() -> None:
    trio_frame = LineStat("/venv/lib/python3.12/site-packages/trio/_core/_run.py", 1, "run", 5, 95)
    loop_thread = thread("MainThread", running=0.1, top_functions=(trio_frame,))
    trio_loop = dataclasses.replace(loop(stall(400.0)), loop_class="trio.run")
    built = dataclasses.replace(report(cores=0.05), threads=(loop_thread,), loops=(trio_loop,))
    verdicts = verdicts_for(built)
    assert "LOOP_NOT_WATCHED" not in [v.code for v in verdicts]
    blocked = next(v for v in verdicts if v.code == "LOOP_BLOCKED")
    assert "trio.to_thread.run_sync" in blocked.fix
    assert "asyncio" not in blocked.fix


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_a_real_trio_run_is_watched_and_its_blocking_line_named(tmp_path: Path) -> None:
    pytest.importorskip("trio")
    program = tmp_path / "trio_program.py"
    program.write_text(
        "import time, trio\n"
        "async def main():\n"
        "    for _ in range(3):\n"
        "        await trio.sleep(0.05)\n"
        "        time.sleep(0.3)\n"
        "    print('finished')\n"
        "trio.run(main)\n"
    )
    out = tmp_path / "report.json"
    done = subprocess.run(
        [sys.executable, "-m", "gilwise", "run", "--quiet", "--json", str(out), str(program)],
        capture_output=True,
        text=True,
        timeout=50,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout == "finished\n"  # the program's own output, untouched
    data = json.loads(out.read_text())
    codes = [v["code"] for v in data["verdicts"]]
    assert "LOOP_NOT_WATCHED" not in codes
    assert "LOOP_BLOCKED" in codes
    (run,) = data["loops"]
    assert run["loop_class"] == "trio.run"
    # Wide margins: a loaded machine may merge stalls or see a short one only in part.
    assert run["stalls_total"] >= 1
    culprits = {(s["culprit"]["line"], s["culprit"]["function"]) for s in run["stalls"]}
    assert (5, "main") in culprits
