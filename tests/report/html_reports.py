"""Hand-built reports for the HTML renderers, with hostile text wherever a program's goes."""

from __future__ import annotations

from gilwise.advise import _recommend
from gilwise.advise._report import (
    SCHEMA as ADVISE_SCHEMA,
)
from gilwise.advise._report import (
    AdviceReport,
    Measurement,
    Profile,
    Recommendation,
    ScalingModel,
)
from gilwise.monitor._report import Frame, Report, Stall, TimelinePoint
from gilwise.tour._lesson import Finding, LessonResult, Row
from gilwise.tour._tour import SCHEMA as TOUR_SCHEMA
from gilwise.tour._tour import TourReport
from tests.monitor import reports

HOSTILE = '<script>alert("gilwise")</script>&<img src=x onerror=alert(1)>'


def run_report() -> Report:
    culprit = Frame(f"/app/{HOSTILE}.py", 12, HOSTILE)
    stall = Stall(
        duration_ms=250.0,
        started_at_s=0.5,
        samples=25,
        stack=(Frame("/app/main.py", 3, "main"), culprit),
        culprit=culprit,
        coroutine=Frame("/app/h.py", 8, HOSTILE),
    )
    base = reports.report(
        wait=0.4,
        waiting_threads=1.0,
        cores=1.0,
        threads=(
            reports.thread(HOSTILE, running=0.9, gil_wait_fraction=0.4),
            reports.thread("MainThread", running=0.1),
        ),
        loops=(reports.loop(stall),),
    )
    timeline = tuple(
        TimelinePoint(
            t_s=float(t),
            gil_wait_fraction=0.1 * t,
            cpu_cores_used=1.0,
            threads_alive=3,
            loop_lag_max_ms=50.0 * t,
        )
        for t in range(5)
    )
    return base.with_updates(timeline=timeline, command=("python", HOSTILE))


def measured_advice_report(
    rates: list[tuple[str, int, float]], profile: Profile, cores: float = 2.0
) -> AdviceReport:
    """A report concluded from ``(backend, workers, items/s)`` runs as the advisor does."""
    measurements = _recommend.with_speedups(
        [
            Measurement(backend, workers, 1, 100, 100 / rate, 0.01, 0.01, rate, 0.0, repeat)
            for (backend, workers, rate), repeat in _repeats(rates)
        ]
    )
    noise = _recommend.noise(measurements)
    backend, workers, chunk, rate, speedup = _recommend.choose(measurements, noise)
    pick = Recommendation(backend, workers, chunk, rate, speedup, "code", "pmap code")
    models = _recommend.models(measurements, cores, computes=profile.cpu_fraction >= 0.5)
    return AdviceReport(
        schema=ADVISE_SCHEMA,
        gilwise_version="0",
        python="cpython 3.11",
        target="app.py:work",
        usable_cores=cores,
        start_method="fork",
        budget_s=20.0,
        spent_s=15.0,
        noise=noise,
        profile=profile,
        measurements=tuple(measurements),
        models=tuple(models),
        recommendation=pick,
        explanation=tuple(_recommend.explain(profile, measurements, models, pick, cores)),
    )


def _repeats(rates: list[tuple[str, int, float]]) -> list[tuple[tuple[str, int, float], int]]:
    seen: set[tuple[str, int]] = set()
    out = []
    for backend, workers, rate in rates:
        out.append(((backend, workers, rate), int((backend, workers) in seen)))
        seen.add((backend, workers))
    return out


def computing_profile(item_bytes: int = 25, result_bytes: int = 10) -> Profile:
    """A function that computes and holds the GIL, cheap to pickle."""
    return Profile(
        first_call_s=0.01,
        item_wall_s=0.01,
        item_cpu_s=0.01,
        cpu_fraction=0.99,
        probe_threads=2,
        parallel_cpu_cores=1.0,
        probe_speedup=1.0,
        gil_held_fraction=0.98,
        releases_gil=False,
        item_pickle_bytes=item_bytes,
        result_pickle_bytes=result_bytes,
        pickle_s=2e-5,
        pickle_share=0.002,
        picklable=True,
        not_picklable_reason=None,
        is_coroutine=False,
        calibration_calls=20,
    )


#: A sweep on 2 cores: processes scale to the cores and no further (1.30x at 4 workers),
#: threads do not scale at all, and one process configuration ran twice.
SWEEP = [
    ("serial", 1, 100.0),
    ("thread", 1, 98.0),
    ("thread", 2, 95.0),
    ("thread", 4, 93.0),
    ("process", 1, 95.0),
    ("process", 2, 180.0),
    ("process", 2, 150.0),
    ("process", 4, 130.0),
]


def advice_report() -> AdviceReport:
    measurements = tuple(
        Measurement(backend, workers, 1, 100, 1.0, 0.01, 0.01, 100.0 * speed, speed)
        for backend, workers, speed in [
            ("serial", 1, 1.0),
            ("thread", 1, 0.98),
            ("thread", 2, 0.95),
            ("process", 1, 0.9),
            ("process", 2, 1.8),
            ("process", 4, 1.85),
        ]
    )
    return AdviceReport(
        schema=ADVISE_SCHEMA,
        gilwise_version="0",
        python="cpython 3.11",
        target=f"app.py:{HOSTILE}",
        usable_cores=2.0,
        start_method="fork",
        budget_s=20.0,
        spent_s=15.0,
        noise=0.03,
        profile=Profile(
            first_call_s=0.01,
            item_wall_s=0.01,
            item_cpu_s=0.01,
            cpu_fraction=0.99,
            probe_threads=2,
            parallel_cpu_cores=1.0,
            probe_speedup=1.0,
            gil_held_fraction=0.98,
            releases_gil=False,
            item_pickle_bytes=30,
            result_pickle_bytes=10,
            pickle_s=1e-6,
            pickle_share=0.001,
            picklable=True,
            not_picklable_reason=None,
            is_coroutine=False,
            calibration_calls=20,
        ),
        measurements=measurements,
        models=(ScalingModel("process", "usl", 0.05, 0.0, 0.99, 3, 20.0, ((4, 3.0), (8, 5.0))),),
        recommendation=Recommendation(
            "process", 2, 1, 180.0, 1.8, f"print({HOSTILE!r})", f"# pmap {HOSTILE}"
        ),
        explanation=(f"the function {HOSTILE} holds the GIL", "Use processes."),
    )


def tour_report() -> TourReport:
    finding = Finding(
        rows=(Row(HOSTILE, 1.0, "x serial"), Row("2 processes", 1.9, "x serial", HOSTILE)),
        measured=HOSTILE,
        meaning="processes run Python in parallel",
        check=f"gilwise advise {HOSTILE}",
        held=True,
    )
    lessons = (
        LessonResult(1, "cpu", "Pure-Python CPU work", HOSTILE, 1.5, finding),
        LessonResult(
            8,
            "new",
            "Free-threading",
            "claim",
            0.0,
            Finding((), "not here", "try 3.13t", "uv python install 3.13t", None, HOSTILE),
        ),
    )
    return TourReport(TOUR_SCHEMA, "0", "cpython 3.11", 2.0, True, 2.0, lessons)
