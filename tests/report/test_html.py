"""HTML reports: escaping, self-containment, and a real headless Chromium drawing the charts."""

from __future__ import annotations

import html.parser
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from gilwise import ExtraNotInstalled
from gilwise.report._html import Page, Section, _script_json, render_page
from gilwise.report._html_advise import advice_html
from gilwise.report._html_run import run_html
from gilwise.report._html_tour import tour_html
from tests.report import html_reports
from tests.report.html_reports import HOSTILE

pytest.importorskip("plotly")
pytest.importorskip("jinja2")

REPORTS: dict[str, Callable[[], str]] = {
    "run": lambda: run_html(html_reports.run_report()),
    "advise": lambda: advice_html(html_reports.advice_report()),
    "tour": lambda: tour_html(html_reports.tour_report()),
}
ARTIFACTS = Path(os.environ.get("GILWISE_ARTIFACTS", Path(__file__).parents[2] / "test-artifacts"))


@pytest.fixture(scope="module")
def pages() -> dict[str, str]:
    return {name: build() for name, build in REPORTS.items()}


@pytest.mark.parametrize("name", REPORTS)
def test_program_text_is_escaped_everywhere(pages: dict[str, str], name: str) -> None:
    page = pages[name]
    assert HOSTILE not in page
    assert "<img src=x" not in page
    assert "&lt;script&gt;alert(" in page  # shown as text in the HTML
    scripts = _ScriptBodies.of(page)
    assert not any('gilwise")</script>' in body for body in scripts)


@pytest.mark.parametrize("name", REPORTS)
def test_the_page_loads_nothing_from_elsewhere(pages: dict[str, str], name: str) -> None:
    page = pages[name]
    assert _ExternalReferences.of(page) == []
    assert "Plotly.newPlot" in page
    assert 'data-charts-expected="0"' not in page


def test_chart_data_cannot_close_its_script_element() -> None:
    assert str(_script_json('{"a": "</script><!--"}')) == (
        '{"a": "\\u003c/script\\u003e\\u003c!--"}'
    )
    with pytest.raises(ValueError, match="Expecting"):
        _script_json("not json")


def test_a_missing_extra_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "plotly.offline", None)
    with pytest.raises(ExtraNotInstalled, match=r"pip install 'gilwise\[html\]'"):
        render_page(Page("t", "s", (), (Section("x"),)))


class _ExternalReferences(html.parser.HTMLParser):
    """Every element attribute that would fetch something (src=, href= to a URL)."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []

    @classmethod
    def of(cls, page: str) -> list[str]:
        parser = cls()
        parser.feed(page)
        return parser.found

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in {"src", "href"} and value and "//" in value:
                self.found.append(f"<{tag} {name}={value}>")


class _ScriptBodies(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.bodies: list[str] = []
        self._inside = False

    @classmethod
    def of(cls, page: str) -> list[str]:
        parser = cls()
        parser.feed(page)
        return parser.bodies

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._inside = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._inside = False

    def handle_data(self, data: str) -> None:
        if self._inside:
            self.bodies.append(data)


class _Body(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.attrs: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "body":
            self.attrs = {k: v or "" for k, v in attrs}


def _chromium() -> str | None:
    return next((p for p in (shutil.which(n) for n in ("chromium", "chromium-browser")) if p), None)


_BROWSER = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--hide-scrollbars",
    "--virtual-time-budget=20000",
]


@pytest.mark.e2e
@pytest.mark.timeout(240)
@pytest.mark.parametrize("name", REPORTS)
def test_chromium_draws_every_chart_without_errors(
    pages: dict[str, str], name: str, tmp_path: Path
) -> None:
    browser = _chromium()
    if browser is None:
        if os.environ.get("GILWISE_REQUIRE_BROWSER"):
            pytest.fail("Chromium is required here (GILWISE_REQUIRE_BROWSER) but not installed")
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    page = tmp_path / f"{name}.html"
    page.write_text(pages[name], encoding="utf-8")
    url = page.as_uri()
    dom = subprocess.run(
        [browser, *_BROWSER, "--dump-dom", url],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    body = _Body()
    body.feed(dom.stdout)
    assert body.attrs.get("data-ready") == "1", "the page's drawing script never finished"
    assert body.attrs["data-errors"] == ""
    assert int(body.attrs["data-charts-expected"]) > 0
    assert body.attrs["data-charts-drawn"] == body.attrs["data-charts-expected"]
    assert dom.stdout.count('class="main-svg"') >= int(body.attrs["data-charts-expected"])
    assert "Uncaught" not in dom.stderr
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    screenshot = ARTIFACTS / f"html-{name}.png"
    subprocess.run(
        [browser, *_BROWSER, "--window-size=1200,2200", f"--screenshot={screenshot}", url],
        capture_output=True,
        timeout=180,
        check=True,
    )
    assert screenshot.stat().st_size > 10_000


def _gilwise(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gilwise", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=150,
        check=False,
    )


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_run_writes_an_html_report_and_keeps_the_programs_exit_status(tmp_path: Path) -> None:
    (tmp_path / "prog.py").write_text(
        "import asyncio, time\n"
        "async def main():\n    time.sleep(0.2)\n"
        "asyncio.run(main())\nraise SystemExit(3)\n"
    )
    done = _gilwise(
        "run", "--quiet", "--stall-ms", "50", "--html", "r.html", "prog.py", cwd=tmp_path
    )
    assert done.returncode == 3
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert "The event loop was blocked" in page
    assert "prog.py:3" in page


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_tour_writes_an_html_report(tmp_path: Path) -> None:
    done = _gilwise("tour", "--quick", "--only", "7", "--html", "tour.html", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    page = (tmp_path / "tour.html").read_text(encoding="utf-8")
    assert "7. " in page
    assert "data-charts-expected" in page


@pytest.mark.e2e
@pytest.mark.timeout(180)
def test_an_unwritable_html_path_is_a_one_line_error(tmp_path: Path) -> None:
    (tmp_path / "blocker").write_text("a file where a folder should be")
    done = _gilwise("tour", "--quick", "--only", "7", "--html", "blocker/t.html", cwd=tmp_path)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("gilwise: cannot write blocker/t.html")
