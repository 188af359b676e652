"""What each CLI command does, kept apart from argument parsing."""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable, Iterator
from typing import TextIO

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
    html_path: str | None,
    trace_path: str | None,
    quiet: bool,
) -> NoReturn:
    """Run the program under the monitor; exits the way the program exits."""
    config = MonitorConfig(interval_s=interval, stall_ms=stall_ms, record_spans=bool(trace_path))
    target = module_target(module) if module else script_target(script or "")
    if html_path:
        from .report._html import require_html

        require_html()

    def finish(report: Report) -> None:
        # Renderers (and rich) load only now, so the program does not pay for them.
        if json_path:
            from .report._json import write_json

            try:
                write_json(report, json_path)
            except OSError as exc:
                print(f"gilwise: could not write {json_path}: {exc}", file=sys.stderr)
        # The program has run: a report that cannot be written must not hide its result.
        if html_path:
            from .report._html_run import run_html

            _write_or_warn(html_path, lambda: run_html(report))
        if trace_path:
            from .report._trace import trace_json

            _write_or_warn(trace_path, lambda: trace_json(report))
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
    python: str | None,
    json_path: str | None,
    html_path: str | None,
    quiet: bool,
) -> int:
    """Load the user's function and items, run the advisor and print its answer."""
    from .advise._advisor import MAX_ITEMS, run_advice
    from .advise._target import load_callable, load_items

    if html_path:
        from .report._html import require_html

        require_html()

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
            python=python,
            on_trial=on_trial,
        )
    if json_path:
        _write(json_path, report.to_json() + "\n")
    if html_path:
        from .report._html_advise import advice_html

        _write(html_path, advice_html(report))
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


def take_tour(
    *, quick: bool, only: list[int] | None, json_path: str | None, html_path: str | None
) -> int:
    """Run the tour, printing each lesson as soon as it is measured."""
    from .report._tour_terminal import closing, console, lesson_panel
    from .tour._tour import run_tour, select

    select(only)  # bad lesson numbers fail before anything runs
    if html_path:
        from .report._html import require_html

        require_html()
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
        _write(json_path, report.to_json() + "\n")
    if html_path:
        from .report._html_tour import tour_html

        _write(html_path, tour_html(report))
        out.print(f"HTML report: {html_path}")
    return 0


def _write_or_warn(path: str, render: Callable[[], str]) -> None:
    from ._errors import GilwiseError

    try:
        _write(path, render())
    except GilwiseError as exc:
        print(f"gilwise: {exc}", file=sys.stderr)


def _write(path: str, text: str) -> None:
    """Write a report file whole, or raise a one-line error naming the path."""
    from ._errors import InvalidOption
    from .monitor._report import write_atomic

    try:
        write_atomic(path, text)
    except OSError as exc:
        raise InvalidOption(f"cannot write {path}: {exc.strerror or exc}; check the path") from exc


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
) -> int:
    """Check the paths; 1 when anything is found (unless ``exit_zero``), else 0."""
    import dataclasses
    from pathlib import Path

    from .check._config import load_config, validate_codes
    from .check._runner import check_paths
    from .report._check import render

    config = load_config(Path.cwd(), Path(config_path) if config_path else None)
    config = dataclasses.replace(
        config,
        select=validate_codes(tuple(select), "--select") if select else config.select,
        ignore=config.ignore + validate_codes(tuple(ignore or ()), "--ignore"),
        exclude=config.exclude + tuple(exclude or ()),
        respect_gitignore=config.respect_gitignore and respect_gitignore,
    )
    result = check_paths(paths, config)
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
