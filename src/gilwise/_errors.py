"""The exception hierarchy: one base, specific subclasses whose messages say what to do next."""

from __future__ import annotations


class GilwiseError(Exception):
    """Base class of every error gilwise raises on purpose.

    Example:
        >>> try:
        ...     raise TargetNotFound("no such file: x.py; check the path")
        ... except GilwiseError as exc:
        ...     print(exc)
        no such file: x.py; check the path
    """

    #: Exit status the CLI uses for this error (2 mirrors python's own usage errors).
    exit_code: int = 2


class TargetNotFound(GilwiseError):
    """The script or module to run does not exist."""


class TargetInvalid(GilwiseError):
    """The script exists but cannot be compiled (a syntax error, a bad encoding)."""


class TargetUnsupported(GilwiseError):
    """The program is of a kind ``gilwise run`` cannot watch (an application folder or zip)."""


class MonitorAlreadyRunning(GilwiseError):
    """`gilwise.start()` was called while a monitor is already running in this process."""


class MonitorNotRunning(GilwiseError):
    """`gilwise.stop()` was called without a running monitor."""


class InvalidOption(GilwiseError):
    """An option value is out of range (a negative interval, a zero stall threshold)."""


class InputsInvalid(GilwiseError):
    """The items to advise on are missing, empty, not iterable or not readable."""


class UserCodeFailed(GilwiseError):
    """The user's own code raised; the message carries its traceback.

    Exit status 1, like python when a program raises.
    """

    exit_code = 1


class ConfigInvalid(GilwiseError):
    """A ``[tool.gilwise.*]`` table in pyproject.toml (or an option) is not understood."""


class ExtraNotInstalled(GilwiseError):
    """An integration needs an optional dependency that is not installed.

    The message names the extra to install, e.g. ``pip install gilwise[prometheus]``.
    """


class MetricsExportFailed(GilwiseError):
    """A metrics exporter could not start (a port in use, a registry that has gilwise)."""


class ItemTimeout(GilwiseError, TimeoutError):
    """One item of a parallel map ran longer than its ``timeout``.

    What happened to the call depends on the backend: a process worker is killed and
    replaced, a thread (or a dask worker's call) is abandoned (it runs on, its result is
    dropped), an asyncio task is cancelled. The message says which and what to do.
    """


class PoisonItem(GilwiseError):
    """One item of a parallel map killed a worker process three times; it is not retried."""

    #: The index of the item in the input.
    index: int | None = None


class WorkersFailed(GilwiseError):
    """Worker processes keep dying before they run an item (an import or start-up failure)."""


class CheckFailed(GilwiseError):
    """``gilwise check`` could not finish: a worker process checking files died."""


class AttachRefused(GilwiseError):
    """``gilwise attach`` cannot start the monitor in that process.

    The message says why and what to do instead: a Python older than 3.14, no
    permission to debug the process, remote debugging turned off in it, gilwise not
    installed where it runs, or a process that is not Python at all.
    """


class BudgetExceeded(GilwiseError):
    """The function under ``gilwise advise`` did not return within the time budget.

    Exit status 1: the experiment ran, and the function is what kept it from an answer.
    """

    exit_code = 1
