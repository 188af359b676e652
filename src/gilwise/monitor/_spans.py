"""Per-thread spans for a trace: runs of samples in the same state and the same function.

Off by default (``MonitorConfig.record_spans``): a trace file wants every sample, the
summary report does not. Consecutive samples of a thread that share state and innermost
function extend one span, so memory grows with changes, not with time, and a cap keeps
a long run from growing without bound.
"""

from __future__ import annotations

from types import CodeType

from ._stacks import FrameResolver, StackKey, ThreadState

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._report import Span


# Plain classes, not dataclasses: `gilwise run` imports this module before the program
# starts, and spans are made by the hundred thousand.


class _OpenSpan:
    __slots__ = ("code", "end", "lasti", "start", "state")

    def __init__(
        self, state: ThreadState, code: CodeType | None, lasti: int, start: float, end: float
    ) -> None:
        self.state = state
        self.code = code
        self.lasti = lasti
        self.start = start
        self.end = end


class RecordedSpan:
    """A closed span, before its code object is turned into a file and line."""

    __slots__ = ("code", "end", "ident", "lasti", "start", "state")

    def __init__(
        self,
        ident: int,
        state: ThreadState,
        code: CodeType | None,
        lasti: int,
        start: float,
        end: float,
    ) -> None:
        self.ident = ident
        self.state = state
        self.code = code
        self.lasti = lasti
        self.start = start
        self.end = end


class SpanRecorder:
    """Collects spans per thread; at most ``max_spans`` closed spans are kept."""

    def __init__(self, max_spans: int) -> None:
        self.max_spans = max_spans
        self.closed: list[RecordedSpan] = []
        self.dropped = 0
        self._open: dict[int, _OpenSpan] = {}

    def record(
        self, ident: int, state: ThreadState, stack: StackKey, now: float, interval: float
    ) -> None:
        """One sample of thread ``ident`` taken at ``now``."""
        code, lasti = stack[0] if stack else (None, -1)
        span = self._open.get(ident)
        if span is not None and span.state is state and span.code is code:
            span.end = now + interval
            return
        if span is not None:
            span.end = now  # the new sample shows the old activity ended by now
            self._close(ident, span)
        self._open[ident] = _OpenSpan(state, code, lasti, now, now + interval)

    def thread_ended(self, ident: int) -> None:
        """Close the open span of a thread that is gone."""
        span = self._open.pop(ident, None)
        if span is not None:
            self._close(ident, span)

    def all_spans(self) -> list[RecordedSpan]:
        """Closed spans and, for a report taken mid-run, the ones still open."""
        still_open = [
            RecordedSpan(i, s.state, s.code, s.lasti, s.start, s.end) for i, s in self._open.items()
        ]
        return [*self.closed, *still_open]

    def _close(self, ident: int, span: _OpenSpan) -> None:
        if len(self.closed) >= self.max_spans:
            self.dropped += 1
            return
        self.closed.append(
            RecordedSpan(ident, span.state, span.code, span.lasti, span.start, span.end)
        )


def resolved_spans(
    recorder: SpanRecorder, resolver: FrameResolver, started: float, names: dict[int, str]
) -> tuple[Span, ...]:
    """The recorded spans as report records, times relative to the start of monitoring."""
    from ._report import Span

    spans = []
    for s in recorder.all_spans():
        info = resolver.resolve(s.code, s.lasti) if s.code is not None else None
        spans.append(
            Span(
                thread_ident=s.ident,
                thread_name=names.get(s.ident, f"thread-{s.ident}"),
                state=s.state.value,
                start_s=round(s.start - started, 6),
                end_s=round(s.end - started, 6),
                file=info.file if info else "",
                line=info.line if info else 0,
                function=info.function if info else "",
            )
        )
    return tuple(spans)
