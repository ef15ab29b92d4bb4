"""`install()`: failures that escaped every guard, reported once with their spawn site.

The scenarios run tests/programs/workers.py as a real program; the composition tests run
in this process and undo the net after each.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from service_program import PROGRAM, run_service, spawn_line

import unguarded_workers
from unguarded_workers import Failure, install


def _reports(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("ERROR [unguarded_workers] worker ")]


@pytest.mark.parametrize(
    ("scenario", "worker", "where", "ending"),
    [
        # Python 3.9 names a thread without its target: "Thread-1".
        ("thread", "__main__.poll_queue", "thread 'Thread-1", "KeyError: 'order-17'; the thread died"),
        (
            "subclass",
            "__main__.Flusher.run",
            "thread 'flusher'",
            "ConnectionError: metrics backend refused; the thread died",
        ),
        (
            "task",
            "__main__.consume()",
            "task 'Task-2' in thread 'MainThread'",
            "RuntimeError: lost orders; its exception was never retrieved",
        ),
        (
            "future",
            "__main__.resize",
            "thread '",
            "OSError: cannot read /tmp/photo.jpg; its future was discarded without its result being read",
        ),
    ],
)
def test_an_escaped_failure_is_reported_once_with_its_spawn_site(
    scenario: str, worker: str, where: str, ending: str
) -> None:
    result = run_service("--install", scenario)
    assert result.returncode == 0, result.stderr
    assert result.stdout.endswith("service still running\n")
    (report,) = _reports(result.stderr)
    assert report.startswith(f"ERROR [unguarded_workers] worker {worker} failed in {where}"), report
    # A thread's site is the line that started it.
    line = spawn_line(scenario, "STARTED") if scenario in ("thread", "subclass") else spawn_line(scenario)
    function = {"thread": "thread_dies", "subclass": "thread_subclass_dies", "task": "main"}.get(
        scenario, "future_discarded"
    )
    assert f"(spawned at {PROGRAM}:{line} in {function}): " in report, report
    assert report.endswith(ending), report
    # The traceback follows the report, and Python's own printers stay quiet.
    assert "Traceback (most recent call last):" in result.stderr
    assert "Exception in thread" not in result.stderr
    assert "Task exception was never retrieved" not in result.stderr


def test_without_the_net_python_says_nothing_of_the_spawn_site() -> None:
    """The baseline the net improves on: the thread's traceback, but not where it started."""
    result = run_service("thread", "future")
    assert "Exception in thread Thread-1" in result.stderr
    assert f"{PROGRAM}:{spawn_line('thread')}" not in result.stderr
    assert "photo.jpg" not in result.stderr  # the discarded future's failure is lost for good


@pytest.mark.parametrize("scenario", ["wrapped", "read"])
def test_contained_or_read_failures_are_not_reported_again(scenario: str) -> None:
    result = run_service("--install", scenario)
    assert result.returncode == 0, result.stderr
    reports = _reports(result.stderr)
    if scenario == "wrapped":  # wrap's own report, once
        (report,) = reports
        assert f"(spawned at {PROGRAM}:{spawn_line('wrapped')} in wrapped_thread)" in report
    else:
        assert reports == []
        assert "the program read the failure itself" in result.stdout


# -- in this process -----------------------------------------------------------------------


@pytest.fixture
def captured(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="unguarded_workers")
    return caplog


def _records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "unguarded_workers"]


def _fail() -> None:
    raise ValueError("boom")


def test_install_is_idempotent_and_its_handle_undoes_it() -> None:
    originals = (threading.excepthook, threading.Thread.start, Future.result, asyncio.BaseEventLoop.create_task)
    net = install()
    try:
        assert install() is net
        assert threading.excepthook != originals[0]
        assert threading.Thread.start is not originals[1]
    finally:
        net.uninstall()
    assert (threading.excepthook, threading.Thread.start, Future.result, asyncio.BaseEventLoop.create_task) == originals
    net.uninstall()  # twice is harmless
    with install() as again:
        assert again is not net
        assert again.active
    assert not again.active


def test_the_previous_excepthook_is_called_too(captured: Any) -> None:
    seen: list[str] = []
    previous = threading.excepthook
    threading.excepthook = lambda args: seen.append(str(args.exc_value))
    try:
        with install():
            thread = threading.Thread(target=_fail, name="t")
            thread.start()
            thread.join()
        assert seen == ["boom"]
        (record,) = _records(captured)
        assert record.caught_by == "install"  # type: ignore[attr-defined]
        assert record.spawn_function == "test_the_previous_excepthook_is_called_too"  # type: ignore[attr-defined]
    finally:
        threading.excepthook = previous


def test_a_loop_handler_set_by_the_program_keeps_priority(captured: Any) -> None:
    contexts: list[dict[str, Any]] = []

    async def fails() -> None:
        raise ValueError("x")

    async def main() -> None:
        loop = asyncio.get_running_loop()
        loop.set_exception_handler(lambda loop, context: contexts.append(context))
        asyncio.ensure_future(fails())  # noqa: RUF006 (dropped on purpose)
        await asyncio.sleep(0.01)
        gc.collect()

    with install():
        asyncio.run(main())
        gc.collect()
    assert [c["message"] for c in contexts] == ["Task exception was never retrieved"]
    assert _records(captured) == []


def test_on_error_gets_the_failure_with_its_context() -> None:
    failures: list[Failure] = []
    with install(on_error=failures.append):
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(_fail)  # SPAWN-here
        gc.collect()
    (failure,) = failures
    assert isinstance(failure.exception, ValueError)
    assert failure.worker == f"{__name__}._fail"
    assert failure.caught_by == "install"
    assert failure.spawn_site is not None
    assert failure.spawn_site.function == "test_on_error_gets_the_failure_with_its_context"
    assert failure.spawn_site.file == __file__


def test_install_is_loaded_on_first_use_only() -> None:
    import subprocess
    import sys

    script = (
        "import sys, unguarded_workers; print('asyncio' in sys.modules); "
        "unguarded_workers.install; print('asyncio' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "True"]
    assert "install" in unguarded_workers.__all__


# pytest's own thread-exception hook, which install() chains to, turns the failure into this warning.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_subclass_that_overrides_start_is_sited_where_it_is_started(captured: Any) -> None:
    class Service(threading.Thread):
        def start(self) -> None:
            self.ready = True
            super().start()

        def run(self) -> None:
            raise ValueError("x")

    with install():
        service = Service()
        service.start()  # STARTED-HERE
        service.join()
    (record,) = _records(captured)
    lines = Path(__file__).read_text().splitlines()
    assert record.spawn_line == next(n for n, text in enumerate(lines, 1) if text.endswith("# STARTED-HERE"))  # type: ignore[attr-defined]
    assert record.worker.endswith("Service.run")  # type: ignore[attr-defined]


def test_installed_inside_a_running_loop_it_covers_that_loop() -> None:
    failures: list[Failure] = []

    async def fails() -> None:
        raise ValueError("late")

    async def main() -> None:
        net = install(on_error=failures.append)
        try:
            asyncio.get_running_loop().create_task(fails(), name="late-task")  # dropped on purpose
            await asyncio.sleep(0.01)
            gc.collect()
        finally:
            net.uninstall()

    asyncio.run(main())
    (failure,) = failures
    assert (failure.task, str(failure.exception)) == ("late-task", "late")
    assert failure.spawn_site is not None
    assert failure.spawn_site.function == "main"


def test_a_run_in_executor_failure_is_reported_once_with_its_site() -> None:
    """Its concurrent future is read by asyncio (which copies the failure over); its asyncio
    future, never awaited, is the one reported."""
    failures: list[Failure] = []

    async def main() -> None:
        asyncio.get_running_loop().run_in_executor(None, _fail)  # SPAWN-EXECUTOR
        await asyncio.sleep(0.1)
        gc.collect()

    with install(on_error=failures.append):
        asyncio.run(main())
        gc.collect()
    (failure,) = failures
    assert failure.worker == f"{__name__}._fail"
    assert failure.spawn_site is not None
    lines = Path(__file__).read_text().splitlines()
    assert failure.spawn_site.line == next(n for n, t in enumerate(lines, 1) if t.endswith("# SPAWN-EXECUTOR"))
