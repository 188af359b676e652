"""Name resolution: imports, aliases and the kinds of objects, through spelling."""

from __future__ import annotations

import ast

import pytest

from gilwise.check._names import ModuleFacts, method_calls


def _last_call(source: str) -> tuple[ModuleFacts, ast.Call]:
    tree = ast.parse(source)
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)]
    return ModuleFacts.of(tree), max(calls, key=lambda c: (c.lineno, c.col_offset))


@pytest.mark.parametrize(
    ("source", "qualname"),
    [
        ("import time\ntime.sleep(1)", "time.sleep"),
        ("import time as t\nt.sleep(1)", "time.sleep"),
        ("from time import sleep\nsleep(1)", "time.sleep"),
        ("from time import sleep as nap\nnap(1)", "time.sleep"),
        ("import urllib.request\nurllib.request.urlopen(u)", "urllib.request.urlopen"),
        ("import os.path as p\np.join(a)", "os.path.join"),
        ("from concurrent import futures\nfutures.wait(fs)", "concurrent.futures.wait"),
        ("open(x)", "builtins.open"),
        ("def open(x): pass\nopen(x)", None),
        ("from . import sleep\nsleep(1)", None),
        ("sleep(1)", None),
        (
            "import multiprocessing as mp\nctx = mp.get_context()\nctx.Pool()",
            "multiprocessing.Pool",
        ),
    ],
)
def test_qualified_names_see_through_imports(source: str, qualname: str | None) -> None:
    facts, call = _last_call(source)
    assert facts.qualname(call.func) == qualname


@pytest.mark.parametrize(
    ("source", "name", "kind"),
    [
        (
            "from concurrent.futures import ThreadPoolExecutor as T\nex = T()",
            "ex",
            "thread_executor",
        ),
        (
            "import concurrent.futures as cf\nwith cf.ProcessPoolExecutor() as p: pass",
            "p",
            "process_executor",
        ),
        (
            "import multiprocessing as mp\nc = mp.get_context('spawn')\np = c.Pool()",
            "p",
            "process_pool",
        ),
        ("import threading\nlock = threading.RLock()", "lock", "thread_lock"),
        ("import threading\nx = threading.Lock()\nx = threading.Event()", "x", None),
        ("import threading\nx: threading.Event = threading.Event()", "x", "thread_event"),
    ],
)
def test_kinds_of_module_level_names(source: str, name: str, kind: str | None) -> None:
    facts = ModuleFacts.of(ast.parse(source))
    assert facts.kind(ast.Name(id=name)) == kind


def test_kinds_are_per_function_scope() -> None:
    source = (
        "import threading, queue\n"
        "def a():\n    q = queue.Queue()\n"
        "def b():\n    q = threading.Event()\n"
    )
    tree = ast.parse(source)
    facts = ModuleFacts.of(tree)
    a, b = tree.body[1], tree.body[2]
    assert facts.kind(ast.Name(id="q"), a) == "thread_queue"
    assert facts.kind(ast.Name(id="q"), b) == "thread_event"
    assert facts.kind(ast.Name(id="q")) is None


def test_self_attributes_are_known_across_methods() -> None:
    source = (
        "import concurrent.futures as cf\n"
        "class S:\n"
        "    def __init__(self):\n        self.pool = cf.ThreadPoolExecutor()\n"
        "    def run(self):\n        self.pool.submit(f)\n"
    )
    tree = ast.parse(source)
    facts = ModuleFacts.of(tree)
    assert facts.kind(ast.parse("self.pool", mode="eval").body, tree.body[1]) == "thread_executor"


def test_thread_targets_come_from_threads_and_thread_pools() -> None:
    source = (
        "import threading\nfrom concurrent.futures import ThreadPoolExecutor\n"
        "threading.Thread(target=a).start()\n"
        "with ThreadPoolExecutor() as ex:\n    ex.submit(b)\n"
    )
    facts = ModuleFacts.of(ast.parse(source))
    assert facts.thread_targets == {"a", "b"}
    assert facts.thread_units == {"<module>"}


def test_self_attributes_belong_to_their_class() -> None:
    source = (
        "import threading\n"
        "class A:\n    def __init__(self):\n        self.done = threading.Event()\n"
        "class B:\n    def __init__(self, make):\n        self.done = make()\n"
    )
    tree = ast.parse(source)
    facts = ModuleFacts.of(tree)
    done = ast.parse("self.done", mode="eval").body
    assert facts.kind(done, tree.body[1]) == "thread_event"
    assert facts.kind(done, tree.body[2]) is None


@pytest.mark.parametrize(
    ("annotation", "kind"),
    [
        ("threading.Lock", "thread_lock"),
        ("Optional[threading.Condition]", "thread_condition"),
        ("'queue.Queue[int]'", "thread_queue"),
        ("threading.Event | None", "thread_event"),
        ("threading.Lock | asyncio.Lock", None),
        ("Final[Path]", "path"),
        ("socket.socket", None),
    ],
)
def test_kinds_from_annotations(annotation: str, kind: str | None) -> None:
    source = (
        "import asyncio, queue, socket, threading\nfrom pathlib import Path\n"
        "from typing import Final, Optional\n"
        f"def f(x: {annotation}):\n    pass\n"
    )
    tree = ast.parse(source)
    function = tree.body[-1]
    assert ModuleFacts.of(tree).kind(ast.Name(id="x"), function) == kind


def test_queue_put_waits_only_with_a_maxsize() -> None:
    source = (
        "import queue\na = queue.Queue()\nb = queue.Queue(maxsize=2)\nc = queue.SimpleQueue()\n"
    )
    facts = ModuleFacts.of(ast.parse(source))
    kinds = [facts.kind(ast.Name(id=name)) for name in "abc"]
    assert kinds == ["thread_queue", "thread_queue_bounded", "thread_queue"]


def test_method_calls_are_found_by_method_and_receiver_in_their_scope() -> None:
    source = (
        "lock.release()\n"
        "def f():\n    lock.release()\n    self.lock.release()\n    make().release()\n"
        "    lock.acquire()\n    def g(): lock.release()\n"
    )
    tree = ast.parse(source)
    index = ModuleFacts.of(tree).index
    function = tree.body[1]
    lines = {
        receiver: [call.lineno for call in method_calls(index, function, "release", receiver)]
        for receiver in ("lock", "self.lock", None, "other")
    }
    assert lines == {"lock": [3], "self.lock": [4], None: [5], "other": []}
    assert [c.lineno for c in method_calls(index, tree, "release", "lock")] == [1]


def _last_call_and_scope(source: str) -> tuple[ModuleFacts, ast.Call, ast.AST | None]:
    """The last call of ``source`` and the function it runs in (None: the module)."""
    facts, call = _last_call(source)
    place = next(place for node, place in facts.index.nodes if node is call)
    return facts, call, place.function


@pytest.mark.parametrize(
    ("source", "qualname"),
    [
        # A module-level call sees what is bound before it; a function sees the last binding.
        ("from time import sleep\nsleep(1)\ndef sleep(x): pass\n", "time.sleep"),
        ("def sleep(x): pass\nfrom time import sleep\ndef f():\n    sleep(1)\n", "time.sleep"),
        ("from time import sleep\ndef sleep(x): pass\ndef f():\n    sleep(1)\n", None),
        ("open(x)\ndef open(x): pass\n", "builtins.open"),
        # Either of two conditional bindings may be in effect: known only if they agree.
        (
            "try:\n    from time import sleep\nexcept ImportError:\n    def sleep(x): pass\n"
            "def f():\n    sleep(1)\n",
            None,
        ),
        (
            "try:\n    from time import sleep\nexcept ImportError:\n"
            "    from time import sleep\nsleep(1)\n",
            "time.sleep",
        ),
        ("import time\nif x:\n    time = None\ndef f():\n    time.sleep(1)\n", None),
        # A function-level import binds the name in that function and the ones it nests.
        (
            "from asyncio import sleep\ndef f():\n    from time import sleep\n"
            "def g():\n    sleep(1)\n",
            "asyncio.sleep",
        ),
        (
            "from asyncio import sleep\ndef f():\n    from time import sleep\n    sleep(1)\n",
            "time.sleep",
        ),
        ("def f():\n    import time\n    def g():\n        time.sleep(1)\n", "time.sleep"),
        ("def f():\n    import time as t\nt.sleep(1)\n", None),
        ("import time\ndef f():\n    import time\n    def g(time):\n        time.sleep(1)\n", None),
        ("import time\ndef f():\n    global time\n    time.sleep(1)\n", "time.sleep"),
        # An import under `global` binds the module's name, when that function has run.
        (
            "def load():\n    global requests\n    import requests\n"
            "async def f():\n    requests.get(u)\n",
            "requests.get",
        ),
        (
            "requests = None\ndef load():\n    global requests\n    import requests\n"
            "async def f():\n    requests.get(u)\n",
            None,
        ),
        ("import time\ndef f():\n    time = g()\n    time.sleep(1)\n", None),
    ],
)
def test_names_resolve_to_the_binding_in_effect(source: str, qualname: str | None) -> None:
    facts, call, scope = _last_call_and_scope(source)
    assert facts.qualname(call.func, scope) == qualname


@pytest.mark.parametrize(
    ("source", "defined"),
    [
        # The last of two unconditional definitions replaces the first.
        ("def fetch(): pass\nasync def fetch(): pass\nasync def main():\n    fetch()\n", 2),
        # Conditional ones: known only when they agree on what the caller asks.
        (
            "if x:\n    async def fetch(): pass\nelse:\n    def fetch(): pass\n"
            "async def main():\n    fetch()\n",
            None,
        ),
        (
            "if x:\n    async def fetch(): pass\nelse:\n    async def fetch(): pass\n"
            "async def main():\n    fetch()\n",
            4,
        ),
        ("def fetch(): pass\nfetch = wrap(fetch)\nasync def main():\n    fetch()\n", None),
        ("def fetch(): pass\nfetch()\nasync def fetch(): pass\n", 1),
        # Methods: the last definition in the class body.
        (
            "class C:\n    def get(self): pass\n    async def get(self): pass\n"
            "    async def run(self):\n        self.get()\n",
            3,
        ),
        # A nested function is seen from the functions nested beside it.
        (
            "async def fetch(): pass\ndef outer():\n    def fetch(): pass\n"
            "    def inner():\n        fetch()\n",
            3,
        ),
    ],
)
def test_calls_resolve_to_the_definition_in_effect(source: str, defined: int | None) -> None:
    facts, call, scope = _last_call_and_scope(source)
    function = facts.function_named(call.func, scope, same=lambda f: type(f))
    assert (None if function is None else function.lineno) == defined
