"""The monitor's side of ``gilwise attach``: runs inside the watched process.

``gilwise attach`` has CPython (3.14+, PEP 768) run a tiny script in the target's main
thread; that script starts one raw thread, with every process signal blocked, which
imports this module and calls :func:`serve`. Everything else happens in that thread,
so the target's main thread pauses only for the script itself.

The thread connects to the controller's Unix socket and answers its requests:
``snapshot`` (the report so far) and ``stop`` (the final report; then it ends). If the
controller goes away (its socket closes), the monitor stops and nothing is sent. If the
target ends first, an ``atexit`` hook sends the final report. Nothing of gilwise stays
running in the target afterwards: the sampler and this thread end, the hook is removed.

Standard library only, like the rest of the monitor: it runs in production processes.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import socket
import struct
import threading

from ._config import MonitorConfig
from ._sampler import Monitor

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing and its import of re: slow in a process whose threads are busy
    from typing import Any

    from ._report import Report

_HEADER = struct.Struct("!I")
#: Largest message either side accepts (a report with 200,000 trace spans is ~40 MB).
MAX_MESSAGE = 256 * 1024 * 1024


def send_message(sock: socket.socket, message: dict[str, Any]) -> None:
    """Send one JSON message, length-prefixed."""
    data = json.dumps(message, allow_nan=False).encode()
    sock.sendall(_HEADER.pack(len(data)) + data)


def receive_message(sock: socket.socket) -> dict[str, Any] | None:
    """The next message, or None once the other side has closed the connection."""
    header = _receive_exactly(sock, _HEADER.size)
    if header is None:
        return None
    (size,) = _HEADER.unpack(header)
    if size > MAX_MESSAGE:
        raise ValueError(f"message of {size} bytes is larger than {MAX_MESSAGE}")
    body = _receive_exactly(sock, size)
    if body is None:
        return None
    message = json.loads(body)
    if not isinstance(message, dict):
        raise ValueError("a message must be a JSON object")
    return message


def _receive_exactly(sock: socket.socket, size: int) -> bytes | None:
    chunks = bytearray()
    while len(chunks) < size:
        chunk = sock.recv(min(size - len(chunks), 1 << 20))
        if not chunk:
            return None
        chunks += chunk
    return bytes(chunks)


class _Agent:
    """One attach session inside the target: a monitor, a socket, an exit hook."""

    def __init__(self, sock: socket.socket, config: MonitorConfig, command: tuple[str, ...]):
        self._sock = sock
        self._command = command
        self._monitor = Monitor(config)
        self._send_lock = threading.Lock()
        self._finished = False

    def run(self) -> None:
        self._monitor.start()
        self._monitor.hide_thread(threading.get_ident())
        atexit.register(self._target_exiting)
        try:
            self._send({"type": "hello", "pid": os.getpid()})
            self._serve_requests()
        finally:
            atexit.unregister(self._target_exiting)
            self._finish(send=False)
            self._sock.close()

    def _serve_requests(self) -> None:
        while True:
            try:
                request = receive_message(self._sock)
            except (OSError, ValueError):
                return
            if request is None:
                return  # the controller is gone: stop without a report
            kind = request.get("type")
            if kind == "snapshot":
                report = self._monitor.report(command=self._command)
                self._send_report(report, final=False, reply_to=request.get("id"))
            elif kind == "stop":
                self._finish(send=True)
                return

    def _target_exiting(self) -> None:
        # Runs in the target's main thread as it exits: the watch ends with it.
        self._finish(send=True, ended="exited")

    def _finish(self, send: bool, ended: str | None = None) -> None:
        with self._send_lock:
            if self._finished:
                return
            self._finished = True
        report = self._monitor.stop(command=self._command)
        if send:
            self._send_report(report, final=True, ended=ended)

    def _send_report(
        self, report: Report, final: bool, ended: str | None = None, reply_to: Any = None
    ) -> None:
        message: dict[str, Any] = {"type": "report", "final": final, "report": report.to_dict()}
        if reply_to is not None:
            # The controller may have given up on an earlier answer: the id pairs them.
            message["id"] = reply_to
        if ended:
            message["ended"] = ended
        self._send(message)

    def _send(self, message: dict[str, Any]) -> None:
        try:
            with self._send_lock:
                send_message(self._sock, message)
        except OSError:
            pass  # the controller is gone; the request loop notices and stops


def serve(socket_path: str, options: dict[str, Any]) -> None:
    """Watch this process for the controller listening at ``socket_path`` until it says stop.

    Never raises: whatever goes wrong is sent to the controller if it can be, and the
    target carries on as if nothing had been attached.
    """
    try:
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.connect(socket_path)
    except OSError:
        return  # the controller gave up waiting before the target ran the script
    try:
        config = MonitorConfig(
            interval_s=float(options["interval_s"]),
            stall_ms=float(options["stall_ms"]),
            record_spans=bool(options.get("record_spans", False)),
        )
        command = tuple(str(part) for part in options.get("command", ()))
        _Agent(sock, config, command).run()
    except Exception as exc:  # the target must never see an error of ours
        with contextlib.suppress(OSError):
            send_message(sock, {"type": "error", "message": f"{type(exc).__name__}: {exc}"})
        sock.close()
