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


#: How much of what was learnt survives each new chunk.
_DECAY = 0.7


class ChunkSizer:
    """The chunk size to use now: fixed when the caller gave one, else learnt."""

    def __init__(self, fixed: int | None, *, cap: int = MAX_CHUNK, target_s: float = TARGET_S):
        self._fixed = fixed
        self._cap = max(1, cap)
        self._target_s = target_s
        self._per_item_s: float | None = None
        self._seconds = 0.0
        self._items = 0.0

    def size(self) -> int:
        if self._fixed is not None:
            return self._fixed
        if self._per_item_s is None:
            return 1
        if self._per_item_s <= 0:
            return self._cap
        return max(1, min(self._cap, int(self._target_s / self._per_item_s)))

    @classmethod
    def for_map(cls, chunksize: int | None, buffersize: int | None, workers: int) -> ChunkSizer:
        """The caller's chunk size, or one learnt under a cap that keeps two chunks per
        worker within ``buffersize``."""
        cap = MAX_CHUNK if buffersize is None else max(1, buffersize // (2 * workers))
        return cls(chunksize, cap=cap)

    def items_in(self, seconds: float) -> int:
        """About how many items run in ``seconds`` (1 until a chunk has been timed)."""
        if self._per_item_s is None:
            return 1
        if self._per_item_s <= 0:
            return self._cap
        return max(1, int(seconds / self._per_item_s))

    def runs_short(self) -> bool:
        """Whether a chunk of ``size()`` items is expected to run well under the target.

        True for tiny items once the cap binds, or a small fixed chunk size: then the
        pause between two chunks is a visible share of a worker's time.
        """
        if self._per_item_s is None:
            return False
        return self.size() * self._per_item_s < self._target_s / 2

    def observe(self, items: int, seconds: float) -> None:
        """Learn from one chunk: ``items`` ran in ``seconds`` of worker time."""
        if items <= 0:
            return
        # Decayed sums, not a decayed average of per-chunk rates: a chunk weighs by its
        # items, so the one-item probes (mostly fixed cost) fade once a real chunk is timed,
        # while a real change in the items still shows within a few chunks.
        self._seconds = _DECAY * self._seconds + seconds
        self._items = _DECAY * self._items + items
        self._per_item_s = self._seconds / self._items
