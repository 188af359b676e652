"""Does `gilwise advise` pick a configuration within 10% of the best one? (issue 3)

For each workload, an exhaustive sweep is the oracle: every backend at every worker
count in 1, 2, 4, ... (up to 16 for computing functions, 256 for waiting ones), each
run twice round-robin, best run kept. Then the advisor runs with its default budget;
its pick is timed the same way as the oracle, in the same run, and the ratio of the
pick's throughput to the oracle's best is printed. Run alone: it measures timing.

``--report stability`` (or ``both``) runs the advisor ``--runs`` times (default 5) per
workload instead and prints how often each pick came out and the share of the most
common one: the same target should get the same pick in at least 4 of 5 runs. Each
pick's speedup is against the serial rate measured in the same advisor run.

    python benchmarks/advise_accuracy.py [--budget 20] [--json results/advise_accuracy.json]
    python benchmarks/advise_accuracy.py --report stability [--runs 5] [--only cpu_pure]
"""

from __future__ import annotations

import argparse
import functools
import json
import multiprocessing
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from advise_workloads import functions as w
from gilwise._core._probe import settle_cpu
from gilwise._errors import GilwiseError
from gilwise.advise._advisor import run_advice
from gilwise.advise._backends import Job, trial
from gilwise.tour.lessons.io_bound import serve

TRIAL_S = 0.4


def workloads(address: tuple[str, int]) -> dict[str, tuple[Any, list[Any], bool, int]]:
    """name -> (function, items, coroutine?, worker ceiling for the oracle)."""
    blob = bytes(2 << 20)
    return {
        "cpu_pure": (w.cpu_pure, [20_000] * 64, False, 16),
        "sleep_io": (w.sleep_io, list(range(64)), False, 256),
        "socket_io": (functools.partial(w.socket_io, address), list(range(64)), False, 256),
        "hashlib_big": (w.hashlib_big, list(range(64)), False, 16),
        "tiny_large_arg": (w.tiny_large_arg, [blob] * 8, False, 16),
        "coroutine_io": (w.coroutine_io, list(range(64)), True, 256),
        "mixed": (w.mixed, [8_000] * 64, False, 256),
        "unbalanced": (w.unbalanced, [2_000 * (1 + i % 16) for i in range(64)], False, 16),
        "costly_import": (w.costly_import, [20_000] * 64, False, 16),
    }


def timed(job: Job, backend: str, workers: int, items: list[Any], rate_hint: float) -> float:
    """Best of two runs' items/s, with a batch of about TRIAL_S seconds."""
    n = int(min(50_000, max(4 * workers, TRIAL_S * rate_hint)))
    batch = [items[i % len(items)] for i in range(n)]
    chunk = 1
    if backend == "process":
        chunk = max(1, min(512, int(0.01 * rate_hint / max(1, workers)) or 1))
    return max(trial(job, backend, workers, batch, chunksize=chunk).items_per_s for _ in range(2))


def oracle(job: Job, items: list[Any], ceiling: int) -> dict[tuple[str, int], float]:
    serial = timed(job, "serial", 1, items, 10.0)
    serial = timed(job, "serial", 1, items, serial)
    rates = {("serial", 1): serial}
    backends = ["asyncio"] if job.is_coroutine else ["thread", "asyncio", "process"]
    for backend in backends:
        workers = 1
        while workers <= (min(ceiling, 32) if backend == "process" else ceiling):
            rates[(backend, workers)] = timed(job, backend, workers, items, serial * workers)
            workers *= 2
    return rates


def accuracy_row(
    name: str, fn: Any, items: list[Any], coroutine: bool, ceiling: int, budget: float
) -> dict[str, Any]:
    """The oracle's best against the advisor's pick, both timed in this run."""
    job = Job(fn, coroutine)
    best = oracle(job, items, ceiling)
    (best_backend, best_workers), best_rate = max(best.items(), key=lambda kv: kv[1])
    started = time.perf_counter()
    report = run_advice(fn, items, budget=budget)
    advisor_s = time.perf_counter() - started
    pick = report.recommendation
    serial_rate = best[("serial", 1)]
    pick_rate = best.get((pick.backend, pick.workers)) or timed(
        job, pick.backend, pick.workers, items, pick.items_per_s
    )
    row = {
        "workload": name,
        "oracle": f"{best_backend} x{best_workers}",
        "oracle_speedup": best_rate / serial_rate,
        "pick": f"{pick.backend} x{pick.workers}",
        "pick_speedup": pick_rate / serial_rate,
        "ratio": pick_rate / best_rate,
        "within_10pct": pick_rate >= 0.9 * best_rate,
        "advisor_s": advisor_s,
    }
    print(
        f"{name:15} oracle {row['oracle']:13} {row['oracle_speedup']:7.2f}x | "
        f"pick {row['pick']:13} {row['pick_speedup']:7.2f}x | ratio {row['ratio']:.2f} "
        f"{'ok ' if row['within_10pct'] else 'MISS'} | advisor {advisor_s:.1f} s",
        flush=True,
    )
    return row


def stability_row(name: str, fn: Any, items: list[Any], budget: float, runs: int) -> dict[str, Any]:
    """The advisor run ``runs`` times on one workload: how often each pick came out."""
    picks: list[str] = []
    speedups: list[float] = []
    for _ in range(runs):
        try:
            pick = run_advice(fn, items, budget=budget).recommendation
        except GilwiseError as exc:  # e.g. a budget too small for this workload's calls
            print(f"{name:15} refused: {exc}", flush=True)
            return {"workload": name, "runs": 0, "refused": str(exc)}
        picks.append(f"{pick.backend} x{pick.workers}")
        speedups.append(pick.speedup)
    counts = Counter(picks).most_common()
    row = {
        "workload": name,
        "runs": runs,
        "picks": dict(counts),
        "top_share": counts[0][1] / runs,
        "stable": counts[0][1] >= 0.8 * runs,
        "speedups": speedups,
    }
    tally = ", ".join(f"{label} {n}/{runs}" for label, n in counts)
    print(
        f"{name:15} {tally:45} | most common {row['top_share']:4.0%} "
        f"{'ok  ' if row['stable'] else 'FLIP'} | speedups "
        f"{min(speedups):.2f}-{max(speedups):.2f}x",
        flush=True,
    )
    return row


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--budget", type=float, default=20.0)
    parser.add_argument("--only", help="comma-separated workload names")
    parser.add_argument("--json", type=Path)
    parser.add_argument(
        "--report",
        choices=("accuracy", "stability", "both"),
        default="accuracy",
        help="pick against the oracle, pick stability over --runs advisor runs, or both",
    )
    parser.add_argument("--runs", type=int, default=5, help="advisor runs per workload (stability)")
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    ours, theirs = multiprocessing.Pipe()
    server = multiprocessing.Process(target=serve, args=(theirs,), daemon=True)
    server.start()
    address = tuple(ours.recv())
    settle_cpu(2.0)
    chosen = {
        name: spec
        for name, spec in workloads(address).items()
        if not args.only or name in args.only.split(",")
    }
    results: dict[str, list[dict[str, Any]]] = {}
    try:
        if args.report in ("accuracy", "both"):
            rows = [accuracy_row(name, *spec, args.budget) for name, spec in chosen.items()]
            hits = sum(r["within_10pct"] for r in rows)
            print(f"\n{hits} of {len(rows)} picks within 10% of the oracle's best\n")
            results["accuracy"] = rows
        if args.report in ("stability", "both"):
            rows = [
                stability_row(name, fn, items, args.budget, args.runs)
                for name, (fn, items, _, _) in chosen.items()
            ]
            measured = [r for r in rows if r["runs"]]
            stable = sum(r["stable"] for r in measured)
            print(
                f"\n{stable} of {len(measured)} workloads got the same pick in 80% of runs or "
                f"more ({len(rows) - len(measured)} refused)"
            )
            results["stability"] = rows
    finally:
        server.terminate()
    if args.json:
        # The accuracy report alone keeps its original shape: a list of rows.
        data = results["accuracy"] if args.report == "accuracy" else results
        args.json.write_text(json.dumps(data, indent=2) + "\n")


if __name__ == "__main__":
    main()
