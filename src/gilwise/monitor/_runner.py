"""Run a script or module exactly as ``python`` would, under the monitor.

The program sees the same ``sys.argv``, ``__main__`` module, ``sys.path[0]``, exit
status and traceback as under ``python``. The report is finished after the program's
non-daemon threads have ended (in an ``atexit`` hook registered before the program's
own, so it runs last), and also on ``os._exit`` and SIGTERM, which skip ``atexit``.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import signal
import sys
import types
from collections.abc import Callable
from types import CodeType, TracebackType

from .._errors import TargetInvalid, TargetNotFound, TargetUnsupported
from ._config import MonitorConfig
from ._sampler import Monitor

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, NoReturn

    from ._report import Report


class Target:
    """What to run: compiled code plus the ``__main__`` attributes python would set."""

    # Plain, not a dataclass: this module loads before the program starts.
    __slots__ = ("argv0", "code", "display", "main_attrs", "path0")

    def __init__(
        self, *, code: CodeType, argv0: str, path0: str, main_attrs: dict[str, Any], display: str
    ) -> None:
        self.code = code
        self.argv0 = argv0
        self.path0 = path0
        self.main_attrs = main_attrs
        self.display = display


def script_target(path: str) -> Target:
    """Compile a script, or fail with one line naming the file (and line) at fault."""
    if not os.path.exists(path):
        raise TargetNotFound(f"can't open file {os.path.abspath(path)!r}: no such file")
    if os.path.isdir(path):
        if os.path.isfile(os.path.join(path, "__main__.py")):
            raise _application(path)
        raise TargetNotFound(f"can't find '__main__' module in {os.path.abspath(path)!r}")
    full = os.path.abspath(path)
    try:
        with open(full, "rb") as fh:
            source = fh.read()
    except OSError as exc:
        raise TargetNotFound(f"can't open file {full!r}: {exc.strerror}") from None
    try:
        code = _compile(source, full)
    except TargetInvalid:
        if _is_zip(full):
            raise _application(path) from None
        raise
    return Target(
        code=code,
        argv0=path,
        path0=os.path.dirname(os.path.realpath(full)),
        main_attrs={"__file__": full, "__cached__": None, "__spec__": None, "__loader__": None},
        display=path,
    )


def _application(path: str) -> TargetUnsupported:
    # python would run it (a folder's or a zip's __main__.py); refusing it plainly beats
    # running it unwatched.
    return TargetUnsupported(
        f"{path!r} is an application folder or zip; gilwise run watches a script or "
        "-m MODULE: give its __main__.py, or -m with the package on sys.path"
    )


def _is_zip(path: str) -> bool:
    import zipfile  # only for a file that did not compile: it pulls in pathlib

    try:
        return zipfile.is_zipfile(path)
    except OSError:
        return False


def module_target(name: str) -> Target:
    """Find and compile a module (a package's ``__main__``), like ``python -m``."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations is not None:
            spec = importlib.util.find_spec(f"{name}.__main__")
            if spec is None:
                raise TargetNotFound(
                    f"no module named {name}.__main__; {name!r} is a package and cannot "
                    "be directly executed"
                )
    except ImportError as exc:
        raise TargetNotFound(f"no module named {name!r} ({exc})") from None
    except SyntaxError as exc:
        raise TargetInvalid(_syntax_error_line(exc)) from None
    if spec is None or spec.loader is None:
        raise TargetNotFound(f"no module named {name!r}; check the name and sys.path")
    get_code = getattr(spec.loader, "get_code", None)
    try:
        code = get_code(spec.name) if get_code is not None else None
    except SyntaxError as exc:
        raise TargetInvalid(_syntax_error_line(exc)) from None
    except ImportError as exc:
        raise TargetNotFound(f"cannot load module {name!r}: {exc}") from None
    if code is None:
        raise TargetInvalid(f"module {name!r} has no code to run (is it a C extension?)")
    origin = spec.origin or name
    return Target(
        code=code,
        argv0=origin,
        path0=os.getcwd(),
        main_attrs={
            "__file__": origin,
            "__cached__": spec.cached,
            "__spec__": spec,
            "__loader__": spec.loader,
            "__package__": spec.parent,
        },
        display=f"-m {name}",
    )


def _compile(source: bytes, filename: str) -> CodeType:
    try:
        return compile(source, filename, "exec", dont_inherit=True)
    except SyntaxError as exc:
        raise TargetInvalid(_syntax_error_line(exc)) from None
    except ValueError as exc:  # null bytes in the source
        raise TargetInvalid(f"{filename}: cannot compile: {exc}") from None


def _syntax_error_line(exc: SyntaxError) -> str:
    where = f"{exc.filename}:{exc.lineno}"
    if exc.offset:
        where += f":{exc.offset}"
    return f"{where}: {type(exc).__name__}: {exc.msg}"


Finisher = Callable[["Report"], None]


class Session:
    """One monitored run of a target; finishes the report exactly once."""

    def __init__(self, target: Target, config: MonitorConfig, finish: Finisher | None) -> None:
        """``finish`` receives the report; None when nothing asked for one (none is built)."""
        self.target = target
        self.monitor = Monitor(config)
        self._finish = finish
        self._pid = os.getpid()
        self._done = False
        self.exit_code: int | None = None
        self._die_by: int | None = None
        self._real_exit = os._exit

    def run(self, args: list[str]) -> NoReturn:
        """Run the program; never returns (exits the way python would have)."""
        main = self._install_main(args)
        # atexit runs hooks last-registered-first: this one, registered first, runs last.
        atexit.register(self._die_of_signal)
        atexit.register(self._at_exit)
        self._hook_hard_exits()
        self.monitor.set_up_early()
        self.monitor.start()
        try:
            exec(self.target.code, main.__dict__)
        except SystemExit as exc:
            self.exit_code = _system_exit_code(exc)
            raise
        except BaseException as exc:
            # Let python itself report it: exit status 1, or death by SIGINT for Ctrl-C,
            # after atexit hooks; only hide gilwise's frames from the traceback.
            if isinstance(exc, KeyboardInterrupt):
                self._die_by = signal.SIGINT
            self.exit_code = 128 + self._die_by if self._die_by else 1
            _hide_own_frames(exc, self.target.code.co_filename)
            raise
        self.exit_code = 0
        raise SystemExit(0)

    def _install_main(self, args: list[str]) -> types.ModuleType:
        main = types.ModuleType("__main__")
        main.__dict__.update(self.target.main_attrs)
        main.__dict__["__builtins__"] = __builtins__
        sys.modules["__main__"] = main
        sys.argv[:] = [self.target.argv0, *args]
        sys.path[0] = self.target.path0
        return main

    def _hook_hard_exits(self) -> None:
        real_exit = self._real_exit

        def _exit(status: int) -> NoReturn:
            # os._exit skips atexit: finish the report first, but only in this process
            # (fork children, e.g. multiprocessing workers, call os._exit too).
            if os.getpid() == self._pid:
                self.exit_code = status
                self.finish()
            real_exit(status)

        os._exit = _exit
        if signal.getsignal(signal.SIGTERM) is signal.SIG_DFL:
            signal.signal(signal.SIGTERM, self._on_sigterm)

    def _on_sigterm(self, signum: int, frame: object) -> None:
        self.exit_code = 128 + signum
        self.finish()
        # Die of the same signal, so the parent sees exactly what it would without us.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    def _at_exit(self) -> None:
        self.finish()

    def _die_of_signal(self) -> None:
        # python ends a program stopped by Ctrl-C by killing itself with SIGINT once
        # atexit is done, so its parent sees the signal; under runpy that is lost, so
        # do it here, after every other exit hook.
        if self._die_by is None or os.getpid() != self._pid:
            return
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
        signal.signal(self._die_by, signal.SIG_DFL)
        os.kill(os.getpid(), self._die_by)

    def finish(self) -> None:
        """Stop the monitor and hand the report over (once; never raises)."""
        if self._done or os.getpid() != self._pid:
            return
        self._done = True
        try:
            if self._finish is None:
                self.monitor.halt()
                return
            command = (self.target.display, *sys.argv[1:])
            report = self.monitor.stop(exit_code=self.exit_code, command=command)
            self._finish(report)
        except Exception as exc:  # never let the monitor change how the program ends
            print(f"gilwise: could not finish the report: {exc}", file=sys.stderr)


def _system_exit_code(exc: SystemExit) -> int:
    code = exc.code
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    return 1


def _hide_own_frames(exc: BaseException, user_file: str) -> None:
    """Make the next uncaught-exception report start at the program's own frame."""
    hook = sys.excepthook

    def trimmed_hook(
        exc_type: type[BaseException], value: BaseException, tb: TracebackType | None
    ) -> None:
        sys.excepthook = hook
        if value is exc:
            tb = _from_user_frame(tb, user_file)
            value = value.with_traceback(tb)
        hook(exc_type, value, tb)

    sys.excepthook = trimmed_hook


def _from_user_frame(tb: TracebackType | None, user_file: str) -> TracebackType | None:
    start = tb
    while start is not None and start.tb_frame.f_code.co_filename != user_file:
        start = start.tb_next
    return start if start is not None else tb
