"""No crash on odd input: the analysis is a linter plugin, and a traceback is a bug."""

from __future__ import annotations

import ast
import textwrap

import pytest

from unguarded_workers.analysis import check_module
from unguarded_workers.options import Options
from unguarded_workers.violation import Confidence

# Odd and deep code must be analysed all the same: every report counts here.
EVERYTHING = Options(min_confidence=Confidence.LOW)

ODD_MODULES = {
    "empty": "",
    "only a docstring": '"""Nothing here."""\n',
    "global never bound": "def f():\n    global ghost\n    ghost.submit(work)\n",
    "star import": "from threading import *\nThread(target=work)\n",
    "relative import": "from . import threading\nthreading.Thread(target=work)\n",
    "walrus and lambda defaults": (
        "import asyncio\n"
        "async def main(f=lambda: asyncio.create_task(w())):\n"
        "    if (t := asyncio.create_task(w())):\n"
        "        pass\n"
    ),
    "spawn as a dict key and in a starred call": (
        "import asyncio\n"
        "async def main():\n"
        "    d = {asyncio.create_task(w()): 1}\n"
        "    print(*[asyncio.create_task(w())])\n"
    ),
    "unpacking targets": "import asyncio\nasync def m():\n    a, b = asyncio.create_task(w()), 1\n",
    "subclass of a call": "import threading\nclass T(make_base()):\n    def run(self):\n        boom()\n",
    "self-referencing class": "class A(A):\n    def run(self):\n        self.run()\n",
    "method target on a non-class name": "import threading\nx = 1\nthreading.Thread(target=x.y)\n",
    "positional target after starred": "import threading\nthreading.Thread(*a, target=work)\n",
    "annotation strings": (
        "from concurrent.futures import Executor\ndef f(e: 'Executor[', g: 'Executor'):\n    g.submit(f)\n"
    ),
}


@pytest.mark.parametrize("source", ODD_MODULES.values(), ids=ODD_MODULES.keys())
def test_odd_modules_do_not_crash(source: str) -> None:
    tree = ast.parse(source)
    assert check_module(tree) == check_module(tree, source=source)


def test_a_very_long_chain_does_not_exhaust_the_stack() -> None:
    chain = " if c else ".join(["x"] * 2500)  # beyond the default recursion limit
    source = f"import asyncio\nasync def m():\n    t = {chain} if c else asyncio.create_task(w())\n"
    tree = ast.parse(source)
    assert [v.code.code for v in check_module(tree, EVERYTHING)] == ["UW301"]


def test_deeply_nested_blocks() -> None:
    body = "".join("    " * depth + "if x:\n" for depth in range(1, 90))
    source = "import threading\ndef w():\n" + body + "    " * 90 + "boom()\nthreading.Thread(target=w)\n"
    assert [v.code.code for v in check_module(ast.parse(source), EVERYTHING)] == ["UW101"]


def test_columns_are_those_of_the_call() -> None:
    source = textwrap.dedent(
        """\
        import threading
        def w():
            boom()
        x = [1,   threading.Thread(target=w)]
        """
    )
    (violation,) = check_module(ast.parse(source), EVERYTHING)
    assert (violation.line, violation.col) == (4, 10)
    assert (violation.target.line, violation.target.col, violation.target.end_col) == (4, 34, 35)
