"""GIL contention: gilwise's estimate against gil_load over a sweep of workloads.

gil_load (a native extension that samples the GIL's own state from a thread that
never needs it) is the reference. Each workload runs for a fixed time in its own
process, once under gil_load and once under gilwise; the table lists both figures and
their Spearman rank correlation. The goal is rho >= 0.9 for gilwise's
``wait_fraction`` against gil_load's ``wait`` (fraction of time at least one thread
waited for the GIL).

gil_load 0.4.2 must be built with Cython < 3 (built with Cython 3 it deadlocks in
``stop()`` in about a quarter of runs)::

    python3 -m venv .venv-gl
    .venv-gl/bin/pip install "cython<3" setuptools wheel
    .venv-gl/bin/pip install --no-build-isolation gil_load==0.4.2

    python benchmarks/gil_sweep.py [--seconds 2] [--only cpu4,sock4] [--save out.json]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# --- thread bodies: each runs until `end` (a perf_counter deadline) -------------------


def spin(seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        pass


def cpu(end: float) -> None:
    while time.perf_counter() < end:
        sum(range(300))


def burst(cpu_ms: float, sleep_ms: float) -> Callable[[float], None]:
    def body(end: float) -> None:
        while time.perf_counter() < end:
            spin(cpu_ms / 1000)
            time.sleep(sleep_ms / 1000)

    return body


def sleeper(sleep_ms: float) -> Callable[[float], None]:
    def body(end: float) -> None:
        while time.perf_counter() < end:
            sum(range(50))
            time.sleep(sleep_ms / 1000)

    return body


BUFFER = os.urandom(8 * 2**20)


def hasher(end: float) -> None:
    while time.perf_counter() < end:
        hashlib.sha256(BUFFER).digest()  # releases the GIL for large buffers


class EchoServer:
    """A loopback echo server thread: an I/O thread of its own."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.address = self.sock.getsockname()

    def start(self, end: float) -> list[threading.Thread]:
        t = threading.Thread(target=self._serve, args=(end,), daemon=True)
        t.start()
        return [t]

    def _serve(self, end: float) -> None:
        self.sock.settimeout(0.5)
        while time.perf_counter() < end:
            try:
                conn, _ = self.sock.accept()
            except TimeoutError:
                continue
            threading.Thread(target=self._echo, args=(conn,), daemon=True).start()

    @staticmethod
    def _echo(conn: socket.socket) -> None:
        with conn:
            while data := conn.recv(1024):
                conn.sendall(data)


def client(server: EchoServer) -> Callable[[float], None]:
    def body(end: float) -> None:
        with socket.create_connection(server.address) as s:
            while time.perf_counter() < end:
                s.sendall(b"x" * 512)
                s.recv(1024)

    return body


# --- the sweep ----------------------------------------------------------------------

Spec = list[tuple[int, Callable[[float], None]]]


def workloads() -> dict[str, Callable[[], Spec]]:
    def with_server(n: int, extra: Spec) -> Spec:
        server = EchoServer()
        server.start(time.perf_counter() + 3600)
        return [(n, client(server)), *extra]

    return {
        "main_cpu": list,
        "cpu1": lambda: [(1, cpu)],
        "cpu2": lambda: [(2, cpu)],
        "cpu4": lambda: [(4, cpu)],
        "cpu8": lambda: [(8, cpu)],
        "burst2_0.2ms_1ms": lambda: [(2, burst(0.2, 1))],
        "burst4_0.2ms_1ms": lambda: [(4, burst(0.2, 1))],
        "burst2_1ms_1ms": lambda: [(2, burst(1, 1))],
        "burst4_1ms_1ms": lambda: [(4, burst(1, 1))],
        "burst2_5ms_5ms": lambda: [(2, burst(5, 5))],
        "burst4_5ms_1ms": lambda: [(4, burst(5, 1))],
        "burst8_1ms_5ms": lambda: [(8, burst(1, 5))],
        "io_sleep2_0.1ms": lambda: [(2, sleeper(0.1))],
        "io_sleep4_1ms": lambda: [(4, sleeper(1))],
        "io_sleep8_5ms": lambda: [(8, sleeper(5))],
        "sock2": lambda: with_server(2, []),
        "sock4": lambda: with_server(4, []),
        "sock8": lambda: with_server(8, []),
        "cpu1_io4": lambda: [(1, cpu), (4, sleeper(1))],
        "cpu2_io4": lambda: [(2, cpu), (4, sleeper(1))],
        "cpu1_sock4": lambda: with_server(4, [(1, cpu)]),
        "cpu2_sock2": lambda: with_server(2, [(2, cpu)]),
        "cpu1_burst2": lambda: [(1, cpu), (2, burst(1, 1))],
        "burst2_io4": lambda: [(2, burst(1, 1)), (4, sleeper(1))],
        "hash2": lambda: [(2, hasher)],
        "hash4": lambda: [(4, hasher)],
        "cpu1_hash2": lambda: [(1, cpu), (2, hasher)],
        "cpu2_hash1": lambda: [(2, cpu), (1, hasher)],
    }


def run_workload(name: str, seconds: float) -> None:
    spec = workloads()[name]()
    end = time.perf_counter() + seconds
    threads = [threading.Thread(target=body, args=(end,)) for n, body in spec for _ in range(n)]
    for t in threads:
        t.start()
    if not threads:
        cpu(end)
    for t in threads:
        t.join()


# --- measuring, in the child process ------------------------------------------------


def measure_gil_load(name: str, seconds: float) -> dict[str, object]:
    import gil_load  # type: ignore[import-not-found]

    gil_load.init()
    gil_load.start(av_sample_interval=0.001)
    run_workload(name, seconds)
    gil_load.stop()
    total, per_thread = gil_load.get()
    return {
        "held": total["held"],
        "wait": total["wait"],
        "thread_wait_sum": sum(t["wait"] for t in per_thread.values()),
    }


def measure_gilwise(name: str, seconds: float) -> dict[str, object]:
    sys.path.insert(0, str(ROOT / "src"))
    import gilwise

    with gilwise.watch() as w:
        run_workload(name, seconds)
    r = w.report
    return {
        "wait_fraction": r.gil.wait_fraction,
        "mean_waiting_threads": r.gil.mean_waiting_threads,
        "probe_p50_ms": r.gil.probe.p50_ms,
        "cores": r.process.cpu_cores_used,
        "verdicts": [v.code for v in r.verdicts],
    }


# --- the parent: run everything, one process at a time ------------------------------


def run_child(python: str, measure: str, name: str, seconds: float) -> dict[str, object] | str:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [python, __file__, "--child", name, "--measure", measure, "--seconds", str(seconds)]
        if measure == "gil_load":
            cmd[1:1] = ["-m", "gil_load"]
        cmd += ["--out", str(out)]
        try:
            proc = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds * 10 + 30)
        except subprocess.TimeoutExpired:
            return "timed out"
        if proc.returncode != 0 or not out.exists():
            return f"failed: {(proc.stderr.strip().splitlines() or ['?'])[-1]}"
        result: dict[str, object] = json.loads(out.read_text())
        return result


def ranks(values: list[float]) -> list[float]:
    """Ranks from 1, ties given their average rank."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    out = [0.0] * len(values)
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            out[order[k]] = (i + j) / 2 + 1
        i = j + 1
    return out


def spearman(xs: list[float], ys: list[float]) -> float:
    rx, ry = ranks(xs), ranks(ys)
    mx, my = sum(rx) / len(rx), sum(ry) / len(ry)
    cov = sum((a - mx) * (b - my) for a, b in zip(rx, ry, strict=True))
    sx = sum((a - mx) ** 2 for a in rx) ** 0.5
    sy = sum((b - my) ** 2 for b in ry) ** 0.5
    return cov / (sx * sy) if sx and sy else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--only", default="")
    parser.add_argument("--save", type=Path)
    parser.add_argument("--reference", type=Path, help="reuse gil_load results saved earlier")
    parser.add_argument("--gil-load-python", default=str(ROOT / ".venv-gl" / "bin" / "python"))
    parser.add_argument("--child")
    parser.add_argument("--measure", choices=["gil_load", "gilwise"])
    parser.add_argument("--out", type=Path)
    args = parser.parse_args()
    if args.child:
        fn = measure_gil_load if args.measure == "gil_load" else measure_gilwise
        args.out.write_text(json.dumps(fn(args.child, args.seconds)))
        return
    names = [n for n in workloads() if not args.only or n in args.only.split(",")]
    reference = json.loads(args.reference.read_text()) if args.reference else {}
    results: dict[str, dict[str, object]] = {}
    for name in names:
        ref = reference.get(name, {}).get("gil_load")
        if ref is None:
            ref = run_child(args.gil_load_python, "gil_load", name, args.seconds)
        ours = run_child(sys.executable, "gilwise", name, args.seconds)
        results[name] = {"gil_load": ref, "gilwise": ours}
        print_row(name, ref, ours)
    summarise(results)
    if args.save:
        args.save.write_text(json.dumps(results, indent=1))


HEADER = (
    f"{'workload':18} {'gl held':>7} {'gl wait':>7} {'gl Σwait':>8} | "
    f"{'gw wait':>7} {'gw mean':>7} {'probe p50':>9} {'cores':>5}  verdicts"
)


def print_row(name: str, ref: object, ours: object) -> None:
    if not hasattr(print_row, "done"):
        print(HEADER)
        print_row.done = True  # type: ignore[attr-defined]
    if not isinstance(ref, dict) or not isinstance(ours, dict):
        print(f"{name:18} gil_load: {ref!s:.40}  gilwise: {ours!s:.40}")
        return
    print(
        f"{name:18} {ref['held']:7.3f} {ref['wait']:7.3f} {ref['thread_wait_sum']:8.3f} | "
        f"{ours['wait_fraction'] or 0:7.3f} {ours['mean_waiting_threads'] or 0:7.3f} "
        f"{ours['probe_p50_ms']:7.2f}ms {ours['cores']:5.2f}  {','.join(ours['verdicts'])}",
        flush=True,
    )


def summarise(results: dict[str, dict[str, object]]) -> None:
    pairs = [
        (r["gil_load"], r["gilwise"])
        for r in results.values()
        if isinstance(r["gil_load"], dict) and isinstance(r["gilwise"], dict)
    ]
    if len(pairs) < 3:
        return
    gl_wait = [float(a["wait"]) for a, _ in pairs]  # type: ignore[index,arg-type]
    gw_wait = [float(b["wait_fraction"] or 0) for _, b in pairs]  # type: ignore[index,arg-type]
    gl_sum = [float(a["thread_wait_sum"]) for a, _ in pairs]  # type: ignore[index,arg-type]
    gw_mean = [float(b["mean_waiting_threads"] or 0) for _, b in pairs]  # type: ignore[index,arg-type]
    probe = [float(b["probe_p50_ms"]) for _, b in pairs]  # type: ignore[index,arg-type]
    print(f"\n{len(pairs)} workloads")
    rows = [
        ("gilwise wait_fraction vs gil_load wait", spearman(gw_wait, gl_wait)),
        ("gilwise mean_waiting_threads vs gil_load sum of thread waits", spearman(gw_mean, gl_sum)),
        ("probe p50 latency alone vs gil_load wait", spearman(probe, gl_wait)),
    ]
    for label, rho in rows:
        print(f"Spearman rho, {label:62} {rho:.3f}")


if __name__ == "__main__":
    main()
