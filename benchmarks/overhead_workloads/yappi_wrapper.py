"""Run a script under yappi, the way a user would profile a whole program with it.

Usage: ``python yappi_wrapper.py --clock {wall,cpu} [--output PATH] script.py [args...]``

yappi has no command-line runner that profiles every thread, so this starts it, runs the script
with ``runpy`` as ``__main__`` (with ``sys.argv`` and ``sys.path[0]`` set as ``python script.py``
would), stops it, and collects the statistics, which is part of what a real use pays for.
"""

from __future__ import annotations

import argparse
import runpy
import sys
from pathlib import Path

import yappi


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clock", choices=("wall", "cpu"), default="wall")
    parser.add_argument("--output", default=None, help="write function stats here (pstat format)")
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    return parser.parse_args()


def run_script(script: str, args: list[str]) -> None:
    sys.argv = [script, *args]
    sys.path[0] = str(Path(script).resolve().parent)
    runpy.run_path(script, run_name="__main__")


def main() -> None:
    options = parse_args()
    yappi.set_clock_type(options.clock)
    yappi.start()
    try:
        run_script(options.script, options.args)
    finally:
        yappi.stop()
        stats = yappi.get_func_stats()
        yappi.get_thread_stats()
        if options.output:
            stats.save(options.output, type="pstat")


if __name__ == "__main__":
    main()
