"""Fixed cost of ``gilwise run``: start-up plus final report, on a script that does nothing.

Runs an empty script under plain python and under ``gilwise run`` (summary printed to a
pipe; ``--quiet --json``; ``--quiet``), interleaved round-robin so drift in machine load
hits every mode alike, and prints per mode the median wall time of the whole subprocess,
its difference from python's median measured in the same run, the ratio, and the median
CPU time (user + system, all threads) over python's. The issue's target is a wall-time
difference of at most 20 ms.

Examples::

    python benchmarks/fixed_cost.py               # 30 rounds
    python benchmarks/fixed_cost.py --rounds 5    # a smoke test
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 20.0


def modes(script: Path, out: Path) -> dict[str, list[str]]:
    gilwise = [*gilwise_command(), "run"]
    return {
        "python": [sys.executable, str(script)],
        "gilwise run (summary)": [*gilwise, str(script)],
        "gilwise run --quiet --json": [*gilwise, "--quiet", "--json", str(out), str(script)],
        "gilwise run --quiet": [*gilwise, "--quiet", str(script)],
    }


def gilwise_command() -> list[str]:
    """The ``gilwise`` command as a user types it: the console script pip installed beside
    this python (``python -m gilwise`` also loads runpy, ~3 ms no user pays)."""
    script = Path(sys.executable).parent / "gilwise"
    return [str(script)] if script.exists() else [sys.executable, "-m", "gilwise"]


#: As an installed package runs: from cached bytecode (a shell may turn writing it off, and
#: compiling gilwise's sources on every start would be most of the cost measured).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def time_once(command: list[str]) -> tuple[float, float]:
    """Wall seconds of one run, and the CPU seconds (user + system) it used in all."""
    cpu_before = _children_cpu()
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=ENV)
    wall = time.perf_counter() - started
    return wall, _children_cpu() - cpu_before


def _children_cpu() -> float:
    # CPU time moves far less than wall time with other load on the machine: a second
    # figure to read the wall figure against.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        script = Path(tmp) / "empty.py"
        script.write_text("pass\n")
        commands = modes(script, Path(tmp) / "report.json")
        names = list(commands)
        times: dict[str, list[float]] = {name: [] for name in names}
        cpu: dict[str, list[float]] = {name: [] for name in names}
        for name in names:  # one unmeasured run each: file caches, bytecode written
            time_once(commands[name])
        for round_no in range(options.rounds):
            order = names[round_no % len(names) :] + names[: round_no % len(names)]
            for name in order:
                wall, used = time_once(commands[name])
                times[name].append(wall)
                cpu[name].append(used)
    baseline = statistics.median(times["python"])
    cpu_baseline = statistics.median(cpu["python"])
    print(f"python {sys.version.split()[0]}, {options.rounds} rounds, medians of whole runs")
    print(f"gilwise run as: {' '.join(gilwise_command())} run")
    print(f"{'mode':<28} {'median ms':>10} {'over python':>12} {'ratio':>7} {'CPU over':>9}")
    for name in names:
        median = statistics.median(times[name])
        over = 1e3 * (median - baseline)
        cpu_over = 1e3 * (statistics.median(cpu[name]) - cpu_baseline)
        mark = "" if name == "python" else ("  ok" if over <= TARGET_MS else "  over target")
        print(
            f"{name:<28} {1e3 * median:>10.1f} {over:>+11.1f} {median / baseline:>7.2f}"
            f" {cpu_over:>+8.1f}{mark}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
