"""install() covers what services run: uvloop (every loop, uvloop imported before or after),
gevent's monkey-patching and greenlets; and a part that cannot be installed is left out whole,
with one warning."""

from __future__ import annotations

import asyncio
import gc
import logging
import subprocess
import sys
import threading
from concurrent.futures import Future
from pathlib import Path
from typing import Any

import pytest

from unguarded_workers import Failure, install
from unguarded_workers.runtime import net_loops

uvloop = pytest.importorskip("uvloop") if sys.platform != "win32" else None
ROOT = Path(__file__).resolve().parent.parent


def run_program(source: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    program = tmp_path / "service.py"
    program.write_text(source)
    env = {"PYTHONPATH": str(ROOT / "runtime" / "src"), "PATH": "/usr/bin:/bin"}
    return subprocess.run(
        [sys.executable, str(program)], capture_output=True, text=True, check=False, timeout=120, env=env
    )


async def _fails(message: str) -> None:
    await asyncio.sleep(0)
    raise ValueError(message)


async def _drop_a_failing_task(name: str) -> None:
    asyncio.get_running_loop().create_task(_fails(name), name=name)  # DROPPED
    await asyncio.sleep(0.01)
    gc.collect()


# -- uvloop -------------------------------------------------------------------------------------


@pytest.mark.skipif(uvloop is None, reason="uvloop does not run on Windows")
def test_every_uvloop_loop_is_covered_however_and_whenever_it_was_made() -> None:
    failures: list[Failure] = []
    before = uvloop.new_event_loop()  # made before install()
    ready = threading.Event()
    stop = threading.Event()

    def other_thread() -> None:  # a loop already running in another thread
        async def serve() -> None:
            ready.set()
            while not stop.is_set():
                await asyncio.sleep(0.01)
            await _drop_a_failing_task("in another thread")

        uvloop.new_event_loop().run_until_complete(serve())

    thread = threading.Thread(target=other_thread)
    thread.start()
    ready.wait(10)
    with install(on_error=failures.append):
        before.run_until_complete(_drop_a_failing_task("made before"))
        before.close()
        after = uvloop.new_event_loop()
        after.run_until_complete(_drop_a_failing_task("made after"))
        after.close()
        policy = asyncio.get_event_loop_policy()
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
        try:
            asyncio.run(_drop_a_failing_task("through the policy"))
        finally:
            asyncio.set_event_loop_policy(policy)
        stop.set()
        thread.join(10)
        gc.collect()
    reported = sorted(str(f.exception) for f in failures)
    assert reported == ["in another thread", "made after", "made before", "through the policy"]
    line = next(n for n, t in enumerate(Path(__file__).read_text().splitlines(), 1) if t.endswith("# DROPPED"))
    for failure in failures:
        assert failure.spawn_site is not None
        assert (failure.spawn_site.line, failure.caught_by) == (line, "install")
        assert failure.exception.__notes__ == [
            f"spawned at {__file__}:{line} in _drop_a_failing_task (loop.create_task)"
        ]
    # Nothing of the net is left on uvloop's class.
    assert not {"create_task", "run_in_executor", "default_exception_handler"} & set(uvloop.Loop.__dict__)


@pytest.mark.skipif(uvloop is None, reason="uvloop does not run on Windows")
def test_uvloop_imported_after_install_is_covered(tmp_path: Path) -> None:
    result = run_program(
        "import asyncio, gc, logging, sys\n"
        "logging.basicConfig(format='%(levelname)s %(message)s')\n"
        "import unguarded_workers\n"
        "unguarded_workers.install()\n"
        "assert 'uvloop' not in sys.modules\n"
        "import uvloop\n"
        "async def fails():\n"
        "    raise KeyError('order')\n"
        "async def main():\n"
        "    asyncio.create_task(fails())\n"
        "    await asyncio.sleep(0.01)\n"
        "    gc.collect()\n"
        "    try:\n"
        "        await asyncio.get_running_loop().run_in_executor(None, int, 'x')\n"
        "    except ValueError as exc:\n"
        "        print(exc.__notes__)\n"
        "    print(type(asyncio.get_running_loop()).__module__)\n"
        "uvloop.run(main())\n",
        tmp_path,
    )
    program = tmp_path / "service.py"
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [f"['spawned at {program}:14 in main (loop.run_in_executor)']", "uvloop"]
    assert (
        f"ERROR worker __main__.fails() failed in task 'Task-2' in thread 'MainThread' (spawned at {program}:10 in "
        in (result.stderr)
    )
    assert result.stderr.count("its exception was never retrieved") == 1
    assert "Task exception was never retrieved" not in result.stderr


@pytest.mark.skipif(uvloop is None, reason="uvloop does not run on Windows")
def test_a_running_loop_of_an_unpatchable_class_gets_a_chained_task_factory(caplog: Any) -> None:
    """uvloop's Cython class, used directly: its methods cannot be replaced. Its tasks are
    noted through a task factory (chaining the one it had); it reports a never-retrieved
    exception itself, the note in the traceback."""
    made_by_inner: list[str] = []

    def inner_factory(loop: Any, coro: Any, **kwargs: Any) -> Any:
        made_by_inner.append(coro.__qualname__)
        return asyncio.Task(coro, loop=loop, **kwargs)

    async def main() -> None:
        net = install()
        try:
            await _drop_a_failing_task("by factory")
            assert made_by_inner[-1] == "_fails"  # the factory it had still makes the tasks
        finally:
            net.uninstall()
        assert asyncio.get_running_loop().get_task_factory() is inner_factory

    loop = uvloop.loop.Loop()
    loop.set_task_factory(inner_factory)
    caplog.set_level(logging.WARNING)
    try:
        loop.run_until_complete(main())
    finally:
        loop.close()
    gc.collect()
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warning.startswith("unguarded-workers: install() covers the tasks of the running uvloop.loop.Loop loop")
    (logged,) = [r for r in caplog.records if r.name == "asyncio"]
    assert logged.getMessage().startswith("Task exception was never retrieved")
    exception = logged.exc_info[1]  # type: ignore[index]
    assert exception.__notes__[0].endswith("in _drop_a_failing_task (loop.create_task)")  # type: ignore[union-attr]


# -- gevent -------------------------------------------------------------------------------------


def test_under_gevent_monkey_patching_threads_and_greenlets_are_reported(tmp_path: Path) -> None:
    pytest.importorskip("gevent")
    result = run_program(
        "from gevent import monkey\n"
        "monkey.patch_all()\n"
        "import logging, threading, gevent\n"
        "logging.basicConfig(format='%(levelname)s %(message)s')\n"
        "import unguarded_workers\n"
        "original_hook = threading.excepthook\n"
        "net = unguarded_workers.install()\n"
        "def boom():\n"
        "    raise ValueError('greenlet boom')\n"
        "def tboom():\n"
        "    raise KeyError('thread boom')\n"
        "def spawner():\n"
        "    return gevent.spawn(boom)\n"
        "spawner().join()\n"
        "t = threading.Thread(target=tboom)\n"
        "t.start()\n"
        "t.join()\n"
        "net.uninstall()\n"
        "print(threading.excepthook is original_hook)\n",
        tmp_path,
    )
    program = tmp_path / "service.py"
    assert result.returncode == 0, result.stderr
    assert result.stdout == "True\n"
    assert "KeyError: 'start'" not in result.stderr
    assert "ERROR worker __main__.boom failed in task 'Greenlet-0' in thread '" in result.stderr
    assert f"(spawned at {program}:13 in spawner): ValueError: greenlet boom; the greenlet died" in result.stderr
    if sys.version_info >= (3, 11):  # the note, in the traceback the report prints
        assert f"spawned at {program}:13 in spawner (gevent.spawn)" in result.stderr
    assert f"(spawned at {program}:16 in <module>): KeyError: 'thread boom'; the thread died" in result.stderr
    assert "failed with ValueError" not in result.stderr  # gevent's own printer stayed quiet


# -- a part that cannot be installed -----------------------------------------------------------


def test_a_part_that_fails_is_left_out_whole_with_a_warning(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    originals = {name: asyncio.BaseEventLoop.__dict__[name] for name in ("create_task", "run_in_executor")}
    real = net_loops.cover_loop_class

    def half(net: Any, cls: type) -> None:
        net.patch(cls, "create_task", net.recording_create_task)
        raise RuntimeError("this loop changed")

    monkeypatch.setattr(net_loops, "cover_loop_class", half)
    caplog.set_level(logging.WARNING, logger="unguarded_workers")
    with install() as net:
        assert net.active
        for name, original in originals.items():  # the asyncio part is out whole: nothing half-replaced
            assert asyncio.BaseEventLoop.__dict__[name] is original
        assert threading.excepthook == net._hook  # the other parts are in
        assert Future.set_exception.__qualname__.startswith("SafetyNet.")
    monkeypatch.setattr(net_loops, "cover_loop_class", real)
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings[0] == (
        "unguarded-workers: install() could not cover asyncio (RuntimeError: this loop changed); "
        "the rest of the safety net is in place"
    )
    # uvloop's part, which patches its loop class the same way, is out whole too.
    assert warnings[1:] == [warnings[0].replace("asyncio", "uvloop")] * (uvloop is not None)


def test_a_failure_outside_the_parts_undoes_everything(monkeypatch: pytest.MonkeyPatch) -> None:
    from unguarded_workers.runtime import safety_net

    hook, start = threading.excepthook, threading.Thread.start

    def broken() -> None:
        raise KeyboardInterrupt  # anything the parts do not contain

    monkeypatch.setattr(safety_net, "prepare", broken)
    with pytest.raises(KeyboardInterrupt):
        install()
    assert (threading.excepthook, threading.Thread.start) == (hook, start)


def test_a_spawn_the_net_cannot_record_still_happens(
    monkeypatch: pytest.MonkeyPatch, capfd: pytest.CaptureFixture[str]
) -> None:
    from unguarded_workers.runtime.sites import Sites

    def broken(self: Any, frame: Any, how: str) -> Any:
        raise RuntimeError("no site today")

    ran: list[str] = []
    with install():
        monkeypatch.setattr(Sites, "site", broken)
        thread = threading.Thread(target=ran.append, args=("thread",))
        thread.start()
        thread.join()

        async def main() -> None:
            await asyncio.get_running_loop().create_task(asyncio.sleep(0, result=None))
            await asyncio.get_running_loop().run_in_executor(None, ran.append, "job")
            ran.append("task")

        asyncio.run(main())
    assert ran == ["thread", "job", "task"]
    assert "unguarded-workers: install() could not record a thread's spawn site" in capfd.readouterr().err
