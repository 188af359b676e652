"""The run over time: one point per window (GIL wait, CPU cores, threads, worst loop lag).

A point closes every ``timeline_window_s`` (0.25 s by default) so a 200 ms stall shows;
a very long run halves its resolution instead of growing without bound.
"""

from __future__ import annotations


class WindowPoint:
    """One closed window's figures (a :class:`~gilwise.monitor.TimelinePoint` in the report).

    Plain, not the report's class: the first point closes a quarter of a second into the
    run, and loading the report's classes then would hold the GIL for ~20 ms in the middle
    of the program's run.
    """

    __slots__ = ("cpu_cores_used", "gil_wait_fraction", "loop_lag_max_ms", "t_s", "threads_alive")

    def __init__(
        self,
        t_s: float,
        gil_wait_fraction: float | None,
        cpu_cores_used: float,
        threads_alive: int,
        loop_lag_max_ms: float | None,
    ) -> None:
        self.t_s = t_s
        self.gil_wait_fraction = gil_wait_fraction
        self.cpu_cores_used = cpu_cores_used
        self.threads_alive = threads_alive
        self.loop_lag_max_ms = loop_lag_max_ms


class Timeline:
    """The open window (its start, CPU and GIL windows) and the closed points."""

    __slots__ = ("_gil_windows", "_process_cpu", "max_points", "points", "run_started", "started")

    def __init__(self, now: float, process_cpu: float, max_points: int) -> None:
        self.run_started = now
        self.started = now
        self.max_points = max_points
        self.points: list[WindowPoint] = []
        self._process_cpu = process_cpu
        self._gil_windows: list[tuple[float, float]] = []

    def add_gil_window(self, length: float, fraction: float) -> None:
        """A GIL window that closed inside this point's window: its length and wait."""
        self._gil_windows.append((length, fraction))

    def close(self, now: float, process_cpu: float, alive: int, lags: list[float]) -> None:
        """End the point's window at ``now``: the process's CPU clock, live threads, loop lags."""
        length = now - self.started
        waited = sum(length for length, _ in self._gil_windows)
        gil = sum(length * f for length, f in self._gil_windows) / waited if waited > 0 else None
        self.points.append(
            WindowPoint(
                t_s=round(now - self.run_started, 3),
                gil_wait_fraction=None if gil is None else round(gil, 4),
                cpu_cores_used=round(max(0.0, process_cpu - self._process_cpu) / length, 3),
                threads_alive=alive,
                loop_lag_max_ms=round(max(lags) * 1000, 3) if lags else None,
            )
        )
        if len(self.points) > self.max_points:
            self.points = self.points[::2]  # halve the resolution of a very long run
        self.started = now
        self._process_cpu = process_cpu
        self._gil_windows = []
