"""The gilwise pytest plugin: ``pytest --gilwise`` watches each test with the monitor.

Each test (setup, call and teardown) runs under its own monitor. A test whose event
loop stalled for longer than allowed (``@pytest.mark.gilwise(max_stall_ms=50)``,
``--gilwise-max-stall-ms`` or the ``gilwise_max_stall_ms`` ini option) fails with the
stall's duration and the blocking line; the terminal summary lists the tests with the
worst loop lag and GIL contention.

Without ``--gilwise`` this module registers its options and marker and nothing else:
no hook runs per test and the monitor is not imported. A monitor that fails is
reported as a warning; it never fails or stops the test run.

The figures travel on the teardown report's ``user_properties`` (keys ``gilwise_*``),
and a report that failed for a stall names its phase there too: under pytest-xdist
the workers' reports reach the controller, which alone prints the summary, and JUnit
XML reports carry them.
"""

from __future__ import annotations

import contextlib
import linecache
import warnings
from dataclasses import dataclass, field

import pytest

from .._core._where import where

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Generator, Mapping

    from ..monitor import Frame, LoopReport, Monitor, Report, Stall

#: Stall threshold when no limit applies (the monitor's default).
DEFAULT_STALL_MS = 100.0

#: Frames of the culprit stack shown in a failure (the innermost ones).
FRAMES_SHOWN = 8

#: Share of time with a GIL waiter from which a test is listed in the summary: below
#: it, a short single-threaded test's estimate is mostly noise (up to ~7% seen here).
GIL_LISTED_FROM = 0.1

_PREFIX = "gilwise_"
#: Property naming the phase ("call" or "teardown") that failed for a stall.
_OVER_LIMIT = _PREFIX + "over_limit_in"


class GilwisePytestWarning(pytest.PytestWarning):
    """The gilwise plugin could not watch a test (the test itself ran as usual)."""


# -- registration: cheap, always ------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("gilwise", "gilwise: event-loop stalls and GIL contention per test")
    group.addoption(
        "--gilwise",
        action="store_true",
        default=False,
        help="watch each test with gilwise: event-loop lag and stalls, GIL contention; "
        "fail tests over their stall limit; print the worst tests at the end.",
    )
    group.addoption(
        "--gilwise-max-stall-ms",
        type=float,
        default=None,
        metavar="MS",
        help="fail a test whose event loop stalled for more than MS milliseconds "
        "(overrides the gilwise_max_stall_ms ini option; a marker overrides both).",
    )
    group.addoption(
        "--gilwise-top",
        type=int,
        default=5,
        metavar="N",
        help="tests listed per table in the gilwise summary (default 5; 0: no tables).",
    )
    parser.addini(
        "gilwise_max_stall_ms",
        "with --gilwise, fail a test whose event loop stalled for more than this many ms",
        default="",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "gilwise(max_stall_ms=None, enabled=True): with --gilwise, fail the test if its "
        "event loop stalls for more than max_stall_ms; enabled=False leaves it unwatched.",
    )
    if not config.getoption("gilwise", default=False):
        return
    top = config.getoption("gilwise_top")
    if top < 0:
        raise pytest.UsageError(f"--gilwise-top must be 0 or more, got {top}")
    plugin = GilwisePlugin(_session_limit(config), top, str(config.rootpath))
    config.pluginmanager.register(plugin, "gilwise-monitor")


@dataclass(frozen=True)
class Limit:
    """A stall limit and where it was set (for the failure message)."""

    max_stall_ms: float
    source: str


def _session_limit(config: pytest.Config) -> Limit | None:
    cli = config.getoption("gilwise_max_stall_ms")
    if cli is not None:
        return Limit(_valid_limit(cli, "--gilwise-max-stall-ms"), f"--gilwise-max-stall-ms={cli:g}")
    raw = str(config.getini("gilwise_max_stall_ms")).strip()
    if not raw:
        return None
    where = f"gilwise_max_stall_ms = {raw} in {config.inipath.name if config.inipath else 'ini'}"
    try:
        value = float(raw)
    except ValueError:
        raise pytest.UsageError(
            f"gilwise_max_stall_ms must be a number of milliseconds, got {raw!r}"
        ) from None
    return Limit(_valid_limit(value, "gilwise_max_stall_ms"), where)


def _valid_limit(value: float, name: str) -> float:
    if not (1.0 <= value <= 600_000):
        raise pytest.UsageError(
            f"{name} must be between 1 and 600000 ms, got {value:g}; try 50 or 100"
        )
    return value


# -- per-test watching: only with --gilwise --------------------------------------------


@dataclass
class _TestState:
    monitor: Monitor | None
    limit: Limit | None
    failed_for: set[tuple[int, float]] = field(default_factory=set)
    call_passed: bool = False


_STATE = pytest.StashKey[_TestState]()


@dataclass(frozen=True)
class WatchedTest:
    """What one test's monitor measured, as carried on its teardown report."""

    nodeid: str
    loops: int
    max_lag_ms: float
    p99_lag_ms: float
    stalls: int
    worst_stall_ms: float
    culprit: str
    gil_wait_fraction: float | None
    gil_waiting_threads: float | None
    #: Whether the GIL figure can be trusted: counted from the kernel's thread states, or
    #: estimated from enough samples (a 50 ms test under load read 30% from five).
    gil_measured: bool = True


class GilwisePlugin:
    """The per-test hooks, registered by ``pytest_configure`` when ``--gilwise`` is given."""

    def __init__(self, limit: Limit | None, top: int, rootdir: str) -> None:
        self._limit = limit
        self._top = top
        self._rootdir = rootdir
        self._figures: list[WatchedTest] = []
        self._problems: dict[str, int] = {}
        self._warned: dict[str, int] = {}
        self._over_limit = OverLimit()

    # -- hooks ----------------------------------------------------------------------------

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> Generator[None, None, None]:
        # Outermost wrapper: the monitor starts before any fixture (an event loop
        # fixture included) and stops after the last finalizer.
        marker_error = self._begin(item)
        result = yield
        if marker_error is not None:
            # Failed only now, once every other plugin has set the test up: their
            # teardown expects their setup to have run.
            pytest.fail(marker_error, pytrace=False)
        return result

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        try:
            result = yield
        except BaseException:
            self._describe_on_failure(item)
            raise
        self._enforce(item, "call")
        return result

    @pytest.hookimpl(wrapper=True, tryfirst=True)
    def pytest_runtest_teardown(
        self, item: pytest.Item, nextitem: pytest.Item | None
    ) -> Generator[None, None, None]:
        try:
            result = yield
        except BaseException:
            self._finish(item, enforce=False)
            raise
        self._finish(item, enforce=True)
        return result

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # Counted from the reports, not where the test ran: under pytest-xdist the
        # tests run in the workers and only their reports reach this controller.
        self._over_limit.count(report)
        if report.when != "teardown":
            return
        figures = _figures_from(report)
        if figures is not None:
            self._figures.append(figures)

    def pytest_warning_recorded(self, warning_message: warnings.WarningMessage) -> None:
        # Under pytest-xdist the workers' warnings come back to the controller here;
        # our own come here too, and are counted already.
        if not isinstance(warning_message.message, GilwisePytestWarning):
            return
        message = str(warning_message.message)
        if self._warned.get(message, 0) > 0:
            self._warned[message] -= 1
            return
        self._note_problem(message, warn=False)

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        if _is_xdist_worker(terminalreporter.config):
            return  # the controller prints the one summary, from every worker's reports
        for line in summary_lines(
            self._figures, self._limit, self._top, self._problems, self._over_limit
        ):
            if line.startswith("="):
                terminalreporter.write_sep("=", line.strip("= "))
            else:
                terminalreporter.write_line(line)

    # -- the steps --------------------------------------------------------------------------

    def _begin(self, item: pytest.Item) -> str | None:
        """Start the test's monitor; return what is wrong with its marker, if anything."""
        try:
            limit, enabled = self._test_limit(item)
        except _MarkerError as exc:
            return str(exc)
        if not enabled:
            return None
        state = _TestState(monitor=None, limit=limit)
        item.stash[_STATE] = state
        try:
            from ..monitor import Monitor, MonitorConfig

            stall_ms = (
                DEFAULT_STALL_MS if limit is None else min(DEFAULT_STALL_MS, limit.max_stall_ms)
            )
            # Look for loops every tick: a test's loop may live for a few ticks only. No GIL
            # watcher process: one per test would cost a suite of thousands ~25 ms of CPU
            # per test to start, for GIL figures the plugin does not judge tests by.
            monitor = Monitor(
                MonitorConfig(stall_ms=stall_ms, loop_scan_every=1, gil_watcher=False)
            )
            # Before the test's own threads: beside busy ones the set-up took most of a
            # short test, and a count that began so late is not given. The calibration
            # runs once per process; later monitors reuse what it found.
            monitor.set_up_early()
            monitor.start()
            state.monitor = monitor
        except Exception as exc:
            self._note_problem(f"could not start the monitor for {item.nodeid}: {_text(exc)}")
        return None

    def _test_limit(self, item: pytest.Item) -> tuple[Limit | None, bool]:
        marker = item.get_closest_marker("gilwise")
        if marker is None:
            return self._limit, True
        return _marker_limit(marker.args, marker.kwargs, self._limit)

    def _enforce(self, item: pytest.Item, phase: str) -> None:
        state = item.stash.get(_STATE, None)
        if state is None or state.monitor is None:
            return
        try:
            report = state.monitor.report()
        except Exception as exc:
            self._note_problem(f"could not read the monitor for {item.nodeid}: {_text(exc)}")
            return
        if phase == "call":
            state.call_passed = True
        self._fail_if_over(item, state, report, phase)

    def _fail_if_over(
        self, item: pytest.Item, state: _TestState, report: Report, phase: str
    ) -> None:
        limit = state.limit
        if limit is None:
            return
        over = [
            (loop, stall)
            for loop, stall in stalls_over(report, limit.max_stall_ms)
            if _stall_key(loop, stall) not in state.failed_for
        ]
        if not over:
            return
        state.failed_for.update(_stall_key(loop, stall) for loop, stall in over)
        # The report of this phase is made after this, from the item's properties.
        item.user_properties.append((_OVER_LIMIT, phase))
        pytest.fail(failure_message(over, limit, phase, self._rootdir), pytrace=False)

    def _describe_on_failure(self, item: pytest.Item) -> None:
        state = item.stash.get(_STATE, None)
        if state is None or state.monitor is None:
            return
        try:
            report = state.monitor.report()
            text = stalls_section(report, self._rootdir)
            if text:
                item.add_report_section("call", "gilwise", text)
        except Exception as exc:
            self._note_problem(f"could not read the monitor for {item.nodeid}: {_text(exc)}")

    def _finish(self, item: pytest.Item, enforce: bool) -> None:
        state = item.stash.get(_STATE, None)
        if state is None or state.monitor is None:
            return
        monitor, state.monitor = state.monitor, None
        try:
            report = monitor.stop()
            item.user_properties.extend(_properties(report, self._rootdir))
            if report.monitor_errors:
                self._note_problem(
                    f"the monitor had trouble in {item.nodeid}: " + "; ".join(report.monitor_errors)
                )
        except Exception as exc:
            self._note_problem(f"could not stop the monitor for {item.nodeid}: {_text(exc)}")
            return
        if enforce and state.call_passed:
            self._fail_if_over(item, state, report, "teardown")

    def _note_problem(self, message: str, warn: bool = True) -> None:
        self._problems[message] = self._problems.get(message, 0) + 1
        if not warn:
            return
        self._warned[message] = self._warned.get(message, 0) + 1
        # Under -W error the warning raises: still never fail a test for the monitor.
        with contextlib.suppress(Warning):
            warnings.warn(GilwisePytestWarning(message), stacklevel=2)


class _MarkerError(Exception):
    pass


def _is_xdist_worker(config: pytest.Config) -> bool:
    # pytest-xdist gives each worker's config its `workerinput`, and the controller none.
    return hasattr(config, "workerinput")


@dataclass
class OverLimit:
    """Tests that failed for a stall over the limit: failures (call) and errors apart."""

    failed: int = 0
    errors: int = 0

    def count(self, report: pytest.TestReport) -> None:
        """Count ``report`` if it failed for a stall: a failure in call, an error after."""
        if not report.failed or not any(
            name == _OVER_LIMIT and value == report.when for name, value in report.user_properties
        ):
            return
        if report.when == "call":
            self.failed += 1
        else:
            self.errors += 1

    def text(self) -> str:
        """``"; 1 failed and 1 errored ... for a stall over the limit"``, or nothing."""
        parts = [f"{self.failed} failed"] if self.failed else []
        if self.errors:
            parts.append(f"{self.errors} errored at teardown")
        return f"; {' and '.join(parts)} for a stall over the limit" if parts else ""


def _marker_limit(
    args: tuple[object, ...], kwargs: Mapping[str, object], default: Limit | None
) -> tuple[Limit | None, bool]:
    """The limit a ``@pytest.mark.gilwise(...)`` sets, and whether the test is watched."""
    unknown = set(kwargs) - {"max_stall_ms", "enabled"}
    if unknown or len(args) > 1 or (args and "max_stall_ms" in kwargs):
        raise _MarkerError(
            "@pytest.mark.gilwise takes max_stall_ms= (milliseconds or None) and enabled= "
            f"(True or False), got args={args!r} kwargs={kwargs!r}"
        )
    enabled = kwargs.get("enabled", True)
    if not isinstance(enabled, bool):
        raise _MarkerError(
            f"@pytest.mark.gilwise(enabled=...) takes True or False, got {enabled!r}"
        )
    if not args and "max_stall_ms" not in kwargs:
        return default, enabled
    value = args[0] if args else kwargs["max_stall_ms"]
    if value is None:
        return None, enabled
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _MarkerError(
            f"@pytest.mark.gilwise(max_stall_ms=...) takes milliseconds or None, got {value!r}"
        )
    if not (1.0 <= value <= 600_000):
        raise _MarkerError(
            f"@pytest.mark.gilwise(max_stall_ms=...) must be between 1 and 600000, got {value!r}"
        )
    return Limit(float(value), f"@pytest.mark.gilwise(max_stall_ms={value:g})"), enabled


# -- reading a report -------------------------------------------------------------------


def stalls_over(report: Report, max_stall_ms: float) -> list[tuple[LoopReport, Stall]]:
    """Stalls longer than ``max_stall_ms``, longest first."""
    over = [
        (loop, stall)
        for loop in report.loops
        for stall in loop.stalls
        if stall.duration_ms > max_stall_ms
    ]
    return sorted(over, key=lambda pair: -pair[1].duration_ms)


def _stall_key(loop: LoopReport, stall: Stall) -> tuple[int, float]:
    return (loop.loop_id, stall.started_at_s)


def failure_message(
    over: list[tuple[LoopReport, Stall]], limit: Limit, phase: str, rootdir: str
) -> str:
    """The failure text: the worst stall's duration, blocking line and stack."""
    loop, worst = over[0]
    during = "" if phase == "call" else f" during {phase}"
    lines = [
        f"gilwise: the event loop stalled for {worst.duration_ms:.0f} ms{during}, "
        f"over the {limit.max_stall_ms:g} ms allowed by {limit.source}",
    ]
    lines.extend(_stall_lines(worst, loop, rootdir))
    if len(over) > 1:
        others = ", ".join(f"{stall.duration_ms:.0f} ms" for _, stall in over[1:6])
        more = "" if len(over) <= 6 else f" and {len(over) - 6} more"
        lines.append(f"  {len(over) - 1} more stalls over the limit: {others}{more}")
    return "\n".join(lines)


def stalls_section(report: Report, rootdir: str) -> str:
    """Every stall of a failed test, for its report section."""
    lines = []
    for loop in report.loops:
        for stall in loop.stalls:
            lines.append(f"stall of {stall.duration_ms:.0f} ms:")
            lines.extend(_stall_lines(stall, loop, rootdir))
    return "\n".join(lines)


def _stall_lines(stall: Stall, loop: LoopReport, rootdir: str) -> list[str]:
    lines = [f"  loop: {loop.loop_class} in thread {loop.thread_name!r}"]
    if stall.culprit is None:
        lines.append("  blocking call: not seen (the loop stalled before the monitor found it)")
        return lines
    lines.append(f"  blocking call: {_where(stall.culprit, rootdir)}")
    source = linecache.getline(stall.culprit.file, stall.culprit.line).strip()
    if source:
        lines.append(f"      {source}")
    if stall.coroutine is not None and stall.coroutine != stall.culprit:
        lines.append(f"  in coroutine:  {_where(stall.coroutine, rootdir)}")
    frames = callback_frames(stall.stack)[-FRAMES_SHOWN:]
    lines.append("  stack (most recent call last):")
    if len(stall.stack) > len(frames):
        lines.append(f"    ... {len(stall.stack) - len(frames)} outer frames (pytest, the loop)")
    lines.extend(f"    {_where(frame, rootdir)}" for frame in frames)
    return lines


def callback_frames(stack: tuple[Frame, ...]) -> tuple[Frame, ...]:
    """The frames the loop was running when it stalled: those above its callback runner.

    Below them sit pytest, the async plugin and the loop's own machinery, the same in
    every failure; above them is the test's code.
    """
    for index in range(len(stack) - 1, -1, -1):
        frame = stack[index]
        if frame.function.endswith("Handle._run") and "asyncio" in frame.file:
            return stack[index + 1 :] or stack
    return stack


def _where(frame: Frame, rootdir: str) -> str:
    return where(frame.file, frame.line, frame.function, relative_to=rootdir)


# -- figures on reports, and the summary -----------------------------------------------


def _properties(report: Report, rootdir: str) -> list[tuple[str, object]]:
    from ..monitor import FEW_SAMPLES  # the monitor loads only with --gilwise

    loops = report.loops
    stalls = [(loop, stall) for loop in loops for stall in loop.stalls]
    worst = max(stalls, key=lambda pair: pair[1].duration_ms, default=None)
    culprit = ""
    if worst is not None and worst[1].culprit is not None:
        culprit = _where(worst[1].culprit, rootdir)
    values: dict[str, object] = {
        "loops": len(loops),
        "max_lag_ms": max((loop.lag.max_ms for loop in loops), default=0.0),
        "p99_lag_ms": max((loop.lag.p99_ms for loop in loops), default=0.0),
        "stalls": sum(loop.stalls_total for loop in loops),
        "worst_stall_ms": worst[1].duration_ms if worst else 0.0,
        "culprit": culprit,
        "gil_wait_fraction": report.gil.wait_fraction,
        "gil_waiting_threads": report.gil.mean_waiting_threads,
        "gil_measured": report.gil.method.startswith("counted")
        or report.gil.probe.count >= FEW_SAMPLES,
    }
    return [(_PREFIX + key, value) for key, value in values.items()]


def _figures_from(report: pytest.TestReport) -> WatchedTest | None:
    values = {
        name[len(_PREFIX) :]: value
        for name, value in report.user_properties
        if isinstance(name, str) and name.startswith(_PREFIX)
    }
    if "loops" not in values:
        return None
    try:
        return WatchedTest(
            nodeid=report.nodeid,
            loops=int(_number(values["loops"])),
            max_lag_ms=_number(values["max_lag_ms"]),
            p99_lag_ms=_number(values["p99_lag_ms"]),
            stalls=int(_number(values["stalls"])),
            worst_stall_ms=_number(values["worst_stall_ms"]),
            culprit=str(values.get("culprit", "")),
            gil_wait_fraction=_optional_number(values.get("gil_wait_fraction")),
            gil_waiting_threads=_optional_number(values.get("gil_waiting_threads")),
            gil_measured=values.get("gil_measured", True) is not False,
        )
    except (KeyError, ValueError):  # properties of another plugin's making: not ours
        return None


def _number(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(value)
    return float(value)


def _optional_number(value: object) -> float | None:
    return None if value is None else _number(value)


def summary_lines(
    figures: list[WatchedTest],
    limit: Limit | None,
    top: int,
    problems: dict[str, int],
    over_limit: OverLimit,
) -> list[str]:
    """The terminal summary: worst tests by loop lag and by GIL contention."""
    from ..monitor import FEW_SAMPLES

    lines = ["= gilwise ="]
    with_loops = sorted((f for f in figures if f.loops), key=lambda f: (-f.max_lag_ms, f.nodeid))
    over = [
        f
        for f in figures
        if f.gil_wait_fraction is not None and f.gil_wait_fraction >= GIL_LISTED_FROM
    ]
    contended = sorted(
        (f for f in over if f.gil_measured), key=lambda f: (-(f.gil_wait_fraction or 0.0), f.nodeid)
    )
    too_short = len(over) - len(contended)
    if top and with_loops:
        limit_text = f"limit {limit.max_stall_ms:g} ms, {limit.source}" if limit else "no limit"
        lines.append(f"event-loop lag, worst tests ({limit_text}):")
        for f in with_loops[:top]:
            stalls = f"{f.stalls} stall{'' if f.stalls == 1 else 's'}"
            lines.append(
                f"  max {f.max_lag_ms:7.1f} ms  p99 {f.p99_lag_ms:7.1f} ms  {stalls:<9} {f.nodeid}"
            )
            if f.culprit:
                lines.append(f"      worst stall {f.worst_stall_ms:.0f} ms at {f.culprit}")
    if top and contended:
        lines.append("GIL contention, worst tests (share of time some thread waited for the GIL):")
        for f in contended[:top]:
            waiting = (
                f"{f.gil_waiting_threads:4.1f} threads waiting on average"
                if f.gil_waiting_threads is not None
                else ""
            )
            lines.append(f"  {100 * (f.gil_wait_fraction or 0.0):5.1f}%  {waiting}  {f.nodeid}")
    if top and too_short:
        lines.append(
            f"  ({too_short} more test(s) too short to tell: under {FEW_SAMPLES} samples, "
            "GIL wait estimated)"
        )
    stalled = sum(1 for f in with_loops if f.stalls)
    tally = (
        f"{len(figures)} test{'s' * (len(figures) != 1)} watched: "
        f"{len(with_loops)} ran an event loop "
        f"({stalled} stalled), {len(contended)} waited for the GIL "
        f"{100 * GIL_LISTED_FROM:g}% of the time or more"
    )
    lines.append(tally + over_limit.text())
    for message, count in problems.items():
        times = f" ({count} times)" if count > 1 else ""
        lines.append(f"gilwise could not watch everything: {message}{times}")
    return lines


def _text(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"
