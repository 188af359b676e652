"""gilwise's GIL figures against CPython's own thread-status reader, in the same run.

Each program runs under ``gilwise run --json`` while a second process samples it with
``_remote_debugging.RemoteUnwinder`` (CPython 3.15; the reader behind ``python -m
profiling.sampling --mode gil``), which reads every thread's status from the
interpreter: holding the GIL, or asking for it. Per sample taken while the program's
own code is on a stack (not the interpreter's start, nor gilwise's set-up before the
program or its report after), the reference counts the program's threads asking for
the GIL (gilwise's own threads left out; the main thread, which runs the program inside
gilwise's runner, counted); its averages over time, each sample standing for half the
gap to each neighbour (``sample_weights``: samples counted alike under-count the busy
stretches, in which the reference itself waits longer for a CPU), are the truth
gilwise's ``gil.wait_fraction`` and ``gil.mean_waiting_threads`` are held to. The
verdict the reference implies is GIL_BOUND when the share of time with a waiting thread
is at least the verdict's threshold and two or more threads were busy (held or wanted
the GIL for at least a fifth of the time they were alive, by the same weights).

The GIL's holder too: at each sample where threads wait and one thread holds the GIL,
the reference charges the waiting threads to the holder's innermost line in the
program. Where one line has most of that wait (and threads waited at least 5% of the
time), gilwise's first ``gil.holders`` entry
must be that line (column ``holder``: ``yes``/``NO``, ``–`` where no line dominates;
``unseen`` is gilwise's ``gil.holder_unseen_share``).

Every program runs twice: on a quiet machine and beside two busy external processes.

On CPython 3.15 gilwise's watcher reads each thread's GIL status with the same reader
(the count then differs from the reference only by when each samples and what each
leaves out); ``--reader kernel`` makes it read the kernel's view instead, the one it
reads on 3.10-3.14, which this benchmark is the check of.

``--api watch`` runs each program inside ``with gilwise.watch() as w:`` instead (the
in-process API a service or a notebook uses), from a wrapper kept in a ``gilwise/``
folder so that the reference leaves its frames out as it does gilwise's own: the
reference then covers the block, as the report does.

    python3.15 benchmarks/gil_truth.py                 # all programs, quiet and loaded
    python3.15 benchmarks/gil_truth.py --only cpu3,lock_waiters --no-loaded
    python3.15 benchmarks/gil_truth.py --api watch --no-loaded
"""

from __future__ import annotations

import argparse
import itertools
import json
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "src"))

from gilwise.monitor._verdicts import GIL_BOUND_WAIT  # noqa: E402

RUN_S = 2.5
BUSY_SHARE = 0.2
#: A holder line with this share of the reference's wait is the one gilwise must name,
#: where threads waited at least this share of the time.
DOMINANT_HOLDER = 0.5
HOLDER_MIN_WAIT = 0.05

# Each program runs about RUN_S seconds; ``R`` is that, in the program's globals.
PROGRAMS: dict[str, str] = {
    "lock_waiters": """
        import threading, time
        lock = threading.Lock()
        def holder():
            with lock:
                time.sleep(R)
        def waiter():
            with lock:
                pass
        h = threading.Thread(target=holder); h.start(); time.sleep(0.05)
        ws = [threading.Thread(target=waiter) for _ in range(3)]
        [w.start() for w in ws]; h.join(); [w.join() for w in ws]
    """,
    "queue_waiters": """
        import threading, time, queue
        q = queue.Queue()
        ws = [threading.Thread(target=lambda: list(iter(q.get, None))) for _ in range(3)]
        [w.start() for w in ws]; time.sleep(R)
        [q.put(None) for _ in ws]; [w.join() for w in ws]
    """,
    "condition_waiters": """
        import threading, time
        cond = threading.Condition(); done = []
        def waiter():
            with cond:
                while not done:
                    cond.wait()
        ws = [threading.Thread(target=waiter) for _ in range(3)]
        [w.start() for w in ws]
        end = time.time() + R
        while time.time() < end:
            time.sleep(0.1)
            with cond:
                cond.notify_all()
        with cond:
            done.append(1); cond.notify_all()
        [w.join() for w in ws]
    """,
    "event_waiters": """
        import threading, time
        ev = threading.Event()
        ws = [threading.Thread(target=ev.wait) for _ in range(4)]
        [w.start() for w in ws]; time.sleep(R); ev.set(); [w.join() for w in ws]
    """,
    "sleep_only": """
        import time
        time.sleep(R)
    """,
    "main_joins_cpu_thread": """
        import threading, time
        def spin():
            end = time.time() + R
            while time.time() < end:
                sum(range(100))
        t = threading.Thread(target=spin); t.start(); t.join()
    """,
    "cpu2": """
        import threading, time
        def spin():
            end = time.time() + R
            while time.time() < end:
                sum(range(100))
        ts = [threading.Thread(target=spin) for _ in range(2)]
        [t.start() for t in ts]; [t.join() for t in ts]
    """,
    "cpu3": """
        import threading, time
        def spin():
            end = time.time() + R
            while time.time() < end:
                sum(range(100))
        ts = [threading.Thread(target=spin) for _ in range(3)]
        [t.start() for t in ts]; [t.join() for t in ts]
    """,
    "cpu8": """
        import threading, time
        def spin():
            end = time.time() + R
            while time.time() < end:
                sum(range(100))
        ts = [threading.Thread(target=spin) for _ in range(8)]
        [t.start() for t in ts]; [t.join() for t in ts]
    """,
    "cpu2_beside_sleepers": """
        import threading, time
        def spin():
            end = time.time() + R
            while time.time() < end:
                sum(range(100))
        ts = [threading.Thread(target=spin) for _ in range(2)]
        ts += [threading.Thread(target=time.sleep, args=(R,)) for _ in range(4)]
        [t.start() for t in ts]; [t.join() for t in ts]
    """,
    "bursts_out_of_phase": """
        import threading, time
        def burst(offset):
            time.sleep(offset)
            end = time.time() + R
            while time.time() < end:
                t = time.perf_counter()
                while time.perf_counter() - t < 0.004:
                    pass
                time.sleep(0.004)
        ts = [threading.Thread(target=burst, args=(o,)) for o in (0, 0.004)]
        [t.start() for t in ts]; [t.join() for t in ts]
    """,
    "io_thread_beside_cpu_thread": """
        import threading, time
        stop = []
        def spin():
            while not stop:
                sum(range(100))
        def io():
            late = 0.0
            end = time.time() + R
            while time.time() < end:
                t = time.perf_counter()
                time.sleep(0.001)
                late += time.perf_counter() - t - 0.001
            return late
        c = threading.Thread(target=spin); c.start()
        # What a 1 ms sleep overran is this thread waiting for the GIL: the truth.
        print("TRUTH", io() / R); stop.append(1); c.join()
    """,
    "zlib4": """
        import threading, time, zlib, os
        data = os.urandom(1 << 20)
        def work():
            end = time.time() + R
            while time.time() < end:
                zlib.compress(data, 6)
        ts = [threading.Thread(target=work) for _ in range(4)]
        [t.start() for t in ts]; [t.join() for t in ts]
    """,
    "hashlib4": """
        import threading, time, hashlib, os
        data = os.urandom(1 << 22)
        def work():
            end = time.time() + R
            while time.time() < end:
                hashlib.sha256(data).digest()
        ts = [threading.Thread(target=work) for _ in range(4)]
        [t.start() for t in ts]; [t.join() for t in ts]
    """,
    "socket_ping_pong": """
        import socket, threading, time
        a, b = socket.socketpair()
        def echo():
            while True:
                d = b.recv(16)
                if not d:
                    break
                b.sendall(d)
        t = threading.Thread(target=echo); t.start()
        end = time.time() + R
        while time.time() < end:
            a.sendall(b"x"); a.recv(16)
        a.close(); t.join()
    """,
    "socket_clients16": """
        import socket, socketserver, threading, time
        class Echo(socketserver.BaseRequestHandler):
            def handle(self):
                while True:
                    d = self.request.recv(256)
                    if not d:
                        return
                    self.request.sendall(d)
        srv = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Echo)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        def client():
            s = socket.create_connection(srv.server_address)
            end = time.time() + R
            while time.time() < end:
                s.sendall(b"x" * 100); s.recv(256)
            s.close()
        cs = [threading.Thread(target=client) for _ in range(16)]
        [c.start() for c in cs]; [c.join() for c in cs]
        srv.shutdown()
    """,
    "http_server_cpu_handlers": """
        import json, threading, time, urllib.request
        from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                rows = [{"i": i, "s": str(i) * 5} for i in range(3000)]
                body = json.dumps(sorted(rows, key=lambda r: r["s"])).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        srv = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        srv.daemon_threads = True
        threading.Thread(target=srv.serve_forever, daemon=True).start()
        url = "http://127.0.0.1:%d/" % srv.server_address[1]
        def client():
            end = time.time() + R
            while time.time() < end:
                urllib.request.urlopen(url).read()
        cs = [threading.Thread(target=client) for _ in range(8)]
        [c.start() for c in cs]; [c.join() for c in cs]
        srv.shutdown()
    """,
    "mp_pool": """
        import multiprocessing
        def work(n):
            return sum(i * i for i in range(n))
        if __name__ == "__main__":
            with multiprocessing.Pool(2) as pool:
                end = __import__("time").time() + R
                while __import__("time").time() < end:
                    pool.map(work, [200_000] * 8)
    """,
    "subprocess_wait_beside_cpu": """
        import subprocess, sys, threading, time
        stop = []
        def spin():
            while not stop:
                sum(range(100))
        t = threading.Thread(target=spin); t.start()
        subprocess.run([sys.executable, "-c", f"import time; time.sleep({R})"])
        stop.append(1); t.join()
    """,
    "asyncio_beside_cpu_thread": """
        import asyncio, threading, time
        stop = []
        def spin():
            while not stop:
                sum(range(100))
        async def ticker():
            late = 0.0
            end = time.time() + R
            while time.time() < end:
                t = time.perf_counter()
                await asyncio.sleep(0.005)
                late += time.perf_counter() - t - 0.005
            return late
        t = threading.Thread(target=spin); t.start()
        # What the loop's 5 ms sleeps overran is its thread waiting for the GIL.
        print("TRUTH", asyncio.run(ticker()) / R); stop.append(1); t.join()
    """,
    "regex_holds_gil_beside_loop": """
        import asyncio, re, threading, time
        held = []
        def slow_regex():
            t = time.perf_counter()
            re.match(r"(a+)+$", "a" * 24 + "b")  # backtracks in C, GIL held, ~0.6 s
            held.append(time.perf_counter() - t)
        async def ticker(stop):
            while not stop:
                await asyncio.sleep(0.005)
        async def main():
            started, end, stop = time.perf_counter(), time.time() + R, []
            tick = asyncio.create_task(ticker(stop))
            while time.time() < end:
                await asyncio.to_thread(slow_regex)
            stop.append(1)
            await tick
            return time.perf_counter() - started
        # While the regex holds the GIL the loop's thread waits for it, but for the first
        # 5 ms of each call, when its ticker still sleeps; nobody waits otherwise. (The
        # reader reads 0.00 here: it misses it. The ticker's own overruns were used
        # before, and read 0.77 where the regex held the GIL 99.9% of the time: the first
        # call starts the pool's thread, which runs its regex before Thread.start()
        # returns to the loop, so the ticker had not started its first sleep.)
        total = asyncio.run(main())
        print("TRUTH", (sum(held) - 0.005 * len(held)) / total)
    """,
    "threadpool_mixed": """
        import time
        from concurrent.futures import ThreadPoolExecutor
        def task(i):
            if i % 2:
                time.sleep(0.01)
            else:
                sum(range(20_000))
        end = time.time() + R
        with ThreadPoolExecutor(4) as pool:
            while time.time() < end:
                list(pool.map(task, range(64)))
    """,
    "numpy_matmul_threads": """
        import threading, time
        import numpy as np
        a = np.random.rand(300, 300)
        def work():
            end = time.time() + R
            while time.time() < end:
                a @ a
        ts = [threading.Thread(target=work) for _ in range(3)]
        [t.start() for t in ts]; [t.join() for t in ts]
    """,
    # Threads started with _thread (pytest-xdist's workers, C extensions): threading has
    # no native id for them.
    "raw_thread_cpu2": """
        import _thread, time
        done = [_thread.allocate_lock() for _ in range(2)]
        def spin(lock):
            end = time.monotonic() + R
            while time.monotonic() < end:
                pass
            lock.release()
        for lock in done:
            lock.acquire(); _thread.start_new_thread(spin, (lock,))
        for lock in done:
            lock.acquire()
    """,
    "raw_thread_sleepers": """
        import _thread, time
        def nap():
            while True:
                time.sleep(0.01)
        for _ in range(3):
            _thread.start_new_thread(nap, ())
        time.sleep(R)
    """,
    # One long C call that never lets go of the GIL, beside a pure-Python thread.
    "c_call_holds_gil": """
        import threading, time
        def c_calls():
            end = time.monotonic() + R
            while time.monotonic() < end:
                sum(range(3_000_000))
        def python_loop():
            end = time.monotonic() + R
            while time.monotonic() < end:
                pass
        ts = [threading.Thread(target=c_calls), threading.Thread(target=python_loop)]
        [t.start() for t in ts]; [t.join() for t in ts]
    """,
    "json_threads": """
        import json, threading, time
        data = [{"id": i, "tags": ["a", "b"], "v": i * 0.5} for i in range(20_000)]
        def dump():
            end = time.monotonic() + R
            while time.monotonic() < end:
                json.dumps(data)
        ts = [threading.Thread(target=dump) for _ in range(3)]
        [t.start() for t in ts]; [t.join() for t in ts]
    """,
    "threadpool_cpu4": """
        import time
        from concurrent.futures import ThreadPoolExecutor
        def work(_):
            end = time.monotonic() + 0.05
            while time.monotonic() < end:
                pass
        with ThreadPoolExecutor(4) as pool:
            list(pool.map(work, range(int(R / 0.05 * 4))))
    """,
    "asyncio_to_thread_cpu": """
        import asyncio, time
        def crunch():
            end = time.monotonic() + 0.05
            while time.monotonic() < end:
                pass
        async def main():
            end = time.monotonic() + R
            while time.monotonic() < end:
                await asyncio.gather(*(asyncio.to_thread(crunch) for _ in range(3)))
        asyncio.run(main())
    """,
    "select_waiter_beside_cpu": """
        import select, socket, threading, time
        a, b = socket.socketpair()
        def spin():
            end = time.monotonic() + R
            while time.monotonic() < end:
                pass
        t = threading.Thread(target=spin); t.start()
        end = time.monotonic() + R
        while time.monotonic() < end:
            select.select([a], [], [], 0.1)
        t.join()
    """,
    "pickle_threads": """
        import pickle, threading, time
        data = list(range(200_000))
        def dump():
            end = time.monotonic() + R
            while time.monotonic() < end:
                pickle.loads(pickle.dumps(data))
        ts = [threading.Thread(target=dump) for _ in range(2)]
        [t.start() for t in ts]; [t.join() for t in ts]
    """,
    # sqlite3 lets go of the GIL while the database works.
    "sqlite_threads": """
        import sqlite3, threading, time
        def query():
            db = sqlite3.connect(":memory:")
            db.execute("create table t(x)")
            db.executemany("insert into t values (?)", ((i,) for i in range(50_000)))
            end = time.monotonic() + R
            while time.monotonic() < end:
                db.execute("select sum(x * x) from t where x % 7 = 3").fetchone()
        ts = [threading.Thread(target=query) for _ in range(3)]
        [t.start() for t in ts]; [t.join() for t in ts]
    """,
    "producer_uploaders": """
        import json, queue, threading, time
        q = queue.Queue(maxsize=10)
        def produce():
            end = time.monotonic() + R
            while time.monotonic() < end:
                q.put(json.loads(json.dumps([list(range(300))] * 30)))
            for _ in range(4):
                q.put(None)
        def upload():
            while q.get() is not None:
                time.sleep(0.005)
        ts = [threading.Thread(target=produce)]
        ts += [threading.Thread(target=upload) for _ in range(4)]
        [t.start() for t in ts]; [t.join() for t in ts]
    """,
}


def reference(pid: int, out: str) -> None:
    """Sample ``pid`` until it ends; write each sample's time and what it read."""
    import _remote_debugging as rd  # type: ignore[import-not-found]

    unwinder = None
    #: Per sample: its time, the program's threads waiting, the thread ids holding or
    #: wanting the GIL, those alive, and the holder's line where one thread held it.
    samples: list[tuple[float, int, list[int], list[int], str]] = []
    while _alive(pid):
        try:
            # The target's runtime is not readable until it has started up.
            unwinder = unwinder or rd.RemoteUnwinder(pid, all_threads=True, cache_frames=True)
            now = time.monotonic()
            interpreters = unwinder.get_stack_trace()
        except Exception:  # starting, ending, or caught mid-change: look again
            time.sleep(0.001)
            continue
        threads = [
            thread
            for interpreter in interpreters
            for thread in interpreter.threads
            if not _is_gilwise(thread.frame_info)
        ]
        if not any(_program_line(thread.frame_info) for thread in threads):
            # The interpreter's start, gilwise's set-up before the program and its report
            # after: no figure of gilwise's covers them (counted as "nobody waits", they
            # lowered the reference by up to 0.1 on a busy machine, where they are slow).
            time.sleep(0.001)
            continue
        waiting = 0
        holders = []
        busy = []
        for thread in threads:
            wants = thread.status & rd.THREAD_STATUS_GIL_REQUESTED
            holds = thread.status & rd.THREAD_STATUS_HAS_GIL
            if wants and not holds:
                waiting += 1
            if holds:
                holders.append(_program_line(thread.frame_info))
            if wants or holds:
                busy.append(thread.thread_id)
        holder = holders[0] if waiting and len(holders) == 1 else ""
        samples.append((now, waiting, busy, [t.thread_id for t in threads], holder))
        time.sleep(0.001)
    with open(out, "w") as fh:
        json.dump(weighted_totals(samples), fh)


#: A sample stands for half the time to each neighbour, up to this: the reference was off
#: its CPU longer than that, and did not see what happened meanwhile.
MAX_GAP_S = 0.05


def sample_weights(times: list[float]) -> list[float]:
    """Seconds each sample stands for: half the gap to each neighbour (the midpoint rule).

    Counting samples alike (as a sampling profiler's percentages do) is biased where the
    state moves the sampler's timing: beside 16 socket clients on 2 cores, the reads 3-10
    ms apart (the reference kept off its CPU) came when 8-9 threads waited against 3.5 on
    average, so each sample counted alike gave 3.7 waiting threads and time-weighted 3.9-4.1.
    """
    gaps = [min(MAX_GAP_S, b - a) for a, b in itertools.pairwise(times)]
    before = [0.0, *gaps]
    after = [*gaps, 0.0]
    return [(b + a) / 2 for b, a in zip(before, after, strict=True)]


def weighted_totals(
    samples: list[tuple[float, int, list[int], list[int], str]],
) -> dict[str, object]:
    """The reference's figures from its samples, each weighted by the time it stands for."""
    weights = sample_weights([sample[0] for sample in samples])
    #: Per thread: the seconds it held or wanted the GIL in, and those it was alive in.
    busy: dict[int, float] = {}
    alive: dict[int, float] = {}
    #: Thread-seconds of waiting charged to the holder's line ("file:line").
    held_by: dict[str, float] = {}
    total = any_wait = waiting_threads = 0.0
    for weight, (_, waiting, busy_ids, alive_ids, holder) in zip(weights, samples, strict=True):
        total += weight
        any_wait += weight if waiting else 0.0
        waiting_threads += weight * waiting
        for tid in busy_ids:
            busy[tid] = busy.get(tid, 0.0) + weight
        for tid in alive_ids:
            alive[tid] = alive.get(tid, 0.0) + weight
        if holder:
            held_by[holder] = held_by.get(holder, 0.0) + weight * waiting
    return {
        "samples": len(samples),
        "seconds": total,
        "wait": any_wait / total if total else 0.0,
        "mean": waiting_threads / total if total else 0.0,
        "busy": busy,
        "alive": alive,
        "held_by": held_by,
    }


def _program_line(frames: list[object]) -> str:
    """The innermost line in the program's own file ("name.py:line"), or ""."""
    for frame in frames:
        filename = str(getattr(frame, "filename", ""))
        if filename.endswith(".py") and "/lib/python" not in filename:
            return f"{Path(filename).name}:{frame.location.lineno}"  # type: ignore[attr-defined]
    return ""


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().split(") ")[-1][:1] != "Z"
    except OSError:
        return False


def _is_gilwise(frames: list[object]) -> bool:
    """Whether a thread is gilwise's own: a gilwise file is met, innermost first, before
    any of the program's. The main thread runs the program inside gilwise's runner, so
    a gilwise frame anywhere on its stack does not make it gilwise's (counted so until
    now, the reference left out every wait of the main thread: a pool's caller, an
    event loop)."""
    for frame in frames:
        filename = str(getattr(frame, "filename", ""))
        if "gilwise/" in filename:
            return True
        if filename.endswith(".py") and "/lib/python" not in filename:
            return False
    return False


def _with_this_checkout() -> dict[str, str]:
    """The environment with this checkout's gilwise first on the path: the one measured is
    the one beside this script, whatever the environment has installed."""
    path = os.environ.get("PYTHONPATH")
    source = str(REPO / "src")
    return {**os.environ, "PYTHONPATH": source + (os.pathsep + path if path else "")}


#: Runs a program inside ``gilwise.watch()`` and writes the report: ``--api watch``.
WATCH_WRAPPER = """
import sys
import types
import gilwise

program, report_path = sys.argv[1], sys.argv[2]
# The program is __main__, as python runs it: multiprocessing finds its functions there.
main = types.ModuleType("__main__")
main.__file__ = program
sys.modules["__main__"] = main
code = compile(open(program).read(), program, "exec")
with gilwise.watch() as watch:
    exec(code, main.__dict__)
with open(report_path, "w") as out:
    out.write(watch.report.to_json())
"""


def target_command(api: str, program: Path, report_path: Path) -> list[str]:
    """The command that runs ``program`` under gilwise by ``api`` and writes the report."""
    if api == "run":
        return [
            sys.executable,
            "-m",
            "gilwise",
            "run",
            "--quiet",
            "--json",
            str(report_path),
            str(program),
        ]
    wrapper = program.parent / "gilwise" / "watch_block.py"
    wrapper.parent.mkdir(exist_ok=True)
    wrapper.write_text(WATCH_WRAPPER)
    return [sys.executable, str(wrapper), str(program), str(report_path)]


def measure(
    name: str, loaded: bool, scratch: Path, api: str = "run", reader: str = "auto"
) -> dict[str, object]:
    program = scratch / f"{name}.py"
    program.write_text(f"R = {RUN_S}\n" + textwrap.dedent(PROGRAMS[name]))
    report_path, reference_path = scratch / f"{name}.json", scratch / f"{name}.ref.json"
    burners = [
        subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(2 * loaded)
    ]
    try:
        target = subprocess.Popen(
            target_command(api, program, report_path),
            cwd=scratch,
            env={**_with_this_checkout(), "GILWISE_GIL_READER": reader},
            start_new_session=True,
            stdout=subprocess.PIPE,
            text=True,
        )
        sampler = subprocess.Popen(
            [sys.executable, __file__, "--reference", str(target.pid), str(reference_path)],
            start_new_session=True,
        )
        output, _ = target.communicate(timeout=120)
        sampler.wait(timeout=60)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()
    report = json.loads(report_path.read_text())
    ref = json.loads(reference_path.read_text())
    samples = ref["samples"]
    ref_wait, ref_mean = ref["wait"], ref["mean"]
    # Of its own life, as the verdict counts it: a threaded server's handlers live a
    # few ms each, busy all along, and were none of them busy over the whole run.
    alive = ref["alive"]
    ref_busy = sum(1 for tid, n in ref["busy"].items() if n >= BUSY_SHARE * alive[tid])
    truth = [float(line.split()[1]) for line in output.splitlines() if line.startswith("TRUTH")]
    if truth:
        # Known by construction (one thread's measured GIL wait): it overrides the
        # reader, which misses waits for the GIL on the way back from a blocking call.
        ref_wait = ref_mean = min(1.0, truth[0])
        ref_busy = 2  # the thread that waits and the one it waits for
    codes = [v["code"] for v in report["verdicts"]]
    ref_holder, holder_share = _dominant(ref.get("held_by", {}))
    holders = report["gil"]["holders"]
    named = f"{Path(holders[0]['file']).name}:{holders[0]['line']}" if holders else ""
    return {
        "program": name,
        "api": api,
        "reader": reader,
        "loaded": loaded,
        "samples": samples,
        "ref_wait": ref_wait,
        "ref_mean": ref_mean,
        "wait": report["gil"]["wait_fraction"],
        "mean": report["gil"]["mean_waiting_threads"],
        "method": _method(report["gil"]["method"]),
        "gil_bound": "GIL_BOUND" in codes,
        "ref_gil_bound": ref_wait >= GIL_BOUND_WAIT and ref_busy >= 2,
        "reference": "construction" if truth else "reader",
        "verdicts": codes,
        "ref_holder": ref_holder,
        "ref_holder_share": holder_share,
        "holder": named,
        "holder_unseen": report["gil"].get("holder_unseen_share", 0.0),
        "monitor_errors": report.get("monitor_errors", []),
    }


def _method(method: str) -> str:
    """gilwise's method, short: how it counted, and from outside, what it read."""
    how = method.split(":")[0]
    if how == "counted from outside":
        return "outside, status" if "THREAD_STATUS" in method else "outside, kernel"
    return how


def _dominant(held_by: dict[str, float]) -> tuple[str, float]:
    """The holder line with most of the reference's wait, and its share ("" if none)."""
    total = sum(held_by.values())
    if not total:
        return "", 0.0
    line, weight = max(held_by.items(), key=lambda item: item[1])
    return line, weight / total


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", help="comma-separated program names")
    parser.add_argument("--no-loaded", action="store_true", help="quiet runs only")
    parser.add_argument("--save", metavar="PATH", help="write the rows as JSON")
    parser.add_argument(
        "--api",
        choices=("run", "watch"),
        default="run",
        help="run each program under `gilwise run` (default) or inside `gilwise.watch()`",
    )
    parser.add_argument(
        "--reader",
        choices=("auto", "kernel"),
        default="auto",
        help="kernel: gilwise's watcher reads the kernel's view (as on CPython 3.10-3.14) "
        "rather than CPython's own thread status, which the reference reads too",
    )
    parser.add_argument("--reference", nargs=2, metavar=("PID", "OUT"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference:
        reference(int(args.reference[0]), args.reference[1])
        return 0
    if sys.version_info < (3, 15):
        print("needs CPython 3.15 (_remote_debugging thread status)", file=sys.stderr)
        return 2
    names = args.only.split(",") if args.only else list(PROGRAMS)
    rows = []
    print(
        f"{'program':<30}{'load':<7}{'ref wait':>9}{'wait':>7}{'err':>7}"
        f"{'ref mean':>9}{'mean':>7}{'err':>7}  verdict ok  {'method':<22}{'reference':<14}"
        "holder (reference's line, share; gilwise's line, unseen share)"
    )
    with tempfile.TemporaryDirectory() as scratch:
        for loaded in (False,) if args.no_loaded else (False, True):
            for name in names:
                row = measure(name, loaded, Path(scratch), args.api, args.reader)
                rows.append(row)
                _print(row)
    _summary(rows)
    if args.save:
        Path(args.save).write_text(json.dumps(rows, indent=1) + "\n")
    return 0


def _print(row: dict[str, object]) -> None:
    wait, mean = row["wait"], row["mean"]
    ref_wait, ref_mean = float(row["ref_wait"]), float(row["ref_mean"])  # type: ignore[arg-type]
    wait_err = "–" if wait is None else f"{float(wait) - ref_wait:+.2f}"  # type: ignore[arg-type]
    mean_err = "–" if mean is None else f"{float(mean) - ref_mean:+.2f}"  # type: ignore[arg-type]
    ok = "yes" if row["gil_bound"] == row["ref_gil_bound"] else "NO "
    print(
        f"{row['program']:<30}{'busy' if row['loaded'] else 'quiet':<7}{ref_wait:>9.2f}"
        f"{_num(wait):>7}{wait_err:>7}{ref_mean:>9.2f}{_num(mean):>7}{mean_err:>7}"
        f"  {ok:<10}  {row['method']:<22}{row['reference']:<14}{_holder_column(row)}",
        flush=True,
    )


def _holder_verdict(row: dict[str, object]) -> str:
    """yes/NO where one line held the GIL over most of the reference's wait, else –."""
    share, wait = float(row["ref_holder_share"]), float(row["ref_wait"])  # type: ignore[arg-type]
    if not row["ref_holder"] or share < DOMINANT_HOLDER or wait < HOLDER_MIN_WAIT:
        return "–"
    return "yes" if row["holder"] == row["ref_holder"] else "NO"


def _holder_column(row: dict[str, object]) -> str:
    if not row["ref_holder"]:
        return f"–  (gilwise: {row['holder'] or 'none'})"
    return (
        f"{_holder_verdict(row):<4}({row['ref_holder']} {float(row['ref_holder_share']):.2f}; "  # type: ignore[arg-type]
        f"{row['holder'] or 'none'}, unseen {float(row['holder_unseen']):.2f})"  # type: ignore[arg-type]
    )


def _num(value: object) -> str:
    return "–" if value is None else f"{float(value):.2f}"  # type: ignore[arg-type]


def _summary(rows: list[dict[str, object]]) -> None:
    for loaded in (False, True):
        chosen = [r for r in rows if r["loaded"] == loaded]
        if not chosen:
            continue
        within = sum(
            1
            for r in chosen
            if r["wait"] is not None and abs(float(r["wait"]) - float(r["ref_wait"])) <= 0.05  # type: ignore[arg-type]
        )
        mean_ok = sum(
            1
            for r in chosen
            if r["mean"] is not None
            and abs(float(r["mean"]) - float(r["ref_mean"]))  # type: ignore[arg-type]
            <= 0.1 * float(r["ref_mean"]) + 0.05  # type: ignore[arg-type]
        )
        verdicts = sum(1 for r in chosen if r["gil_bound"] == r["ref_gil_bound"])
        judged = [_holder_verdict(r) for r in chosen]
        held = sum(1 for v in judged if v == "yes")
        n = len(chosen)
        print(
            f"{'busy' if loaded else 'quiet'}: wait_fraction within 0.05 on {within}/{n}, "
            f"mean waiting within 10%+0.05 on {mean_ok}/{n}, GIL_BOUND verdict as the "
            f"reference implies on {verdicts}/{n}, the dominant holder line named on "
            f"{held}/{held + judged.count('NO')}"
        )


if __name__ == "__main__":
    sys.exit(main())
