"""Speed of ``gilwise check`` against ruff and flake8 with flake8-async, on real projects' source.

Checks the same files with every tool, in one run, and prints lines per second and the ratio to
``flake8 --select ASYNC`` (flake8 with the flake8-async plugin) measured in that same run.
gilwise and ruff are each timed cold (nothing cached) and warm (a second run on unchanged files,
answered from the tool's cache), both on every core, as a user runs them.

Files: every ``.py`` file under the installed interpreter's ``asyncio``, ``concurrent`` and
``multiprocessing`` packages plus ``threading.py`` and ``socketserver.py``, and under the
installed packages ``distributed``, ``anyio``, ``aiohttp`` and ``tornado`` (a package that is
not installed is left out and named in the header). Positional paths replace that default set.
The files are passed to every tool by name, so all of them check the same list (before commit
5905d57, ``gilwise check`` skipped every folder below a ``site-packages`` directory).

Rows (``--tools`` picks some; the first one present is the baseline of the ratio column):

``flake8-async``
    ``flake8 --select ASYNC -j 1 --exit-zero FILES`` as a user with flake8 and flake8-async
    has it: flake8 runs every installed plugin whatever ``--select`` says, so the command runs
    under a launcher that hides the ``GW`` plugin (gilwise's own) from flake8's plugin finder.
    pyflakes and pycodestyle still run, as they do for every flake8 user.
``ruff``
    ``ruff check --isolated --select ASYNC --no-cache FILES``: ruff's port of flake8-async's
    rules, on every core (ruff's default), nothing cached.
``ruff-warm``
    The same with ``--cache-dir DIR`` instead of ``--no-cache``, DIR filled by one untimed run
    before the first round: ruff on files it has seen.
``gilwise-cold``
    ``gilwise check --no-respect-gitignore --select GW --exit-zero FILES`` (the CLI, one
    process per core), with ``GILWISE_CACHE_DIR`` set to a new empty folder for each run.
``gilwise-warm``
    The same with a cache folder filled by one untimed run before the first round.
``gilwise-serial``
    The same with ``--jobs 1 --no-cache``: one process and no cache, what ``gilwise check``
    did before it had either, so the checker's own speed can be read off.
``flake8-gw``
    ``flake8 --select GW -j 1 --exit-zero FILES``: gilwise's flake8 plugin, with the
    flake8-async plugin hidden the same way.
``flake8-builtins``
    ``flake8 --select F -j 1 --exit-zero FILES`` with both plugins hidden: what flake8 itself
    costs (pyflakes, pycodestyle, file handling), so a plugin's share can be read off.
``flake8-async-cli``
    ``python -m flake8_async FILES``: flake8-async's standalone runner, without flake8.

Each row runs ``--repeat`` times (default 3), interleaved round by round with the tool order
rotated, in a fresh temporary working directory (no project configuration applies); the table
shows the best wall time and the best CPU time (user + system of the child and of the worker
processes it waited for; with several cores busy, CPU time exceeds wall time). Tools run from the
Python environment given by ``--python-env`` (a virtualenv folder or an interpreter), by default
the one running this script; the stdlib and the packages are located by that interpreter.

Setup and run::

    python3 -m venv /tmp/checkbench
    /tmp/checkbench/bin/pip install -e . ruff flake8 flake8-async distributed anyio aiohttp
    /tmp/checkbench/bin/python benchmarks/check_speed.py            # tools from that venv
    python3 benchmarks/check_speed.py --python-env /tmp/checkbench  # the same, any Python 3.10+
    python3 benchmarks/check_speed.py --python-env /tmp/checkbench --repeat 1 src/  # other files

Timings are wall-clock: run on a quiet machine. The header prints the load average at the start
and the end so a noisy run shows; the CPU-time column is less sensitive to other load. It also
prints a hash of the ``gilwise.check`` sources at the start and the end, and warns when they
changed during the run (an editable install picks up edits at once).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STDLIB = ("asyncio", "concurrent", "multiprocessing", "threading.py", "socketserver.py")
DEFAULT_PACKAGES = ("distributed", "anyio", "aiohttp", "tornado")
DEFAULT_REPEAT = 3
DEFAULT_TIMEOUT_S = 900.0
# A report line of every tool here: "path:line:col: CODE message".
FINDING = re.compile(r":\d+:\d+: [A-Z]+\d+ ")
VERSIONED = ("gilwise", "ruff", "flake8", "flake8-async", "pyflakes", "pycodestyle")

# Runs flake8 with some plugins hidden from its finder: flake8 runs every installed plugin and
# only filters the reports by --select, so a venv holding both plugins would time both.
# argv: HIDDEN_ENTRY_NAMES (comma-separated) then flake8's own arguments.
FLAKE8_LAUNCHER = """\
import sys
from flake8.main import cli
from flake8.plugins import finder
hidden = set(filter(None, sys.argv[1].split(",")))
found = finder.find_plugins
finder.find_plugins = lambda *a, **k: [
    p for p in found(*a, **k) if p.entry_point.name not in hidden
]
sys.exit(cli.main(sys.argv[2:]))
"""

# Printed as JSON by the target interpreter: where its stdlib and the packages live.
LOCATE = """\
import importlib.util, json, platform, sys, sysconfig
from importlib import metadata
names, dists = sys.argv[1].split(","), sys.argv[2].split(",")
found = {}
for name in filter(None, names):
    spec = importlib.util.find_spec(name)
    locations = list(spec.submodule_search_locations or []) if spec else []
    found[name] = locations[0] if locations else (spec.origin if spec else None)
versions = {}
for dist in filter(None, dists):
    try:
        versions[dist] = metadata.version(dist)
    except metadata.PackageNotFoundError:
        versions[dist] = None
gilwise = importlib.util.find_spec("gilwise")
gilwise_dirs = list(gilwise.submodule_search_locations or []) if gilwise else []
print(json.dumps({
    "stdlib": sysconfig.get_paths()["stdlib"],
    "packages": found,
    "versions": versions,
    "python": f"{platform.python_implementation()} {platform.python_version()}",
    "executable": sys.executable,
    "gilwise": gilwise_dirs,
}))
"""


# --------------------------------------------------------------------------------------------
# Files


@dataclass
class Target:
    """One checked project (a stdlib module or package, or an installed package)."""

    label: str
    path: Path
    files: list[Path] = field(default_factory=list)
    lines: int = 0


@dataclass
class Environment:
    python: Path
    bindir: Path
    stdlib: Path
    packages: dict[str, Path | None]
    versions: dict[str, str | None]
    description: str
    gilwise_dir: Path | None  # the gilwise package the environment imports


def resolve_python(python_env: str | None) -> Path:
    """The interpreter of a virtualenv folder, an interpreter path, or the current one."""
    if python_env is None:
        return Path(sys.executable)
    given = Path(python_env).expanduser()
    if given.is_dir():
        for candidate in (given / "bin" / "python", given / "Scripts" / "python.exe"):
            if candidate.exists():
                return candidate
        raise SystemExit(f"error: no bin/python in {given}; pass a virtualenv or an interpreter")
    if not given.exists():
        raise SystemExit(f"error: no such interpreter or virtualenv: {given}")
    return given


def locate(python: Path, packages: Sequence[str]) -> Environment:
    """Ask ``python`` where its stdlib and ``packages`` are, and the tools' versions."""
    names = [p for p in packages if p]
    completed = subprocess.run(
        [str(python), "-c", LOCATE, ",".join(names), ",".join((*VERSIONED, *names))],
        capture_output=True,
        text=True,
        check=False,
    )
    if completed.returncode != 0:
        raise SystemExit(f"error: {python} could not locate its packages:\n{completed.stderr}")
    info = json.loads(completed.stdout)
    return Environment(
        python=python,
        # Not resolved: a venv's bin/python is a link to the base interpreter.
        bindir=python.parent,
        stdlib=Path(info["stdlib"]),
        packages={k: Path(v) if v else None for k, v in info["packages"].items()},
        versions=info["versions"],
        description=f"{info['python']} ({info['executable']})",
        gilwise_dir=Path(info["gilwise"][0]) if info["gilwise"] else None,
    )


def default_targets(
    env: Environment, stdlib: Sequence[str], packages: Sequence[str]
) -> tuple[list[Target], list[str]]:
    targets, missing = [], []
    for name in stdlib:
        path = env.stdlib / name
        if path.exists():
            targets.append(Target(f"stdlib {name}", path))
        else:
            missing.append(f"stdlib {name}")
    for name in packages:
        path = env.packages.get(name)
        if path is not None and path.exists():
            version = env.versions.get(name)
            targets.append(Target(f"{name} {version}" if version else name, path))
        else:
            missing.append(name)
    return targets, missing


def python_files(path: Path) -> list[Path]:
    """Every ``.py`` file at or under ``path``, sorted, skipping ``__pycache__``."""
    if path.is_file():
        return [path] if path.suffix == ".py" else []
    found = []
    for directory, subdirectories, names in os.walk(path):
        subdirectories[:] = sorted(d for d in subdirectories if d != "__pycache__")
        found.extend(Path(directory) / n for n in sorted(names) if n.endswith(".py"))
    return found


def count_lines(path: Path) -> int:
    """Lines as ``wc -l`` counts them, plus a last line without a newline."""
    data = path.read_bytes()
    return data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)


def collect(targets: Iterable[Target]) -> list[Path]:
    """Fill each target's files and line count; return all files, each once, in order."""
    seen: dict[Path, None] = {}
    for target in targets:
        target.files = [f for f in python_files(target.path) if f not in seen]
        target.lines = sum(count_lines(f) for f in target.files)
        seen.update(dict.fromkeys(target.files))
    return list(seen)


def targets_from_args(
    env: Environment, paths: Sequence[str], stdlib: Sequence[str], packages: Sequence[str]
) -> tuple[list[Target], list[str]]:
    if paths:
        targets = []
        for given in paths:
            path = Path(given).expanduser().absolute()
            if not path.exists():
                raise SystemExit(f"error: no such file or directory: {given}")
            targets.append(Target(given, path))
        return targets, []
    return default_targets(env, stdlib, packages)


# --------------------------------------------------------------------------------------------
# Tools


@dataclass(frozen=True)
class Tool:
    name: str
    shown: str  # the command line as the table shows it
    modules: tuple[str, ...]  # what must be importable in the environment
    ok_exits: tuple[int, ...] = (0,)  # flake8-async's runner has no --exit-zero
    warm: bool = False  # its cache is filled by an untimed run before the first round

    def argv(self, env: Environment, files: Sequence[str], cache: Path) -> list[str]:
        """The command; ``cache`` is the run's cache folder (empty, or warm for warm rows)."""
        python = str(env.python)
        if self.name.startswith("gilwise"):
            script = env.bindir / "gilwise"
            head = [str(script)] if script.exists() else [python, "-m", "gilwise"]
            options = ["--no-respect-gitignore", "--select", "GW", "--exit-zero"]
            if self.name == "gilwise-serial":
                options += ["--jobs", "1", "--no-cache"]
            return [*head, "check", *options, *files]
        if self.name.startswith("ruff"):
            caching = ["--cache-dir", str(cache)] if self.warm else ["--no-cache"]
            options = ["--isolated", "--select", "ASYNC", "--exit-zero", *caching]
            return [python, "-m", "ruff", "check", "--output-format", "concise", *options, *files]
        if self.name == "flake8-async-cli":
            return [python, "-m", "flake8_async", *files]
        hidden, select = {
            "flake8-async": ("GW", "ASYNC"),
            "flake8-gw": ("ASY", "GW"),
            "flake8-builtins": ("GW,ASY", "F"),
        }[self.name]
        return [
            python,
            "-c",
            FLAKE8_LAUNCHER,
            hidden,
            "--isolated",
            "--select",
            select,
            "-j",
            "1",
            "--exit-zero",
            *files,
        ]

    def environ(self, cache: Path) -> dict[str, str]:
        return {**os.environ, "GILWISE_CACHE_DIR": str(cache)}


TOOLS: tuple[Tool, ...] = (
    Tool("flake8-async", "flake8 --select ASYNC -j 1 (flake8-async)", ("flake8", "flake8_async")),
    Tool("ruff", "ruff check --select ASYNC, cold", ("ruff",)),
    Tool("ruff-warm", "ruff check --select ASYNC, warm cache", ("ruff",), warm=True),
    Tool("gilwise-serial", "gilwise check --jobs 1 --no-cache", ("gilwise",)),
    Tool("gilwise-cold", "gilwise check, cold (all cores)", ("gilwise",)),
    Tool("gilwise-warm", "gilwise check, warm cache", ("gilwise",), warm=True),
    Tool("flake8-gw", "flake8 --select GW -j 1 (gilwise plugin)", ("flake8", "gilwise")),
    Tool("flake8-builtins", "flake8 --select F -j 1 (no plugin)", ("flake8",)),
    Tool("flake8-async-cli", "python -m flake8_async (standalone)", ("flake8_async",), (0, 1)),
)
DEFAULT_TOOLS = tuple(tool.name for tool in TOOLS)


@dataclass
class Result:
    tool: Tool
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    findings: int | None = None
    error: str | None = None


def available(tool: Tool, env: Environment) -> str | None:
    """None when ``tool`` can run in ``env``, else why not."""
    probe = (
        "import importlib.util, sys\n"
        "missing = [m for m in sys.argv[1:] if importlib.util.find_spec(m) is None]\n"
        "print(', '.join(missing))"
    )
    completed = subprocess.run(
        [str(env.python), "-c", probe, *tool.modules], capture_output=True, text=True, check=False
    )
    missing = completed.stdout.strip()
    return f"unavailable: {missing} not installed in {env.python}" if missing else None


def run_once(
    argv: list[str], cwd: str, timeout: float, ok_exits: tuple[int, ...], env: dict[str, str]
) -> tuple[float, float, int]:
    """Wall and CPU seconds of one run and the number of findings it printed."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    completed = subprocess.run(
        argv, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False, env=env
    )
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if completed.returncode not in ok_exits:
        tail = (completed.stderr.strip() or completed.stdout.strip()).splitlines()[-3:]
        raise RuntimeError(f"exit {completed.returncode}: {' | '.join(tail)}")
    return wall, cpu, sum(1 for line in completed.stdout.splitlines() if FINDING.search(line))


def measure(
    tools: Sequence[Tool], env: Environment, files: list[str], repeat: int, timeout: float
) -> list[Result]:
    results = [Result(tool) for tool in tools]
    for result in results:
        result.error = available(result.tool, env)
    with tempfile.TemporaryDirectory(prefix="check-speed-") as cwd:
        caches = Path(cwd, "caches")
        for result in results:
            if result.error is None and result.tool.warm:
                print(f"  warming {result.tool.name}'s cache ...", file=sys.stderr, flush=True)
                cache = caches / result.tool.name
                result.error = _run(result, env, files, cache, cwd, timeout, record=False)
        for round_index in range(repeat):
            shift = round_index % len(results)
            for result in results[shift:] + results[:shift]:
                if result.error is not None:
                    continue
                label = f"round {round_index + 1}/{repeat}: {result.tool.name}"
                print(f"  {label} ...", end="", file=sys.stderr, flush=True)
                # Cold rows get a new empty cache folder each run; warm ones keep theirs.
                cache = caches / (result.tool.name if result.tool.warm else f"cold-{round_index}")
                result.error = _run(result, env, files, cache, cwd, timeout, record=True)
                if result.error is None:
                    times = f"{result.walls[-1]:.2f} s wall, {result.cpus[-1]:.2f} s CPU"
                    print(f" {times}", file=sys.stderr)
                else:
                    print(f" {result.error}", file=sys.stderr)
    return results


def _run(
    result: Result,
    env: Environment,
    files: list[str],
    cache: Path,
    cwd: str,
    timeout: float,
    record: bool,
) -> str | None:
    """Run the tool once and (if ``record``) keep its times; the error, if it failed."""
    tool = result.tool
    try:
        wall, cpu, findings = run_once(
            tool.argv(env, files, cache), cwd, timeout, tool.ok_exits, tool.environ(cache)
        )
    except (RuntimeError, subprocess.TimeoutExpired) as exc:
        return f"failed: {exc}"
    if record:
        result.walls.append(wall)
        result.cpus.append(cpu)
        result.findings = findings
    return None


# --------------------------------------------------------------------------------------------
# Report


def git_commit() -> str:
    """HEAD's short hash, and whether the checker's sources differ from it."""

    def git(*args: str) -> str:
        completed = subprocess.run(
            ["git", "-C", str(REPO_ROOT), *args], capture_output=True, text=True, check=False
        )
        return completed.stdout.strip()

    head = git("rev-parse", "--short", "HEAD") or "unknown"
    dirty = git("status", "--porcelain", "--", "src/gilwise/check")
    return f"{head} (src/gilwise/check {'modified' if dirty else 'as committed'})"


def fingerprint(env: Environment) -> str:
    """A short hash of the checker's sources in ``env``: tells whether they changed mid-run."""
    if env.gilwise_dir is None:
        return "n/a"
    digest = hashlib.sha256()
    for path in sorted((env.gilwise_dir / "check").rglob("*.py")):
        digest.update(path.relative_to(env.gilwise_dir).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:10]


def load_average() -> str:
    try:
        return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())
    except OSError:
        return "n/a"


@dataclass(frozen=True)
class Snapshot:
    """What may drift during a run: machine load and the checker's version."""

    load: str
    commit: str
    sources: str

    @classmethod
    def take(cls, env: Environment) -> Snapshot:
        return cls(load_average(), git_commit(), fingerprint(env))


def report(
    results: Sequence[Result],
    targets: Sequence[Target],
    missing: Sequence[str],
    env: Environment,
    repeat: int,
    start: Snapshot,
    end: Snapshot,
) -> str:
    lines_total = sum(t.lines for t in targets)
    files_total = sum(len(t.files) for t in targets)
    versions = ", ".join(f"{k} {v}" for k, v in env.versions.items() if k in VERSIONED and v)
    out = [
        "gilwise check speed against ruff and flake8 + flake8-async (benchmarks/check_speed.py)",
        f"python:   {env.description}",
        f"versions: {versions}",
        f"gilwise:  commit {start.commit} at start, {end.commit} at end; "
        f"sources of gilwise.check {start.sources} at start, {end.sources} at end",
        f"machine:  {platform.machine()}, {os.cpu_count()} CPUs, {platform.platform()}",
        f"load avg (1/5/15 min): {start.load} at start, {end.load} at end",
        f"best of {repeat} runs per tool, interleaved; the same {files_total} files for every tool",
        "",
        f"{'files checked':<44} {'files':>6} {'lines':>9}",
    ]
    for target in targets:
        out.append(f"{target.label:<44} {len(target.files):>6} {target.lines:>9,}")
    out.append(f"{'total':<44} {files_total:>6} {lines_total:>9,}")
    if start.sources != end.sources:
        out.append(
            "WARNING: gilwise's checker sources changed during the run: its rows mix two versions"
        )
    if missing:
        out.append(f"not installed, left out: {', '.join(missing)}")
    baseline = next((r for r in results if r.walls), None)
    out += [
        "",
        f"{'tool':<44} {'wall s':>7} {'CPU s':>7} {'lines/s':>9} {'report':>7} "
        f"{'speed vs ' + (baseline.tool.name if baseline else '-'):>22}",
    ]
    for result in results:
        if not result.walls:
            out.append(f"{result.tool.shown:<44} {result.error or 'not run'}")
            continue
        wall, cpu = min(result.walls), min(result.cpus)
        ratio = "-"
        if baseline is not None:
            base_wall, base_cpu = min(baseline.walls), min(baseline.cpus)
            ratio = f"{base_wall / wall:.2f}x wall, {base_cpu / cpu:.2f}x CPU"
        out.append(
            f"{result.tool.shown:<44} {wall:>7.2f} {cpu:>7.2f} {lines_total / wall:>9,.0f} "
            f"{result.findings:>7} {ratio:>22}"
        )
        if result.error:
            out.append(f"{'':<44} (a later run {result.error})")
    out += [
        "",
        "wall s / CPU s: best of the runs (CPU = user + system of the child and its workers).",
        "cold: nothing cached; warm: a second run on unchanged files, from the tool's cache.",
        "lines/s: total lines / best wall time. report: findings the tool printed.",
        "speed vs: the baseline's best time / this tool's best time (above 1: faster).",
    ]
    return "\n".join(out)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawTextHelpFormatter
    )
    parser.add_argument(
        "paths", nargs="*", help="files or folders to check instead of the default set"
    )
    parser.add_argument(
        "--python-env",
        help="virtualenv folder or interpreter whose tools, stdlib and packages to use "
        "(default: the Python running this script)",
    )
    parser.add_argument(
        "--stdlib",
        default=",".join(DEFAULT_STDLIB),
        help="stdlib modules and packages to check (default %(default)s)",
    )
    parser.add_argument(
        "--packages",
        default=",".join(DEFAULT_PACKAGES),
        help="installed packages to check (default %(default)s)",
    )
    parser.add_argument(
        "--tools",
        default=",".join(DEFAULT_TOOLS),
        help="rows to measure; the first is the ratio's baseline (default %(default)s)",
    )
    parser.add_argument("--repeat", type=int, default=DEFAULT_REPEAT, help="runs per tool")
    parser.add_argument("--timeout", type=float, default=DEFAULT_TIMEOUT_S, help="seconds per run")
    parser.add_argument("--list-files", action="store_true", help="print the files and exit")
    parser.add_argument("--output", help="also write the table to this file")
    args = parser.parse_args(argv)
    known = {t.name for t in TOOLS}
    args.tools = [t for t in args.tools.split(",") if t]
    if unknown := [t for t in args.tools if t not in known]:
        parser.error(f"unknown tools {unknown}; choose from {sorted(known)}")
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    return args


def split_names(value: str) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()]


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    env = locate(resolve_python(args.python_env), split_names(args.packages))
    targets, missing = targets_from_args(
        env, args.paths, split_names(args.stdlib), split_names(args.packages)
    )
    files = [str(f) for f in collect(targets)]
    if args.list_files:
        print("\n".join(files))
        return 0
    if not files:
        raise SystemExit("error: no .py files to check")
    by_name = {t.name: t for t in TOOLS}
    start = Snapshot.take(env)
    results = measure([by_name[n] for n in args.tools], env, files, args.repeat, args.timeout)
    table = report(results, targets, missing, env, args.repeat, start, Snapshot.take(env))
    print(table)
    if args.output:
        Path(args.output).write_text(table + "\n", encoding="utf-8")
    return 0 if all(r.walls for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
