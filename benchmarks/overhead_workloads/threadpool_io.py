"""Overhead workload: a thread pool doing request/response round trips over loopback TCP.

The script starts its own echo server on 127.0.0.1 (one thread multiplexing every connection with
``selectors``), then a ``ThreadPoolExecutor`` of 16 workers sends fixed-size requests and waits
for each echo, checking it with a little CPU work. The number of round trips is fixed (scaled by
``--seconds`` against a reference rate), so a tool that slows the program down makes the run take
longer. Traffic never leaves the loopback interface.

Standard library only, so every profiler under test can run it unmodified.
"""

from __future__ import annotations

import argparse
import selectors
import socket
import threading
import zlib
from concurrent.futures import ThreadPoolExecutor

WORKERS = 16
MESSAGE_SIZE = 256
# Round trips each pool task performs on its worker's connection; batching keeps the executor's
# own bookkeeping from dominating the socket work.
ROUND_TRIPS_PER_TASK = 50
# Round trips per second of uninstrumented wall time, measured with CPython 3.11 on a 2-core
# development machine. It only sizes the run; every tool runs the same fixed count.
ROUND_TRIPS_PER_SECOND = 80_000


class EchoServer:
    """A single-threaded loopback echo server, so the client side's threads are the pool alone."""

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._listener, selectors.EVENT_READ)
        # A socketpair wakes the select() call when it is time to stop.
        self._wake_reader, self._wake_writer = socket.socketpair()
        self._selector.register(self._wake_reader, selectors.EVENT_READ)
        self._thread = threading.Thread(target=self._serve, name="echo-server", daemon=True)

    @property
    def address(self) -> tuple[str, int]:
        host, port = self._listener.getsockname()[:2]
        return host, port

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._wake_writer.send(b"x")
        self._thread.join()
        for key in list(self._selector.get_map().values()):
            key.fileobj.close()  # type: ignore[union-attr]
        self._selector.close()
        self._wake_writer.close()

    def _serve(self) -> None:
        while True:
            for key, _ in self._selector.select():
                if key.fileobj is self._wake_reader:
                    return
                if key.fileobj is self._listener:
                    self._accept()
                else:
                    self._echo(key.fileobj)  # type: ignore[arg-type]

    def _accept(self) -> None:
        connection, _ = self._listener.accept()
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        connection.setblocking(True)
        self._selector.register(connection, selectors.EVENT_READ)

    def _echo(self, connection: socket.socket) -> None:
        data = connection.recv(65536)
        if not data:
            self._selector.unregister(connection)
            connection.close()
            return
        connection.sendall(data)


class Client:
    """One connection per pool worker thread, opened on first use and reused afterwards."""

    def __init__(self, address: tuple[str, int]) -> None:
        self._address = address
        self._local = threading.local()
        self._lock = threading.Lock()
        self._connections: list[socket.socket] = []

    def connection(self) -> socket.socket:
        existing: socket.socket | None = getattr(self._local, "connection", None)
        if existing is not None:
            return existing
        connection = socket.create_connection(self._address)
        connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self._local.connection = connection
        with self._lock:
            self._connections.append(connection)
        return connection

    def close(self) -> None:
        with self._lock:
            for connection in self._connections:
                connection.close()
            self._connections.clear()


def receive_exactly(connection: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    remaining = size
    while remaining:
        chunk = connection.recv(remaining)
        if not chunk:
            raise ConnectionError("echo server closed the connection early")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def round_trips(client: Client, task_index: int, count: int) -> int:
    """Send ``count`` requests on this worker's connection and check every echo."""
    connection = client.connection()
    checksum = 0
    for trip in range(count):
        request = (task_index * 1_000 + trip).to_bytes(8, "big") * (MESSAGE_SIZE // 8)
        connection.sendall(request)
        reply = receive_exactly(connection, MESSAGE_SIZE)
        if reply != request:
            raise RuntimeError("echo mismatch")
        checksum = zlib.crc32(reply, checksum)
    return checksum


def run(total_round_trips: int, workers: int = WORKERS) -> int:
    """Perform a fixed number of round trips through a pool of ``workers`` threads."""
    server = EchoServer()
    server.start()
    client = Client(server.address)
    tasks = max(1, total_round_trips // ROUND_TRIPS_PER_TASK)
    try:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            futures = [
                pool.submit(round_trips, client, index, ROUND_TRIPS_PER_TASK)
                for index in range(tasks)
            ]
            checksum = 0
            for future in futures:
                checksum ^= future.result()
    finally:
        client.close()
        server.stop()
    return checksum


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--seconds",
        type=float,
        default=3.0,
        help="approximate uninstrumented run time; sets a fixed round-trip count (default 3)",
    )
    parser.add_argument(
        "--round-trips", type=int, default=None, help="total round trips (overrides --seconds)"
    )
    return parser.parse_args()


def main() -> None:
    args = parse_args()
    total = args.round_trips or max(1, int(args.seconds * ROUND_TRIPS_PER_SECOND))
    print(f"threadpool_io: {total} round trips, checksum {run(total)}")


if __name__ == "__main__":
    main()
