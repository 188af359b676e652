"""The run over time: one point per window (GIL wait, CPU cores, threads, worst loop lag).

A point closes every ``timeline_window_s`` (0.25 s by default) so a 200 ms stall shows;
a very long run halves its resolution instead of growing without bound.
"""

from __future__ import annotations

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._report import TimelinePoint


class Timeline:
    """The open window (its start, CPU and GIL windows) and the closed points."""

    __slots__ = ("_gil_windows", "_process_cpu", "max_points", "points", "run_started", "started")

    def __init__(self, now: float, process_cpu: float, max_points: int) -> None:
        self.run_started = now
        self.started = now
        self.max_points = max_points
        self.points: list[TimelinePoint] = []
        self._process_cpu = process_cpu
        self._gil_windows: list[tuple[float, float]] = []

    def add_gil_window(self, length: float, fraction: float) -> None:
        """A GIL window that closed inside this point's window: its length and wait."""
        self._gil_windows.append((length, fraction))

    def close(self, now: float, process_cpu: float, alive: int, lags: list[float]) -> None:
        """End the point's window at ``now``: the process's CPU clock, live threads, loop lags."""
        from ._report import TimelinePoint  # the report classes load at the first point

        length = now - self.started
        waited = sum(length for length, _ in self._gil_windows)
        gil = sum(length * f for length, f in self._gil_windows) / waited if waited > 0 else None
        self.points.append(
            TimelinePoint(
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
