"""Fixed cost of ``gilwise run``: start-up plus final report, on a script that does nothing.

Runs an empty script under plain python and under ``gilwise run`` (summary printed to a
pipe; ``--quiet --json``; ``--quiet``), interleaved round-robin so drift in machine load
hits every mode alike, and prints per mode the median wall time of the whole subprocess,
its difference from python's median measured in the same run, and the ratio. The issue's
target is a difference of at most 20 ms.

Examples::

    python benchmarks/fixed_cost.py               # 30 rounds
    python benchmarks/fixed_cost.py --rounds 5    # a smoke test
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_MS = 20.0


def modes(script: Path, out: Path) -> dict[str, list[str]]:
    gilwise = [sys.executable, "-m", "gilwise", "run"]
    return {
        "python": [sys.executable, str(script)],
        "gilwise run (summary)": [*gilwise, str(script)],
        "gilwise run --quiet --json": [*gilwise, "--quiet", "--json", str(out), str(script)],
        "gilwise run --quiet": [*gilwise, "--quiet", str(script)],
    }


#: As an installed package runs: from cached bytecode (a shell may turn writing it off, and
#: compiling gilwise's sources on every start would be most of the cost measured).
ENV = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def time_once(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, env=ENV)
    return time.perf_counter() - started


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
        for name in names:  # one unmeasured run each: file caches, bytecode written
            time_once(commands[name])
        for round_no in range(options.rounds):
            order = names[round_no % len(names) :] + names[: round_no % len(names)]
            for name in order:
                times[name].append(time_once(commands[name]))
    baseline = statistics.median(times["python"])
    print(f"python {sys.version.split()[0]}, {options.rounds} rounds, medians of whole runs")
    print(f"{'mode':<28} {'median ms':>10} {'over python':>12} {'ratio':>7}")
    for name in names:
        median = statistics.median(times[name])
        over = 1e3 * (median - baseline)
        mark = "" if name == "python" else ("  ok" if over <= TARGET_MS else "  over target")
        print(f"{name:<28} {1e3 * median:>10.1f} {over:>+11.1f} {median / baseline:>7.2f}{mark}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
