"""Every way a report leaves gilwise, as one table: the CLI's flags and the writing loop.

A row declares an output's flag, help, file extension, the extra it needs and, per kind
of report (``run``, ``advise``, ``tour``), the function that renders it, by name so that
nothing heavy (rich, Plotly) loads before it is used. ``cli.py`` builds its flags from
the table and ``commands.py`` writes what was asked for in one loop with one error
policy. A new output is one module plus one row here.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable, Mapping

from .._errors import GilwiseError, InvalidOption

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing costs `gilwise run` start-up time
    from typing import Any

#: What each ``"schema"`` of a saved report is, and where its class is.
KINDS = {
    "gilwise.run/1": ("run", "gilwise.monitor:Report"),
    "gilwise.advise/1": ("advise", "gilwise.advise:AdviceReport"),
    "gilwise.tour/1": ("tour", "gilwise.tour:TourReport"),
}


class Output:
    """One way out for a report (one object per row: compared and hashed by identity).

    ``flag`` asks for it, taking a PATH (None for the terminal: always, unless --quiet);
    ``extra`` is the pip extra it needs (``pip install 'gilwise[EXTRA]'``), if any;
    ``renderers`` maps a report kind to the ``module:function`` (module relative to this
    package) that renders it: to text for a file, or printing for the terminal.
    """

    # Plain, not a dataclass: `gilwise run` reads this table before the program starts.
    __slots__ = ("extension", "extra", "flag", "help", "name", "renderers")

    def __init__(
        self,
        name: str,
        flag: str | None,
        help: str,
        extension: str,
        extra: str | None,
        renderers: Mapping[str, str],
    ) -> None:
        self.name = name
        self.flag = flag
        self.help = help
        self.extension = extension
        self.extra = extra
        self.renderers = renderers

    def render(self, kind: str) -> Callable[[Any], Any]:
        module, function = self.renderers[kind].split(":")
        return getattr(importlib.import_module(module, __package__), function)  # type: ignore[no-any-return]


OUTPUTS = (
    Output(
        "terminal",
        None,
        "the summary, on stderr for run/attach and stdout otherwise",
        "",
        None,
        {
            "run": "._terminal:render_summary",
            "advise": "._advise_terminal:render_advice",
            "tour": "._tour_terminal:render_tour",
        },
    ),
    Output(
        "json",
        "--json",
        "write the report as JSON to PATH",
        ".json",
        None,
        dict.fromkeys(("run", "advise", "tour"), "._outputs:json_text"),
    ),
    Output(
        "html",
        "--html",
        "write a self-contained HTML report with charts to PATH (needs gilwise[html])",
        ".html",
        "html",
        {
            "run": "._html_run:run_html",
            "advise": "._html_advise:advice_html",
            "tour": "._html_tour:tour_html",
        },
    ),
    Output(
        "trace",
        "--trace",
        "write a Chrome/Perfetto trace (a track per thread, stalls as slices) to PATH; "
        "open it at ui.perfetto.dev",
        ".json",
        None,
        {"run": "._trace:trace_json"},
    ),
)


def json_text(report: Any) -> str:
    return str(report.to_json(indent=2)) + "\n"


def file_outputs(kind: str | None) -> list[Output]:
    """The outputs written to a file for ``kind`` of report (any kind: None), in order."""
    return [o for o in OUTPUTS if o.flag is not None and (kind is None or kind in o.renderers)]


def add_flags(parser: argparse.ArgumentParser, kind: str | None, quiet: bool = True) -> None:
    """``--json PATH`` and the other file outputs ``kind`` has, and ``--quiet``."""
    for output in file_outputs(kind):
        parser.add_argument(output.flag or "", metavar="PATH", help=output.help)
    if quiet:
        parser.add_argument("--quiet", action="store_true", help="do not print the summary")


def flags_with_value() -> set[str]:
    """Every output flag that takes a value (``gilwise run`` splits its own options on them)."""
    return {o.flag for o in OUTPUTS if o.flag is not None}


def requested(options: argparse.Namespace, kind: str | None) -> dict[Output, str]:
    """The file outputs asked for on the command line, with their paths."""
    asked = {}
    for output in file_outputs(kind):
        path = getattr(options, output.name, None)
        if path:
            asked[output] = path
    return asked


def check_requested(asked: Mapping[Output, str]) -> None:
    """Fail before any work when an output cannot be written: a missing folder (it is
    not created: a typo must not make folders) or an extra not installed."""
    for output, path in asked.items():
        folder = os.path.dirname(os.path.abspath(path))
        if not os.path.isdir(folder):
            why = "is not a folder" if os.path.exists(folder) else "does not exist; create it"
            raise InvalidOption(f"cannot write {path}: {folder} {why}")
        if output.extra == "html":
            from ._html import require_html

            require_html()


def write_requested(report: Any, kind: str, asked: Mapping[Output, str], quiet: bool) -> bool:
    """Write every output asked for, then the terminal summary; False if one failed.

    One policy for all commands: an output that fails is reported in one line and the
    others are still written (for ``run``, the program has run: a report that cannot be
    written must not hide its result).
    """
    from .._core._files import write_atomic

    ok = True
    for output, path in asked.items():
        try:
            write_atomic(path, output.render(kind)(report))
        except (OSError, GilwiseError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
            print(f"gilwise: could not write {path}: {reason}", file=sys.stderr)
            ok = False
    if not quiet:
        OUTPUTS[0].render(kind)(report)
    return ok


def load_saved(path: str) -> tuple[str, Any]:
    """The kind and the report object of a saved JSON report."""
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            data = json.load(fh)
    except OSError as exc:
        raise InvalidOption(f"cannot read {path}: {exc.strerror or exc}") from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidOption(f"{path} is not a JSON report: {exc}") from None
    schema = data.get("schema") if isinstance(data, dict) else None
    if schema not in KINDS:
        known = ", ".join(KINDS)
        raise InvalidOption(
            f"{path} has schema {schema!r}; gilwise report reads {known} (from --json)"
        )
    kind, where = KINDS[schema]
    module, name = where.split(":")
    cls = getattr(importlib.import_module(module), name)
    missing = _missing_fields(cls, data)
    if missing:
        raise InvalidOption(
            f"{path} is not a whole {kind} report (no {', '.join(missing[:3])}"
            f"{', ...' if len(missing) > 3 else ''}); save it again with --json"
        )
    try:
        return kind, cls.from_dict(data)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidOption(
            f"{path} is not a whole {kind} report ({type(exc).__name__}); save it again with --json"
        ) from None


def _missing_fields(cls: type, data: dict[str, Any]) -> list[str]:
    import dataclasses

    return [
        f.name
        for f in dataclasses.fields(cls)
        if f.name not in data
        and f.default is dataclasses.MISSING
        and f.default_factory is dataclasses.MISSING
    ]
