"""The text prefilter: a module is parsed only when its text holds a spawn's call shape; every
shape a spawn can take passes, words alone do not."""

from __future__ import annotations

import ast
import textwrap

import pytest

from unguarded_workers.analysis import check_module, might_spawn
from unguarded_workers.analysis.discovery import helpers_in_text
from unguarded_workers.analysis.prefilter import _defines_thread_run
from unguarded_workers.analysis.spawns import runs_alone
from unguarded_workers.options import parse_options

EVERYTHING = parse_options(min_confidence="low", group_children="all")

SPAWNING = {
    "thread": "import threading\nthreading.Thread(target=work).start()\n",
    "thread on the next line": "import threading\nthreading.Thread(\n    target=work,\n).start()\n",
    "a continued line": "import threading\nthreading.Thread \\\n    (target=work).start()\n",
    "renamed": "from threading import Thread as Worker\nWorker(target=work).start()\n",
    "renamed task": "from asyncio import create_task as spawn\nasync def f():\n    spawn(work())\n",
    "timer": "import threading\nthreading.Timer(5, work).start()\n",
    "start_new_thread": "import _thread\n_thread.start_new_thread(work, ())\n",
    "process": "import multiprocessing\nmultiprocessing.Process(target=work).start()\n",
    "executor": "pool = ThreadPoolExecutor()\npool.submit(work)\n",
    "loop": "import asyncio\nasync def f(loop):\n    loop.run_in_executor(None, work)\n",
    "task": "import asyncio\nasync def f():\n    asyncio.ensure_future(work())\n",
    "group start": (
        "import trio\nasync def f():\n    async with trio.open_nursery() as nursery:\n"
        "        await nursery.start(serve)\n"
    ),
    "thread class": "import threading\nclass T(threading.Thread):\n    def run(self):\n        work()\n",
    "a run with defaults": "class T(Base):\n    def run(self, retries=3, *args, delay: float = 1, **kw):\n",
    "a run over lines": "class T(Base):\n    def run(\n        self,\n        when: Optional[int] = None,\n    ):\n",
    "a run of many defs": "class A:\n    def run(self, item):\n        pass\nclass T(Base):\n    def run(self):\n",
    # Lists the prefilter does not split count.
    "a run with a lambda default": "class T(Base):\n    def run(self, key=lambda a, b: a):\n        work()\n",
    "a run with a string": "class T(Base):\n    def run(self, sep=', '):\n        work()\n",
    # A spawner known by its qualified name, by its bare name where the module imports it.
    "a bare Timer imported": "from threading import Lock, Timer\nTimer(5, work).start()\n",
    "imported in parentheses": "from threading import (\n    Lock,\n    Timer,\n)\nTimer(5, work)\n",
    "imported on a continued line": "from threading import Lock, \\\n    Timer\nTimer(5, work)\n",
    "imported with everything": "from threading import *\nTimer(5, work)\n",
    "an attribute over spaces": "import threading\nthreading . Timer(5, work)\n",
    "from a submodule": "from multiprocessing.context import Process\nProcess(target=work)\n",
}
NOT_SPAWNING = {
    "words only": '"""Starts a Thread, a Timer and a Process; calls submit() and create_task()."""\n',
    "an import": "from threading import Thread, Timer\n",
    "calls without a worker": "t = Thread()\nt.start()\nform.submit()\nloop.create_task()\n",
    "start without a task group": "server.start(handler)\n",
    "a class named so": "class Timer:\n    pass\n",
    # A spawner known by its qualified name is called only in a module that imports its module.
    "another library's Timer": "from kafka.util import Timer\ntimer = Timer(timeout_ms)\n",
    "another library's ensure_future": "from tornado.gen import ensure_future\nensure_future(work())\n",
    # kafka 3.0's consumer: `threading` for its locks, its own Timer for deadlines.
    "another library's Timer beside threading": (
        "import threading\nfrom kafka.util import Timer\nlock = threading.Lock()\ntimer = Timer(timeout_ms)\n"
    ),
    # The end of a longer name is not the name.
    "a longer name": "import threading\nthread = IntervalTimer(5, work)\nkvReadTimer(handle)\n",
    # A thread calls `self.run()`: a run that needs more, or is a coroutine, is no thread's worker.
    "a run that needs an argument": (
        "import threading\nclass T(threading.Thread):\n    def run(self, payload: dict[str, int]):\n        work()\n"
    ),
    "a run with a keyword-only parameter": (
        "import threading\nclass T(threading.Thread):\n    def run(self, *, payload):\n        work()\n"
    ),
    "an async run": "import threading\nclass T(threading.Thread):\n    async  def run(self):\n        work()\n",
}


@pytest.mark.parametrize("source", SPAWNING.values(), ids=SPAWNING.keys())
def test_every_spawn_shape_passes(source: str) -> None:
    assert might_spawn(source, EVERYTHING)


@pytest.mark.parametrize("source", NOT_SPAWNING.values(), ids=NOT_SPAWNING.keys())
def test_words_alone_do_not_pass(source: str) -> None:
    assert not might_spawn(source, EVERYTHING)
    assert check_module(ast.parse(source), EVERYTHING) == []  # and rightly so


def test_configured_spawners_and_project_helpers_pass_by_their_own_names() -> None:
    thread = "from myapp.workers import Thread\nThread(target=work)\n"  # no `threading` in it
    assert not might_spawn(thread, EVERYTHING)
    assert might_spawn(thread, parse_options(spawners=["myapp.workers.Thread:thread"]))
    fire = "from myapp.tasks import fire\nfire(job())\n"
    assert not might_spawn(fire, EVERYTHING)
    assert might_spawn(fire, parse_options(spawners=["myapp.tasks.fire:task"]))
    assert might_spawn("from myapp.tasks import fire as go\ngo(job())\n", parse_options(spawners=["myapp.fire:task"]))
    helper_call = "self.start_background_task(self._poll)\n"
    assert not might_spawn(helper_call, EVERYTHING)
    assert might_spawn(helper_call, EVERYTHING, frozenset({"start_background_task"}))


def test_a_text_asked_again_gets_the_answer_of_its_own_spawners_and_helpers() -> None:
    """What a text says by itself is remembered (a run asks it of every file in both passes),
    each answer under the spawners it was asked with; the helpers' calls are asked each time."""
    fire = "from myapp.tasks import fire\nfire(job())\n"
    configured = parse_options(spawners=["myapp.tasks.fire:task"])
    for _ in range(2):  # the second round is answered from what the first remembered
        assert not might_spawn(fire, EVERYTHING)
        assert might_spawn(fire, configured)
        assert not might_spawn(fire, EVERYTHING, frozenset({"start"}))
        assert might_spawn(fire, EVERYTHING, frozenset({"fire"}))
    assert might_spawn("".join(["import threading\n", "threading.Thread(target=work)\n"]), EVERYTHING)


HELPERS = textwrap.dedent(
    """\
    import asyncio
    import threading
    from functools import partial


    class Server:
        def start_background_task(self, target, *args):
            threading.Thread(target=target, args=args, daemon=True).start()

        def submit_later(self, fn, x):
            self.executor.submit(partial(fn, x))

        def own(self):
            threading.Thread(target=self.run_forever).start()  # its worker is its own: no helper


    def spawn(coro_function, *args):
        return asyncio.create_task(coro_function(*args))
    """
)


def test_helpers_are_found_from_the_parse() -> None:
    assert helpers_in_text(HELPERS, EVERYTHING) == {"start_background_task", "submit_later", "spawn"}
    # A module whose spawns pass no parameter of theirs is not analysed for helpers at all.
    assert helpers_in_text(HELPERS.split("    def start_background_task")[0], EVERYTHING) == frozenset()


RUN_PARAMETERS = (
    *("self", "x", "*args", "self, /", "self, x=1", "self, *a, k=2", "self, **kw", "self, x: int = 1, /, *, y=2"),
    *("self, x", "self, *, k", "self, *a, k", "self, x, /", "self, x: dict[str, int]", "", "*, k=1"),
)


@pytest.mark.parametrize("parameters", RUN_PARAMETERS)
def test_the_prefilter_lets_through_every_run_a_thread_can_start(parameters: str) -> None:
    """`runs_alone` (the analysis) and the text test agree on every list they both read; a
    def with no parameter is no method's worker, but the text test keeps it (it cannot tell
    a staticmethod)."""
    text = f"class T(Base):\n    def run({parameters}):\n        work()\n"
    (node,) = [n for n in ast.walk(ast.parse(text)) if isinstance(n, ast.FunctionDef)]
    assert _defines_thread_run(text) == (runs_alone(node) or parameters in ("", "*, k=1"))
