"""Overhead benchmark: how much does each monitoring tool slow a program down?

Runs three standalone workloads (``benchmarks/overhead_workloads/``) under plain Python and under
each tool, measures the wall time of the whole subprocess from here, and prints, per workload,
the median time and its ratio to plain Python's median from the same run, with the spread of
per-run ratios so noise is visible.

Repetitions are interleaved (round-robin over tools, with the starting tool rotated each round),
so slow drift in machine load hits every tool alike. The workloads do a fixed amount of work, so
a tool that slows the program down makes it take longer.

A tool that is not installed is reported as ``unavailable: reason``; a run that exits non-zero,
times out, or never reaches the workload's last line is reported as ``failed: reason``. Neither
stops the benchmark.

Examples::

    python benchmarks/overhead.py                      # full run, 5 repeats, ~3 s workloads
    python benchmarks/overhead.py --quick              # 1 repeat, short workloads: a smoke test
    python benchmarks/overhead.py --tools gilwise,py-spy --workloads cpu_threads --save out.json
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
WORKLOAD_DIR = Path(__file__).resolve().parent / "overhead_workloads"
DEFAULT_VENV_PYTHON = REPO_ROOT / ".venv-bench" / "bin" / "python"
BASELINE = "python"
DEFAULT_SECONDS = 3.0
QUICK_SECONDS = 0.5
DEFAULT_REPEAT = 5
SAMPLING_RATE_HZ = 100
ERROR_WIDTH = 90
TOOL_WIDTH = 22  # the longest tool name: profiling-sampling-gil
GILWISE_REPORT = "gilwise.json"
YAPPI_REPORT = "yappi.pstat"
VIZTRACER_REPORT = "viztracer.json"
SCALENE_REPORT = "scalene.json"
PROFILING_SAMPLING_REPORT = "profiling-sampling.txt"
# Distributions whose versions are recorded with the results, so saved runs can be compared.
VERSIONED_DISTRIBUTIONS = ("gilwise", "py-spy", "pyinstrument", "yappi", "viztracer", "scalene")


# --------------------------------------------------------------------------------------------
# Workloads and tools


@dataclass(frozen=True)
class Workload:
    name: str
    description: str

    @property
    def script(self) -> Path:
        return WORKLOAD_DIR / f"{self.name}.py"

    def argv(self, seconds: float) -> list[str]:
        return [str(self.script), "--seconds", f"{seconds:g}"]


WORKLOADS: tuple[Workload, ...] = (
    Workload("cpu_threads", "4 pure-Python CPU-bound threads"),
    Workload("asyncio_tasks", "1,000 asyncio tasks: sleeps, queue hand-offs, CPU bursts"),
    Workload("threadpool_io", "16-worker thread pool, request/response over loopback TCP"),
)


@dataclass(frozen=True)
class RunContext:
    """What a tool needs to build its command line for one run."""

    python: str
    scratch: Path  # a fresh directory per run, for output files and as the working directory

    @property
    def bin_dir(self) -> Path:
        # Deliberately not resolved: a venv's python is a symlink, and resolving it would leave
        # the venv (and lose its console scripts, such as py-spy).
        return Path(self.python).parent


CommandBuilder = Callable[[RunContext, list[str]], list[str]]


@dataclass(frozen=True)
class Tool:
    name: str
    description: str
    build: CommandBuilder
    module: str | None = None  # must be importable by the target python
    binary: str | None = None  # must be found next to the target python or on PATH
    env: dict[str, str] = field(default_factory=dict)
    # A file the tool must leave in the scratch directory: a tool that exits 0 but never writes
    # its report did not do the work a real use pays for, so that run counts as failed.
    output: str | None = None


def find_binary(context_python: str, name: str) -> str | None:
    """Prefer the console script installed beside the target python, then fall back to PATH."""
    beside = Path(context_python).parent / name
    if beside.is_file() and os.access(beside, os.X_OK):
        return str(beside)
    return shutil.which(name)


def plain(ctx: RunContext, target: list[str]) -> list[str]:
    return [ctx.python, *target]


def gilwise_default(ctx: RunContext, target: list[str]) -> list[str]:
    return [ctx.python, "-m", "gilwise", "run", "--quiet", *target]


def gilwise_no_watcher(ctx: RunContext, target: list[str]) -> list[str]:
    return [ctx.python, "-m", "gilwise", "run", "--quiet", "--no-gil-watcher", *target]


def gilwise_json(ctx: RunContext, target: list[str]) -> list[str]:
    report = ctx.scratch / GILWISE_REPORT
    return [ctx.python, "-m", "gilwise", "run", "--quiet", "--json", str(report), *target]


def py_spy(*flags: str) -> CommandBuilder:
    def build(ctx: RunContext, target: list[str]) -> list[str]:
        binary = find_binary(ctx.python, "py-spy") or "py-spy"
        options = ["--rate", str(SAMPLING_RATE_HZ), "-o", os.devnull, *flags]
        return [binary, "record", *options, "--", ctx.python, *target]

    return build


def profiling_sampling_gil(ctx: RunContext, target: list[str]) -> list[str]:
    # CPython 3.15's own sampling profiler, counting only samples where a thread held the
    # GIL (its reader is the reference of benchmarks/gil_truth.py). Collapsed stacks into
    # a file: the profile is built and written, as a real use would.
    output = ctx.scratch / PROFILING_SAMPLING_REPORT
    options = ["--mode", "gil", "-r", f"{SAMPLING_RATE_HZ}hz", "--collapsed", "-o", str(output)]
    return [ctx.python, "-m", "profiling.sampling", "run", *options, *target]


def pyinstrument(ctx: RunContext, target: list[str]) -> list[str]:
    # The text renderer into /dev/null: the profile is still built and rendered, nothing is kept.
    return [ctx.python, "-m", "pyinstrument", "-o", os.devnull, *target]


def yappi(clock: str) -> CommandBuilder:
    def build(ctx: RunContext, target: list[str]) -> list[str]:
        wrapper = WORKLOAD_DIR / "yappi_wrapper.py"
        output = ctx.scratch / YAPPI_REPORT
        return [ctx.python, str(wrapper), "--clock", clock, "--output", str(output), *target]

    return build


def viztracer(ctx: RunContext, target: list[str]) -> list[str]:
    # Default ring buffer (1M entries): the cost includes dumping it, as a real use would.
    output = ctx.scratch / VIZTRACER_REPORT
    return [ctx.python, "-m", "viztracer", "--quiet", "-o", str(output), *target]


def scalene(ctx: RunContext, target: list[str]) -> list[str]:
    # Scalene >= 2.0 syntax: `scalene run [options] script.py --- script-args`. It writes a JSON
    # profile and never opens a browser in this mode.
    script, *args = target
    options = ["--cpu-only", "-o", str(ctx.scratch / SCALENE_REPORT)]
    return [ctx.python, "-m", "scalene", "run", *options, script, "---", *args]


TOOLS: tuple[Tool, ...] = (
    Tool(BASELINE, "plain python, no tool (the baseline)", plain),
    Tool("gilwise", "python -m gilwise run --quiet (default settings)", gilwise_default, "gilwise"),
    Tool(
        "gilwise-no-watcher",
        "gilwise run --quiet --no-gil-watcher (the sampler's own count, no child process)",
        gilwise_no_watcher,
        "gilwise",
    ),
    Tool(
        "gilwise-json",
        "gilwise run --quiet --json PATH",
        gilwise_json,
        "gilwise",
        output=GILWISE_REPORT,
    ),
    Tool("py-spy", f"py-spy record --rate {SAMPLING_RATE_HZ}", py_spy(), binary="py-spy"),
    Tool(
        "py-spy-nonblocking",
        f"py-spy record --rate {SAMPLING_RATE_HZ} --nonblocking",
        py_spy("--nonblocking"),
        binary="py-spy",
    ),
    Tool(
        "py-spy-gil",
        f"py-spy record --rate {SAMPLING_RATE_HZ} --gil (only threads holding the GIL)",
        py_spy("--gil"),
        binary="py-spy",
    ),
    Tool(
        "profiling-sampling-gil",
        f"python -m profiling.sampling run --mode gil -r {SAMPLING_RATE_HZ}hz (CPython 3.15+)",
        profiling_sampling_gil,
        "profiling.sampling",
        output=PROFILING_SAMPLING_REPORT,
    ),
    Tool("pyinstrument", "python -m pyinstrument -o /dev/null", pyinstrument, "pyinstrument"),
    Tool(
        "yappi-wall", "yappi, wall clock, all threads", yappi("wall"), "yappi", output=YAPPI_REPORT
    ),
    Tool("yappi-cpu", "yappi, cpu clock, all threads", yappi("cpu"), "yappi", output=YAPPI_REPORT),
    Tool(
        "viztracer",
        "viztracer --quiet -o PATH (default 1M-entry buffer)",
        viztracer,
        "viztracer",
        output=VIZTRACER_REPORT,
    ),
    Tool("scalene", "scalene run --cpu-only -o PATH", scalene, "scalene", output=SCALENE_REPORT),
    Tool(
        "asyncio-debug",
        "plain python with PYTHONASYNCIODEBUG=1",
        plain,
        env={"PYTHONASYNCIODEBUG": "1"},
    ),
)


# --------------------------------------------------------------------------------------------
# Probing what is installed


PROBE_SOURCE = """
import importlib.metadata, importlib.util, json, sys
modules = sys.argv[1].split(",")
dists = sys.argv[2].split(",")
found = {}
for name in modules:
    try:
        found[name] = importlib.util.find_spec(name) is not None
    except Exception as exc:  # a broken package can raise while being located
        found[name] = False
versions = {}
for name in dists:
    try:
        versions[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        versions[name] = None
print(json.dumps({"modules": found, "versions": versions, "python": sys.version.split()[0]}))
"""


@dataclass(frozen=True)
class Probe:
    python_version: str
    modules: dict[str, bool]
    versions: dict[str, str | None]


def probe_python(python: str, tools: Sequence[Tool]) -> Probe:
    """Ask the target interpreter (not this one) which tool modules it can import."""
    modules = sorted({tool.module for tool in tools if tool.module})
    argv = [python, "-c", PROBE_SOURCE, ",".join(modules), ",".join(VERSIONED_DISTRIBUTIONS)]
    completed = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"cannot run {python}: {first_meaningful_line(completed.stderr)}")
    data = json.loads(completed.stdout)
    return Probe(data["python"], data["modules"], data["versions"])


def unavailable_reason(tool: Tool, probe: Probe, python: str) -> str | None:
    if tool.module and not probe.modules.get(tool.module, False):
        return f"module {tool.module!r} not importable by {python}"
    if tool.binary and find_binary(python, tool.binary) is None:
        return f"{tool.binary!r} not found beside {python} or on PATH"
    return None


# --------------------------------------------------------------------------------------------
# Running and timing


@dataclass
class RunRecord:
    workload: str
    tool: str
    repetition: int  # -1 for warm-up runs, which are not counted
    seconds: float | None  # wall time of the whole subprocess; None when the run failed
    error: str | None = None


def first_meaningful_line(stderr: str) -> str:
    """The line of stderr that best says what went wrong.

    Tools print banners first (py-spy's "Sampling process ...") and Python prints the exception
    last, so prefer the last line that looks like an error and fall back to the first line.
    """
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    if not lines:
        return "(no stderr)"
    markers = ("error", "exception", "denied", "not permitted", "no module", "cannot", "failed")
    for line in reversed(lines):
        if any(marker in line.lower() for marker in markers):
            return truncate(line)
    return truncate(lines[0])


def truncate(text: str, width: int = ERROR_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def kill_process_group(process: subprocess.Popen[str]) -> None:
    # Tools such as py-spy start the target as a grandchild: kill the whole session we made.
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)


def run_environment(tool: Tool) -> dict[str, str]:
    env = dict(os.environ)
    # An inherited debug flag would silently slow every row; only the asyncio-debug row sets it.
    env.pop("PYTHONASYNCIODEBUG", None)
    env.pop("PYTHONDEVMODE", None)
    env.update(tool.env)
    return env


@dataclass(frozen=True)
class Outcome:
    seconds: float | None  # None when the run failed
    stdout: str
    error: str | None


def time_once(command: list[str], env: dict[str, str], cwd: Path, timeout: float) -> Outcome:
    """Run ``command`` and measure the wall time of the whole subprocess from here."""
    start = time.perf_counter()
    process = subprocess.Popen(
        command,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        errors="replace",
        env=env,
        cwd=cwd,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        kill_process_group(process)
        process.communicate()
        return Outcome(None, "", f"timed out after {timeout:g} s")
    elapsed = time.perf_counter() - start
    if process.returncode != 0:
        return Outcome(None, stdout, f"exit {process.returncode}: {first_meaningful_line(stderr)}")
    return Outcome(elapsed, stdout, None)


def run_one(
    workload: Workload,
    tool: Tool,
    python: str,
    seconds: float,
    timeout: float,
    repetition: int,
) -> RunRecord:
    with tempfile.TemporaryDirectory(prefix="gilwise-overhead-") as scratch:
        context = RunContext(python=python, scratch=Path(scratch))
        command = tool.build(context, workload.argv(seconds))
        outcome = time_once(command, run_environment(tool), Path(scratch), timeout)
        error = outcome.error or missing_work(workload, tool, outcome.stdout, Path(scratch))
    if error is not None:
        return RunRecord(workload.name, tool.name, repetition, None, error)
    return RunRecord(workload.name, tool.name, repetition, outcome.seconds, None)


def missing_work(workload: Workload, tool: Tool, stdout: str, scratch: Path) -> str | None:
    """Why a run that exited 0 still does not count, or None when it does."""
    # A tool that exits 0 without running the script would look impossibly fast: every workload
    # prints "<name>: ..." as its last act, so require that line.
    if f"{workload.name}:" not in stdout:
        return "workload did not report completion (script not run?)"
    if tool.output is not None:
        report = scratch / tool.output
        if not report.is_file() or report.stat().st_size == 0:
            return f"exited 0 but wrote no {tool.output}"
    return None


def rotated(items: Sequence[Tool], offset: int) -> list[Tool]:
    """Start each round at a different tool so no tool always runs right after another."""
    if not items:
        return []
    offset %= len(items)
    return [*items[offset:], *items[:offset]]


@dataclass
class Plan:
    workloads: list[Workload]
    tools: list[Tool]  # as requested, baseline included; some may turn out unavailable
    python: str
    seconds: float
    repeat: int
    warmup: int
    timeout: float


def execute(plan: Plan, runnable: list[Tool]) -> list[RunRecord]:
    """Run every (workload, tool) pair ``repeat`` times, round-robin, skipping broken pairs."""
    records: list[RunRecord] = []
    broken: set[tuple[str, str]] = set()
    rounds = [(-1, index) for index in range(plan.warmup)]
    rounds += [(repetition, repetition) for repetition in range(plan.repeat)]
    total = len(rounds) * len(plan.workloads) * len(runnable)
    done = 0
    for repetition, rotation in rounds:
        for workload in plan.workloads:
            for tool in rotated(runnable, rotation):
                done += 1
                if (workload.name, tool.name) in broken:
                    continue
                record = run_one(
                    workload, tool, plan.python, plan.seconds, plan.timeout, repetition
                )
                report_progress(done, total, record)
                records.append(record)
                # A failing tool usually fails the same way every time; retrying it would only
                # burn the time budget (a timeout costs the full timeout each round).
                if record.error is not None:
                    broken.add((workload.name, tool.name))
    return records


def report_progress(done: int, total: int, record: RunRecord) -> None:
    label = "warm-up" if record.repetition < 0 else f"rep {record.repetition + 1}"
    outcome = f"{record.seconds:.3f} s" if record.seconds is not None else f"FAILED {record.error}"
    print(
        f"[{done}/{total}] {record.workload:<14} {record.tool:<19} {label:<8} {outcome}",
        file=sys.stderr,
        flush=True,
    )


# --------------------------------------------------------------------------------------------
# Summarising


@dataclass
class CellSummary:
    workload: str
    tool: str
    runs: int
    failures: int
    median_s: float | None = None
    ratio: float | None = None
    ratio_min: float | None = None
    ratio_max: float | None = None
    ratio_q1: float | None = None
    ratio_q3: float | None = None
    status: str = "ok"  # "ok", "failed: ...", or "unavailable: ..."


def quartiles(values: list[float]) -> tuple[float, float] | None:
    # Below four points an IQR says nothing min/max does not already say.
    if len(values) < 4:
        return None
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def summarise_cell(
    workload: str, tool: str, records: list[RunRecord], baseline_median: float | None
) -> CellSummary:
    counted = [r for r in records if r.repetition >= 0]
    times = [r.seconds for r in counted if r.seconds is not None]
    errors = [r.error for r in records if r.error is not None]
    cell = CellSummary(workload, tool, runs=len(counted), failures=len(errors))
    if errors and not times:
        cell.status = f"failed: {errors[0]}"
        return cell
    if errors:
        cell.status = f"partly failed: {errors[0]}"
    if not times:
        cell.status = "failed: no runs"
        return cell
    cell.median_s = statistics.median(times)
    if baseline_median:
        ratios = [t / baseline_median for t in times]
        cell.ratio = cell.median_s / baseline_median
        cell.ratio_min, cell.ratio_max = min(ratios), max(ratios)
        spread = quartiles(ratios)
        if spread:
            cell.ratio_q1, cell.ratio_q3 = spread
    return cell


def summarise(
    plan: Plan, records: list[RunRecord], unavailable: dict[str, str]
) -> list[CellSummary]:
    cells: list[CellSummary] = []
    for workload in plan.workloads:
        mine = [r for r in records if r.workload == workload.name]
        baseline = [
            r.seconds
            for r in mine
            if r.tool == BASELINE and r.repetition >= 0 and r.seconds is not None
        ]
        baseline_median = statistics.median(baseline) if baseline else None
        for tool in plan.tools:
            if tool.name in unavailable:
                status = f"unavailable: {unavailable[tool.name]}"
                cells.append(CellSummary(workload.name, tool.name, 0, 0, status=status))
                continue
            runs = [r for r in mine if r.tool == tool.name]
            cells.append(summarise_cell(workload.name, tool.name, runs, baseline_median))
    return cells


# --------------------------------------------------------------------------------------------
# Printing


def format_range(low: float | None, high: float | None) -> str:
    return f"{low:.2f}-{high:.2f}" if low is not None and high is not None else "-"


def format_row(cell: CellSummary) -> str:
    if cell.median_s is None:
        return f"  {cell.tool:<{TOOL_WIDTH}} {cell.status}"
    ratio = f"{cell.ratio:.2f}x" if cell.ratio is not None else "-"
    row = (
        f"  {cell.tool:<{TOOL_WIDTH}} {cell.median_s:>9.3f} {ratio:>8} "
        f"{format_range(cell.ratio_q1, cell.ratio_q3):>11} "
        f"{format_range(cell.ratio_min, cell.ratio_max):>11} "
        f"{cell.runs - cell.failures:>3}/{cell.runs:<3}"
    )
    if cell.status != "ok":
        row += f"  {cell.status}"
    return row.rstrip()


def print_table(plan: Plan, cells: list[CellSummary], load: tuple[float, float]) -> None:
    print()
    print("ratio = median wall time / median plain-python wall time in this same run;")
    print("IQR and min-max are of the per-run ratios (IQR needs at least 4 runs).")
    print(
        f"python {plan.python}, repeat {plan.repeat}, warm-up {plan.warmup}, "
        f"workload size {plan.seconds:g} s, 1-min load average {load[0]:.2f} at start, "
        f"{load[1]:.2f} at end."
    )
    header = (
        f"  {'tool':<{TOOL_WIDTH}} {'median s':>9} {'ratio':>8} "
        f"{'IQR ratio':>11} {'min-max':>11} ok/runs"
    )
    for workload in plan.workloads:
        print()
        print(f"{workload.name}: {workload.description}")
        print(header)
        for cell in cells:
            if cell.workload == workload.name:
                print(format_row(cell))


# --------------------------------------------------------------------------------------------
# Saving


def save_results(
    path: Path,
    plan: Plan,
    probe: Probe,
    records: list[RunRecord],
    cells: list[CellSummary],
    load: tuple[float, float],
) -> None:
    document = {
        "meta": {
            "python": plan.python,
            "python_version": probe.python_version,
            "tool_versions": probe.versions,
            "platform": platform.platform(),
            "cpu_count": os.cpu_count(),
            "load_average_start": load[0],
            "load_average_end": load[1],
            "seconds": plan.seconds,
            "repeat": plan.repeat,
            "warmup": plan.warmup,
            "timeout": plan.timeout,
            "workloads": [w.name for w in plan.workloads],
            "tools": [t.name for t in plan.tools],
        },
        "runs": [asdict(record) for record in records],
        "summary": [asdict(cell) for cell in cells],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")


# --------------------------------------------------------------------------------------------
# Command line


def parse_names(text: str | None, known: Sequence[str], what: str) -> list[str]:
    if text is None:
        return list(known)
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in known]
    if unknown:
        raise SystemExit(f"unknown {what}: {', '.join(unknown)} (known: {', '.join(known)})")
    return names


def default_python() -> str:
    return str(DEFAULT_VENV_PYTHON) if DEFAULT_VENV_PYTHON.exists() else sys.executable


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0] if __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"smoke test: 1 repeat, no warm-up, {QUICK_SECONDS:g} s workloads",
    )
    parser.add_argument("--repeat", type=int, default=None, help=f"default {DEFAULT_REPEAT}")
    parser.add_argument(
        "--warmup", type=int, default=None, help="uncounted rounds first (default 1; quick: 0)"
    )
    parser.add_argument(
        "--seconds",
        type=float,
        default=None,
        help=f"workload size as plain-python seconds (default {DEFAULT_SECONDS:g})",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=None,
        help="per-run limit in seconds (default 40x size, at least 120)",
    )
    parser.add_argument("--tools", default=None, help="comma-separated; python always runs")
    parser.add_argument("--workloads", default=None, help="comma-separated")
    parser.add_argument("--python", default=None, help="interpreter to run (default .venv-bench)")
    parser.add_argument("--save", type=Path, default=None, help="write raw timings as JSON")
    parser.add_argument("--list", action="store_true", help="list tools and workloads and exit")
    return parser.parse_args(argv)


def print_catalogue() -> None:
    print("workloads:")
    for workload in WORKLOADS:
        print(f"  {workload.name:<{TOOL_WIDTH}} {workload.description}")
    print("tools:")
    for tool in TOOLS:
        print(f"  {tool.name:<{TOOL_WIDTH}} {tool.description}")


def build_plan(args: argparse.Namespace) -> Plan:
    tool_names = parse_names(args.tools, [t.name for t in TOOLS], "tools")
    if BASELINE not in tool_names:
        tool_names.insert(0, BASELINE)  # ratios are meaningless without the baseline
    workload_names = parse_names(args.workloads, [w.name for w in WORKLOADS], "workloads")
    seconds = args.seconds or (QUICK_SECONDS if args.quick else DEFAULT_SECONDS)
    repeat = args.repeat or (1 if args.quick else DEFAULT_REPEAT)
    warmup = args.warmup if args.warmup is not None else (0 if args.quick else 1)
    return Plan(
        workloads=[w for w in WORKLOADS if w.name in workload_names],
        tools=[t for t in TOOLS if t.name in tool_names],
        python=args.python or default_python(),
        seconds=seconds,
        repeat=max(1, repeat),
        warmup=max(0, warmup),
        # yappi's cpu clock runs ~15-20x slower than plain python; leave room for a loaded machine.
        timeout=args.timeout or max(120.0, 40.0 * seconds),
    )


def find_unavailable(plan: Plan, probe: Probe) -> dict[str, str]:
    """Tools that cannot run at all with this interpreter, and why, for the table."""
    unavailable: dict[str, str] = {}
    for tool in plan.tools:
        reason = unavailable_reason(tool, probe, plan.python)
        if reason is not None:
            unavailable[tool.name] = reason
    return unavailable


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.list:
        print_catalogue()
        return 0
    plan = build_plan(args)
    probe = probe_python(plan.python, plan.tools)
    unavailable = find_unavailable(plan, probe)
    for name, reason in unavailable.items():
        print(f"{name}: unavailable: {reason}", file=sys.stderr)
    runnable = [tool for tool in plan.tools if tool.name not in unavailable]
    load_start = os.getloadavg()[0]
    records = execute(plan, runnable)
    load = (load_start, os.getloadavg()[0])
    cells = summarise(plan, records, unavailable)
    print_table(plan, cells, load)
    if args.save:
        save_results(args.save, plan, probe, records, cells, load)
        print(f"\nraw timings written to {args.save}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
