"""Who held the GIL: the lines its waits are charged to, and the long holds behind stalls.

At a counted tick the sampler holds the GIL, and the thread it took the GIL from queued
behind it: of the queued threads, the holder is told by the CPU each used since the
previous tick. The tick's waits are charged to the holder's line, or, once the watcher
counts the waits, the watcher's are charged to the holders the ticks saw meanwhile. A
tick that came a stall's length late because one thread kept the GIL is remembered: it
explains a loop's stall the sampler could not look into.

The tick's figures and samples are passed in, so tests drive :class:`GilHolders` with
samples made by hand.
"""

from __future__ import annotations

from collections import deque

from .._core._library import is_library_file
from ._stacks import at_blocking_call, is_loop_poll

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from types import CodeType
    from typing import Any

    from ._gil import ThreadAccount, TickSample
    from ._loops import Holder, StallRecord
    from ._stacks import CallSites, StackKey
    from ._watcher import Holder as WatcherHolder

#: Share of the sampler's wait for the GIL a thread must have used the CPU for to be
#: taken as having kept the GIL through it.
LONG_HOLD_CPU_SHARE = 0.25

#: How far back (s) the holders ticks saw stand for a wait the watcher counted where no
#: tick since its previous window saw one.
HOLDERS_STAND_FOR_S = 1.0

#: The weight of a holder seen at a tick with nobody waiting behind it, against one per
#: thread waiting: the watcher counts waits the ticks miss, but mostly where they are.
NOBODY_WAITING_WEIGHT = 0.05

#: Who held the GIL at a tick: its line (None where the tick did not see it), its ident.
Holding = tuple["Holder | None", int]


class HolderBlame:
    """Thread-seconds of GIL wait charged to the line that held the GIL (bounded).

    A line is a code object and an instruction offset (the sampler's), or a file and
    function and a line number (the watcher's, read as text: ``blame_read_holders``).

    The sampler says who held it at each tick (:class:`GilHolders`) and how much wait to
    charge: the tick's queue, or the watcher's count over the same stretch. Wait behind
    a holder whose line no tick saw is in the total and in ``unseen``, named nowhere.
    """

    __slots__ = ("max_keys", "seconds", "total", "unseen", "unseen_threads")

    def __init__(self, max_keys: int = 2000) -> None:
        self.max_keys = max_keys
        self.seconds: dict[tuple[Any, int, str], float] = {}
        self.total = 0.0
        #: Of the total, the wait behind holders whose line no tick saw, and of that, the
        #: wait behind each holder's thread where it is known.
        self.unseen = 0.0
        self.unseen_threads: dict[str, float] = {}

    def add_unseen(self, wait_seconds: float, thread_name: str = "") -> None:
        """Wait behind a holder whose line no tick saw: in the total, its line named
        nowhere, its thread (if known) kept."""
        self.total += wait_seconds
        self.unseen += wait_seconds
        threads = self.unseen_threads
        if thread_name and (thread_name in threads or len(threads) < self.max_keys):
            threads[thread_name] = threads.get(thread_name, 0.0) + wait_seconds

    def unseen_thread(self) -> tuple[str, int]:
        """Whom more than half of the unseen wait was behind: a thread's name and 1, or
        the name threads share with their numbers read as "N" and how many they are;
        ("", 0) if neither.

        A threaded server's per-request threads each hold a little ("Thread-119
        (process_request_thread)" was said to hold most of 100% where 120 such threads
        did); together they are the answer.
        """
        threads = self.unseen_threads
        total = sum(threads.values())
        if total <= 0:
            return "", 0
        name = max(threads, key=threads.__getitem__)
        if threads[name] > 0.5 * total:
            return name, 1
        import re  # here: starting the monitor beside busy threads must not import it

        families: dict[str, list[float]] = {}
        for thread, seconds in threads.items():
            # "Thread-7 (handle)", "ThreadPoolExecutor-0_3"
            families.setdefault(re.sub(r"\d+", "N", thread), []).append(seconds)
        family, shares = max(families.items(), key=lambda item: sum(item[1]))
        if len(shares) > 1 and sum(shares) > 0.5 * total:
            return family, len(shares)
        return "", 0

    def add(self, code: Any, lasti: int, thread_name: str, wait_seconds: float) -> None:
        self.total += wait_seconds
        key = (code, lasti, thread_name)
        if key not in self.seconds and len(self.seconds) >= self.max_keys:
            return  # counted in the total, not named
        self.seconds[key] = self.seconds.get(key, 0.0) + wait_seconds


class GilHolders:
    """Who held the GIL at each counted tick, the waits charged to it, and long holds.

    ``call_sites`` tells a blocking call's line (the sampler's cache, shared);
    ``stall_ms`` is the loops' stall threshold, half of which makes a long hold.
    """

    __slots__ = (
        "_call_sites",
        "_holders_seen",
        "_last_window_at",
        "_long_hold_s",
        "_long_holds",
        "_stdlib_codes",
        "_thread_name",
        "blame",
    )

    def __init__(
        self,
        call_sites: CallSites,
        stall_ms: float,
        thread_name: Callable[[int], str] = lambda ident: "",
    ) -> None:
        self._call_sites = call_sites
        self._thread_name = thread_name
        #: A wait for the GIL this long ended a native call that kept it (half a stall).
        self._long_hold_s = 0.5 * stall_ms / 1000
        self.blame = HolderBlame()
        #: Holders the recent ticks saw: (tick time, line or None where not seen, tick
        #: seconds); the watcher's waits are charged by them (``blame_watched_wait``).
        self._holders_seen: deque[tuple[float, Holder | None, float, str]] = deque()
        self._last_window_at = 0.0
        #: Ticks that came late because one thread kept the GIL: (from, to, line, thread,
        #: its name); the line is None where the tick did not see it.
        self._long_holds: deque[tuple[float, float, Holder | None, int, str]] = deque(maxlen=256)
        self._stdlib_codes: dict[CodeType, bool] = {}

    def at_tick(
        self,
        now: float,
        dt: float,
        gil_latency: float,
        queued: list[ThreadAccount],
        in_queue: int,
        samples: dict[int, TickSample],
        *,
        watched: bool,
    ) -> Holding | None:
        """Who held the GIL at a counted tick; its waits charged, a long hold remembered.

        ``gil_latency``: how long the sampler waited for the GIL before this tick.
        ``queued``: the threads queueing for it (of those met for the first time at this
        tick, the ones started since the last look, whose CPU is known), of ``in_queue``
        in all. ``watched``: the watcher's count took over,
        so the holder is kept to be charged with the watcher's waits instead of this
        tick's queue.
        """
        holder = self._holder(queued, samples, gil_latency)
        if holder is not None and watched:
            # Weighed by the waiting this tick saw behind it: a regex keeps the GIL (and
            # the sampler out) for one long tick with the loop waiting, while the loop's
            # own line holds it at many short ticks with nobody waiting, and took 56% of
            # the blame by ticks alone.
            waiters = max(0, _waiters(holder, queued, in_queue))
            weight = dt * (waiters + NOBODY_WAITING_WEIGHT)
            self._holders_seen.append((now, holder[0], weight, self._thread_name(holder[1])))
            self._forget_holders_before(now - HOLDERS_STAND_FOR_S)
        elif holder is not None:
            self._charge_holder(holder, queued, dt, in_queue)
        self._note_long_hold(now, dt, gil_latency, holder, samples)
        return holder

    def _holder(
        self, queued: list[ThreadAccount], samples: dict[int, TickSample], gil_latency: float
    ) -> Holding | None:
        """Who held the GIL at this tick, and its line where this tick saw it.

        The sampler took the GIL from a thread running Python, which then queued; a
        thread waiting for the GIL makes no CPU progress, so of the queued threads the
        holder is the one that used the most CPU since the previous tick. One queued at a
        blocking call came back from it: what it ran before, it ran elsewhere (two
        threads bursting and sleeping were blamed on their `time.sleep` line), so others
        come first; where all did, the holder's line is not seen. (Naming the one that ran
        the most where the sampler had to wait, at its call's line, named 16 socket
        clients' send/recv line as CPython's reader does, but the `time.sleep` line again
        on a busy machine, where the sampler's wait says little: a wrong line is worse.)
        """
        if gil_latency >= self._long_hold_s:
            kept = self._long_holder(queued, samples, gil_latency)
            if kept is not None:
                return kept
        running = [a for a in queued if not self._back_from_blocking(samples[a.ident])]
        if running:
            account = max(running, key=lambda a: samples[a.ident].cpu_used)
            stack = samples[account.ident].stack
            return (*self._program_frame(stack), account.name), account.ident
        if queued:
            return None, max(queued, key=lambda a: samples[a.ident].cpu_used).ident
        return None

    def _back_from_blocking(self, sample: TickSample) -> bool:
        """Whether a queued thread shows no line it ran: none seen, or a blocking call's."""
        return not sample.stack or at_blocking_call(sample.stack, self._call_sites)

    def _long_holder(
        self, queued: list[ThreadAccount], samples: dict[int, TickSample], gil_latency: float
    ) -> Holding | None:
        """The holder after a long wait for the GIL, which one thread kept in a native call
        (Python code gives it up within a switch interval of being asked).

        That thread used the CPU over the wait, queued or not. It shows the call's line
        only if it queued where the call returned; one that ran on into a blocking call
        (a pool's worker back at its queue) shows nothing of it. Blaming whichever thread
        queued instead named the waiting event loop's own line for a regex another thread
        ran (``regex_holds_gil_beside_loop``). None if no thread used the CPU for it: many
        threads taking turns made the wait long (eight CPU-bound threads named nobody).
        """
        bar = LONG_HOLD_CPU_SHARE * gil_latency
        # A thread met for the first time counts too (with the CPU it used since it
        # started within the wait): a pool's new worker can start on its regex at once.
        ran = [ident for ident, s in samples.items() if s.cpu_used >= bar]
        if not ran:
            return None
        in_queue = {a.ident: a for a in queued}
        ran_queued = [ident for ident in ran if ident in in_queue]
        keeper = max(ran_queued or ran, key=lambda ident: samples[ident].cpu_used)
        account = in_queue.get(keeper)
        if account is not None and not self._back_from_blocking(samples[keeper]):
            return (*self._program_frame(samples[keeper].stack), account.name), keeper
        return None, keeper

    def _charge_holder(
        self, holder: Holding, queued: list[ThreadAccount], dt: float, in_queue: int
    ) -> None:
        """Charge this tick's waits to the holder's line: every thread queued but the
        holder itself, if it queued only behind the sampler."""
        line, _ = holder
        waiters = _waiters(holder, queued, in_queue)
        if waiters <= 0:
            return
        waited_s = dt * waiters
        if line is None:
            self.blame.add_unseen(waited_s, self._thread_name(holder[1]))
        else:
            self.blame.add(*line, waited_s)

    def _program_frame(self, stack: StackKey) -> tuple[CodeType, int]:
        """The innermost frame outside the standard library and installed packages."""
        for code, lasti in stack:
            if not self._in_stdlib(code):
                return code, lasti
        return stack[0]

    def _in_stdlib(self, code: CodeType) -> bool:
        known = self._stdlib_codes.get(code)
        if known is None:
            if len(self._stdlib_codes) > 4096:
                self._stdlib_codes.clear()
            known = self._stdlib_codes[code] = is_library_file(code.co_filename)
        return known

    def _note_long_hold(
        self,
        now: float,
        dt: float,
        gil_latency: float,
        holder: Holding | None,
        samples: dict[int, TickSample],
    ) -> None:
        """Remember a tick that came a stall's length late because one thread kept the GIL.

        A C call that holds the GIL (a regex backtracking, a huge ``sorted``) keeps the
        sampler out for its whole length, so a loop stalled meanwhile gets no samples;
        the thread that used the CPU over the gap, caught where the call returned, is
        the culprit.
        """
        if holder is None or gil_latency < self._long_hold_s:
            return
        # On a busy machine the holder gets only its share of a CPU, hence a low bar.
        if samples[holder[1]].cpu_used >= LONG_HOLD_CPU_SHARE * gil_latency:
            name = self._thread_name(holder[1])
            self._long_holds.append((now - dt, now, holder[0], holder[1], name))

    def blame_watched_wait(self, waited_s: float, now: float) -> None:
        """Charge the wait the watcher counted since its last window to the holders the
        ticks saw meanwhile, by how long each was seen (a sampling profile of who held).

        The ticks alone see a wait only where two threads queue behind the sampler: four
        threads compressing with zlib waited 10% of the time and no holder was named.
        Where no tick since the last window caught a holder (the GIL was free at each),
        the holders of the last second stand for it; none there, it stays unseen.
        """
        if waited_s <= 0:
            return
        self._forget_holders_before(now - HOLDERS_STAND_FOR_S)
        seen = self._holders_seen
        since = [s for s in seen if s[0] > self._last_window_at] or list(seen)
        self._last_window_at = now
        total = sum(weight for _, _, weight, _ in since)
        if total <= 0:
            self.blame.add_unseen(waited_s)
            return
        for _, line, weight, thread_name in since:
            share = waited_s * weight / total
            if line is None:
                self.blame.add_unseen(share, thread_name)
            else:
                self.blame.add(*line, share)

    def blame_read_holders(
        self,
        waited_s: float,
        read: list[tuple[float, WatcherHolder]],
        thread_name: Callable[[int], str],
    ) -> None:
        """Charge the wait the watcher counted since its last window to the holders it
        read itself (CPython 3.15+: each thread's status and stack, at its own instants),
        by the wait it read behind each: no tick needed to catch them holding."""
        read_s = sum(seconds for seconds, _ in read)
        if waited_s <= 0 or read_s <= 0:
            return
        for seconds, (native_id, frames) in read:
            share = waited_s * seconds / read_s
            name = thread_name(native_id)
            if not frames:
                self.blame.add_unseen(share, name)
                continue
            file, line, function = _program_frame_read(frames)
            self.blame.add((file, function), line, name, share)

    def _forget_holders_before(self, moment: float) -> None:
        seen = self._holders_seen
        while seen and seen[0][0] < moment:
            seen.popleft()

    def explained(self, record: StallRecord, loop_ident: int) -> StallRecord:
        """A stall the sampler could not look into, explained by a long GIL hold over it.

        Also a stall whose loop thread was seen only in its selector's poll: the loop was
        not running a callback, so what kept it from its heartbeat was the GIL (after
        the poll returned) or the CPU, not a line of its own.
        """
        if record.gil_holder is not None or record.gil_holder_thread:
            return record
        if record.samples and not (record.stack and is_loop_poll(record.stack[0][0])):
            return record
        start, end = record.started_at, record.started_at + record.duration
        best: tuple[float, Holder | None, int, str] | None = None
        for hold_start, hold_end, key, ident, name in self._long_holds:
            overlap = min(end, hold_end) - max(start, hold_start)
            if overlap > 0 and (best is None or overlap > best[0]):
                best = (overlap, key, ident, name)
        if best is None or best[0] < 0.5 * record.duration:
            return record
        _, key, ident, name = best
        if ident != loop_ident:
            # Another thread kept the GIL: the loop waited for it (its line, if seen).
            return record.explained((0, 1, 0), key, record.stack, name)
        if record.samples:
            return record  # its own poll, not its own long call
        stack = record.stack if key is None else ((key[0], key[1]),)
        return record.explained((1, 0, 0), None, stack)


def _program_frame_read(frames: tuple[tuple[str, int, str], ...]) -> tuple[str, int, str]:
    """Of a holder's frames as the watcher read them, innermost first, the innermost
    outside the standard library and installed packages (else the innermost)."""
    for frame in frames:
        if not is_library_file(frame[0]):
            return frame
    return frames[0]


def _waiters(holder: Holding, queued: list[ThreadAccount], in_queue: int) -> int:
    """Threads queued at a tick behind its holder: all queued, but the holder itself if
    it queued only behind the sampler."""
    return in_queue - any(a.ident == holder[1] for a in queued)
