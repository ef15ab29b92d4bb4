"""Spawn helpers are found before the check, by the command (on its worker pool too) and by the
flake8 plugin, so that a module that only calls one is checked for it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_helpers import run_cli

from unguarded_workers.analysis.discovery import helper_names, helpers_in_text
from unguarded_workers.options import Options

HELPER = textwrap.dedent(
    """\
    import threading


    def in_background(target, *args):
        threading.Thread(target=target, args=args, daemon=True).start()
    """
)
# No spawn word at all: only the helper's name leads the check here.
CALLER = textwrap.dedent(
    """\
    from app.background import in_background


    def poll():
        while True:
            fetch()


    def start():
        in_background(poll)
    """
)


@pytest.mark.parametrize(
    "spawn",
    [
        "threading.Thread(target=fn)",
        "threading.Thread(None, fn)",
        "threading.Timer(5, fn)",
        "pool.submit(fn, 1)",
        "loop.run_in_executor(None, fn)",
        "asyncio.run_coroutine_threadsafe(fn, event_loop)",  # the worker before another name
        "loop.create_task(fn)",
        "asyncio.create_task(fn(*args))",
        "nursery.start_soon(fn)",
        "pool.submit(functools.partial(fn, 1))",
        "loop.run_in_executor(None, partial(fn, *args))",  # flower 2.2's BlockingOperationRunner
        "multiprocessing.Process(target=fn)",
    ],
)
def test_every_spawner_shape_makes_a_helper(spawn: str) -> None:
    imports = "import asyncio, functools, multiprocessing, threading\nfrom functools import partial"
    text = f"{imports}\n\n\ndef helper(fn, *args):\n    {spawn}\n"
    assert helpers_in_text(text, Options()) == {"helper"}


def test_a_nested_def_before_the_spawn_does_not_hide_the_helper() -> None:
    # CPython 3.13's test_sock_lowlevel: a def in the helper, between its signature and its spawn.
    text = textwrap.dedent(
        """\
        import asyncio


        async def receive_twice(loop, recvfrom):
            def make_socket():
                return None

            task = loop.create_task(recvfrom(make_socket()))
            return await task
        """
    )
    assert helpers_in_text(text, Options()) == {"receive_twice"}


@pytest.mark.parametrize(
    "spawn",
    [
        "threading.Thread(target=work, name=fn)",  # its own worker, not the parameter
        "asyncio.ensure_future(fn)",  # not a call: a future handed back as it is, no task made
        "asyncio.ensure_future(fn())",  # a call of what may not be a coroutine function
    ],
)
def test_no_helper_without_a_worker_of_the_callers(spawn: str) -> None:
    text = f"import asyncio, threading\n\n\ndef helper(fn):\n    {spawn}\n"
    assert helpers_in_text(text, Options()) == frozenset()


def _project(root: Path, callers: int = 1) -> None:
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("")
    (root / "app" / "background.py").write_text(HELPER)
    for number in range(callers):
        (root / "app" / f"caller{number}.py").write_text(CALLER)


def test_the_files_define_the_helper(tmp_path: Path) -> None:
    _project(tmp_path)
    assert helper_names(map(str, sorted(tmp_path.rglob("*.py"))), Options()) == {"in_background"}


def test_the_command_checks_the_callers_on_its_worker_pool_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    _project(tmp_path, callers=60)  # enough files for a pool of workers
    for jobs in ("1", "2"):
        result = run_cli(capsys, "check", "--no-cache", "-j", jobs, ".")
        lines = result.out.splitlines()
        assert len(lines) == 60, result.err
        reported = ":10:5: UW101 thread target 'poll' has no try/except guard: line 6: fetch()"
        assert all(reported in line for line in lines)
        kept_running = "wrap it: in_background(wrap(poll)), or to keep it running: in_background(supervise(poll))"
        assert all(line.endswith(kept_running) for line in lines)


def _flake8(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select=UW", "."],
        capture_output=True,
        text=True,
        cwd=root,
        check=False,
        timeout=120,
    )


def test_flake8_checks_the_callers(tmp_path: Path) -> None:
    _project(tmp_path)
    result = _flake8(tmp_path)
    assert result.stdout.splitlines() == [
        "./app/caller0.py:10:5: UW101 thread target 'poll' has no try/except guard: line 6: fetch() runs outside "
        "any try; a failure ends its long-lived loop; the thread dies (its traceback goes to stderr): nothing in "
        "the program learns of it and its work stops; wrap it: in_background(wrap(poll)), "
        "or to keep it running: in_background(supervise(poll))"
    ], result.stderr


def test_the_helpers_own_spawn_is_not_reported(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "background.py").write_text(HELPER)
    assert run_cli(capsys, "check", "--min-confidence=low", str(tmp_path / "background.py")).out == ""


# gpiozero's GPIOThread: a Thread subclass whose making is the spawn, its target handed to the base.
THREAD_CLASS = textwrap.dedent(
    """\
    from threading import Event, Thread


    class GPIOThread(Thread):
        def __init__(self, target, args=(), kwargs=None, name=None):
            self.stopping = Event()
            super().__init__(None, target, name, args, kwargs or {})
            self.daemon = True
    """
)
# Made by position and by keyword, from another module with no spawn word of its own.
THREAD_CLASS_CALLER = textwrap.dedent(
    """\
    from app.threads import GPIOThread


    class Device:
        def start(self):
            self._by_position = GPIOThread(self._watch)
            self._by_keyword = GPIOThread(target=self._watch)

        def _watch(self):
            while True:
                self.poll()
    """
)


@pytest.mark.parametrize(
    "init",
    [
        "super().__init__(None, target, name)",
        "super().__init__(target=target, daemon=True)",
        "Thread.__init__(self, None, target)",
        "threading.Thread.__init__(self, target=target)",
    ],
)
def test_a_thread_class_that_hands_its_target_to_its_base_is_a_helper_named_for_the_class(init: str) -> None:
    header = "import threading\nfrom threading import Thread\n\n\nclass Worker(Thread):\n"
    text = f"{header}    def __init__(self, target, name=None):\n        {init}\n"
    assert helpers_in_text(text, Options()) == {"Worker"}


@pytest.mark.parametrize(
    "cls",
    [
        # Its run() is the worker, whatever it is handed (UW102 judges it).
        "class Worker(Thread):\n    def __init__(self, target):\n        super().__init__(target=target)\n\n"
        "    def run(self):\n        pass\n",
        # No thread: a base that is not Thread's.
        "class Worker(Base):\n    def __init__(self, target):\n        super().__init__(target=target)\n",
    ],
    ids=["with its own run", "not a thread"],
)
def test_no_thread_class_helper_without_a_thread_that_runs_the_target(cls: str) -> None:
    base = "class Base:\n    def __init__(self, target):\n        self.t = target\n"
    text = f"from threading import Thread\n\n\n{base}\n\n{cls}"
    assert helpers_in_text(text, Options()) == frozenset()


def test_the_makings_of_a_thread_class_of_another_module_are_spawns(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "__init__.py").write_text("")
    (tmp_path / "app" / "threads.py").write_text(THREAD_CLASS)
    (tmp_path / "app" / "device.py").write_text(THREAD_CLASS_CALLER)
    for jobs in ("1", "2"):
        lines = run_cli(capsys, "check", "--no-cache", "-j", jobs, ".").out.splitlines()
        assert [line.split(" has no")[0] for line in lines] == [
            "app/device.py:6:29: UW101 thread target 'self._watch'",
            "app/device.py:7:28: UW101 thread target 'self._watch'",
        ]
        assert lines[0].endswith(
            "wrap it: GPIOThread(wrap(self._watch)), or to keep it running: GPIOThread(supervise(self._watch))"
        )
        assert lines[1].endswith("or to keep it running: GPIOThread(target=supervise(self._watch))")
    result = _flake8(tmp_path)
    assert [line.split(" UW101 ")[0] for line in result.stdout.splitlines()] == [
        "./app/device.py:6:29:",
        "./app/device.py:7:28:",
    ], result.stderr
