"""Metrics soak: a watched service under load keeps flat memory and a live metrics endpoint.

A small asyncio HTTP/1.1 service on 127.0.0.1 runs in its own process under
``gilwise.start(metrics=PrometheusExporter(port=0))``, with stall logging on (to a file).
It answers keep-alive requests with a little CPU work, hands one request in 20 to a
thread pool, and blocks its loop for 150 ms once every 2,000 requests, so every code
path of the exporter (histograms, stall counters, logs) keeps moving. This process
drives it from loopback clients for ``--seconds`` (default 600) and every ``--every``
seconds samples the service's RSS and scrapes its metrics endpoint.

It prints RSS at start, after warm-up, at the end and at its peak, the growth rate over
the second half of the run, scrape successes, requests served, and the service's own
figures from the last scrape. Nothing leaves 127.0.0.1.

    python benchmarks/metrics_soak.py [--seconds 600] [--every 10] [--clients 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

HOST = "127.0.0.1"

# -- the service (child process) ----------------------------------------------------------


def serve(ready_file: str, log_file: str) -> None:
    import logging
    from concurrent.futures import ThreadPoolExecutor

    from prometheus_client import CollectorRegistry

    import gilwise

    logging.basicConfig(filename=log_file, level=logging.WARNING)
    exporter = gilwise.PrometheusExporter(registry=CollectorRegistry(), port=0)
    pool = ThreadPoolExecutor(max_workers=4)
    served = 0

    def cpu(n: int) -> int:
        return sum(i * i for i in range(n))

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal served
        try:
            while True:
                request = await reader.readuntil(b"\r\n\r\n")
                if not request:
                    break
                served += 1
                if served % 2000 == 0:
                    time.sleep(0.15)  # a blocking call: a stall, on purpose
                if served % 20 == 0:
                    value = await asyncio.get_running_loop().run_in_executor(pool, cpu, 20_000)
                else:
                    value = cpu(300)
                body = str(value).encode()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        gilwise.start(metrics=exporter)
        server = await asyncio.start_server(handle, HOST, 0)
        port = server.sockets[0].getsockname()[1]
        Path(ready_file + ".tmp").write_text(json.dumps({"port": port, "metrics": exporter.url}))
        os.replace(ready_file + ".tmp", ready_file)
        async with server:
            await server.serve_forever()

    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        pass
    finally:
        gilwise.stop()


# -- load and observation (this process) ----------------------------------------------------


@dataclass
class Soak:
    samples: list[tuple[float, float]] = field(default_factory=list)  # (t, RSS MiB)
    scrapes_ok: int = 0
    scrapes_failed: list[str] = field(default_factory=list)
    last_metrics: dict[str, float] = field(default_factory=dict)
    requests: int = 0
    client_errors: int = 0


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS")


def scrape(url: str) -> dict[str, float]:
    with urllib.request.urlopen(url, timeout=5) as response:
        text = response.read().decode()
    wanted = (
        "gilwise_loop_stalls_total",
        "gilwise_loop_lag_seconds_count",
        "gilwise_loop_lag_seconds_sum",
        "gilwise_monitor_samples_total",
        "gilwise_monitor_cpu_seconds_total",
        "gilwise_gil_contended_seconds_total",
        "gilwise_gil_observed_seconds_total",
        "gilwise_threads",
    )
    figures: dict[str, float] = {}
    for line in text.splitlines():
        name = line.split("{")[0].split(" ")[0]
        if name in wanted:
            figures[name] = figures.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    if "gilwise_monitor_samples_total" not in figures:
        raise RuntimeError("scrape without gilwise_monitor_samples_total")
    return figures


async def client(port: int, stop: float, soak: Soak) -> None:
    request = b"GET /work HTTP/1.1\r\nHost: soak\r\n\r\n"
    while time.monotonic() < stop:
        try:
            reader, writer = await asyncio.open_connection(HOST, port)
            for _ in range(500):  # keep-alive, then a fresh connection
                if time.monotonic() >= stop:
                    break
                writer.write(request)
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
                await reader.readexactly(length)
                soak.requests += 1
            writer.close()
        except (OSError, asyncio.IncompleteReadError):
            soak.client_errors += 1
            await asyncio.sleep(0.1)


def observe(pid: int, url: str, every: float, started: float, stop: float, soak: Soak) -> None:
    while True:
        now = time.monotonic()
        soak.samples.append((now - started, rss_mib(pid)))
        try:
            soak.last_metrics = scrape(url)
            soak.scrapes_ok += 1
        except Exception as exc:
            soak.scrapes_failed.append(f"t={now - started:.0f}s: {exc}")
        if now >= stop:
            return
        time.sleep(min(every, max(0.0, stop - time.monotonic())))


def slope_mib_per_min(samples: list[tuple[float, float]]) -> float:
    """Least-squares RSS growth over the second half of the run."""
    half = samples[len(samples) // 2 :]
    if len(half) < 2:
        return 0.0
    mean_t = sum(t for t, _ in half) / len(half)
    mean_r = sum(r for _, r in half) / len(half)
    var = sum((t - mean_t) ** 2 for t, _ in half)
    cov = sum((t - mean_t) * (r - mean_r) for t, r in half)
    return 60 * cov / var if var else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=600.0)
    parser.add_argument("--every", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--clients", type=int, default=8, help="concurrent loopback clients")
    parser.add_argument(
        "--serve", nargs=2, metavar=("READY_FILE", "LOG_FILE"), help=argparse.SUPPRESS
    )
    args = parser.parse_args()
    if args.serve:
        serve(*args.serve)
        return

    with tempfile.TemporaryDirectory() as tmp:
        ready = os.path.join(tmp, "ready.json")
        log_file = os.path.join(tmp, "stalls.log")
        service = subprocess.Popen([sys.executable, __file__, "--serve", ready, log_file])
        try:
            deadline = time.monotonic() + 30
            while not os.path.exists(ready):
                if time.monotonic() > deadline or service.poll() is not None:
                    raise SystemExit("the service did not start")
                time.sleep(0.05)
            info = json.loads(Path(ready).read_text())
            soak = Soak()
            started = time.monotonic()
            stop = started + args.seconds
            watcher = threading.Thread(
                target=observe,
                args=(service.pid, info["metrics"], args.every, started, stop, soak),
            )
            watcher.start()

            async def load() -> None:
                await asyncio.gather(
                    *(client(info["port"], stop, soak) for _ in range(args.clients))
                )

            asyncio.run(load())
            watcher.join()
            log_lines = Path(log_file).read_text().count("stalled for")
        finally:
            service.send_signal(signal.SIGINT)  # the service stops gilwise on the way out
            service.wait(timeout=30)
    report(args, soak, log_lines)


def report(args: argparse.Namespace, soak: Soak, log_lines: int) -> None:
    rss = [r for _, r in soak.samples]
    warm = next((r for t, r in soak.samples if t >= min(60.0, args.seconds / 10)), rss[0])
    attempts = soak.scrapes_ok + len(soak.scrapes_failed)
    print(
        f"metrics soak: {args.seconds:.0f} s, {args.clients} loopback clients, "
        f"sample every {args.every:g} s"
    )
    print(f"{'t (s)':>7} {'RSS (MiB)':>10}")
    step = max(1, len(soak.samples) // 20)
    for t, r in soak.samples[::step]:
        print(f"{t:7.0f} {r:10.1f}")
    print(
        f"RSS: start {rss[0]:.1f} MiB, after warm-up {warm:.1f} MiB, end {rss[-1]:.1f} MiB, "
        f"peak {max(rss):.1f} MiB; "
        f"second-half growth {slope_mib_per_min(soak.samples):+.3f} MiB/min"
    )
    print(f"scrapes: {soak.scrapes_ok} of {attempts} answered")
    for failure in soak.scrapes_failed[:5]:
        print(f"  failed {failure}")
    print(
        f"requests: {soak.requests} ({soak.requests / args.seconds:.0f}/s), "
        f"client errors: {soak.client_errors}"
    )
    m = soak.last_metrics
    if m:
        observed = m.get("gilwise_gil_observed_seconds_total", 0.0)
        contended = m.get("gilwise_gil_contended_seconds_total", 0.0)
        print(
            f"service's last scrape: {m.get('gilwise_loop_stalls_total', 0):.0f} stalls, "
            f"{m.get('gilwise_loop_lag_seconds_count', 0):.0f} heartbeats, "
            f"{m.get('gilwise_monitor_samples_total', 0):.0f} samples, monitor CPU "
            f"{m.get('gilwise_monitor_cpu_seconds_total', 0):.1f} s, GIL wait fraction "
            f"{contended / observed if observed else 0:.2f}"
        )
    print(f"stall log records: {log_lines} (rate limit 6 a minute, burst 6)")


if __name__ == "__main__":
    main()
