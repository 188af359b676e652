"""Figures that more than one view shows, derived once here so the views cannot disagree.

The terminal summary, the HTML page and the JSON file must give the same number for
the same thing; a renderer formats these figures, it does not compute its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ..monitor import GilReport, Report, ThreadReport

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing would add to every `gilwise run --json`
    from ..advise import Measurement

#: Threads named one by one in a chart or table; the others are summed into one row.
#: A run with 2,000 threads drew a chart 120,000 pixels tall.
MAX_THREADS_SHOWN = 20


@dataclass(frozen=True)
class ThreadRows:
    """The threads to name, busiest first, and the rest summed into one row (or None)."""

    named: tuple[ThreadReport, ...]
    others: ThreadReport | None

    @property
    def rows(self) -> tuple[ThreadReport, ...]:
        return self.named + ((self.others,) if self.others is not None else ())

    @property
    def others_count(self) -> int:
        return 0 if self.others is None else self.others.threads_merged


#: Child processes' CPU use (cores) worth a mention beside the process's own.
CHILDREN_SHOWN_CORES = 0.01

#: CPU no thread row holds, worth a sentence: at least this many seconds, and this share
#: of the process's CPU (per-thread clocks and the process's agree within ~20 ms).
UNSEEN_CPU_SHOWN_S = 0.05
UNSEEN_CPU_SHOWN_SHARE = 0.1


def unseen_threads_cpu(report: Report) -> float:
    """CPU seconds the process used in threads no sample met: short-lived ones (a threaded
    server's handlers lived a few ms, and held 72% of its CPU), and threads' last moments
    after their last sample. 0 where that is within the clocks' disagreement, or where a
    thread's CPU clock could not be read (its CPU would read as no thread's)."""
    clocks = [t.cpu_seconds for t in report.threads]
    if None in clocks:
        return 0.0
    unseen = report.process.cpu_seconds - sum(c for c in clocks if c is not None)
    shown = unseen >= max(UNSEEN_CPU_SHOWN_S, UNSEEN_CPU_SHOWN_SHARE * report.process.cpu_seconds)
    return unseen if shown else 0.0


def unseen_threads_note(report: Report) -> str:
    """The sentence the thread views add about :func:`unseen_threads_cpu` ("" if none)."""
    unseen = unseen_threads_cpu(report)
    if not unseen:
        return ""
    share = unseen / report.process.cpu_seconds
    return (
        f"{unseen:.2f} s of the process's CPU ({share:.0%}) ran in threads no sample met: "
        "threads that lived less than a sampling interval (a server's per-request threads), "
        "and threads' last moments"
    )


#: A count that began this share of the run in says so beside its figure.
LATE_COUNT_SHARE = 0.1


def counted_from_note(report: Report) -> str:
    """Where the GIL count began, if late enough in the run to say ("" otherwise)."""
    start = report.gil.counted_from_s
    if start < LATE_COUNT_SHARE * report.duration_s:
        return ""
    return f"from {start:.2f} s in (the monitor's set-up before it)"


#: Share of the run with a thread waiting for the GIL under which the holders are not shown:
#: "100% of the wait" beside a wait that reads 0% names a line for a few stray milliseconds.
HOLDERS_SHOWN_WAIT = 0.005


def holders_worth_showing(gil: GilReport) -> bool:
    """Whether the run waited enough for the GIL that who held it means something."""
    has_holders = bool(gil.holders) or gil.holder_unseen_share > 0
    return has_holders and (gil.wait_fraction or 0.0) >= HOLDERS_SHOWN_WAIT


def gil_wait_seconds(thread: ThreadReport) -> float:
    """Seconds the thread waited for the GIL (0 when unknown)."""
    return (thread.gil_wait_fraction or 0.0) * thread.wall_seconds


def busy_seconds(thread: ThreadReport) -> float:
    """CPU plus GIL wait: time the thread wanted to run, the figure threads are ranked by.

    The sampler orders threads by the same sum, so a saved report keeps its order.
    """
    return (thread.cpu_seconds or 0.0) + gil_wait_seconds(thread)


def short_name(name: str, width: int) -> str:
    """``name`` in ``width`` characters, its middle left out: pools name their threads
    by a shared prefix and a number (ThreadPoolExecutor-0_15), and cutting the end made
    every worker's row read the same."""
    if len(name) <= width:
        return name
    tail = width // 3
    return f"{name[: width - tail - 1]}…{name[-tail:]}"


def thread_rows(threads: Sequence[ThreadReport], limit: int = MAX_THREADS_SHOWN) -> ThreadRows:
    """The ``limit`` busiest single threads, and every other one summed.

    Rows the sampler already folded (``threads_merged`` > 1) always join the sum, so a
    view never shows two "other threads" rows.
    """
    single = sorted((t for t in threads if t.threads_merged <= 1), key=busy_seconds, reverse=True)
    rest = [*single[limit:], *(t for t in threads if t.threads_merged > 1)]
    return ThreadRows(tuple(single[:limit]), summed_threads(rest) if rest else None)


def summed_threads(threads: Sequence[ThreadReport]) -> ThreadReport:
    """One row for many threads: seconds and samples added, fractions recomputed from them."""
    wall = sum(t.wall_seconds for t in threads)
    samples = sum(t.samples for t in threads)
    known_cpu = [t.cpu_seconds for t in threads if t.cpu_seconds is not None]
    cpu = sum(known_cpu) if known_cpu else None
    queued = [(t.run_queue_fraction, t.wall_seconds) for t in threads]
    run_queue = sum((f or 0.0) * w for f, w in queued)
    running = sum(t.running_fraction * t.samples for t in threads)
    count = sum(t.threads_merged for t in threads)
    return ThreadReport(
        ident=0,
        native_id=None,
        name=f"{count:,} other thread{'s' * (count != 1)}",
        alive_at_end=any(t.alive_at_end for t in threads),
        wall_seconds=wall,
        cpu_seconds=cpu,
        cpu_fraction=_share(cpu, wall),
        gil_wait_fraction=_share(sum(gil_wait_seconds(t) for t in threads), wall),
        run_queue_fraction=_share(run_queue, wall)
        if any(f is not None for f, _ in queued)
        else None,
        samples=samples,
        running_fraction=running / samples if samples else 0.0,
        waiting_fraction=1 - running / samples if samples else 0.0,
        top_lines=(),
        top_functions=(),
        threads_merged=count,
    )


def _share(part: float | None, whole: float) -> float | None:
    return None if part is None or whole <= 0 else part / whole


@dataclass(frozen=True)
class ThreadTime:
    """A thread's observed wall time cut into parts that add up to it, in seconds.

    CPU time comes from the thread's CPU clock and GIL wait from the sampler; a thread
    asleep on the GIL is not on a CPU, so the two cannot overlap, and where rounding or
    the estimate makes them add up to more than the wall time, the GIL wait is cut to
    what is left. ``unknown`` is the time not accounted for when the CPU clock could
    not be read.
    """

    cpu: float
    gil_wait: float
    rest: float
    unknown: float


def thread_time(thread: ThreadReport) -> ThreadTime:
    """The parts of ``thread``'s wall time: on a CPU, waiting for the GIL, the rest."""
    wall = max(0.0, thread.wall_seconds)
    gil = min(wall, gil_wait_seconds(thread))
    if thread.cpu_seconds is None:
        return ThreadTime(0.0, gil, 0.0, wall - gil)
    cpu = min(wall, thread.cpu_seconds)
    gil = min(gil, wall - cpu)
    return ThreadTime(cpu, gil, wall - cpu - gil, 0.0)


def best_speedups(measurements: Sequence[Measurement]) -> dict[tuple[str, int], float]:
    """Each configuration's best run as a speedup against serial, by (backend, workers).

    The best run, not the average: noise only slows runs, and the recommendation's
    speedup (``_recommend.choose``) is the best run's rate over the best serial rate,
    which is what ``Measurement.speedup`` holds for every run.
    """
    best: dict[tuple[str, int], float] = {}
    for m in measurements:
        key = (m.backend, m.workers)
        best[key] = max(best.get(key, 0.0), m.speedup)
    return dict(sorted(best.items()))


_CAUSE_NAMES = {"callback": "its own code", "gil": "waiting for the GIL", "blocked": "blocked"}


def stall_causes(causes: Mapping[str, float]) -> str:
    """What the loop thread was doing during a stall, as shares of its samples ("" if unknown)."""
    return " · ".join(f"{_CAUSE_NAMES.get(k, k)} {v:.0%}" for k, v in causes.items() if v > 0)


def unseen_holder_phrase(gil: GilReport) -> str:
    """Whom the wait behind an unseen line was behind, as the report views say it ("" if
    nobody is known): ", mostly in thread 'asyncio_0'", ", mostly in 120 threads named
    'Thread-N (process_request_thread)'"."""
    name = gil.holder_unseen_thread
    if not name:
        return ""
    if gil.holder_unseen_threads > 1:
        return f", mostly in {gil.holder_unseen_threads} threads named {name!r}"
    return f", mostly in thread {name!r}"
