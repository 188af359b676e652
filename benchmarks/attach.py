"""What ``gilwise attach`` costs the process it watches (CPython 3.14+ only).

A target program counts units of pure-Python work in fixed time windows for the whole
run: before the attach, while gilwise watches it, and after the detach. Its rate while
watched, divided by the mean of its own rates before and after (the baseline, same
process, same run), is the slowdown gilwise caused; after/before shows the machine's
drift over the run, and that nothing of gilwise stays behind. ``monitor CPU`` is the
sampler's own CPU time over the watch, the direct cost (a GIL-bound program loses about
that share). Also timed: the attach (until the monitor runs in the target) and the
detach (until the final report is back).

Targets: ``cpu`` (the main thread alone), ``threads`` (main thread and three workers
sharing the GIL). Watches: default (a snapshot every 5 s, the fallback figures) and
``--live`` (a snapshot every second).

    python3.14 benchmarks/attach.py              # 3 repeats of each
    python3.14 benchmarks/attach.py --repeat 1   # a smoke test
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT / "src"))

from gilwise.monitor._attach import Attachment, inspect_target  # noqa: E402

WINDOW_S = 0.1
ATTACH_AT_S = 3.0
WATCH_S = 4.0
#: Long enough for an "after" phase of several seconds even when attaching is slow.
RUN_S = ATTACH_AT_S + WATCH_S + 6.0
SETTLE_S = 0.5  # left out of each phase's rate, either side of attach and detach

TARGET = """\
import json, sys, threading, time
window, run_s, workers, out = float(sys.argv[1]), float(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
counts = [0] * (workers + 1)
def work(slot):
    end = time.monotonic() + run_s
    while time.monotonic() < end:
        sum(range(300))
        counts[slot] += 1
for slot in range(1, workers + 1):
    threading.Thread(target=work, args=(slot,), daemon=True).start()
start = time.monotonic()
print("ready", flush=True)
samples = []
next_mark = start + window
end = start + run_s
while time.monotonic() < end:
    sum(range(300))
    counts[0] += 1
    now = time.monotonic()
    if now >= next_mark:
        samples.append((time.time(), sum(counts)))
        next_mark += window
with open(out, "w") as fh:
    json.dump(samples, fh)
"""


def one_run(workers: int, live: bool, scratch: Path) -> dict[str, float]:
    program = scratch / "target.py"
    program.write_text(TARGET)
    out = scratch / "samples.json"
    target = subprocess.Popen(
        [sys.executable, str(program), str(WINDOW_S), str(RUN_S), str(workers), str(out)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert target.stdout is not None
    assert target.stdout.readline() == "ready\n"
    time.sleep(ATTACH_AT_S)
    t_attach = time.time()
    watch = Attachment.open(inspect_target(target.pid), interval_s=0.01, stall_ms=100)
    t_attached = time.time()
    every = 1.0 if live else 5.0
    next_snapshot = time.monotonic() + every
    end = time.monotonic() + WATCH_S
    while time.monotonic() < end:
        time.sleep(max(0.0, min(next_snapshot, end) - time.monotonic()))
        if time.monotonic() >= next_snapshot:
            watch.snapshot()
            next_snapshot += every
    t_detach = time.time()
    report = watch.stop()
    t_detached = time.time()
    watch.close()
    target.wait(timeout=60)
    assert report is not None, (watch.ended, watch.target_ended)
    assert report.complete
    samples = json.loads(out.read_text())
    first = samples[0][0]
    return {
        "attach_s": t_attached - t_attach,
        "detach_s": t_detached - t_detach,
        "before": _rate(samples, first + SETTLE_S, t_attach - SETTLE_S),
        "during": _rate(samples, t_attached + SETTLE_S, t_detach - SETTLE_S),
        "after": _rate(samples, t_detached + SETTLE_S, samples[-1][0]),
        "monitor_share": report.process.monitor_cpu_seconds / report.duration_s,
    }


def _rate(samples: list[list[float]], start: float, end: float) -> float:
    inside = [(t, n) for t, n in samples if start <= t <= end]
    (t0, n0), (t1, n1) = inside[0], inside[-1]
    return (n1 - n0) / (t1 - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if sys.version_info < (3, 14):
        print("needs CPython 3.14+ (sys.remote_exec)", file=sys.stderr)
        return 2
    print(f"python {sys.version.split()[0]}, {args.repeat} repeat(s); 'during' is the rate while")
    print("watched over the mean of the rates before and after (1.000 = no slowdown);")
    print("median [range] over repeats\n")
    print(
        f"{'target':<10}{'watch':<9}{'during':>22}{'after/before':>22}{'monitor CPU':>13}"
        f"{'attach s':>10}{'detach s':>10}"
    )
    for workers, name in ((0, "cpu"), (3, "threads")):
        for live in (False, True):
            runs = []
            for _ in range(args.repeat):
                with tempfile.TemporaryDirectory() as scratch:
                    runs.append(one_run(workers, live, Path(scratch)))
            during = [r["during"] / ((r["before"] + r["after"]) / 2) for r in runs]
            after = [r["after"] / r["before"] for r in runs]
            print(
                f"{name:<10}{'live' if live else 'default':<9}"
                f"{_spread(during):>22}{_spread(after):>22}"
                f"{statistics.median(r['monitor_share'] for r in runs):>13.2%}"
                f"{statistics.median(r['attach_s'] for r in runs):>10.3f}"
                f"{statistics.median(r['detach_s'] for r in runs):>10.3f}"
            )
    return 0


def _spread(values: list[float]) -> str:
    return f"{statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}]"


if __name__ == "__main__":
    sys.exit(main())
