"""The ``gilwise`` command line: a thin layer that parses, dispatches and maps errors."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence

from ._errors import GilwiseError
from ._version import __version__
from .report._outputs import add_flags, flags_with_value, requested

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs `gilwise run` start-up time
    from typing import Any, NoReturn

_RUN_FLAGS_WITH_VALUE = {"--interval", "--stall-ms", *flags_with_value()}

_LIVE_HELP = (
    "show the figures so far while it runs, redrawn every second on a terminal "
    "(a status line every 5 s when stderr is not one)"
)


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The command line's parser; given a known ``command``, with only that subcommand.

    Building every subcommand's options costs a few milliseconds that `gilwise run` would
    add to the program's start-up; help and unknown commands still see them all.
    """
    parser = _Parser(
        prog="gilwise",
        description="Work with the GIL, not against it: measure what concurrency really "
        "does in your Python program.",
    )
    parser.add_argument("--version", action="version", version=f"gilwise {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)
    for name, add in _SUBCOMMANDS.items():
        if command not in _SUBCOMMANDS or command == name:
            add(commands)
    return parser


class _Parser(argparse.ArgumentParser):
    """argparse's parser, with help formatted to the terminal's width found without shutil."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", _formatter)
        super().__init__(**kwargs)


def _formatter(prog: str) -> argparse.HelpFormatter:
    # argparse asks shutil for the width, and loading shutil loads zlib, bz2 and lzma:
    # 2.5 ms added to every `gilwise run`, for help that is rarely printed.
    return argparse.HelpFormatter(prog, width=_columns() - 2)


def _columns() -> int:
    """The terminal's width as shutil.get_terminal_size gives it: $COLUMNS, stdout's, 80."""
    try:
        return int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        pass
    try:
        return os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
    except (AttributeError, ValueError, OSError):
        return 80


def _add_run(commands: argparse._SubParsersAction[_Parser]) -> None:
    run = commands.add_parser(
        "run",
        help="run a script or module under the monitor and summarise what it did",
        usage="gilwise run [options] (script.py | -m module) [args ...]",
        description="Run a program exactly as python would, watching GIL contention, "
        "per-thread CPU time and event-loop stalls; print a summary to stderr at the end.",
    )
    run.add_argument(
        "--interval",
        type=float,
        default=0.01,
        metavar="S",
        help="sampling interval in seconds (default 0.01, i.e. 100 Hz)",
    )
    run.add_argument(
        "--stall-ms",
        type=float,
        default=100.0,
        metavar="MS",
        help="an event loop that does not come back for this long is stalled (default 100)",
    )
    run.add_argument(
        "--no-gil-watcher",
        dest="gil_watcher",
        action="store_false",
        help="count GIL waits from inside only, without the child process that reads the "
        "threads' states from outside (Linux)",
    )
    add_flags(run, "run")
    run.add_argument("--live", action="store_true", help=_LIVE_HELP)
    run.add_argument("-m", dest="module", metavar="MODULE", help="run a module, like python -m")


def _add_tour(commands: argparse._SubParsersAction[_Parser]) -> None:
    tour = commands.add_parser(
        "tour",
        help="prove the core lessons of Python concurrency live on this machine",
        description="Measure, on this machine, what the GIL means for CPU work, I/O, C "
        "extensions, event loops, pickling, latency and races: about 25 seconds.",
    )
    tour.add_argument("--quick", action="store_true", help="shorter runs, about 15 seconds")
    tour.add_argument("--only", metavar="N,N", help="run only these lessons, by number (e.g. 1,4)")
    add_flags(tour, "tour", quiet=False)


def _add_report(commands: argparse._SubParsersAction[_Parser]) -> None:
    report = commands.add_parser(
        "report",
        help="show a report saved with --json again, or render it as HTML or a trace",
        description="Read a report saved by run, attach, advise or tour with --json and "
        "print its summary again, or write it in another form (HTML, a trace).",
    )
    report.add_argument("saved", metavar="SAVED.json", help="a report written with --json")
    add_flags(report, None)


def _add_attach(commands: argparse._SubParsersAction[_Parser]) -> None:
    attach = commands.add_parser(
        "attach",
        help="watch a running CPython 3.14+ process without restarting it",
        description="Start gilwise's monitor inside a running CPython 3.14+ process "
        "(sys.remote_exec, PEP 768), watch it for a while, then stop the monitor and print "
        "the same summary as `gilwise run`. Needs the permissions a debugger needs, and "
        "gilwise installed in the target's environment.",
    )
    attach.add_argument("pid", type=_pid, metavar="PID", help="the process to watch")
    attach.add_argument(
        "--duration",
        type=float,
        metavar="S",
        help="watch for S seconds (default: until Ctrl-C or until the process exits)",
    )
    attach.add_argument(
        "--interval", type=float, default=0.01, metavar="S", help="sampling interval (0.01)"
    )
    attach.add_argument(
        "--stall-ms", type=float, default=100.0, metavar="MS", help="stall threshold (100)"
    )
    add_flags(attach, "run")
    attach.add_argument("--live", action="store_true", help=_LIVE_HELP)


def _pid(text: str) -> int:
    try:
        pid = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a process ID (a number)") from None
    if pid <= 0:
        raise argparse.ArgumentTypeError(f"{pid} is not a process ID (a positive number)")
    return pid


def _add_advise(commands: argparse._SubParsersAction[_Parser]) -> None:
    advise = commands.add_parser(
        "advise",
        help="measure a function under threads, processes and asyncio; recommend one",
        description="Call FUNCTION on the inputs serially, in a thread pool, a process pool "
        "and asyncio across worker counts; print the fastest simple choice, why, and code "
        "to apply it.",
    )
    advise.add_argument(
        "target", metavar="TARGET", help="the function: package.module:function or file.py:function"
    )
    advise.add_argument(
        "--inputs",
        required=True,
        metavar="SPEC",
        help="items to call it on: module:name or file.py:name naming a list of items or a "
        "function returning an iterable of them, or a .json list / .jsonl file",
    )
    advise.add_argument(
        "--budget", type=float, default=20.0, metavar="S", help="seconds to spend (default 20)"
    )
    advise.add_argument(
        "--backends",
        metavar="LIST",
        help="comma-separated subset of serial,thread,process,asyncio,interpreter",
    )
    advise.add_argument(
        "--start-method",
        metavar="NAME",
        help="multiprocessing start method for the process pool (default: the platform's)",
    )
    advise.add_argument(
        "--python",
        metavar="PATH",
        help="a free-threaded CPython (python3.13t, 3.14t): also measure its threads, "
        "which run Python without the GIL",
    )
    add_flags(advise, "advise")


def _add_check(commands: argparse._SubParsersAction[_Parser]) -> None:
    check = commands.add_parser(
        "check",
        help="find concurrency pitfalls in source code (asyncio, threading, multiprocessing)",
        description="Check Python files for concurrency pitfalls: blocking calls in "
        "coroutines, dropped tasks and futures, unjoined threads, unpicklable process tasks, "
        "pools at import time. Exit 1 when something is found, 0 when clean, 2 on usage errors.",
    )
    check.add_argument("paths", nargs="*", metavar="PATH", help="files or folders (default .)")
    check.add_argument(
        "--format",
        choices=["text", "json", "sarif", "github"],
        default="text",
        help="output format (default text: path:line:col: CODE message)",
    )
    check.add_argument("--select", metavar="CODES", help="only these codes or prefixes (GW1,GW301)")
    check.add_argument("--ignore", metavar="CODES", help="skip these codes or prefixes")
    check.add_argument(
        "--exclude", metavar="PATTERNS", help="more gitignore-style patterns to skip (a,b)"
    )
    check.add_argument(
        "--no-respect-gitignore",
        action="store_true",
        help="check files that .gitignore lists too",
    )
    check.add_argument(
        "--force-exclude",
        action="store_true",
        help="apply excludes to files named on the command line too (for pre-commit)",
    )
    check.add_argument(
        "--no-cache",
        action="store_true",
        help="check every file again, without reading or writing .gilwise_cache",
    )
    check.add_argument(
        "--jobs",
        type=int,
        metavar="N",
        help="processes that check files (default: one per core; 1: only this one)",
    )
    check.add_argument("--config", metavar="PATH", help="read [tool.gilwise.check] from PATH")
    check.add_argument("--output", metavar="PATH", help="write the report to PATH, not stdout")
    check.add_argument(
        "--exit-zero", action="store_true", help="exit 0 even when problems are found"
    )
    check.add_argument("--explain", metavar="CODE", help="print a rule's documentation and exit")
    check.add_argument("--list-rules", action="store_true", help="list every rule and exit")


#: Subcommands in the order help lists them.
_SUBCOMMANDS: dict[str, Callable[[argparse._SubParsersAction[_Parser]], None]] = {
    "run": _add_run,
    "attach": _add_attach,
    "advise": _add_advise,
    "check": _add_check,
    "tour": _add_tour,
    "report": _add_report,
}


def _split_run_args(argv: list[str]) -> tuple[list[str], list[str]]:
    """Split ``run``'s own options from the program and its arguments.

    Everything from the script name (or the token after ``-m``) on belongs to the
    program, even tokens that look like gilwise options.
    """
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "--":
            return argv[:i], argv[i + 1 :]
        if token == "-m":
            return argv[: i + 2], argv[i + 2 :]
        if token.startswith("-m") and len(token) > 2:
            return [*argv[:i], "-m", token[2:]], argv[i + 1 :]
        if token in _RUN_FLAGS_WITH_VALUE:
            i += 2
            continue
        if token.startswith("-"):
            i += 1
            continue
        return argv[:i], argv[i:]
    return argv, []


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``gilwise`` command; returns the exit status."""
    args = list(sys.argv[1:] if argv is None else argv)
    parser = _parser(args[0] if args else None)
    # Under `run` these are the program's own: python reports them, and so must we.
    own_errors = () if args[:1] == ["run"] else (KeyboardInterrupt, BrokenPipeError)
    try:
        status = _dispatch(parser, args)
    except own_errors as exc:
        if isinstance(exc, KeyboardInterrupt):
            print("gilwise: interrupted", file=sys.stderr)
            _exit_now(130)
        # Output piped into `head` or a pager that quit: stop quietly, like other CLIs.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115  (python flushes it at exit)
        return 1
    except GilwiseError as exc:
        # Errors gilwise raises on purpose are one line; anything else is a bug and keeps
        # its traceback.
        print(f"gilwise: {exc}", file=sys.stderr)
        status = exc.exit_code
    if _work_left_running():
        _exit_now(status)
    return status


def _work_left_running() -> bool:
    """Whether ``advise`` abandoned a trial still running at its budget's end."""
    guard = sys.modules.get("gilwise.advise._guard")
    return guard is not None and bool(guard.work_left_running())


def _exit_now(status: int) -> NoReturn:
    """End the process now, its worker processes with it.

    A normal exit would wait for the threads a stopped trial or a Ctrl-C left behind
    (the interpreter joins pool threads at exit), possibly forever.
    """
    import contextlib
    import multiprocessing

    for child in multiprocessing.active_children():
        child.kill()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed pipe: nothing more to say
            stream.flush()
    os._exit(status)


def _dispatch(parser: argparse.ArgumentParser, args: list[str]) -> int:
    if args and args[0] == "run":
        own, program = _split_run_args(args[1:])
        options = parser.parse_args(["run", *own])
        return _run(parser, options, program)
    options = parser.parse_args(args)
    if options.command == "attach":
        return _attach(options)
    if options.command == "advise":
        return _advise(options)
    if options.command == "tour":
        return _tour(parser, options)
    if options.command == "check":
        return _check(options)
    if options.command == "report":
        return _report(options)
    parser.print_help(sys.stderr)
    return 2


def _advise(options: argparse.Namespace) -> int:
    from .commands import advise_function

    backends = None if options.backends is None else options.backends.split(",")
    return advise_function(
        target=options.target,
        inputs=options.inputs,
        budget=options.budget,
        backends=[b.strip() for b in backends if b.strip()] if backends else None,
        start_method=options.start_method,
        python=options.python,
        outputs=requested(options, "advise"),
        quiet=options.quiet,
    )


def _run(parser: argparse.ArgumentParser, options: argparse.Namespace, program: list[str]) -> int:
    from .commands import run_program

    if options.module is None and not program:
        parser.error("run: give a script to run, or -m MODULE")
    return run_program(
        script=None if options.module else program[0],
        module=options.module,
        args=program if options.module else program[1:],
        interval=options.interval,
        stall_ms=options.stall_ms,
        outputs=requested(options, "run"),
        quiet=options.quiet,
        live=options.live,
        gil_watcher=options.gil_watcher,
    )


def _attach(options: argparse.Namespace) -> int:
    from .commands import attach_process

    return attach_process(
        pid=options.pid,
        duration=options.duration,
        interval=options.interval,
        stall_ms=options.stall_ms,
        outputs=requested(options, "run"),
        quiet=options.quiet,
        live=options.live,
    )


def _tour(parser: argparse.ArgumentParser, options: argparse.Namespace) -> int:
    from .commands import take_tour

    only = None
    if options.only:
        try:
            only = [int(n) for n in options.only.split(",") if n.strip()]
        except ValueError:
            parser.error(f"tour: --only takes lesson numbers like 1,4, not {options.only!r}")
    return take_tour(quick=options.quick, only=only, outputs=requested(options, "tour"))


def _report(options: argparse.Namespace) -> int:
    from .commands import render_saved

    return render_saved(path=options.saved, outputs=requested(options, None), quiet=options.quiet)


def _check(options: argparse.Namespace) -> int:
    from .commands import check_code, explain_rule, list_rules

    if options.explain:
        return explain_rule(options.explain)
    if options.list_rules:
        return list_rules()
    return check_code(
        paths=options.paths,
        output_format=options.format,
        select=_codes(options.select),
        ignore=_codes(options.ignore),
        exclude=_codes(options.exclude),
        respect_gitignore=not options.no_respect_gitignore,
        force_exclude=options.force_exclude,
        config_path=options.config,
        output=options.output,
        exit_zero=options.exit_zero,
        cache=not options.no_cache,
        jobs=options.jobs,
    )


def _codes(value: str | None) -> list[str] | None:
    return None if value is None else [v.strip() for v in value.split(",") if v.strip()]
