"""Adaptive chunk size: send a worker as many items as it runs in about ``target_s``.

One item per message costs a pickle round trip and a wake-up on both sides (tens of
microseconds), which dominates tiny tasks; one huge chunk balances badly and holds
results back. joblib's auto-batching aims at a batch duration for the same reason;
we aim at 50 ms, measured from the first results the workers send back.
"""

from __future__ import annotations

TARGET_S = 0.05
#: Past a few thousand items per message the pickle of the chunk, not the per-message
#: cost, dominates: bigger chunks stop helping and only delay results.
MAX_CHUNK = 4096


class ChunkSizer:
    """The chunk size to use now: fixed when the caller gave one, else learnt."""

    def __init__(self, fixed: int | None, *, cap: int = MAX_CHUNK, target_s: float = TARGET_S):
        self._fixed = fixed
        self._cap = max(1, cap)
        self._target_s = target_s
        self._per_item_s: float | None = None

    def size(self) -> int:
        if self._fixed is not None:
            return self._fixed
        if self._per_item_s is None:
            return 1
        if self._per_item_s <= 0:
            return self._cap
        return max(1, min(self._cap, int(self._target_s / self._per_item_s)))

    def observe(self, items: int, seconds: float) -> None:
        """Learn from one chunk: ``items`` ran in ``seconds`` of worker time."""
        if items <= 0:
            return
        per_item = seconds / items
        if self._per_item_s is None:
            self._per_item_s = per_item
        else:
            # Smooth over noisy chunks, but follow a real change within a few chunks.
            self._per_item_s = 0.7 * self._per_item_s + 0.3 * per_item
