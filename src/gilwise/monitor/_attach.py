"""``gilwise attach PID``: start the monitor inside a running CPython 3.14+ process.

How (PEP 768): this side listens on a Unix socket in a private directory and writes a
small script there; ``sys.remote_exec(pid, script)`` makes the target run it in its
main thread at the next point where it executes Python code. The script removes
itself, starts one thread and returns; that thread imports ``gilwise.monitor._agent``
(from the target's own environment) and connects back. From then on this side asks
for snapshots and, at the end, for the final report (see ``_agent.py``).

``sys.remote_exec`` only talks to a target of its own minor version, so when this
interpreter is another version the call is made by the target's interpreter, run as a
short helper process.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from typing import Any

from .._errors import AttachRefused, TargetNotFound
from ._agent import receive_message, send_message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from ._report import Report

#: Longest wait for the rest of a message that has begun to arrive.
_MESSAGE_TIMEOUT_S = 60.0

#: The oldest CPython with ``sys.remote_exec``.
MIN_VERSION = (3, 14)

_EXE_VERSION = re.compile(r"python(\d+)\.(\d+)t?(?:-dbg)?$")
_LIB_VERSION = re.compile(r"libpython(\d+)\.(\d+)t?(?:d)?\.so")
_PLAIN_PYTHON = re.compile(r"python3?t?$")

# Run by the target's interpreter when ours cannot talk to it; prints why it failed.
_HELPER = """\
import sys
try:
    sys.remote_exec(int(sys.argv[1]), sys.argv[2])
except BaseException as exc:
    print(type(exc).__name__ + ": " + str(exc))
    sys.exit(3)
"""


@dataclass(frozen=True)
class TargetProcess:
    """A process to attach to, as this side sees it from ``/proc``."""

    pid: int
    #: The interpreter binary, for messages and for the helper.
    executable: str
    version: tuple[int, int]
    uid: int
    gid: int
    command: tuple[str, ...]

    @property
    def version_text(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


def inspect_target(pid: int) -> TargetProcess:
    """Who ``pid`` is: its interpreter and version, or a one-line refusal."""
    if pid <= 0:
        raise TargetNotFound(f"{pid} is not a process ID; give the PID of a running python")
    if pid == os.getpid():
        raise AttachRefused("gilwise cannot attach to itself; give the PID of another process")
    proc = f"/proc/{pid}"
    try:
        status = os.stat(proc)
    except FileNotFoundError:
        raise TargetNotFound(
            f"no process with PID {pid}; find the service's PID with `pgrep -af python`"
        ) from None
    command = _command_line(pid)
    try:
        exe = os.readlink(f"{proc}/exe")
    except PermissionError:
        raise AttachRefused(_no_permission(pid, status.st_uid)) from None
    except OSError:
        raise AttachRefused(
            f"PID {pid} has no program file to inspect (a kernel thread or a zombie?)"
        ) from None
    exe = exe.removesuffix(" (deleted)")
    version = _version_from_name(exe) or _version_from_maps(pid) or _version_by_asking(exe)
    if version is None:
        raise AttachRefused(
            f"PID {pid} runs {exe}, not Python; give the PID of a python process "
            "(`pgrep -af python` lists them)"
        )
    return TargetProcess(pid, exe, version, status.st_uid, status.st_gid, command)


def _command_line(pid: int) -> tuple[str, ...]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            raw = fh.read()
    except OSError:
        return ()
    return tuple(part.decode(errors="replace") for part in raw.split(b"\0") if part)


def _version_from_name(exe: str) -> tuple[int, int] | None:
    match = _EXE_VERSION.search(os.path.basename(exe))
    return (int(match[1]), int(match[2])) if match else None


def _version_from_maps(pid: int) -> tuple[int, int] | None:
    # An interpreter linked to libpython (and programs embedding it) map the library.
    try:
        with open(f"/proc/{pid}/maps") as fh:
            match = _LIB_VERSION.search(fh.read())
    except OSError:
        return None
    return (int(match[1]), int(match[2])) if match else None


def _version_by_asking(exe: str) -> tuple[int, int] | None:
    # Only a program named python is run to ask: anything else could do anything.
    if not _PLAIN_PYTHON.search(os.path.basename(exe)) or not os.access(exe, os.X_OK):
        return None
    try:
        out = subprocess.run(
            [exe, "-I", "-c", "import sys; print(sys.implementation.name, *sys.version_info[:2])"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout.split()
    except (OSError, subprocess.SubprocessError):
        return None
    if len(out) != 3 or out[0] != "cpython":
        return None
    return int(out[1]), int(out[2])


def check_attachable(target: TargetProcess) -> None:
    """Refuse, with what to do instead, a target whose Python cannot be attached to."""
    if target.version < MIN_VERSION:
        raise AttachRefused(
            f"PID {target.pid} runs Python {target.version_text}; attaching needs CPython 3.14 "
            "or newer (sys.remote_exec). Watch it from inside instead: restart it with "
            "`gilwise run script.py`, or call gilwise.start() in its code"
        )


@dataclass
class _Listener:
    """The private directory, socket and script one attach uses."""

    directory: str
    socket_path: str
    script_path: str
    server: socket.socket

    def remove(self, keep_script: bool) -> None:
        self.server.close()
        with contextlib.suppress(OSError):
            os.unlink(self.socket_path)
        if not keep_script:
            shutil.rmtree(self.directory, ignore_errors=True)


def _listen(target: TargetProcess, options: dict[str, Any]) -> _Listener:
    directory = tempfile.mkdtemp(prefix="gilwise-attach-")
    socket_path = os.path.join(directory, "s")
    script_path = os.path.join(directory, "attach.py")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(socket_path)
    server.listen(1)
    with open(script_path, "w") as fh:
        fh.write(_script(directory, script_path, socket_path, options))
    if os.geteuid() == 0 and target.uid != 0:
        # Root watching a service that runs as its own user: the directory is private
        # to us, so hand it (and what is in it) to that user.
        for path in (directory, socket_path, script_path):
            os.chown(path, target.uid, target.gid)
    return _Listener(directory, socket_path, script_path, server)


def _script(directory: str, script_path: str, socket_path: str, options: dict[str, Any]) -> str:
    # Runs in the target's main thread: it must be quick, define nothing that stays,
    # print nothing, and leave every signal to the target (the new thread starts with
    # all of them blocked; the agent then narrows that to the process's signals).
    return f"""\
# Written by gilwise attach (PID {os.getpid()}); removes itself when it runs.
def _gilwise_attach(directory={directory!r}, script={script_path!r},
                    socket_path={socket_path!r}, options={options!r}):
    import _thread, os, signal

    for remove in (os.unlink, os.rmdir):
        try:
            remove(script if remove is os.unlink else directory)
        except OSError:
            pass

    def agent():
        try:
            from gilwise.monitor._agent import serve
        except BaseException as exc:
            _refuse(exc)
            return
        serve(socket_path, options)

    def _refuse(exc):
        # gilwise is missing or too old here: tell the controller which interpreter
        # this is (framing as in gilwise.monitor._agent, which could not be imported).
        import json, socket, struct, sys
        try:
            import gilwise
            found = getattr(gilwise, "__version__", "?")
        except BaseException:
            found = None
        message = json.dumps({{"type": "no-gilwise", "error": repr(exc), "found": found,
                              "executable": sys.executable, "prefix": sys.prefix}}).encode()
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
                sock.connect(socket_path)
                sock.sendall(struct.pack("!I", len(message)) + message)
        except OSError:
            pass

    if not os.path.exists(socket_path):
        return  # run too late: gilwise attach gave up waiting, nobody is listening
    mask = signal.pthread_sigmask(signal.SIG_BLOCK, signal.valid_signals())
    try:
        _thread.start_new_thread(agent, ())
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, mask)


_gilwise_attach()
del _gilwise_attach
"""


def _send_script(target: TargetProcess, script_path: str) -> None:
    if sys.version_info[:2] == target.version and hasattr(sys, "remote_exec"):
        try:
            sys.remote_exec(target.pid, script_path)
        except Exception as exc:
            raise _refusal(target, type(exc).__name__, str(exc)) from None
        return
    helper = _helper_python(target)
    try:
        done = subprocess.run(
            [helper, "-I", "-c", _HELPER, str(target.pid), script_path],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise AttachRefused(f"could not run {helper} to attach: {exc}") from None
    if done.returncode != 0:
        last = (done.stdout.strip().splitlines() or done.stderr.strip().splitlines() or ["?"])[-1]
        kind, _, message = last.partition(": ")
        raise _refusal(target, kind, message)


def _helper_python(target: TargetProcess) -> str:
    if _version_from_name(target.executable) == target.version and os.access(
        target.executable, os.X_OK
    ):
        return target.executable
    found = shutil.which(f"python{target.version_text}")
    if found is None:
        raise AttachRefused(
            f"PID {target.pid} embeds Python {target.version_text}; attaching from here needs "
            f"python{target.version_text} on PATH, or run gilwise with that Python"
        )
    return found


def _refusal(target: TargetProcess, kind: str, message: str) -> AttachRefused | TargetNotFound:
    lowered = message.lower()
    if kind == "PermissionError" or "operation not permitted" in lowered:
        return AttachRefused(_no_permission(target.pid, target.uid))
    if "remote debugging is not enabled" in lowered:
        return AttachRefused(
            f"PID {target.pid} has remote debugging turned off (PYTHON_DISABLE_REMOTE_DEBUG, "
            "-X disable_remote_debug, or a CPython built --without-remote-debug); restart it "
            "without that, or call gilwise.start() in its code"
        )
    if not os.path.exists(f"/proc/{target.pid}"):
        return TargetNotFound(f"PID {target.pid} ended before gilwise could attach")
    if "pyruntime" in lowered or "debug offsets" in lowered:
        return AttachRefused(
            f"PID {target.pid} ({target.executable}) has no CPython {target.version_text} "
            "runtime gilwise can find; is it a CPython 3.14+ process?"
        )
    return AttachRefused(f"could not attach to PID {target.pid}: {kind}: {message}")


def _no_permission(pid: int, uid: int) -> str:
    owner, me = _user_name(uid), _user_name(os.geteuid())
    if uid == os.geteuid():
        text = (
            f"no permission to attach to PID {pid}, though it runs as {me} too: the kernel "
            "refuses debuggers here; in a container, give it the SYS_PTRACE capability"
        )
    else:
        text = (
            f"no permission to attach to PID {pid} (it runs as {owner}, gilwise as {me}): "
            "run gilwise as that user or as root"
        )
    try:
        with open("/proc/sys/kernel/yama/ptrace_scope") as fh:
            scope = fh.read().strip()
    except OSError:
        return text
    if scope != "0":
        text += (
            f" (kernel.yama.ptrace_scope is {scope}: only root may attach to a process "
            "it did not start)"
        )
    return text


def _user_name(uid: int) -> str:
    try:
        import pwd

        return pwd.getpwuid(uid).pw_name
    except (ImportError, KeyError):
        return f"uid {uid}"


class Attachment:
    """A monitor running inside another process, driven over a socket.

    Example::

        target = inspect_target(pid)
        with Attachment.open(target, interval_s=0.01, stall_ms=100) as watch:
            time.sleep(10)
            report = watch.stop()
    """

    def __init__(self, target: TargetProcess, sock: socket.socket) -> None:
        self.target = target
        self._sock = sock
        self._next_id = 0
        #: The target's final report when it ended during the watch.
        self.final: Report | None = None
        #: True once the connection is over: the watch was stopped, or the target ended.
        self.ended = False
        #: True when the target ended (exited, was killed) before the watch was stopped.
        self.target_ended = False
        self._stopping = False

    @classmethod
    def open(
        cls,
        target: TargetProcess,
        *,
        interval_s: float,
        stall_ms: float,
        record_spans: bool = False,
        start_timeout: float = 10.0,
    ) -> Attachment:
        """Start the monitor in ``target``; refuses with one line when it cannot."""
        check_attachable(target)
        options = {
            "interval_s": interval_s,
            "stall_ms": stall_ms,
            "record_spans": record_spans,
            "command": ["attach", str(target.pid), *target.command],
        }
        listener = _listen(target, options)
        try:
            _send_script(target, listener.script_path)
        except BaseException:
            listener.remove(keep_script=False)
            raise
        try:
            sock = _accept(listener, target, start_timeout)
        except BaseException:
            # The target may still run the script later; it must find it (a missing file
            # is an error printed in the target), and it then removes it.
            listener.remove(keep_script=os.path.exists(listener.script_path))
            raise
        listener.remove(keep_script=False)
        attachment = cls(target, sock)
        attachment._expect_hello(start_timeout)
        return attachment

    def __enter__(self) -> Attachment:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Hang up: the monitor in the target stops and sends nothing more."""
        with contextlib.suppress(OSError):
            self._sock.close()

    def _expect_hello(self, timeout: float) -> None:
        # The script's thread speaks first: hello from the agent, or why gilwise could
        # not be loaded in the target's environment.
        message = self._receive(timeout)
        kind = None if message is None else message.get("type")
        if kind == "hello":
            return
        self.close()
        pid = self.target.pid
        if message is None:
            raise AttachRefused(f"PID {pid} stopped answering while the monitor started in it")
        if kind == "no-gilwise":
            raise AttachRefused(_no_gilwise(self.target, message))
        raise AttachRefused(f"the monitor could not start in PID {pid}: {message.get('message')}")

    def snapshot(self, timeout: float = 10.0) -> Report | None:
        """The figures so far; None when the target did not answer in time or has ended."""
        if self.ended:
            return None
        self._next_id += 1
        if not self._request({"type": "snapshot", "id": self._next_id}):
            return None
        return self._await_report(timeout, request_id=self._next_id)

    def stop(self, timeout: float = 10.0) -> Report | None:
        """End the watch: the final report (None if the target gave none in time)."""
        if self.ended:
            return self.final
        self._stopping = True
        if not self._request({"type": "stop"}):
            return self.final
        self._await_report(timeout, request_id=None)
        self.close()
        return self.final

    def wait_for_end(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking early if the target ends; True if it did."""
        if self.ended:
            return True
        message = self._receive(timeout)
        if message is None:
            return self.ended
        if message.get("type") == "report" and message.get("final"):
            self._take_final(message)
            return True
        return False  # a late answer to an earlier snapshot

    def _request(self, message: dict[str, Any]) -> bool:
        try:
            send_message(self._sock, message)
        except OSError:
            self.ended = True
            return False
        return True

    def _await_report(self, timeout: float, request_id: int | None) -> Report | None:
        deadline = time.monotonic() + timeout
        while (left := deadline - time.monotonic()) > 0:
            message = self._receive(left)
            if message is None:
                if not self.ended:
                    return None  # no answer in time; the watch goes on
                return self.final
            if message.get("type") != "report":
                continue
            if message.get("final"):
                return self._take_final(message)
            if request_id is not None and message.get("id") == request_id:
                return _report_of(message)
        return None

    def _take_final(self, message: dict[str, Any] | None) -> Report | None:
        self.ended = True
        if message is None or message.get("ended"):
            self.target_ended = True
        if message is not None:
            self.final = _report_of(message)
        return self.final

    def _receive(self, timeout: float) -> dict[str, Any] | None:
        """The next message; None on timeout (``ended`` False) or a closed socket (True).

        Only the wait for a message to begin is bounded by ``timeout``: a message cut by a
        timeout halfway would leave the rest to be misread as the next one, so once it
        has begun it is read whole (a target that stalls for a minute mid-message is
        taken for gone).
        """
        try:
            readable, _, _ = select.select([self._sock], [], [], max(0.0, timeout))
        except (OSError, ValueError):
            readable = [self._sock]  # closed: the read below says so
        if not readable:
            return None
        self._sock.settimeout(_MESSAGE_TIMEOUT_S)
        try:
            message = receive_message(self._sock)
        except (OSError, ValueError):
            message = None
        if message is None:
            self.ended = True
            self.target_ended = self.target_ended or not self._stopping
            self.close()
        return message


def _report_of(message: dict[str, Any]) -> Report:
    from ._report import Report

    return Report.from_dict(message["report"])


def _accept(listener: _Listener, target: TargetProcess, timeout: float) -> socket.socket:
    listener.server.settimeout(timeout)
    try:
        sock, _ = listener.server.accept()
    except TimeoutError:
        if not os.path.exists(f"/proc/{target.pid}"):
            raise TargetNotFound(f"PID {target.pid} ended before the monitor started") from None
        raise AttachRefused(
            f"PID {target.pid} did not run gilwise's start-up script within {timeout:g} s: "
            "CPython runs it when the main thread next executes Python code, and this one "
            "is blocked (in join(), a long sleep or a C call?). Try again when it is busy; "
            "when it does run it later, the script only removes itself"
        ) from None
    return sock


def _no_gilwise(target: TargetProcess, message: dict[str, Any]) -> str:
    python = message.get("executable") or target.executable
    found = message.get("found")
    if found:
        return (
            f"the gilwise installed for PID {target.pid}'s Python ({python}) is version "
            f"{found}, too old to be attached to; upgrade it there: "
            f"{python} -m pip install -U gilwise"
        )
    return (
        f"gilwise is not installed where PID {target.pid} runs ({python}, prefix "
        f"{message.get('prefix')}); install it there: {python} -m pip install gilwise"
    )
