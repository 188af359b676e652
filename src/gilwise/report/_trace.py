"""A Chrome Trace Event file of a monitored run, for ui.perfetto.dev or chrome://tracing.

One track per thread with its spans (running or waiting, named by function), one track
per event loop with its stalls as slices carrying the blocking stack, and counter tracks
for GIL wait, CPU use and loop lag over time. Format: the JSON object form of the Trace
Event Format (``traceEvents``, timestamps in microseconds).
"""

from __future__ import annotations

import json
from typing import Any

from .._core._where import where
from ..monitor import LoopReport, Report, Span
from ._figures import stall_causes

_US = 1_000_000


def trace_events(report: Report) -> dict[str, Any]:
    """The trace as a JSON-ready object."""
    pid = report.process.pid
    command = " ".join(report.command) if report.command else "watch()"
    tids = _thread_ids(report)
    events: list[dict[str, Any]] = [_meta(pid, 0, "process_name", f"gilwise · {command}")]
    for (ident, name), tid in tids.items():
        events.append(_meta(pid, tid, "thread_name", f"{name} ({ident})"))
        events.append(_meta(pid, tid, "thread_sort_index", tid, key="sort_index"))
    events += [_span_event(pid, tids[(s.thread_ident, s.thread_name)], s) for s in report.spans]
    next_tid = len(tids) + 1
    for offset, loop in enumerate(report.loops):
        tid = next_tid + offset
        events.append(_meta(pid, tid, "thread_name", f"event loop {loop.loop_id} · stalls"))
        events += _stall_events(pid, tid, loop)
    events += _counter_events(pid, report)
    return {
        "traceEvents": events,
        "displayTimeUnit": "ms",
        "otherData": {
            "gilwise_version": report.gilwise_version,
            "python": report.python,
            "command": command,
            "started_at": report.started_at,
            "interval_s": report.interval_s,
            "GIL held by": [
                f"{where(h.file, h.line, h.function)} ({h.held_by}): {h.wait_share:.0%} of the wait"
                for h in report.gil.holders
            ],
        },
    }


def trace_json(report: Report) -> str:
    """The trace as JSON text."""
    return json.dumps(trace_events(report), allow_nan=False)


def _thread_ids(report: Report) -> dict[tuple[int, str], int]:
    # Small sequential ids: Python's thread idents do not fit the 32-bit ids some viewers use.
    keys = dict.fromkeys((s.thread_ident, s.thread_name) for s in report.spans)
    return {key: tid for tid, key in enumerate(keys, start=1)}


def _meta(pid: int, tid: int, name: str, value: object, key: str = "name") -> dict[str, Any]:
    return {"ph": "M", "pid": pid, "tid": tid, "name": name, "args": {key: value}}


def _span_event(pid: int, tid: int, span: Span) -> dict[str, Any]:
    label = span.function or "(no Python frame)"
    return {
        "ph": "X",
        "pid": pid,
        "tid": tid,
        "name": label if span.state == "running" else f"waiting · {label}",
        "cat": span.state,
        "ts": round(span.start_s * _US, 1),
        "dur": round(max(0.0, span.end_s - span.start_s) * _US, 1),
        "args": {"file": span.file, "line": span.line, "state": span.state},
    }


def _stall_events(pid: int, tid: int, loop: LoopReport) -> list[dict[str, Any]]:
    events = []
    for stall in loop.stalls:
        culprit = stall.culprit
        events.append(
            {
                "ph": "X",
                "pid": pid,
                "tid": tid,
                "name": f"stall {stall.duration_ms:.0f} ms"
                + (f" · {culprit.function}" if culprit else ""),
                "cat": "stall",
                "ts": round(stall.started_at_s * _US, 1),
                "dur": round(stall.duration_ms * 1000, 1),
                "args": {
                    "blocking line": f"{culprit.file}:{culprit.line}" if culprit else None,
                    "the loop thread was": stall_causes(stall.causes) or None,
                    "GIL held by thread": stall.gil_holder_thread or None,
                    "stack": [where(f.file, f.line, f.function) for f in stall.stack],
                    "tasks": [task.name for task in stall.tasks],
                },
            }
        )
    return events


def _counter_events(pid: int, report: Report) -> list[dict[str, Any]]:
    events = []
    for point in report.timeline:
        ts = round(point.t_s * _US, 1)
        wait = point.gil_wait_fraction
        values = {
            "GIL wait %": None if wait is None else 100 * wait,
            "CPU cores used": point.cpu_cores_used,
            "worst loop lag ms": point.loop_lag_max_ms,
        }
        events += [
            {"ph": "C", "pid": pid, "tid": 0, "name": name, "ts": ts, "args": {"value": value}}
            for name, value in values.items()
            if value is not None
        ]
    return events
