"""``%%gilwise`` and ``%gilwise``: watch a notebook cell (or one line) and show the report inline.

Loaded by ``%load_ext gilwise``. The code runs in the user's namespace, compiled the way
IPython compiles a cell (its syntax, its AST transformers, top-level ``await``), under
the process-wide monitor of :func:`gilwise.start`. Afterwards the report is shown where
the cell's output goes: the ``gilwise run --html`` page in an iframe where the front end
renders HTML (with the ``html`` extra), the terminal summary as text otherwise. A cell
that raises shows its report first, then its error, and still fails (so "Run All" stops
there, as it would without the magic).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import concurrent.futures
import contextvars
import html
import inspect
import io
import re
import shlex
import shutil
import sys
import threading
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, replace
from types import CodeType
from typing import Any, TypeVar

from IPython.core import magic_arguments
from IPython.core.error import UsageError
from IPython.core.magic import (
    Magics,
    line_cell_magic,
    magics_class,
    needs_local_scope,
    no_var_expand,
    output_can_be_silenced,
)
from IPython.display import display as _display

from .._errors import ExtraNotInstalled, GilwiseError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ..monitor import Monitor, Report

_F = TypeVar("_F", bound=Callable[..., Any])

# Typed views of the IPython helpers that ship without annotations. The shell itself is
# handled as Any: much of InteractiveShell is unannotated, and what this module uses of
# it (transform_cell, compile, loop_runner, display_formatter) is stable since 8.8.
argument: Callable[..., Callable[[_F], _F]] = magic_arguments.argument
arguments: Callable[[], Callable[[_F], _F]] = magic_arguments.magic_arguments
display: Callable[..., None] = _display

#: Where the last report is left in the user's namespace (``%who`` hides ``_`` names).
REPORT_NAME = "_gilwise_report"
#: Width of the text summary when it does not go to a terminal (a notebook's output).
TEXT_WIDTH = 110


@dataclass(frozen=True)
class CellOptions:
    """What the magic's line asked for."""

    interval: float
    stall_ms: float
    json_path: str | None
    html_path: str | None
    text: bool

    @classmethod
    def from_namespace(cls, options: argparse.Namespace) -> CellOptions:
        return cls(
            interval=options.interval,
            stall_ms=options.stall_ms,
            json_path=options.json,
            html_path=options.html,
            text=options.text,
        )


@magics_class
class GilwiseMagics(Magics):
    """The ``%gilwise`` line magic and the ``%%gilwise`` cell magic."""

    shell: Any

    def __init__(self, shell: Any) -> None:
        super().__init__(shell)
        self._told_about_html_extra = False

    @arguments()
    @argument(
        "--interval",
        type=float,
        default=0.01,
        metavar="S",
        help="sampling interval in seconds (default 0.01, i.e. 100 Hz)",
    )
    @argument(
        "--stall-ms",
        type=float,
        default=100.0,
        metavar="MS",
        help="an event loop that does not come back for this long is stalled (default 100)",
    )
    @argument("--json", metavar="PATH", help="also write the report as JSON to PATH")
    @argument(
        "--html", metavar="PATH", help="also write the HTML report to PATH (needs gilwise[html])"
    )
    @argument("--text", action="store_true", help="show the text summary, even where HTML shows")
    @no_var_expand
    @needs_local_scope
    @output_can_be_silenced
    @line_cell_magic
    def gilwise(
        self, line: str, cell: str | None = None, local_ns: dict[str, Any] | None = None
    ) -> object:
        """Watch a cell (``%%gilwise``) or one line (``%gilwise CODE``) and show the report.

        The report shows GIL contention, CPU against the usable cores, each thread, and
        event-loop stalls with the blocking line, as ``gilwise run`` does; the report
        object is left in ``_gilwise_report``. Options go first on the magic's line.

        Example::

            %load_ext gilwise

            %%gilwise --stall-ms 50
            with ThreadPoolExecutor(4) as pool:
                results = list(pool.map(work, items))

            %gilwise --text sum(pool.map(work, items))
        """
        __tracebackhide__ = True  # IPython leaves this frame out of the cell's traceback
        option_words, code = split_line(line, PARSER)
        try:
            options = CellOptions.from_namespace(PARSER.parse_args(option_words))
        except UsageError as exc:
            raise UsageError(f"%gilwise: {exc}; see %gilwise? for the options") from None
        if cell is None:
            body, first_line = code, 1
        elif code.strip():
            raise UsageError(
                "%%gilwise takes only options on its line; put the code in the cell below it"
            )
        else:
            # The body starts on the cell's second line, under the magic's.
            body, first_line = cell, 2
        if not body.strip():
            raise UsageError("nothing to watch: write %gilwise CODE, or %%gilwise atop a cell")
        check_outputs(options)
        shell: Any = self.shell
        program = compile_cell(shell, body, first_line)
        namespace = shell.user_ns if local_ns is None else local_ns
        return self._watch(program, options, namespace)

    def _watch(
        self, program: CellProgram, options: CellOptions, namespace: dict[str, Any]
    ) -> object:
        __tracebackhide__ = True
        from .._watch import start

        host_loop = running_loop()
        try:
            monitor = start(
                interval=options.interval, stall_ms=options.stall_ms, stall_logs_per_minute=0
            )
        except GilwiseError as exc:
            raise UsageError(f"%gilwise: {exc}") from None
        try:
            return program.run(self.shell, monitor, namespace)
        finally:
            # The cell's error, if any, is shown after this: the report comes first.
            self._finish(options, host_loop)

    def _finish(self, options: CellOptions, host_loop: asyncio.AbstractEventLoop | None) -> None:
        from .._watch import stop

        try:
            report = without_host_loop(stop(), host_loop)
        except GilwiseError as exc:  # the cell stopped the monitor itself
            print(f"gilwise: no report: {exc}", file=sys.stderr)
            return
        self.shell.user_ns[REPORT_NAME] = report
        try:
            self._show(report, options)
        except Exception as exc:  # the cell's own outcome matters more than its report
            print(f"gilwise: could not show the report: {exc!r}", file=sys.stderr)

    def _show(self, report: Report, options: CellOptions) -> None:
        shows_html = not options.text and renders_html(self.shell)
        page = None
        if shows_html or options.html_path:
            try:
                page = report_page(report)
            except ExtraNotInstalled:  # --html was checked before the cell ran: display only
                page = None
        write_outputs(report, options, page)
        if shows_html and page is not None:
            display({"text/html": iframe(page), "text/plain": summary_text(report)}, raw=True)
            return
        text = summary_text(report, color=uses_color(self.shell))
        if shows_html and not self._told_about_html_extra:
            self._told_about_html_extra = True
            text += "(the HTML report with charts needs: pip install 'gilwise[html]')\n"
        display({"text/plain": text}, raw=True)


#: The magic's option parser, made by @arguments from its decorators (``%gilwise?`` shows it);
#: it raises UsageError on a bad option.
PARSER: argparse.ArgumentParser = GilwiseMagics.__dict__["gilwise"].parser


def load_ipython_extension(ipython: Any) -> None:
    """Register the magics with ``ipython`` (what ``%load_ext gilwise`` calls)."""
    ipython.register_magics(GilwiseMagics)


# -- the magic's line ------------------------------------------------------------------

#: One word of the magic's line: unquoted text and quoted strings, up to a space.
_WORD = re.compile(r"""\s*((?:[^\s'"]+|'[^']*'|"[^"]*")+)""")


def split_line(line: str, parser: argparse.ArgumentParser) -> tuple[list[str], str]:
    """The option words at the start of ``line`` (unquoted), and the code after them.

    The code is the rest of the line exactly as written (its quotes, its spacing),
    which splitting the whole line into words would lose. Options stop at the first
    word that is not one (``--`` ends them explicitly); which options take a value is
    read from ``parser``.
    """
    takes_value = {
        flag for action in parser._actions if action.nargs != 0 for flag in action.option_strings
    }
    known = {flag for action in parser._actions for flag in action.option_strings}
    words: list[str] = []
    position = 0
    needs_value = False
    while True:
        match = _WORD.match(line, position)
        if match is None:
            return words, ""
        word = match.group(1)
        if needs_value:
            needs_value = False
        elif word == "--":
            return words, line[match.end() :].lstrip()
        elif word.startswith("--") or word.split("=", 1)[0] in known:
            needs_value = "=" not in word and word in takes_value
        else:
            return words, line[match.start(1) :]
        words.append(_unquoted(word))
        position = match.end()


def _unquoted(word: str) -> str:
    try:
        parts = shlex.split(word)
    except ValueError:  # an unbalanced quote: argparse will name the word
        return word
    return parts[0] if len(parts) == 1 else word


def check_outputs(options: CellOptions) -> None:
    """Refuse, before the cell runs, an output that could not be written afterwards."""
    import os

    for path in filter(None, (options.json_path, options.html_path)):
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            raise UsageError(f"%gilwise: cannot write {path}: no folder {folder}; create it first")
    if options.html_path:
        from ..report import require_html

        try:
            require_html()
        except ExtraNotInstalled as exc:
            raise UsageError(f"%gilwise --html: {exc}") from None


# -- running the code ------------------------------------------------------------------


@dataclass(frozen=True)
class CellProgram:
    """A cell compiled as IPython compiles it: its statements, then its last expression."""

    body: CodeType
    #: The cell's last line when it is an expression: its value is the magic's result
    #: (IPython shows it as ``Out[n]``), as a plain cell's would be.
    last: CodeType | None

    @property
    def is_async(self) -> bool:
        return any(_is_async(code) for code in (self.body, self.last) if code is not None)

    def run(self, shell: Any, monitor: Monitor, namespace: dict[str, Any]) -> object:
        __tracebackhide__ = True
        globals_ = shell.user_global_ns
        if not self.is_async:
            exec(self.body, globals_, namespace)
            return None if self.last is None else eval(self.last, globals_, namespace)

        async def cell() -> object:
            __tracebackhide__ = True
            # Watch the loop from the first line, not from the sampler's next scan (no
            # asyncio loop: another async library runs the cell, trio via %autoawait).
            loop = running_loop()
            if loop is not None:
                monitor.add_loop(loop)
            started = eval(self.body, globals_, namespace)
            if started is not None:
                await started
            if self.last is None:
                return None
            value = eval(self.last, globals_, namespace)
            return await value if _is_async(self.last) else value

        return run_coroutine(shell, cell())


def compile_cell(shell: Any, source: str, first_line: int) -> CellProgram:
    """Compile ``source`` (IPython syntax) as a cell starting on line ``first_line``."""
    transformed = shell.transform_cell(source)
    # IPython drops the cell's leading blank lines; padding restores the line numbers
    # of the cell as the user sees it, for tracebacks.
    blank = next((n for n, text in enumerate(source.splitlines()) if text.strip()), 0)
    padded = "\n" * (first_line - 1 + blank) + transformed
    # Cached as IPython caches a cell: tracebacks show "Cell In[n], line k" with its source.
    filename = shell.compile.cache(padded, shell.execution_count, raw_code=padded)
    tree = shell.transform_ast(shell.compile.ast_parse(padded, filename=filename))
    statements = list(tree.body)
    last_expression = None
    if statements and isinstance(statements[-1], ast.Expr):
        last_expression = ast.Expression(statements.pop().value)
    flags = getattr(ast, "PyCF_ALLOW_TOP_LEVEL_AWAIT", 0) if shell.autoawait else 0
    with shell.compile.extra_flags(flags):
        body = shell.compile(ast.Module(statements, type_ignores=[]), filename, "exec")
        last = None if last_expression is None else shell.compile(last_expression, filename, "eval")
    return CellProgram(body, last)


def _is_async(code: CodeType) -> bool:
    return bool(code.co_flags & inspect.CO_COROUTINE)


def running_loop() -> asyncio.AbstractEventLoop | None:
    """The loop running in this thread: Jupyter's kernel runs every cell inside its own."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def run_coroutine(shell: Any, coroutine: Coroutine[Any, Any, object]) -> object:
    """Run a cell with top-level ``await`` on the loop IPython runs such cells on.

    In a terminal that is IPython's own runner (``%autoawait``). In Jupyter the kernel's
    loop is already running this very cell, and a magic cannot await on it, so the
    cell gets a fresh loop in a helper thread instead (what ``%%pyinstrument`` does too).
    """
    __tracebackhide__ = True
    if running_loop() is None:
        return shell.loop_runner(coroutine)
    return run_in_helper_thread(coroutine)


def run_in_helper_thread(coroutine: Coroutine[Any, Any, object]) -> object:
    """Run ``coroutine`` with ``asyncio.run`` in a new thread; Ctrl-C cancels it."""
    __tracebackhide__ = True
    outcome: concurrent.futures.Future[object] = concurrent.futures.Future()
    started: concurrent.futures.Future[tuple[asyncio.AbstractEventLoop, asyncio.Task[Any]]]
    started = concurrent.futures.Future()

    async def main() -> object:
        task = asyncio.current_task()
        assert task is not None
        started.set_result((asyncio.get_running_loop(), task))
        return await coroutine

    def serve() -> None:
        try:
            outcome.set_result(asyncio.run(main()))
        except BaseException as exc:  # handed to the waiting thread, which raises it
            outcome.set_exception(exc)

    # The cell sees the context variables it would see in the kernel's thread.
    context = contextvars.copy_context()
    thread = threading.Thread(target=context.run, args=(serve,), name="gilwise-cell-loop")
    thread.start()
    try:
        return outcome.result()
    except KeyboardInterrupt:
        if started.done():
            loop, task = started.result()
            loop.call_soon_threadsafe(task.cancel)
        raise
    finally:
        thread.join()


def without_host_loop(report: Report, host_loop: asyncio.AbstractEventLoop | None) -> Report:
    """``report`` without the loop that was running the magic itself (Jupyter's kernel).

    That loop is blocked for as long as any cell runs, so it would make every cell
    longer than the stall threshold ``LOOP_BLOCKED``: a fact about notebooks, not about
    the cell. Its lag is also in the timeline's worst-lag figures, which go with it.
    """
    if host_loop is None:
        return report
    here = threading.get_ident()
    kept = tuple(
        loop
        for loop in report.loops
        if not (loop.loop_id == id(host_loop) and loop.thread_ident == here)
    )
    if len(kept) == len(report.loops):
        return report
    from ..monitor import verdicts_for

    timeline = tuple(replace(point, loop_lag_max_ms=None) for point in report.timeline)
    trimmed = report.with_updates(loops=kept, timeline=timeline)
    return trimmed.with_updates(verdicts=verdicts_for(trimmed))


# -- showing the report ----------------------------------------------------------------


def renders_html(shell: Any) -> bool:
    """Whether the front end shows HTML (a notebook), not only text (a terminal)."""
    formatter = shell.display_formatter.formatters.get("text/html")
    return bool(formatter is not None and formatter.enabled)


def uses_color(shell: Any) -> bool:
    return str(getattr(shell, "colors", "nocolor")).lower() != "nocolor"


def summary_text(report: Report, *, color: bool = False) -> str:
    """The terminal summary as text (with ANSI colours if ``color``)."""
    from rich.console import Console

    from ..report import render_summary

    buffer = io.StringIO()
    width = shutil.get_terminal_size((TEXT_WIDTH, 24)).columns if sys.stdout.isatty() else None
    console = Console(
        file=buffer,
        width=width or TEXT_WIDTH,
        force_terminal=color,
        force_jupyter=False,  # rich would otherwise display it itself, as HTML
        color_system="standard" if color else None,
        highlight=False,
    )
    render_summary(report, console)
    return buffer.getvalue()


def report_page(report: Report) -> str:
    """The ``gilwise run --html`` page of ``report``; ExtraNotInstalled without the extra."""
    from ..report import require_html

    require_html()
    from ..report import run_html

    return run_html(report)


def iframe(page: str) -> str:
    """The page in an iframe: its styles and script stay apart from the notebook's."""
    # srcdoc keeps the report inside the notebook (no file, no server) and same-origin,
    # so the frame can grow to the page's height once it has loaded.
    grow = (
        "this.style.height=Math.min(this.contentDocument.documentElement.scrollHeight+4,4000)+'px'"
    )
    return (
        f'<iframe title="gilwise report" srcdoc="{html.escape(page, quote=True)}" '
        'style="width:100%;height:720px;border:1px solid #ddd;resize:vertical" '
        f'onload="{grow}"></iframe>'
    )


def write_outputs(report: Report, options: CellOptions, page: str | None) -> None:
    """Write the ``--json`` / ``--html`` files; a failure is one line, not an error."""
    from .._core._files import write_atomic

    files: list[tuple[str | None, Callable[[], str]]] = [
        (options.json_path, lambda: report.to_json(indent=2) + "\n"),
        (options.html_path, lambda: page if page is not None else report_page(report)),
    ]
    for path, text in files:
        if path is None:
            continue
        try:
            write_atomic(path, text())
        except (OSError, GilwiseError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            print(f"gilwise: could not write {path}: {reason}", file=sys.stderr)
