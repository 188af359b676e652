"""The pytest plugin, run on small test suites through pytester (in a subprocess each)."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

import pytest

pytest_plugins = ["pytester"]

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]

INI = """
[pytest]
asyncio_default_fixture_loop_scope = function
{extra}
"""

#: A test per async framework; each stalls its loop for 400 ms at a known line.
FRAMEWORKS = {
    "pytest-asyncio": """
        import asyncio, time
        import pytest

        {marker}
        @pytest.mark.asyncio
        async def test_blocks():
            await asyncio.sleep(0.05)
            time.sleep(0.4)  # the culprit
            await asyncio.sleep(0.05)

        @pytest.mark.asyncio
        async def test_clean():
            for _ in range(10):
                await asyncio.sleep(0.01)
    """,
    "anyio": """
        import asyncio, time
        import pytest

        @pytest.fixture
        def anyio_backend():
            return "asyncio"

        {marker}
        @pytest.mark.anyio
        async def test_blocks():
            await asyncio.sleep(0.05)
            time.sleep(0.4)  # the culprit
            await asyncio.sleep(0.05)

        @pytest.mark.anyio
        async def test_clean():
            for _ in range(10):
                await asyncio.sleep(0.01)
    """,
}


def _suite(pytester: pytest.Pytester, framework: str, marker: str = "", ini: str = "") -> int:
    """Write the suite; return the culprit's line number."""
    pytester.makeini(INI.format(extra=ini))
    path = pytester.makepyfile(test_suite=FRAMEWORKS[framework].format(marker=marker))
    lines = path.read_text().splitlines()
    return next(number for number, line in enumerate(lines, 1) if "# the culprit" in line)


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=80)


@pytest.mark.parametrize("framework", sorted(FRAMEWORKS))
def test_marker_fails_a_stalled_test_with_the_culprit(
    pytester: pytest.Pytester, framework: str
) -> None:
    line = _suite(pytester, framework, marker="@pytest.mark.gilwise(max_stall_ms=50)")
    result = _run(pytester, "--gilwise")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*gilwise: the event loop stalled for * ms, over the 50 ms allowed by "
            "@pytest.mark.gilwise(max_stall_ms=50)",
            f"*blocking call: test_suite.py:{line} in test_blocks",
            "*time.sleep(0.4)  # the culprit",
            "*stack (most recent call last):",
            f"*test_suite.py:{line} in test_blocks",
        ]
    )
    assert "test_clean - Failed" not in result.stdout.str()


def test_ini_option_sets_the_limit_for_every_test(pytester: pytest.Pytester) -> None:
    _suite(pytester, "pytest-asyncio", ini="gilwise_max_stall_ms = 50")
    result = _run(pytester, "--gilwise")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*over the 50 ms allowed by gilwise_max_stall_ms = 50 in *.ini"])


def test_command_line_overrides_the_ini_option(pytester: pytest.Pytester) -> None:
    _suite(pytester, "pytest-asyncio", ini="gilwise_max_stall_ms = 5000")
    result = _run(pytester, "--gilwise", "--gilwise-max-stall-ms=50")
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*allowed by --gilwise-max-stall-ms=50"])


@pytest.mark.parametrize(
    "marker", ["@pytest.mark.gilwise(max_stall_ms=None)", "@pytest.mark.gilwise(5000)"]
)
def test_marker_overrides_the_command_line(pytester: pytest.Pytester, marker: str) -> None:
    _suite(pytester, "pytest-asyncio", marker=marker)
    _run(pytester, "--gilwise", "--gilwise-max-stall-ms=50").assert_outcomes(passed=2)


def test_without_a_limit_nothing_fails_and_the_summary_ranks_tests(
    pytester: pytest.Pytester,
) -> None:
    line = _suite(pytester, "pytest-asyncio")
    result = _run(pytester, "--gilwise")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "*= gilwise =*",
            "event-loop lag, worst tests (no limit):",
            "  max * ms  p99 * ms  1 stall   test_suite.py::test_blocks",
            f"      worst stall * ms at test_suite.py:{line} in test_blocks",
            "  max * ms  p99 * ms  0 stalls  test_suite.py::test_clean",
            "2 tests watched: 2 ran an event loop (1 stalled)*",
        ]
    )


def test_summary_lists_gil_contention(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI.format(extra=""))
    pytester.makepyfile(
        test_threads="""
        import threading, time

        def spin():
            deadline = time.perf_counter() + 0.6
            while time.perf_counter() < deadline:
                sum(range(200))

        def test_cpu_threads():
            threads = [threading.Thread(target=spin) for _ in range(4)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()

        def test_idle():
            time.sleep(0.05)
        """
    )
    result = _run(pytester, "--gilwise")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        [
            "GIL contention, worst tests (share of time some thread waited for the GIL):",
            "*%*threads waiting on average  test_threads.py::test_cpu_threads",
        ]
    )
    assert "test_threads.py::test_idle" not in result.stdout.str().split("GIL contention")[1]


def test_enabled_false_leaves_a_test_unwatched(pytester: pytest.Pytester) -> None:
    _suite(pytester, "pytest-asyncio", marker="@pytest.mark.gilwise(enabled=False)")
    result = _run(pytester, "--gilwise", "--gilwise-max-stall-ms=50")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["1 test watched: 1 ran an event loop (0 stalled)*"])


def test_stall_in_a_fixture_teardown_is_an_error_at_teardown(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI.format(extra=""))
    pytester.makepyfile(
        test_fixture="""
        import time
        import pytest, pytest_asyncio

        @pytest_asyncio.fixture
        async def slow_to_close():
            yield
            time.sleep(0.4)  # blocks the loop in teardown

        @pytest.mark.asyncio
        @pytest.mark.gilwise(max_stall_ms=50)
        async def test_uses_it(slow_to_close):
            pass
        """
    )
    result = _run(pytester, "--gilwise")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at teardown of test_uses_it*",
            "*stalled for * ms during teardown, over the 50 ms allowed*",
            "*time.sleep(0.4)  # blocks the loop in teardown",
        ]
    )


#: Stalls over the limit in a call (a failure) and in a teardown (an error), next to a
#: failure and an error of other causes, which the gilwise tally must not count.
MIXED_OUTCOMES = """
    import asyncio, time
    import pytest, pytest_asyncio

    @pytest_asyncio.fixture
    async def slow_to_close():
        yield
        time.sleep(0.4)

    @pytest.fixture
    def broken():
        raise RuntimeError("setup fails, not for a stall")

    @pytest.mark.asyncio
    async def test_blocks():
        await asyncio.sleep(0.05)
        time.sleep(0.4)
        await asyncio.sleep(0.05)

    @pytest.mark.asyncio
    async def test_teardown_stalls(slow_to_close):
        pass

    @pytest.mark.asyncio
    async def test_clean():
        for _ in range(10):
            await asyncio.sleep(0.01)

    def test_setup_error(broken):
        pass

    def test_fails():
        assert False
"""

MIXED_TALLY = (
    "5 tests watched: * ran an event loop (2 stalled), * of the time or more; "
    "1 failed and 1 errored at teardown for a stall over the limit"
)


def test_stall_errors_are_counted_apart_from_failures(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI.format(extra=""))
    pytester.makepyfile(test_mixed=MIXED_OUTCOMES)
    result = _run(pytester, "--gilwise", "--gilwise-max-stall-ms=50")
    result.assert_outcomes(passed=2, failed=2, errors=2)
    result.stdout.fnmatch_lines([MIXED_TALLY])


@pytest.mark.timeout(240)
def test_under_xdist_the_controller_prints_one_summary_of_every_worker(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("xdist", reason="pytest-xdist (in the test extra) is not installed")
    pytester.makeini(INI.format(extra=""))
    pytester.makepyfile(test_mixed=MIXED_OUTCOMES)
    result = pytester.runpytest_subprocess(
        "-p", "no:cacheprovider", "-p", "xdist", "-n", "2",
        "--gilwise", "--gilwise-max-stall-ms=50",
        timeout=200,
    )  # fmt: skip
    result.assert_outcomes(passed=2, failed=2, errors=2)
    result.stdout.fnmatch_lines(["*2 workers*", "*= gilwise =*", MIXED_TALLY])
    headers = [line for line in result.outlines if re.fullmatch(r"=+ gilwise =+", line)]
    assert len(headers) == 1
    assert "test_mixed.py::test_blocks" in result.stdout.str().split("= gilwise =")[1]


def test_a_failing_test_shows_its_stalls_in_a_section(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI.format(extra=""))
    pytester.makepyfile(
        test_fail="""
        import asyncio, time
        import pytest

        @pytest.mark.asyncio
        async def test_fails_after_a_stall():
            await asyncio.sleep(0.05)
            time.sleep(0.3)  # stalls
            await asyncio.sleep(0.05)
            assert False
        """
    )
    result = _run(pytester, "--gilwise")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["*Captured gilwise call*", "stall of * ms:", "*time.sleep(0.3)  # stalls"]
    )


def test_figures_reach_junit_xml(pytester: pytest.Pytester) -> None:
    _suite(pytester, "pytest-asyncio")
    _run(pytester, "--gilwise", "--junitxml=out.xml").assert_outcomes(passed=2)
    case = ET.parse(pytester.path / "out.xml").find(".//testcase[@name='test_blocks']")
    assert case is not None
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert float(properties["gilwise_max_lag_ms"] or 0) > 200
    assert properties["gilwise_stalls"] == "1"


# -- never in the way ----------------------------------------------------------------------


def test_without_the_flag_the_plugin_does_nothing(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI.format(extra=""))
    pytester.makepyfile(
        test_quiet="""
        import sys, time
        import pytest

        @pytest.mark.gilwise(max_stall_ms=1)
        def test_marker_is_known_but_inert(request):
            time.sleep(0.05)
            assert request.config.pluginmanager.hasplugin("gilwise")
            assert request.config.pluginmanager.get_plugin("gilwise-monitor") is None
            assert "gilwise.monitor._sampler" not in sys.modules
        """
    )
    result = _run(pytester, "--strict-markers")
    result.assert_outcomes(passed=1)
    assert "gilwise ==" not in result.stdout.str()


def test_a_broken_monitor_warns_and_the_run_goes_on(pytester: pytest.Pytester) -> None:
    _suite(pytester, "pytest-asyncio", marker="@pytest.mark.gilwise(max_stall_ms=50)")
    pytester.makeconftest(
        """
        from gilwise.monitor import Monitor

        def _broken(self):
            raise RuntimeError("no sampler today")

        Monitor.start = _broken
        """
    )
    result = _run(pytester, "--gilwise", "-W", "error")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(
        ["gilwise could not watch everything: could not start the monitor for *no sampler today*"]
    )


def test_bad_ini_value_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _suite(pytester, "pytest-asyncio", ini="gilwise_max_stall_ms = soon")
    result = _run(pytester, "--gilwise")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*gilwise_max_stall_ms must be a number of milliseconds*"])


def test_bad_marker_arguments_are_an_error_that_says_what_it_takes(
    pytester: pytest.Pytester,
) -> None:
    _suite(pytester, "pytest-asyncio", marker="@pytest.mark.gilwise(max_stall=50)")
    result = _run(pytester, "--gilwise")
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*@pytest.mark.gilwise takes max_stall_ms=*"])
