"""Find the user's function and items from the command line's ``module:name`` strings."""

from __future__ import annotations

import importlib
import importlib.util
import itertools
import json
import os
import re
import sys
import traceback
from collections.abc import Callable, Iterable, Sized
from pathlib import Path
from types import ModuleType
from typing import Any

from .._errors import InputsInvalid, TargetInvalid, TargetNotFound, UserCodeFailed

_PACKAGE_DIR = str(Path(__file__).resolve().parents[1])


def load_callable(ref: str) -> Callable[..., Any]:
    """The callable named by ``package.module:function`` or ``path/to/file.py:function``."""
    value = _load_attribute(ref)
    if not callable(value):
        raise TargetInvalid(f"{ref} is {_a_type(value)}, not a function")
    return value  # type: ignore[no-any-return]


def _load_attribute(ref: str) -> Any:
    module_part, sep, name = ref.rpartition(":")
    if not sep or not module_part or not name:
        raise TargetInvalid(
            f"{ref!r} is not MODULE:FUNCTION; write e.g. mypkg.work:process or work.py:process"
        )
    module = _load_module(module_part)
    value: Any = module
    for attribute in name.split("."):
        if not hasattr(value, attribute):
            raise TargetNotFound(
                f"{module_part} has no {name!r}; it defines: {_public_names(module)}"
            )
        value = getattr(value, attribute)
    return value


def load_items(spec: str, limit: int) -> tuple[list[Any], int | None]:
    """Up to ``limit`` items from a JSON/JSON-lines file, or a ``module:name`` that is a
    collection of items (a list, a tuple, a range) or a callable returning an iterable.

    Also returns how many items the source holds when it knows (a file, a list).
    """
    if spec.endswith((".json", ".jsonl")):
        items = _read_json_items(Path(spec))
        total: int | None = len(items)
    else:
        named = _load_attribute(spec)
        if callable(named):
            produced = _call_user(named, f"the inputs factory {spec}")
            said = f"{spec} returned {_a_type(produced)}"
        else:
            produced, said = named, f"{spec} is {_a_type(named)}"
        if isinstance(produced, (str, bytes)) or not isinstance(produced, Iterable):
            raise InputsInvalid(
                f"{said}, not an iterable of items; name a list of items, or a function "
                "returning a list or a generator of them"
            )
        total = len(produced) if isinstance(produced, Sized) else None
        items = _call_user(lambda: list(itertools.islice(produced, limit)), spec)
    if not items:
        raise InputsInvalid(f"{spec} gave no items; advise needs at least one item to call")
    return items[:limit], total


def _a_type(value: object) -> str:
    name = type(value).__name__
    return f"an {name}" if name[0] in "aeiou" else f"a {name}"


def _read_json_items(path: Path) -> list[Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputsInvalid(f"no such inputs file: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputsInvalid(f"cannot read {path}: {exc}") from None
    if path.suffix == ".jsonl":
        return _read_json_lines(path, text)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _not_json(path, exc.lineno, exc) from None
    if not isinstance(data, list):
        raise InputsInvalid(f"{path} holds a JSON {type(data).__name__}; write a list of items")
    return data


def _read_json_lines(path: Path, text: str) -> list[Any]:
    """One item per non-blank line; a bad line is named by its number in the file."""
    items = []
    # Split on "\n" only, as JSON Lines defines it: splitlines() would also split on
    # U+2028 and friends, which JSON allows inside strings, and miscount the lines.
    # A "\r" left at the end of a line is whitespace to json.loads.
    for number, line in enumerate(text.split("\n"), start=1):
        if not line.strip():
            continue
        try:
            items.append(json.loads(line))
        except json.JSONDecodeError as exc:
            raise _not_json(path, number, exc) from None
    return items


def _not_json(path: Path, line: int, exc: json.JSONDecodeError) -> InputsInvalid:
    return InputsInvalid(
        f"{path}:{line}: not valid JSON: {exc.msg} at column {exc.colno}; fix that line"
    )


def _load_module(module_part: str) -> ModuleType:
    if module_part.endswith(".py") or os.sep in module_part or "/" in module_part:
        return _load_file(Path(module_part))
    # Like `python -m`, the current directory is importable.
    if "" not in sys.path and os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(module_part)
    except ModuleNotFoundError as exc:
        if exc.name is not None and module_part.startswith(exc.name):
            raise TargetNotFound(
                f"no module named {module_part!r}; run from your project's folder, "
                "install the package, or give a file: path/to/file.py:function"
            ) from None
        raise UserCodeFailed(_user_traceback(exc, f"importing {module_part}")) from None
    except Exception as exc:
        raise UserCodeFailed(_user_traceback(exc, f"importing {module_part}")) from None


def module_name_for(path: Path) -> str:
    """A stable module name for a file, the same in every worker process."""
    return "gilwise_user_" + re.sub(r"\W", "_", path.stem)


def _load_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise TargetNotFound(f"no such file: {path}")
    name = module_name_for(path)
    loaded = sys.modules.get(name)
    if loaded is not None and getattr(loaded, "__file__", None) == str(path.resolve()):
        return loaded
    spec = importlib.util.spec_from_file_location(name, path.resolve())
    if spec is None or spec.loader is None:
        raise TargetInvalid(f"{path} cannot be loaded as a Python module")
    module = importlib.util.module_from_spec(spec)
    # Like `python file.py`, the file's own folder is importable, and the module is
    # registered so functions in it pickle by reference to process workers.
    sys.path.insert(0, str(path.resolve().parent))
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        del sys.modules[name]
        raise TargetInvalid(f"{path}:{exc.lineno}: syntax error: {exc.msg}") from None
    except Exception as exc:
        del sys.modules[name]
        raise UserCodeFailed(_user_traceback(exc, f"loading {path}")) from None
    return module


def _call_user(fn: Callable[[], Any], what: str) -> Any:
    try:
        return fn()
    except Exception as exc:
        raise UserCodeFailed(_user_traceback(exc, what)) from None


def _user_traceback(exc: BaseException, what: str) -> str:
    """The traceback of the user's error, with gilwise's own frames left out."""
    frames = [
        frame
        for frame in traceback.extract_tb(exc.__traceback__)
        if not frame.filename.startswith(_PACKAGE_DIR) and "importlib" not in frame.filename
    ]
    lines = traceback.format_list(frames) + traceback.format_exception_only(type(exc), exc)
    return f"{what} raised:\nTraceback (most recent call last):\n" + "".join(lines).rstrip()


def user_error(exc: BaseException, what: str) -> UserCodeFailed:
    """Wrap an exception the user's function raised, keeping its traceback readable."""
    return UserCodeFailed(_user_traceback(exc, what))


def _public_names(module: ModuleType) -> str:
    names = sorted(n for n, v in vars(module).items() if not n.startswith("_") and callable(v))
    return ", ".join(names[:12]) or "no public functions"
