from __future__ import annotations

import json
from pathlib import Path

import pytest

from gilwise._errors import InputsInvalid, TargetInvalid, TargetNotFound, UserCodeFailed
from gilwise.advise._target import load_callable, load_items
from tests.advise import workloads


def test_module_function_and_nested_attribute() -> None:
    assert load_callable("tests.advise.workloads:square") is workloads.square
    assert load_callable("tests.advise.workloads:Scaler.double")(4) == 8


def test_file_function_is_loaded_under_a_stable_picklable_name(tmp_path: Path) -> None:
    source = tmp_path / "my-work.py"
    source.write_text("def triple(x):\n    return 3 * x\n")
    fn = load_callable(f"{source}:triple")
    assert fn(2) == 6
    assert fn.__module__ == "gilwise_user_my_work"
    assert load_callable(f"{source}:triple") is fn


@pytest.mark.parametrize(
    ("ref", "error", "words"),
    [
        ("square", TargetInvalid, "MODULE:FUNCTION"),
        ("tests.advise.workloads:", TargetInvalid, "MODULE:FUNCTION"),
        ("no_such_module_xyz:f", TargetNotFound, "no module named"),
        ("tests.advise.workloads:cube", TargetNotFound, "square"),
        ("tests.advise.workloads:CALLS", TargetInvalid, "not a function"),
        ("missing/file.py:f", TargetNotFound, "no such file"),
    ],
)
def test_bad_targets_say_what_is_wrong(ref: str, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        load_callable(ref)


def test_a_file_with_a_syntax_error_names_the_line(tmp_path: Path) -> None:
    source = tmp_path / "broken.py"
    source.write_text("x = 1\ndef f(:\n")
    with pytest.raises(TargetInvalid, match=r"broken.py:2: syntax error"):
        load_callable(f"{source}:f")


def test_a_module_that_raises_on_import_shows_the_users_traceback(tmp_path: Path) -> None:
    source = tmp_path / "explodes.py"
    source.write_text("def f(x):\n    return x\n\nraise RuntimeError('boom at import')\n")
    with pytest.raises(UserCodeFailed) as caught:
        load_callable(f"{source}:f")
    message = str(caught.value)
    assert "explodes.py" in message
    assert "RuntimeError: boom at import" in message
    assert "gilwise" not in message.replace("gilwise_user", "")


def test_items_from_json_jsonl_and_a_factory(tmp_path: Path) -> None:
    listed = tmp_path / "items.json"
    listed.write_text(json.dumps([1, 2, 3]))
    lines = tmp_path / "items.jsonl"
    lines.write_text('{"a": 1}\n\n{"a": 2}\n')
    assert load_items(str(listed), 10) == ([1, 2, 3], 3)
    assert load_items(str(lines), 10) == ([{"a": 1}, {"a": 2}], 2)
    assert load_items("tests.advise.workloads:numbers", 4) == ([0, 1, 2, 3], 10)


def test_items_from_an_unbounded_generator_are_capped(tmp_path: Path) -> None:
    source = tmp_path / "gen.py"
    source.write_text("import itertools\ndef forever():\n    return itertools.count()\n")
    items, total = load_items(f"{source}:forever", 5)
    assert items == [0, 1, 2, 3, 4]
    assert total is None


@pytest.mark.parametrize(
    ("content", "words"),
    [
        ("[]", "no items"),
        ('{"a": 1}', "write a list"),
        ("[1, 2", "not valid JSON"),
    ],
)
def test_bad_json_inputs(tmp_path: Path, content: str, words: str) -> None:
    path = tmp_path / "items.json"
    path.write_text(content)
    with pytest.raises(InputsInvalid, match=words):
        load_items(str(path), 10)


def test_a_bad_json_line_is_named_by_its_line_in_the_file(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    # Line 3 is bad; the blank line 2 counts, as an editor shows it.
    path.write_text('{"a": 1}\n\n{"a": \n{"a": 2}\n')
    with pytest.raises(InputsInvalid) as caught:
        load_items(str(path), 10)
    assert str(caught.value).startswith(f"{path}:3: not valid JSON")
    assert "\n" not in str(caught.value)


def test_a_json_line_holding_a_line_separator_is_one_item(tmp_path: Path) -> None:
    path = tmp_path / "items.jsonl"
    path.write_text('"a\u2028b"\n"c"\n', encoding="utf-8")
    assert load_items(str(path), 10) == (["a\u2028b", "c"], 2)


@pytest.mark.parametrize(
    ("assignment", "expected"),
    [("ITEMS = [3, 1, 2]", ([3, 1], 3)), ("ITEMS = range(10)", ([0, 1], 10))],
)
def test_items_named_as_a_collection_are_taken_as_they_are(
    tmp_path: Path, assignment: str, expected: tuple[list[int], int]
) -> None:
    source = tmp_path / f"collection_{abs(hash(assignment))}.py"
    source.write_text(assignment + "\n")
    assert load_items(f"{source}:ITEMS", 2) == expected


@pytest.mark.parametrize("assignment", ["ITEMS = 42", "ITEMS = 'abc'"])
def test_a_named_value_that_holds_no_items_is_refused(tmp_path: Path, assignment: str) -> None:
    source = tmp_path / f"value_{abs(hash(assignment))}.py"
    source.write_text(assignment + "\n")
    with pytest.raises(InputsInvalid, match=r"is an? (int|str), not an iterable of items; name a"):
        load_items(f"{source}:ITEMS", 10)


@pytest.mark.parametrize(
    ("body", "error", "words"),
    [
        ("return 42", InputsInvalid, "not an iterable"),
        ("return 'abc'", InputsInvalid, "not an iterable"),
        ("raise KeyError('no data')", UserCodeFailed, "KeyError"),
        ("return (x for x in [1, 1 / 0])", UserCodeFailed, "ZeroDivisionError"),
    ],
)
def test_bad_factories(tmp_path: Path, body: str, error: type[Exception], words: str) -> None:
    source = tmp_path / f"factory_{abs(hash(body))}.py"
    source.write_text(f"def make():\n    {body}\n")
    with pytest.raises(error, match=words):
        load_items(f"{source}:make", 10)


def test_missing_inputs_file() -> None:
    with pytest.raises(InputsInvalid, match="no such inputs file"):
        load_items("nowhere/items.json", 10)
