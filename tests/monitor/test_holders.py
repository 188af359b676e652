"""Who held the GIL: holders told from synthetic samples, and through the sampler's ticks."""

from __future__ import annotations

import json
import selectors
from collections.abc import Callable

import pytest

from gilwise.monitor import Monitor
from gilwise.monitor._assembly import holders as named_holders
from gilwise.monitor._assembly import stall_report
from gilwise.monitor._gil import ThreadAccount, TickSample
from gilwise.monitor._holders import HOLDERS_STAND_FOR_S, GilHolders, HolderBlame, Holding
from gilwise.monitor._kernel import KernelState
from gilwise.monitor._loops import StallRecord
from gilwise.monitor._stacks import CallSites, FrameResolver, StackKey, ThreadState

from .fakes import FakeFrame, at_acquire, at_sleep, at_spin, spinner
from .test_sampler import World, _monitor

# -- the blame's bounded table -------------------------------------------------------------


def test_holder_blame_is_bounded_but_keeps_the_total() -> None:
    blame = HolderBlame(max_keys=2)
    for line in range(5):
        blame.add("code", line, "t", 1.0)
    assert blame.total == 5.0
    assert len(blame.seconds) == 2
    blame.add("code", 0, "t", 2.0)
    assert blame.seconds[("code", 0, "t")] == 3.0


def test_holders_of_one_line_are_one_holder() -> None:
    """Blame is kept per instruction; a line whose instructions took turns is named once."""
    code = compile("x = 1\ny = [i * i for i in range(3)]\n", "work.py", "exec")
    resolver = FrameResolver()
    second_line = [start for start, _, line in code.co_lines() if line == 2]
    first_line = [start for start, _, line in code.co_lines() if line == 1]
    blame = HolderBlame()
    blame.add(code, second_line[0], "worker", 0.9)
    blame.add(code, second_line[-1], "worker", 0.1)
    blame.add(code, first_line[0], "worker", 0.5)
    named = named_holders(blame, resolver)
    assert [(h.line, h.wait_seconds) for h in named] == [(2, 1.0), (1, 0.5)]
    assert named[0].wait_share == round(1.0 / 1.5, 4)


def test_threads_holding_the_gil_at_one_line_are_one_holder() -> None:
    """Sixteen pool workers on one line filled every row and hid the other lines."""
    code = compile("x = 1\ny = 2\n", "work.py", "exec")
    resolver = FrameResolver()
    first, second = (next(s for s, _, n in code.co_lines() if n == line) for line in (1, 2))
    blame = HolderBlame()
    for worker in range(16):
        blame.add(code, first, f"pool-{worker}", 0.1 + 0.01 * worker)
    blame.add(code, second, "MainThread", 0.5)
    named = named_holders(blame, resolver)
    assert [(h.line, h.threads, h.held_by) for h in named] == [
        (1, 16, "pool-15 and 15 other threads"),
        (2, 1, "MainThread"),
    ]
    assert named[0].wait_seconds == pytest.approx(2.8)


# -- holders told from samples made by hand ------------------------------------------------

TICK = 0.01


def _holders() -> GilHolders:
    return GilHolders(CallSites(), stall_ms=100.0)


def _sample(
    ident: int,
    frame: Callable[[], FakeFrame] = at_spin,
    cpu_used: float = 0.0,
    *,
    name: str = "",
    stack: StackKey | None = None,
) -> TickSample:
    """Thread ``ident`` at a tick, at ``frame`` (or ``stack``), having used ``cpu_used``
    since the previous one."""
    account = ThreadAccount(ident=ident, native_id=ident + 10_000, name=name or f"t{ident}")
    if stack is None:
        at = frame()
        stack = ((at.f_code, at.f_lasti),)
    return TickSample(account, KernelState.GIL, ThreadState.RUNNING, stack, cpu_used)


def _tick(
    holders: GilHolders,
    samples: list[TickSample],
    *,
    now: float = 1.0,
    dt: float = TICK,
    gil_latency: float = 0.0,
    queued: list[int] | None = None,
    watched: bool = False,
) -> Holding | None:
    """One counted tick, ``dt`` after the previous one; ``queued``: the idents queued on
    the GIL (default: all)."""
    by_ident = {s.account.ident: s for s in samples if s.account is not None}
    idents = list(by_ident) if queued is None else queued
    accounts = [a for i in idents if (a := by_ident[i].account) is not None]
    return holders.at_tick(now, dt, gil_latency, accounts, len(accounts), by_ident, watched=watched)


def _line(frame: Callable[[], FakeFrame], name: str) -> tuple[object, int, str]:
    at = frame()
    return at.f_code, at.f_lasti, name


def test_the_queued_thread_that_used_the_most_cpu_held_the_gil_and_the_others_waited() -> None:
    holders = _holders()
    holder = _tick(holders, [_sample(1, cpu_used=0.002), _sample(2, cpu_used=0.008), _sample(3)])
    assert holder == (_line(at_spin, "t2"), 2)
    # Three queued, one of them the holder: two waited the tick behind its line.
    assert holders.blame.seconds == {_line(at_spin, "t2"): pytest.approx(2 * TICK)}
    assert holders.blame.unseen == 0.0


def test_a_thread_back_from_a_blocking_call_did_not_hold_the_gil() -> None:
    holders = _holders()
    samples = [_sample(1, at_sleep, cpu_used=0.008), _sample(2, cpu_used=0.002), _sample(3)]
    assert _tick(holders, samples) == (_line(at_spin, "t2"), 2)


@pytest.mark.parametrize("sampler_waited", [False, True])
def test_where_every_queued_thread_is_back_from_a_blocking_call_the_line_is_unseen(
    sampler_waited: bool,
) -> None:
    holders = _holders()
    samples = [_sample(1, at_sleep, cpu_used=0.002), _sample(2, at_acquire, cpu_used=0.008)]
    latency = 0.002 if sampler_waited else 0.0
    assert _tick(holders, samples, gil_latency=latency) == (None, 2)
    assert holders.blame.unseen == pytest.approx(TICK)
    assert holders.blame.seconds == {}


def test_the_holders_line_is_its_innermost_outside_the_standard_library() -> None:
    at = at_spin()
    stack = ((json.dumps.__code__, 0), (at.f_code, at.f_lasti))
    holder = _tick(_holders(), [_sample(1, cpu_used=0.008, stack=stack), _sample(2)])
    assert holder == (_line(at_spin, "t1"), 1)
    only_library = ((json.dumps.__code__, 0),)
    holder = _tick(_holders(), [_sample(1, cpu_used=0.008, stack=only_library), _sample(2)])
    assert holder == ((json.dumps.__code__, 0, "t1"), 1)


def test_no_thread_queued_means_no_holder() -> None:
    holders = _holders()
    assert _tick(holders, [_sample(1, cpu_used=0.008)], queued=[]) is None
    assert holders.blame.total == 0.0


def test_after_a_long_wait_the_thread_that_ran_through_it_kept_the_gil() -> None:
    # The sampler waited 0.5 s; thread 2 ran all along but went on to its queue (not
    # queued on the GIL), thread 1 queued and ran nothing: 2 kept it, its line unseen.
    holders = _holders()
    samples = [_sample(1, name="loop"), _sample(2, at_acquire, cpu_used=0.5, name="hog")]
    holder = _tick(holders, samples, now=10.5, dt=0.5, gil_latency=0.5, queued=[1])
    assert holder == (None, 2)
    assert holders.blame.unseen == pytest.approx(0.5)  # the loop's thread waited
    record = StallRecord(duration=0.4, started_at=10.05, samples=0, stack=())
    assert holders.explained(record, loop_ident=1).causes == (0, 1, 0)


def test_a_thread_met_first_after_a_long_wait_can_have_kept_the_gil() -> None:
    # A pool's new worker started on a regex at once: the tick after the wait meets it
    # for the first time (no account yet), with the CPU it used since it started.
    holders = GilHolders(CallSites(), 100.0, lambda ident: "asyncio_0" if ident == 2 else "")
    loop = _sample(1, name="loop")
    new = TickSample(None, KernelState.GIL, ThreadState.WAITING, cpu_used=0.5)
    assert loop.account is not None
    holder = holders.at_tick(10.5, 0.5, 0.5, [loop.account], 2, {1: loop, 2: new}, watched=False)
    assert holder == (None, 2)
    record = StallRecord(duration=0.4, started_at=10.05, samples=0, stack=())
    stall = stall_report(holders.explained(record, loop_ident=1), FrameResolver(), 0.0)
    assert (stall.gil_holder, stall.gil_holder_thread, stall.culprit) == (None, "asyncio_0", None)


def test_the_thread_behind_unseen_waits_is_kept_counted_and_watched() -> None:
    names = {1: "loop", 2: "hog", 3: "pool"}
    holders = GilHolders(CallSites(), 100.0, lambda ident: names.get(ident, ""))
    samples = [_sample(1, name="loop"), _sample(2, at_acquire, cpu_used=0.5, name="hog")]
    _tick(holders, samples, now=10.5, dt=0.5, gil_latency=0.5, queued=[1])  # 0.5 s behind hog
    watched = [_sample(1, name="loop"), _sample(3, at_acquire, cpu_used=0.5, name="pool")]
    _tick(holders, watched, now=11.0, dt=0.5, gil_latency=0.5, queued=[1], watched=True)
    holders.blame_watched_wait(0.8, 11.0)  # the watcher's count, behind pool's unseen line
    assert holders.blame.unseen_threads == pytest.approx({"hog": 0.5, "pool": 0.8})
    assert holders.blame.unseen_thread() == ("pool", 1)


@pytest.mark.parametrize(
    ("waits", "expected"),
    [
        ({"hog": 0.6, "pool": 0.4}, ("hog", 1)),
        # A server's per-request threads: none holds most, together they do.
        (
            {f"Thread-{n} (process_request_thread)": 0.01 for n in range(1, 121)} | {"main": 0.3},
            ("Thread-N (process_request_thread)", 120),
        ),
        ({"a": 0.3, "b": 0.3, "c": 0.4}, ("", 0)),  # nobody holds most: nobody is named
        ({}, ("", 0)),
    ],
)
def test_the_unseen_waits_name_whom_most_of_them_were_behind(
    waits: dict[str, float], expected: tuple[str, int]
) -> None:
    blame = HolderBlame()
    for thread, seconds in waits.items():
        blame.add_unseen(seconds, thread)
    assert blame.unseen_thread() == expected


def test_a_long_wait_shared_by_many_threads_is_no_long_hold() -> None:
    holders = _holders()
    samples = [_sample(i, cpu_used=0.4 / 5 if i == 1 else 0.4 / 8) for i in range(1, 9)]
    holder = _tick(holders, samples, now=10.4, dt=0.4, gil_latency=0.4)
    assert holder == (_line(at_spin, "t1"), 1)
    record = StallRecord(duration=0.3, started_at=10.05, samples=0, stack=())
    assert holders.explained(record, loop_ident=9) is record


def test_under_the_watcher_its_waits_are_charged_to_the_holders_seen_by_time_held() -> None:
    holders = _holders()
    _tick(holders, [_sample(1, cpu_used=0.008), _sample(2)], now=1.0, watched=True)
    _tick(holders, [_sample(1), _sample(2, cpu_used=0.008)], now=1.01, watched=True)
    _tick(holders, [_sample(1), _sample(2, cpu_used=0.008)], now=1.02, watched=True)
    assert holders.blame.total == 0.0  # nothing charged by the ticks' own queues
    holders.blame_watched_wait(0.3, now=1.05)
    assert holders.blame.seconds == {
        _line(at_spin, "t1"): pytest.approx(0.1),
        _line(at_spin, "t2"): pytest.approx(0.2),
    }
    holders.blame_watched_wait(0.0, now=1.06)
    assert holders.blame.total == pytest.approx(0.3)


def test_under_the_watcher_a_holder_nobody_waited_behind_weighs_little() -> None:
    # A regex kept the GIL for one long tick, the loop's thread queued behind it; at twenty
    # short ticks the loop's own line held it with nobody waiting. The watcher's waits go
    # to the regex's line (by time held alone, the loop's line took a share of them).
    holders = _holders()
    for n in range(20):
        _tick(holders, [_sample(1, cpu_used=0.008)], now=1.0 + n * TICK, watched=True)
    regex = _sample(2, cpu_used=0.2)
    _tick(holders, [_sample(1), regex], now=1.4, dt=0.2, watched=True)
    holders.blame_watched_wait(0.2, now=1.45)
    seconds = holders.blame.seconds
    assert seconds[_line(at_spin, "t2")] > 0.95 * 0.2
    assert seconds[_line(at_spin, "t1")] < 0.05 * 0.2


def test_holders_of_the_last_second_stand_for_a_wait_no_tick_saw_a_holder_for() -> None:
    holders = _holders()
    _tick(holders, [_sample(1, cpu_used=0.008), _sample(2)], now=1.0, watched=True)
    holders.blame_watched_wait(0.1, now=1.1)
    holders.blame_watched_wait(0.1, now=1.0 + HOLDERS_STAND_FOR_S / 2)  # no holder since
    assert holders.blame.seconds == {_line(at_spin, "t1"): pytest.approx(0.2)}
    holders.blame_watched_wait(0.1, now=1.1 + HOLDERS_STAND_FOR_S)  # none this recent
    assert holders.blame.unseen == pytest.approx(0.1)


def _kept_gil(
    holders: GilHolders, start: float, end: float, ident: int, seen_as: str | None
) -> None:
    """A tick at ``end`` that waited for the GIL since ``start``, which thread ``ident``
    kept all along: queued where its call returned, named ``seen_as``, or not seen."""
    stack = ((spinner.__code__, 0),)
    sample = _sample(ident, cpu_used=end - start, name=seen_as or "", stack=stack)
    queued = [ident] if seen_as else []
    _tick(holders, [sample], now=end, dt=end - start, gil_latency=end - start, queued=queued)


def test_a_stall_over_a_long_hold_whose_line_was_not_seen_waited_for_the_gil() -> None:
    holders = _holders()
    _kept_gil(holders, 10.0, 10.6, 7, seen_as=None)
    record = StallRecord(duration=0.5, started_at=10.05, samples=0, stack=())
    stall = stall_report(holders.explained(record, loop_ident=1), FrameResolver(), 0.0)
    assert stall.causes == {"callback": 0.0, "gil": 1.0, "blocked": 0.0}
    assert stall.gil_holder is None


@pytest.mark.parametrize(
    ("hold_thread", "gil_holder", "causes"),
    [
        # another thread kept the GIL through the stall: the loop waited for it
        (7, ("spinner", "other"), {"callback": 0.0, "gil": 1.0, "blocked": 0.0}),
        # the loop thread itself was in a long C call: its own code blocked it
        (1, None, {"callback": 1.0, "gil": 0.0, "blocked": 0.0}),
    ],
)
def test_a_stall_without_samples_is_explained_by_a_long_gil_hold(
    hold_thread: int, gil_holder: tuple[str, str] | None, causes: dict[str, float]
) -> None:
    holders = _holders()
    _kept_gil(holders, 10.0, 10.6, hold_thread, seen_as="other")
    record = StallRecord(duration=0.5, started_at=10.05, samples=0, stack=())
    stall = stall_report(holders.explained(record, loop_ident=1), FrameResolver(), 0.0)
    assert stall.causes == causes
    assert stall.culprit is not None
    assert stall.culprit.function == "spinner"
    named = (
        None if stall.gil_holder is None else (stall.gil_holder.function, stall.gil_holder_thread)
    )
    assert named == gil_holder


def test_a_hold_that_covers_little_of_the_stall_explains_nothing() -> None:
    holders = _holders()
    _kept_gil(holders, 10.0, 10.1, 7, seen_as="other")
    record = StallRecord(duration=0.5, started_at=10.05, samples=0, stack=())
    assert holders.explained(record, loop_ident=1) is record


def test_a_stall_seen_only_in_the_loops_poll_is_explained_by_a_long_hold() -> None:
    holders = _holders()
    _kept_gil(holders, 10.0, 10.6, 7, seen_as="other")
    poll = ((selectors.DefaultSelector.select.__code__, 0),)
    record = StallRecord(duration=0.5, started_at=10.05, samples=3, stack=poll)
    explained = holders.explained(record, loop_ident=1)
    assert explained.gil_holder == (spinner.__code__, 0, "other")
    assert explained.causes == (0, 1, 0)


# -- through the sampler's ticks -------------------------------------------------------


@pytest.mark.parametrize(
    ("second", "blamed", "unseen"),
    [
        # back from sleep(): it ran before, elsewhere; the one it queued behind held it
        (at_sleep, [("spinner", "runner")], 0.0),
        # both ran Python: the one that used more CPU held it
        (at_spin, [("spinner", "sleeper")], 0.0),
    ],
)
def test_a_thread_queued_back_from_a_blocking_call_is_not_the_holder(
    second: Callable[[], FakeFrame], blamed: list[tuple[str, str]], unseen: float
) -> None:
    # Two threads burst and sleep out of phase, with a third waiting: the one that used
    # the most CPU since the last tick is back from its sleep, queued at the call.
    world = World(kernel={1: KernelState.GIL, 2: KernelState.GIL, 3: KernelState.GIL})
    world.add(1, at_spin, name="runner")
    world.add(2, second, name="sleeper")
    world.add(3, at_spin, name="third")
    monitor = _monitor(world)
    world.step(monitor, {1: 0.3, 2: 0.6, 3: 0.0}, ticks=50)
    report = monitor.stop()
    assert [(h.function, h.thread_name) for h in report.gil.holders] == blamed
    assert report.gil.holder_unseen_share == unseen


def test_when_every_queued_thread_is_back_from_a_blocking_call_no_line_is_named() -> None:
    world = World(kernel={1: KernelState.GIL, 2: KernelState.GIL})
    world.add(1, at_sleep)
    world.add(2, at_acquire)
    monitor = _monitor(world)
    world.step(monitor, {1: 0.3, 2: 0.1}, ticks=50)
    report = monitor.stop()
    assert report.gil.holders == ()
    assert report.gil.holder_unseen_share == 1.0


def _long_hold(world: World, monitor: Monitor, held_s: float, hog: int) -> None:
    """One tick that came ``held_s`` late: thread ``hog`` used the CPU all along."""
    world.clock.advance(held_s)
    world.cpu.run(hog, held_s)
    world.process_cpu += held_s
    monitor._gil_latency = held_s  # what the sampler's wake-up lateness says
    monitor.tick()
    monitor._gil_latency = 0.0


@pytest.mark.parametrize(
    ("hog_frame", "hog_kernel", "blamed"),
    [
        # back at its queue (a pool's worker): where its call kept the GIL is not seen
        (at_acquire, KernelState.LOCK, []),
        # queued behind the sampler where its call returned: its line
        (at_spin, KernelState.GIL, [("spinner", "hog")]),
        # queued, but on its way back from a blocking call: not where it held the GIL
        (at_acquire, KernelState.GIL, []),
    ],
)
def test_after_a_long_hold_the_thread_that_used_the_cpu_held_the_gil(
    hog_frame: Callable[[], FakeFrame], hog_kernel: KernelState, blamed: list[tuple[str, str]]
) -> None:
    # A regex in a pool's thread keeps the GIL for 0.5 s while the event loop's thread
    # waits. The loop's thread queues at the next tick and used no CPU: it is not the
    # holder (it was blamed for the regex, its own `asyncio.run` line named).
    world = World(kernel={1: KernelState.GIL, 2: hog_kernel})
    world.add(1, at_spin, name="loop")
    world.add(2, hog_frame, name="hog")
    monitor = _monitor(world)
    world.step(monitor, {})  # the first tick only meets the threads
    _long_hold(world, monitor, 0.5, hog=2)
    report = monitor.stop()
    assert [(h.function, h.thread_name) for h in report.gil.holders] == blamed
    assert report.gil.holder_unseen_share == (0.0 if blamed else 1.0)


def test_a_new_pool_thread_that_kept_the_gil_through_its_first_wait_is_the_holder() -> None:
    # asyncio.to_thread's first call starts a worker that runs a regex at once: the tick
    # after the wait is the first to meet it. The loop thread, queued, is not the holder
    # (its own `Thread.start` line read as the stall's culprit, "its own code 100%").
    world = World(kernel={1: KernelState.GIL, 2: KernelState.LOCK})
    world.add(1, at_acquire, name="MainThread")
    monitor = _monitor(world)
    world.step(monitor, {})
    world.add(2, at_acquire, name="asyncio_0")
    world.started_ago[2] = 0.45
    _long_hold(world, monitor, 0.5, hog=2)
    assert monitor._stall_cause(1) == ("gil", None, "asyncio_0")
    gil = monitor.stop().gil
    assert (gil.holder_unseen_share, gil.holder_unseen_thread) == (1.0, "asyncio_0")


@pytest.mark.parametrize(
    ("started_ago", "holder"),
    [
        (0.35, ("callback", None, "")),  # started while the sampler set up: not the wait's
        # started since: its CPU was all used in the wait; queued in Python, at its line
        (0.1, ("gil", _line(at_spin, "worker"), "worker")),
    ],
)
def test_cpu_used_before_the_samplers_wait_does_not_make_a_long_holder(
    started_ago: float, holder: tuple[str, object, str]
) -> None:
    # The sampler sets up for 0.3 s after its first look, then waits 0.1 s for the GIL:
    # the CPU the threads used since the run (or they) began is not the wait's.
    world = World(kernel={1: KernelState.GIL, 2: KernelState.GIL})
    world.add(1, at_spin, name="MainThread")
    monitor = _monitor(world)
    world.clock.advance(0.3)
    monitor._set_up_done()
    world.add(2, at_spin, name="worker")
    world.started_ago[2] = started_ago
    world.clock.advance(0.1)
    world.cpu.run(1, 0.3)
    world.cpu.run(2, 0.1)
    monitor._gil_latency = 0.1
    monitor.tick()
    cause, line, thread = monitor._stall_cause(1 if holder[0] == "gil" else 2)
    assert (cause, line and (line[0], line[1], line[2]), thread) == holder


def test_a_long_wait_made_by_many_threads_taking_turns_still_names_the_holder() -> None:
    # Eight CPU-bound threads on two cores: the sampler waited long, and each thread got
    # a fifth to an eighth of the wait's CPU time, too little for one to have kept the GIL
    # through it. The usual rule names the holder: the queued thread that ran the most.
    world = World(kernel=dict.fromkeys(range(1, 9), KernelState.GIL))
    for ident in range(1, 9):
        world.add(ident, at_spin)
    monitor = _monitor(world)
    world.step(monitor, {})  # the first tick only meets the threads
    world.clock.advance(0.4)
    for ident in range(1, 9):
        world.cpu.run(ident, 0.4 / 5 if ident == 1 else 0.4 / 8)
    monitor._gil_latency = 0.4
    monitor.tick()
    report = monitor.stop()
    assert [(h.function, h.thread_name) for h in report.gil.holders] == [("spinner", "t1")]
    assert report.gil.holder_unseen_share == 0.0


@pytest.mark.parametrize(("started_ago", "named"), [(0.005, True), (0.5, False)])
def test_a_short_lived_thread_met_holding_the_gil_is_the_holder(
    started_ago: float, named: bool
) -> None:
    # A threaded HTTP server's handlers live a few ms: each tick meets new ones, one of
    # them queued where the sampler took the GIL from it. Met threads had no say in who
    # held it, and the clients' request line was named for the handlers' work. One met
    # that started before the previous tick has no CPU known since: not a candidate.
    world = World(kernel={1: KernelState.GIL, 2: KernelState.GIL})
    world.add(1, at_sleep, name="client")
    monitor = _monitor(world)
    world.step(monitor, {})
    world.add(2, at_spin, name="handler")
    world.started_ago[2] = started_ago
    world.clock.advance(TICK)
    world.cpu.run(2, 0.004)
    monitor.tick()
    gil = monitor.stop().gil
    assert [(h.function, h.thread_name) for h in gil.holders] == (
        [("spinner", "handler")] if named else []
    )


JSON_FRAME = (json.__file__, 120, "encode")  # the standard library's


@pytest.mark.parametrize(
    ("frames", "named", "unseen"),
    [
        ((JSON_FRAME, ("/srv/app.py", 8, "dump")), [("/srv/app.py", 8, "dump")], 0.0),
        ((JSON_FRAME,), [JSON_FRAME], 0.0),  # nothing of the program's: the innermost
        ((), [], 1.0),  # a thread without Python frames: its line unseen
    ],
)
def test_a_holder_the_watcher_read_is_named_by_its_programs_innermost_line(
    frames: tuple[tuple[str, int, str], ...], named: list[tuple[str, int, str]], unseen: float
) -> None:
    holders = GilHolders(CallSites(), 100.0)
    holders.blame_read_holders(0.4, [(0.1, (7, frames))], lambda native_id: f"t{native_id}")
    found = named_holders(holders.blame, FrameResolver())
    assert [(h.file, h.line, h.function) for h in found] == named
    assert [h.thread_name for h in found] == ["t7"] * len(named)
    assert holders.blame.total == pytest.approx(0.4)  # all of the window's wait
    assert holders.blame.unseen == pytest.approx(0.4 * unseen)
