"""Stack samples: walking frames cheaply, telling running from waiting, aggregating counts.

A sample is a tuple of ``(code, lasti)`` pairs, innermost first. Code objects and
instruction offsets are cheap to read under the GIL; turning them into file names and
line numbers is deferred to report time, once per distinct pair.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from enum import Enum
from types import CodeType, FrameType

from ._kernel import KernelState

StackKey = tuple[tuple[CodeType, int], ...]

#: Frames kept per sample, innermost first; deeper recursion is cut at the outer end.
MAX_DEPTH = 128

CO_COROUTINE = 0x0080
CO_ITERABLE_COROUTINE = 0x0100
CO_ASYNC_GENERATOR = 0x0200
_ASYNC_FLAGS = CO_COROUTINE | CO_ITERABLE_COROUTINE | CO_ASYNC_GENERATOR

# Names of callables that block with the GIL released: a thread whose innermost Python
# frame sits at a call to one of these is waiting on the OS, not asking for the GIL.
BLOCKING_CALL_NAMES = frozenset(
    {
        # sleeping and polling
        "sleep",
        "select",
        "poll",
        "epoll",
        "kqueue",
        "control",
        "waitpid",
        "wait",
        "wait4",
        "waitid",
        "sigwait",
        "sigtimedwait",
        "pause",
        "input",
        # sockets, pipes, files, ssl
        "accept",
        "_accept",  # socket.socket.accept's own call
        "recv",
        "recv_into",
        "recvfrom",
        "recvfrom_into",
        "recvmsg",
        "send",
        "sendall",
        "sendto",
        "sendmsg",
        "sendfile",
        "connect",
        "connect_ex",
        "read",
        "readinto",
        "readline",
        "readlines",
        "write",
        "flush",
        "fsync",
        # each one system call, made with the GIL let go: a threaded server's handler
        # queued after request.shutdown() was named as the GIL's holder at that line
        "shutdown",
        "close",
        "getaddrinfo",
        "gethostbyname",
        "do_handshake",
        "urlopen",
        "communicate",
        "system",
        # synchronisation primitives
        "acquire",
        "join",
        "get",
        "put",
        "result",
    }
)


class ThreadState(str, Enum):
    """What a thread was doing when sampled."""

    RUNNING = "running"  # executing Python or native code, or asking for the GIL to do so
    WAITING = "waiting"  # blocked in I/O, a sleep, a lock, a queue: not asking for the GIL


def sample_stack(frame: FrameType | None, max_depth: int = MAX_DEPTH) -> StackKey:
    """The stack of ``frame`` as ``(code, lasti)`` pairs, innermost first."""
    out: list[tuple[CodeType, int]] = []
    append = out.append  # the sampler's hottest loop: once per frame of every thread
    for _ in range(max_depth):
        if frame is None:
            break
        append((frame.f_code, frame.f_lasti))
        frame = frame.f_back
    return tuple(out)


def is_loop_poll(code: CodeType) -> bool:
    """Whether ``code`` is a selector's ``select``: an event loop waiting for I/O."""
    return code.co_name == "select" and code.co_filename.endswith("selectors.py")


def is_async_code(code: CodeType) -> bool:
    """Whether ``code`` is the body of a coroutine or async generator."""
    return bool(code.co_flags & _ASYNC_FLAGS)


_CALL_OPS = frozenset(
    {
        "CALL",
        "CALL_KW",
        "CALL_FUNCTION",
        "CALL_FUNCTION_KW",
        "CALL_FUNCTION_EX",
        "CALL_METHOD",
        "CALL_INTRINSIC_1",
        "CALL_INTRINSIC_2",
    }
)
_NAME_OPS = frozenset({"LOAD_ATTR", "LOAD_METHOD", "LOAD_GLOBAL", "LOAD_NAME", "LOAD_DEREF"})


class CallSites:
    """For each call instruction of a code object, the names loaded to make that call.

    Built once per code object with :mod:`dis` and cached, because a sampler sees the
    same few call sites over and over.
    """

    def __init__(self, max_codes: int = 4096) -> None:
        # Keyed by id (hashing a code object is slow, see StackTable); the code object
        # kept beside its sites holds the id.
        self._cache: dict[int, tuple[CodeType, dict[int, frozenset[str]]]] = {}
        self._max_codes = max_codes

    @staticmethod
    def prepare() -> None:
        """Import what reading call sites takes, as part of the sampler's set-up.

        Imported at the first tick instead, beside busy threads (every file an import
        reads lets go of the GIL), it took 135 ms between the tick's stacks and its
        thread states, which then no longer told the same moment.
        """
        import dis  # noqa: F401

    def names_at(self, code: CodeType, lasti: int) -> frozenset[str] | None:
        """Names loaded for the call at ``lasti``, or None when ``lasti`` is not a call."""
        cached = self._cache.get(id(code))
        if cached is None:
            if len(self._cache) >= self._max_codes:
                self._cache.clear()
            cached = self._cache[id(code)] = (code, _call_sites(code))
        return cached[1].get(lasti)


def _call_sites(code: CodeType) -> dict[int, frozenset[str]]:
    sites: dict[int, frozenset[str]] = {}
    pending: list[str] = []
    import dis  # imported by CallSites.prepare in the sampler's set-up

    try:
        instructions = list(dis.get_instructions(code))
    except Exception:  # a code object dis cannot read must not break sampling
        return sites
    for ins in instructions:
        if ins.opname in _NAME_OPS and isinstance(ins.argval, str):
            pending.append(ins.argval)
        elif ins.opname == "PRECALL":
            # CPython 3.11 specialises PRECALL to make the call itself for builtins
            # (time.sleep, sock.recv, ...), so a thread blocked there shows this offset.
            sites[ins.offset] = frozenset(pending)
        elif ins.opname in _CALL_OPS:
            sites[ins.offset] = frozenset(pending)
            pending = []
    return sites


def classify(
    stack: StackKey,
    call_sites: CallSites,
    kernel: KernelState | None,
    gil_was_busy: bool = True,
) -> ThreadState:
    """Decide whether a sampled thread was running (or asking for the GIL) or waiting.

    The sampler holds the GIL while it looks, so every other thread has stopped running
    Python. Where the kernel says what the thread does (``kernel``, Linux), that decides:
    on a CPU (native code) or queueing on the GIL's futex → running; asleep on any other
    futex (a lock, a queue, a join) or in any other system call → waiting. Otherwise the
    bytecode position is the guess: a thread stopped between instructions wants the GIL,
    one at a call known to block (sleep, recv, acquire, ...) waits, one at any other call
    into C runs native code.
    """
    if not stack:
        return ThreadState.WAITING
    if kernel is KernelState.ON_CPU:
        return ThreadState.RUNNING
    if kernel is KernelState.GIL:
        # Back from a blocking call and queueing for the GIL: if the sampler itself got
        # the GIL at once, the thread queues behind the sampler only, not the program.
        if at_blocking_call(stack, call_sites) and not gil_was_busy:
            return ThreadState.WAITING
        return ThreadState.RUNNING
    if kernel is not None:
        return ThreadState.WAITING
    if at_blocking_call(stack, call_sites):
        return ThreadState.WAITING
    return ThreadState.RUNNING


def at_blocking_call(stack: StackKey, call_sites: CallSites) -> bool:
    """Whether the innermost frame stands at a call known to block (sleep, recv, ...)."""
    if not stack:
        return False
    names = call_sites.names_at(*stack[0])
    return names is not None and bool(names & BLOCKING_CALL_NAMES)


class FrameInfo(tuple[str, int, str]):
    """One resolved frame: where it is and what function it runs (a dict key).

    A tuple, not a dataclass: `gilwise run` imports this before the program starts.
    """

    __slots__ = ()

    def __new__(cls, file: str, line: int, function: str) -> FrameInfo:
        return tuple.__new__(cls, (file, line, function))

    @property
    def file(self) -> str:
        return self[0]

    @property
    def line(self) -> int:
        return self[1]

    @property
    def function(self) -> str:
        return self[2]


class FrameResolver:
    """Turns ``(code, lasti)`` into :class:`FrameInfo`, caching line tables per code."""

    def __init__(self) -> None:
        self._lines: dict[CodeType, list[tuple[int, int, int | None]]] = {}

    def resolve(self, code: CodeType, lasti: int) -> FrameInfo:
        return FrameInfo(code.co_filename, self.line_of(code, lasti), _qualname(code))

    def resolve_stack(self, stack: StackKey) -> tuple[FrameInfo, ...]:
        """Frames outermost first, innermost last (the order tracebacks use)."""
        return tuple(self.resolve(code, lasti) for code, lasti in reversed(stack))

    def line_of(self, code: CodeType, lasti: int) -> int:
        table = self._lines.get(code)
        if table is None:
            table = self._lines[code] = list(code.co_lines())
        for start, end, line in table:
            if start <= lasti < end and line is not None:
                return line
        return code.co_firstlineno


def _qualname(code: CodeType) -> str:
    return getattr(code, "co_qualname", code.co_name)


class LineCount:
    """Samples that had this frame innermost (a line) or anywhere (a function)."""

    __slots__ = ("file", "function", "line", "running", "waiting")

    def __init__(self, file: str, line: int, function: str, running: int, waiting: int) -> None:
        self.file = file
        self.line = line
        self.function = function
        self.running = running
        self.waiting = waiting


class StackTable:
    """Counts of sampled stacks for one thread, bounded in memory.

    Distinct stacks beyond ``max_keys`` are cut to their innermost ``fallback_depth``
    frames; beyond twice that, samples are only counted, so a long run with endlessly
    varied stacks (generated code, deep recursion) cannot grow without bound.

    Stacks are counted under their code objects' identities, not the code objects: a code
    object's hash is computed from its contents every time, 1.6 µs on CPython 3.12 and
    3.13, so hashing a 20-frame stack took 31 µs, three times per sample of every thread
    while the sampler held the GIL. The first stack seen for each identity key is kept,
    which keeps its code objects alive, so no other code object can take their ids.
    """

    def __init__(self, max_keys: int = 2000, fallback_depth: int = 8) -> None:
        self._counts: dict[tuple[ThreadState, tuple[int, ...]], int] = {}
        self._stacks: dict[tuple[ThreadState, tuple[int, ...]], StackKey] = {}
        self.dropped = 0
        self._max_keys = max_keys
        self._fallback_depth = fallback_depth

    def __len__(self) -> int:
        """Distinct stacks kept."""
        return len(self._counts)

    def items(self) -> Iterator[tuple[ThreadState, StackKey, int]]:
        """Each kept stack with its state and samples (never hashing the stacks)."""
        for key, n in self._counts.items():
            yield key[0], self._stacks[key], n

    def add(self, state: ThreadState, stack: StackKey, n: int = 1) -> None:
        key = (state, _identity(stack))
        if key in self._counts:
            self._counts[key] += n
        elif len(self._counts) < self._max_keys:
            self._counts[key] = n
            self._stacks[key] = stack
        else:
            self._add_short(state, stack[: self._fallback_depth], n)

    def _add_short(self, state: ThreadState, short: StackKey, n: int) -> None:
        key = (state, _identity(short))
        if key in self._counts:
            self._counts[key] += n
        elif len(self._counts) < 2 * self._max_keys:
            self._counts[key] = n
            self._stacks[key] = short
        else:
            self.dropped += n

    def merge(self, other: StackTable) -> None:
        for key, n in other._counts.items():
            self.add(key[0], other._stacks[key], n)
        self.dropped += other.dropped


def _identity(stack: StackKey) -> tuple[int, ...]:
    """A stack as ints that hash fast: each frame's code object's id, then its offset."""
    return tuple([x for code, lasti in stack for x in (id(code), lasti)])


def top_lines(table: StackTable, resolver: FrameResolver, limit: int = 10) -> tuple[LineCount, ...]:
    """The innermost lines that samples landed on most, with running/waiting split."""
    per_line: dict[FrameInfo, Counter[ThreadState]] = {}
    for state, stack, n in table.items():
        if stack:
            per_line.setdefault(resolver.resolve(*stack[0]), Counter())[state] += n
    return _ranked(per_line, limit)


def top_functions(
    table: StackTable, resolver: FrameResolver, limit: int = 10
) -> tuple[LineCount, ...]:
    """Functions by inclusive samples (on the stack anywhere), with running/waiting split."""
    per_fn: dict[FrameInfo, Counter[ThreadState]] = {}
    for state, stack, n in table.items():
        seen: set[int] = set()  # ids: hashing a code object is slow (see StackTable)
        for code, _ in stack:
            if id(code) in seen:  # recursion: count a function once per sample
                continue
            seen.add(id(code))
            info = FrameInfo(code.co_filename, code.co_firstlineno, _qualname(code))
            per_fn.setdefault(info, Counter())[state] += n
    return _ranked(per_fn, limit)


def _ranked(counts: dict[FrameInfo, Counter[ThreadState]], limit: int) -> tuple[LineCount, ...]:
    rows = [
        LineCount(
            info.file,
            info.line,
            info.function,
            c[ThreadState.RUNNING],
            c[ThreadState.WAITING],
        )
        for info, c in counts.items()
    ]
    rows.sort(key=lambda r: (-(r.running + r.waiting), r.file, r.line))
    return tuple(rows[:limit])
