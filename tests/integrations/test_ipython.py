"""``%%gilwise`` / ``%gilwise``: the IPython magics, run in IPython's own test shell."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("IPython")

from IPython.core.error import UsageError
from IPython.testing import globalipapp
from IPython.utils.capture import capture_output

import gilwise
from gilwise.integrations import _ipython

pytestmark = pytest.mark.timeout(60)

#: Two threads that spin until the cell has seen them for a while.
TWO_THREADS = """\
import threading
done = threading.Event()
def spin():
    while not done.is_set():
        sum(range(2000))
workers = [threading.Thread(target=spin, name=f"gw-spinner-{n}") for n in range(2)]
for worker in workers:
    worker.start()
done.wait(0.6)
done.set()
for worker in workers:
    worker.join()
"""


@pytest.fixture
def ip() -> Iterator[Any]:
    """IPython's test shell (a terminal shell: text only) with the extension loaded."""
    globalipapp.start_ipython()
    shell = globalipapp.get_ipython()
    if "gilwise" not in shell.extension_manager.loaded:  # the shell lives for the session
        shell.run_line_magic("load_ext", "gilwise")
    types = list(shell.display_formatter.active_types)
    yield shell
    shell.display_formatter.active_types = types
    shell.user_ns.pop(_ipython.REPORT_NAME, None)


@pytest.fixture
def html_front_end(ip: Any) -> Any:
    """The shell as a notebook's: every format, HTML included, is displayed."""
    ip.display_formatter.active_types = ip.display_formatter.format_types
    return ip


def last_report(ip: Any) -> gilwise.Report:
    report = ip.user_ns[_ipython.REPORT_NAME]
    assert isinstance(report, gilwise.Report)
    return report


def test_load_ext_registers_the_line_and_cell_magics(ip: Any) -> None:
    magics = ip.magics_manager.magics
    assert "gilwise" in magics["line"]
    assert "gilwise" in magics["cell"]
    assert "--stall-ms" in ip.magics_manager.magics["line"]["gilwise"].__doc__


@pytest.mark.e2e
def test_a_cell_with_two_threads_reports_both(ip: Any, capsys: pytest.CaptureFixture[str]) -> None:
    result = ip.run_cell("%%gilwise --interval 0.005\n" + TWO_THREADS + "len(workers)\n")
    assert result.error_in_exec is None
    assert result.result == 2  # the cell's last expression is still its value (Out[n])
    report = last_report(ip)
    names = {thread.name for thread in report.threads}
    assert {"gw-spinner-0", "gw-spinner-1"} <= names
    assert report.process.threads_seen >= 3
    assert ip.user_ns["done"].is_set()  # the cell ran in the user's namespace
    out = capsys.readouterr().out
    assert "gilwise · watch" in out
    assert "gw-spinner-0" in out


def test_the_line_magic_keeps_the_code_as_written(
    ip: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    result = ip.run_cell("%gilwise --interval=0.02 --text print('a  b', {1: 2})")
    assert result.error_in_exec is None
    out = capsys.readouterr().out
    assert "a  b {1: 2}" in out  # neither the spaces nor the braces were touched
    assert "gilwise · watch" in out


def test_json_writes_the_report(ip: Any, tmp_path: Path) -> None:
    path = tmp_path / "cell.json"
    result = ip.run_cell(f"%%gilwise --json {path}\nx = sum(range(1000))\n")
    assert result.error_in_exec is None
    data = json.loads(path.read_text())
    assert data["schema"] == "gilwise.run/1"
    assert data["verdicts"]
    assert ip.user_ns["x"] == sum(range(1000))


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("%%gilwise --bogus", "unrecognized arguments: --bogus"),
        ("%%gilwise --interval", "expected one argument"),
        ("%%gilwise --interval fast", "invalid float value"),
        ("%%gilwise --interval 0", "interval must be between"),
        ("%%gilwise --json /no/such/folder/r.json", "no folder /no/such/folder"),
        ("%%gilwise x = 1", "takes only options on its line"),
    ],
)
def test_a_bad_option_is_a_one_line_usage_error(
    ip: Any, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    ip.user_ns.pop("ran", None)
    result = ip.run_cell(line + "\nran = True\n")
    error = result.error_in_exec
    assert isinstance(error, UsageError)
    assert message in str(error)
    assert "\n" not in str(error)
    assert "ran" not in ip.user_ns  # nothing of the cell ran
    assert "Traceback" not in capsys.readouterr().out


def test_an_empty_line_magic_is_a_usage_error(ip: Any) -> None:
    result = ip.run_cell("%gilwise --text")
    assert isinstance(result.error_in_exec, UsageError)
    assert "nothing to watch" in str(result.error_in_exec)


def test_a_cell_that_raises_shows_the_report_then_the_error(
    ip: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    cell = "%%gilwise\nbefore = 1\n\ndef fail():\n    raise ValueError('boom')\nfail()\n"
    result = ip.run_cell(cell)
    assert isinstance(result.error_in_exec, ValueError)  # the cell still fails
    assert ip.user_ns["before"] == 1
    assert isinstance(last_report(ip), gilwise.Report)
    out = capsys.readouterr().out
    assert out.index("gilwise · watch") < out.index("ValueError")
    # The traceback points into the cell at the lines the user sees (the magic's is 1).
    assert "line 6" in out
    assert "line 5, in fail" in out
    assert "_ipython.py" not in out  # the magic's own frames are hidden


def test_a_syntax_error_runs_nothing_and_shows_no_report(ip: Any) -> None:
    ip.user_ns.pop(_ipython.REPORT_NAME, None)
    result = ip.run_cell("%%gilwise\nx = (\n")
    assert isinstance(result.error_in_exec, SyntaxError)
    assert _ipython.REPORT_NAME not in ip.user_ns


@pytest.mark.e2e
def test_html_front_end_gets_the_page_in_an_iframe(html_front_end: Any) -> None:
    pytest.importorskip("plotly")
    pytest.importorskip("jinja2")
    with capture_output() as captured:
        result = html_front_end.run_cell("%%gilwise --interval 0.005\n" + TWO_THREADS)
    assert result.error_in_exec is None
    (output,) = captured.outputs
    frame = output.data["text/html"]
    assert frame.startswith("<iframe")
    # The page, escaped into the attribute, comes back whole: the `gilwise run --html` one.
    from gilwise.report._html_run import run_html

    page = run_html(last_report(html_front_end))
    assert _srcdoc(frame) == page
    assert "gw-spinner-0" in page
    assert "gilwise · watch" in output.data["text/plain"]  # and text for other front ends


def _srcdoc(frame: str) -> str | None:
    found: list[str | None] = []

    class Frames(HTMLParser):
        def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
            if tag == "iframe":
                found.append(dict(attrs).get("srcdoc"))

    Frames().feed(frame)
    assert len(found) == 1
    return found[0]


def test_text_option_shows_text_on_an_html_front_end(html_front_end: Any) -> None:
    with capture_output() as captured:
        html_front_end.run_cell("%%gilwise --text\nx = 1\n")
    (output,) = captured.outputs
    assert set(output.data) == {"text/plain"}
    assert "gilwise · watch" in output.data["text/plain"]


def test_terminal_front_end_gets_text(ip: Any) -> None:
    with capture_output() as captured:
        ip.run_cell("%%gilwise\nx = 1\n")
    (output,) = captured.outputs
    assert set(output.data) == {"text/plain"}
    assert "gilwise · watch" in output.data["text/plain"]


def test_without_the_html_extra_the_display_falls_back_to_text(
    html_front_end: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "plotly.offline", None)  # as if plotly were missing
    with capture_output() as captured:
        result = html_front_end.run_cell("%%gilwise\nx = 1\n")
    assert result.error_in_exec is None
    (output,) = captured.outputs
    assert set(output.data) == {"text/plain"}
    assert "gilwise · watch" in output.data["text/plain"]
    # ... and --html, which cannot be honoured, is refused before the cell runs.
    result = html_front_end.run_cell("%%gilwise --html report.html\nx = 2\n")
    assert isinstance(result.error_in_exec, UsageError)
    assert "pip install 'gilwise[html]'" in str(result.error_in_exec)


def test_html_writes_the_page(ip: Any, tmp_path: Path) -> None:
    pytest.importorskip("plotly")
    pytest.importorskip("jinja2")
    path = tmp_path / "cell.html"
    result = ip.run_cell(f"%%gilwise --html {path}\nx = 1\n")
    assert result.error_in_exec is None
    assert path.read_text().lstrip().lower().startswith("<!doctype html")


@pytest.mark.e2e
def test_a_cell_with_top_level_await_runs_on_ipythons_loop(ip: Any) -> None:
    cell = (
        "%%gilwise --text\n"
        "import asyncio, time, threading\n"
        "await asyncio.sleep(0.02)\n"
        "time.sleep(0.3)\n"
        "await asyncio.sleep(0.02)\n"
        "threading.current_thread().name\n"
    )
    result = ip.run_cell(cell)
    assert result.error_in_exec is None
    assert result.result == "MainThread"
    report = last_report(ip)
    assert [loop.thread_name for loop in report.loops] == ["MainThread"]
    assert report.loops[0].stalls_total >= 1


def _run_as_jupyter(ip: Any, cell: str) -> Any:
    """Run a cell the way ipykernel does: inside the kernel's running event loop."""

    async def kernel() -> Any:
        return await ip.run_cell_async(cell, transformed_cell=ip.transform_cell(cell))

    return asyncio.run(kernel())


@pytest.mark.e2e
def test_in_jupyter_the_kernels_own_loop_is_left_out(
    ip: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[gilwise.Report] = []
    trim = _ipython.without_host_loop

    def spy(report: gilwise.Report, host_loop: Any) -> gilwise.Report:
        seen.append(report)
        return trim(report, host_loop)

    monkeypatch.setattr(_ipython, "without_host_loop", spy)
    result = _run_as_jupyter(ip, "%%gilwise --text\nimport time\ntime.sleep(0.3)\n")
    assert result.error_in_exec is None
    # The kernel's loop waits while any cell runs: watched, then dropped from the report.
    assert any(loop.thread_name == "MainThread" for loop in seen[0].loops)
    report = last_report(ip)
    assert report.loops == ()
    assert "LOOP_BLOCKED" not in [v.code for v in report.verdicts]


@pytest.mark.e2e
def test_in_jupyter_an_async_cell_runs_on_a_helper_loop(ip: Any) -> None:
    cell = (
        "%%gilwise --text\n"
        "import asyncio, time, threading\n"
        "await asyncio.sleep(0.02)\n"
        "time.sleep(0.3)\n"
        "await asyncio.sleep(0.02)\n"
        "threading.current_thread().name\n"
    )
    result = _run_as_jupyter(ip, cell)
    assert result.error_in_exec is None
    assert result.result == "gilwise-cell-loop"
    report = last_report(ip)
    assert [loop.thread_name for loop in report.loops] == ["gilwise-cell-loop"]
    assert report.loops[0].stalls_total >= 1


def test_in_jupyter_an_async_cell_that_raises_fails(ip: Any) -> None:
    result = _run_as_jupyter(
        ip, "%%gilwise --text\nimport asyncio\nawait asyncio.sleep(0)\n1 / 0\n"
    )
    assert isinstance(result.error_in_exec, ZeroDivisionError)


@pytest.mark.parametrize(
    ("line", "words", "code"),
    [
        ("", [], ""),
        ("--text", ["--text"], ""),
        ("--interval 0.02 f(x)", ["--interval", "0.02"], "f(x)"),
        ("--interval=0.02 f( 'a  b' )", ["--interval=0.02"], "f( 'a  b' )"),
        ("--json 'my report.json' x", ["--json", "my report.json"], "x"),
        ("--stall-ms 50 -- --x", ["--stall-ms", "50"], "--x"),
        ("--bogus f()", ["--bogus"], "f()"),
        ("-x + 1", [], "-x + 1"),
        ("print('--text')", [], "print('--text')"),
    ],
)
def test_split_line_separates_options_from_code(line: str, words: list[str], code: str) -> None:
    assert _ipython.split_line(line, _ipython.PARSER) == (words, code)
