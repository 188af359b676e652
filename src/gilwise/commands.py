"""What each CLI command does, kept apart from argument parsing."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator

from .monitor import MonitorConfig
from .monitor._runner import Session, module_target, script_target

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import NoReturn

    from .monitor import Report


def run_program(
    *,
    script: str | None,
    module: str | None,
    args: list[str],
    interval: float,
    stall_ms: float,
    json_path: str | None,
    quiet: bool,
) -> NoReturn:
    """Run the program under the monitor; exits the way the program exits."""
    config = MonitorConfig(interval_s=interval, stall_ms=stall_ms)
    target = module_target(module) if module else script_target(script or "")

    def finish(report: Report) -> None:
        # Renderers (and rich) load only now, so the program does not pay for them.
        if json_path:
            from .report._json import write_json

            try:
                write_json(report, json_path)
            except OSError as exc:
                print(f"gilwise: could not write {json_path}: {exc}", file=sys.stderr)
        if not quiet:
            from .report._terminal import render_summary

            render_summary(report)

    Session(target, config, finish).run(args)


def advise_function(
    *,
    target: str,
    inputs: str,
    budget: float,
    backends: list[str] | None,
    start_method: str | None,
    json_path: str | None,
    quiet: bool,
) -> int:
    """Load the user's function and items, run the advisor and print its answer."""
    from .advise._advisor import MAX_ITEMS, run_advice
    from .advise._target import load_callable, load_items

    fn = load_callable(target)
    items, _ = load_items(inputs, MAX_ITEMS)
    with _progress(quiet, budget) as on_trial:
        report = run_advice(
            fn,
            items,
            budget=budget,
            backends=backends,
            ref=target,
            start_method=start_method,
            on_trial=on_trial,
        )
    if json_path:
        from .monitor._report import write_atomic

        write_atomic(json_path, report.to_json() + "\n")
    if not quiet:
        from .report._advise_terminal import render_advice

        render_advice(report)
    return 0


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


def take_tour(*, quick: bool, only: list[int] | None, json_path: str | None) -> int:
    """Run the tour, printing each lesson as soon as it is measured."""
    from .report._tour_terminal import closing, console, lesson_panel
    from .tour._tour import run_tour, select

    select(only)  # bad lesson numbers fail before anything runs
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
    if json_path:
        from .monitor._report import write_atomic

        write_atomic(json_path, report.to_json() + "\n")
    return 0
