"""What each CLI command does, kept apart from argument parsing."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator, Mapping

from ._processes import start_forkserver_quietly
from .monitor import MonitorConfig
from .monitor._runner import Session, module_target, script_target
from .report._outputs import Output, check_requested, write_requested

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn, TextIO

    from .monitor import Report
    from .monitor._attach import TargetProcess
    from .report._live import Refresher


def run_program(
    *,
    script: str | None,
    module: str | None,
    args: list[str],
    interval: float,
    stall_ms: float,
    outputs: Mapping[Output, str],
    quiet: bool,
    live: bool = False,
    gil_watcher: bool = True,
) -> NoReturn:
    """Run the program under the monitor; exits the way the program exits."""
    from ._errors import TargetInvalid, TargetNotFound

    wants_trace = any(output.name == "trace" for output in outputs)
    config = MonitorConfig(
        interval_s=interval, stall_ms=stall_ms, record_spans=wants_trace, gil_watcher=gil_watcher
    )
    try:
        target = module_target(module) if module else script_target(script or "")
    except (TargetNotFound, TargetInvalid):
        _let_python_refuse(script, module, args)
    check_requested(outputs)
    refresher: Refresher | None = None

    def finish(report: Report) -> None:
        if refresher is not None:
            refresher.stop()  # the live view gives way to the final summary
        # Renderers (and rich) load only now, so the program does not pay for them.
        write_requested(report, "run", outputs, quiet)

    session = Session(target, config, finish if outputs or not quiet or live else None)
    if live:
        from .report._live import LiveView, Refresher

        refresher = Refresher(session.monitor.report, LiveView(), session.monitor.hide_thread)
        refresher.start()
    session.run(args)


def _let_python_refuse(script: str | None, module: str | None, args: list[str]) -> NoReturn:
    """Hand a program that cannot start (missing, unreadable, not compiling) to python
    itself: its message and exit status are the user's reference, byte for byte, and
    nothing of the program runs, so there is nothing to watch."""
    import os

    program = ["-m", module] if module else [script or ""]
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.execv(sys.executable, [sys.executable, *program, *args])


def attach_process(
    *,
    pid: int,
    duration: float | None,
    interval: float,
    stall_ms: float,
    outputs: Mapping[Output, str],
    quiet: bool,
    live: bool,
) -> int:
    """Watch a running CPython 3.14+ process from inside; 0 once its report is out."""
    from ._errors import InvalidOption
    from .monitor._attach import inspect_target

    # Bad options fail here, before anything is done to the target.
    MonitorConfig(interval_s=interval, stall_ms=stall_ms)
    if duration is not None and not duration > 0:
        raise InvalidOption(f"--duration must be a positive number of seconds, got {duration:g}")
    check_requested(outputs)
    wants_trace = any(output.name == "trace" for output in outputs)
    target = inspect_target(pid)
    with _sigint_sets_flag() as stop_requested:
        report = _watch_attached(
            target, duration, interval, stall_ms, wants_trace, quiet, live, stop_requested
        )
    if report is None:
        return 130
    return 0 if write_requested(report, "run", outputs, quiet) else 1


#: Seconds between snapshots of an attached target: for the live view, and without it
#: so that a target killed mid-watch still leaves recent figures.
_LIVE_EVERY_S = 1.0
_FALLBACK_EVERY_S = 5.0


def _watch_attached(
    target: TargetProcess,
    duration: float | None,
    interval: float,
    stall_ms: float,
    wants_trace: bool,
    quiet: bool,
    live: bool,
    stop_requested: list[bool],
) -> Report | None:
    """Start the monitor in ``target``, watch until the end, return the report (None: gave up)."""
    import time

    from .monitor._attach import Attachment
    from .report._live import LiveView

    started = time.monotonic()
    attachment = Attachment.open(
        target, interval_s=interval, stall_ms=stall_ms, record_spans=wants_trace
    )
    attached_s = time.monotonic() - started
    what = " ".join(target.command) or target.executable
    until = f"for {duration:g} s" if duration else "until Ctrl-C"
    if not quiet:
        print(
            f"gilwise: watching PID {target.pid} ({what}) {until}; attached in {attached_s:.2f} s",
            file=sys.stderr,
        )
    view = LiveView() if live else None
    every = _LIVE_EVERY_S if live else _FALLBACK_EVERY_S
    last: Report | None = None
    deadline = None if duration is None else time.monotonic() + duration
    next_snapshot = time.monotonic() + every
    try:
        with attachment:
            while not stop_requested:
                now = time.monotonic()
                if deadline is not None and now >= deadline:
                    break
                # Short waits, so that Ctrl-C (which only sets a flag) is seen quickly.
                step = min(0.25, next_snapshot - now)
                if deadline is not None:
                    step = min(step, deadline - now)
                if attachment.wait_for_end(max(0.0, step)):
                    break
                if time.monotonic() >= next_snapshot:
                    next_snapshot = time.monotonic() + every
                    snapshot = attachment.snapshot()
                    if snapshot is not None:
                        last = snapshot
                        if view is not None:
                            view.update(snapshot, _time_left(deadline))
            stop_requested.append(True)  # a Ctrl-C from here on gives up at once
            report = attachment.stop()
    except KeyboardInterrupt:
        print("gilwise: stopped without a report", file=sys.stderr)
        return None
    finally:
        if view is not None:
            view.close()
    return _attached_report(target, attachment.target_ended, report, last, quiet)


def _time_left(deadline: float | None) -> str:
    import time

    if deadline is None:
        return "Ctrl-C ends the watch"
    return f"ends in {max(0.0, deadline - time.monotonic()):.0f} s"


def _attached_report(
    target: TargetProcess, ended: bool, report: Report | None, last: Report | None, quiet: bool
) -> Report:
    from ._errors import TargetNotFound

    if report is not None:
        if ended and not quiet:
            print(
                f"gilwise: PID {target.pid} exited during the watch; the report covers its "
                "run until then",
                file=sys.stderr,
            )
        return report
    if last is None:
        raise TargetNotFound(
            f"PID {target.pid} ended (or stopped answering) before it sent any figures"
        )
    why = (
        f"PID {target.pid} ended without a last report (killed?)"
        if ended
        else f"PID {target.pid} did not answer the request to stop in time"
    )
    return last.with_updates(
        monitor_errors=(
            *last.monitor_errors,
            f"{why}: figures up to the last snapshot, {last.duration_s:.1f} s into the watch",
        )
    )


@contextlib.contextmanager
def _sigint_sets_flag() -> Iterator[list[bool]]:
    """Ctrl-C appends to the yielded list the first time; a second Ctrl-C raises as usual.

    A flag rather than an exception, so that the first Ctrl-C never cuts a message to or
    from the target in half: the watch ends cleanly and the report is still written.
    """
    import signal

    flag: list[bool] = []

    def on_sigint(signum: int, frame: object) -> None:
        if flag:
            raise KeyboardInterrupt
        flag.append(True)

    previous = signal.signal(signal.SIGINT, on_sigint)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def advise_function(
    *,
    target: str,
    inputs: str,
    budget: float,
    backends: list[str] | None,
    start_method: str | None,
    python: str | None,
    outputs: Mapping[Output, str],
    quiet: bool,
) -> int:
    """Load the user's function and items, run the advisor and print its answer."""
    from .advise._advisor import MAX_ITEMS, run_advice
    from .advise._target import load_callable, load_items

    check_requested(outputs)

    fn = load_callable(target)
    items, _ = load_items(inputs, MAX_ITEMS)
    start_forkserver_quietly(start_method)
    with _progress(quiet, budget) as on_trial:
        report = run_advice(
            fn,
            items,
            budget=budget,
            backends=backends,
            ref=target,
            start_method=start_method,
            python=python,
            on_trial=on_trial,
        )
    return 0 if write_requested(report, "advise", outputs, quiet) else 1


@contextlib.contextmanager
def _progress(quiet: bool, budget: float) -> Iterator[Callable[[str, int], None] | None]:
    """A status line on an interactive stderr naming the run in progress; nothing when piped."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    import time

    from rich.console import Console

    started = time.perf_counter()
    with Console(stderr=True).status("profiling the function") as status:

        def on_trial(backend: str, workers: int) -> None:
            elapsed = time.perf_counter() - started
            status.update(f"measuring {backend} x{workers} ({elapsed:.0f} of {budget:g} s)")

        yield on_trial


def take_tour(*, quick: bool, only: list[int] | None, outputs: Mapping[Output, str]) -> int:
    """Run the tour, printing each lesson as soon as it is measured."""
    from .report._tour_terminal import closing, console, lesson_panel
    from .tour._tour import run_tour, select

    select(only)  # bad lesson numbers fail before anything runs
    check_requested(outputs)
    start_forkserver_quietly()
    out = console()
    out.print(
        "[bold]gilwise tour[/bold]: each claim about Python concurrency, measured on this "
        "machine now."
    )
    status = out.status("warming up") if sys.stdout.isatty() else contextlib.nullcontext()
    with status as spinner:

        def on_lesson(number: int, title: str) -> None:
            if spinner is not None:
                spinner.update(f"lesson {number}: {title}")

        report = run_tour(
            quick=quick,
            only=only,
            on_lesson=on_lesson,
            on_result=lambda result: out.print(lesson_panel(result)),
        )
    out.print(closing(report))
    # The lessons are on the terminal already, each as it was measured.
    return 0 if write_requested(report, "tour", outputs, quiet=True) else 1


def render_saved(*, path: str, outputs: Mapping[Output, str], quiet: bool) -> int:
    """Render a report saved with --json again: the summary and any other output."""
    from ._errors import InvalidOption
    from .report._outputs import load_saved

    kind, report = load_saved(path)
    unfit = [output.flag for output in outputs if kind not in output.renderers]
    if unfit:
        raise InvalidOption(
            f"{', '.join(map(str, unfit))} cannot be made from a saved {kind} report"
        )
    check_requested(outputs)
    return 0 if write_requested(report, kind, outputs, quiet) else 1


def check_code(
    *,
    paths: list[str],
    output_format: str,
    select: list[str] | None,
    ignore: list[str] | None,
    exclude: list[str] | None,
    respect_gitignore: bool,
    config_path: str | None,
    output: str | None,
    exit_zero: bool,
    force_exclude: bool = False,
    cache: bool = True,
    jobs: int | None = None,
) -> int:
    """Check the paths; 1 when anything is found (unless ``exit_zero``), else 0."""
    import dataclasses
    from pathlib import Path

    from ._errors import InvalidOption
    from .check._config import load_config, validate_codes
    from .check._runner import check_paths
    from .report._check import render

    if jobs is not None and jobs < 1:
        raise InvalidOption(f"--jobs must be 1 or more, not {jobs}; leave it out for one per core")
    config = load_config(Path.cwd(), Path(config_path) if config_path else None)
    config = dataclasses.replace(
        config,
        select=validate_codes(tuple(select), "--select") if select else config.select,
        ignore=config.ignore + validate_codes(tuple(ignore or ()), "--ignore"),
        exclude=config.exclude + tuple(exclude or ()),
        respect_gitignore=config.respect_gitignore and respect_gitignore,
        force_exclude=config.force_exclude or force_exclude,
    )
    result = check_paths(paths, config, jobs=jobs, cache=cache)
    for warning in result.warnings:
        print(f"gilwise: warning: {warning}", file=sys.stderr)
    if output:
        with _output_file(output) as out:
            render(result, output_format, out)
    else:
        render(result, output_format)
    return 1 if result.findings and not exit_zero else 0


@contextlib.contextmanager
def _output_file(path: str) -> Iterator[TextIO]:
    from ._errors import InvalidOption

    try:
        with open(path, "w", encoding="utf-8") as out:
            yield out
    except OSError as exc:
        raise InvalidOption(f"cannot write {path}: {exc.strerror or exc}; check --output") from exc


def explain_rule(code: str) -> int:
    """Print one rule's documentation page."""
    from rich.console import Console
    from rich.markdown import Markdown

    from ._errors import InvalidOption
    from .check._rule import registered_rules, rule_page

    rule = registered_rules().get(code.strip().upper())
    if rule is None:
        raise InvalidOption(f"no rule {code!r}; 'gilwise check --list-rules' lists them")
    page = rule_page(rule)
    console = Console()
    if console.is_terminal:
        console.print(Markdown(page))
    else:
        print(page, end="")
    return 0


def list_rules() -> int:
    """Print every rule's code, name and summary."""
    from .check._rule import registered_rules

    for rule in registered_rules().values():
        opt_in = " (opt-in: select it by code)" if rule.opt_in else ""
        print(f"{rule.code}  {rule.name:<36} {rule.summary()}{opt_in}")
    return 0
