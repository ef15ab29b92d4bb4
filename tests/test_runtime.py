"""`wrap()` through the real concurrency APIs: threads, processes, executors, asyncio, anyio, trio."""

from __future__ import annotations

import asyncio
import functools
import inspect
import logging
import multiprocessing
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import anyio
import pytest
import trio
from runtime_workers import RecordTo, calls_a_guard, double, fail, fail_async, fail_logging_to, succeed_logging_to

from unguarded_workers import Failure, SpawnSite, set_error_handler, wrap

THIS_FILE = str(Path(__file__))


def guarded_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name == "unguarded_workers"]


def line_of(marker: str) -> int:
    """The line of this file holding `marker` (where a test calls wrap())."""
    for number, line in enumerate(Path(__file__).read_text().splitlines(), start=1):
        if marker in line and "line_of(" not in line:
            return number
    raise AssertionError(marker)


@pytest.fixture(autouse=True)
def _no_global_handler() -> Iterator[None]:
    previous = set_error_handler(None)
    yield
    set_error_handler(previous)


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="unguarded_workers")
    return caplog


# -- the report ------------------------------------------------------------------------------


def test_thread_failure_is_logged_with_traceback_worker_thread_and_spawn_site(logged: Any) -> None:
    thread = threading.Thread(target=wrap(fail), args=("in a thread",), name="poller")  # SPAWN-THREAD
    thread.start()
    thread.join()
    (record,) = guarded_records(logged)
    assert record.levelno == logging.ERROR
    assert record.exc_info is not None
    assert record.exc_info[0] is ValueError
    assert record.worker == "runtime_workers.fail"  # type: ignore[attr-defined]
    assert record.worker_context == "thread 'poller'"  # type: ignore[attr-defined]
    assert record.spawn_site == f"{THIS_FILE}:{line_of('SPAWN-THREAD')}"  # type: ignore[attr-defined]
    assert record.spawn_file == THIS_FILE  # type: ignore[attr-defined]
    message = record.getMessage()
    assert "runtime_workers.fail" in message
    assert "poller" in message
    assert "in a thread" in message


def test_thread_success_logs_nothing(logged: Any) -> None:
    results: list[int] = []
    thread = threading.Thread(target=wrap(lambda: results.append(double(2))))
    thread.start()
    thread.join()
    assert results == [4]
    assert guarded_records(logged) == []


def test_timer(logged: Any) -> None:
    ran = threading.Event()
    ok = threading.Timer(0.01, wrap(ran.set))
    bad = threading.Timer(0.01, wrap(fail))
    ok.start()
    bad.start()
    ok.join()
    bad.join()
    assert ran.is_set()
    assert [r.worker for r in guarded_records(logged)] == ["runtime_workers.fail"]  # type: ignore[attr-defined]


class FailingThread(threading.Thread):
    @wrap
    def run(self) -> None:
        raise RuntimeError(f"{self.name} failed")


class WorkingThread(threading.Thread):
    result: int | None = None

    @wrap(default=-1)
    def run(self) -> None:
        self.result = double(21)


def test_thread_subclass_with_wrapped_run(logged: Any) -> None:
    failing, working = FailingThread(name="sub"), WorkingThread()
    for thread in (failing, working):
        thread.start()
        thread.join()
    assert working.result == 42
    (record,) = guarded_records(logged)
    assert "sub failed" in record.getMessage()
    assert record.worker == "test_runtime.FailingThread.run"  # type: ignore[attr-defined]


def test_keyboard_interrupt_passes_through_a_thread(logged: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[type[BaseException]] = []
    monkeypatch.setattr(threading, "excepthook", lambda args: seen.append(args.exc_type))

    def interrupted() -> None:
        raise KeyboardInterrupt

    thread = threading.Thread(target=wrap(interrupted))
    thread.start()
    thread.join()
    assert seen == [KeyboardInterrupt]
    assert guarded_records(logged) == []


# -- processes ---------------------------------------------------------------------------------


def test_process_with_spawn_start_method(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("spawn")
    failed_log, ok_log = tmp_path / "failed.log", tmp_path / "ok.log"
    failing = ctx.Process(target=wrap(fail_logging_to), args=(str(failed_log),))  # SPAWN-PROCESS
    working = ctx.Process(target=wrap(succeed_logging_to), args=(str(ok_log),))
    for process in (failing, working):
        process.start()
    for process in (failing, working):
        process.join(timeout=60)
    # Reported, and the process still ends with a failure status its supervisor can read.
    assert (failing.exitcode, working.exitcode) == (1, 0)
    child_log = failed_log.read_text()
    assert f"ERROR {THIS_FILE}:{line_of('SPAWN-PROCESS')} worker runtime_workers.fail_logging_to failed" in child_log
    assert "of process 'SpawnProcess-" in child_log
    assert "ValueError: child failed" in child_log
    assert "Traceback" in child_log
    assert ok_log.read_text() == "child ran\n"


@pytest.mark.skipif(sys.platform == "win32", reason="fork is POSIX-only")
def test_process_target_and_run_exit_non_zero_under_fork(tmp_path: Path) -> None:
    ctx = multiprocessing.get_context("fork")
    report = tmp_path / "report.txt"
    target = ctx.Process(target=wrap(fail, on_error=RecordTo(str(report))), args=("target",))
    target.start()
    target.join(timeout=60)
    assert target.exitcode == 1
    assert report.read_text() == "ValueError: target\n"

    class Job(ctx.Process):  # type: ignore[name-defined, misc]
        @wrap(on_error=RecordTo(str(report)))
        def run(self) -> None:
            fail("run")

    job = Job()
    job.start()
    job.join(timeout=60)
    assert job.exitcode == 1
    assert report.read_text() == "ValueError: run\n"


def test_a_guard_called_in_a_process_by_other_code_returns(tmp_path: Path) -> None:
    """Only the process's own target exits: a guard the target calls returns as usual."""
    ctx = multiprocessing.get_context("fork")
    process = ctx.Process(target=calls_a_guard, args=(str(tmp_path / "out.txt"),))
    process.start()
    process.join(timeout=60)
    assert process.exitcode == 0
    assert (tmp_path / "out.txt").read_text() == "None\n"


def test_process_pool_executor(tmp_path: Path) -> None:
    report = tmp_path / "report.txt"
    with ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn")) as pool:
        failed = pool.submit(wrap(fail, on_error=RecordTo(str(report))), "in a child")
        fine = pool.submit(wrap(double), 21)
        assert failed.result(timeout=60) is None
        assert fine.result(timeout=60) == 42
    assert report.read_text() == "ValueError: in a child\n"


def test_wrapped_callable_pickles_like_its_target() -> None:
    guarded = wrap(double)
    clone = pickle.loads(pickle.dumps(guarded))
    assert clone(4) == 8
    assert clone.__name__ == "double"
    assert clone.__wrapped__ is double
    with pytest.raises((pickle.PicklingError, AttributeError, TypeError)):
        pickle.dumps(wrap(lambda: None))  # a lambda never pickles, wrapped or not


# -- executors ---------------------------------------------------------------------------------


def test_thread_pool_executor(logged: Any) -> None:
    with ThreadPoolExecutor(max_workers=2) as executor:
        failed = executor.submit(wrap(fail), "pooled")
        with_default = executor.submit(wrap(fail, default="fallback"))
        fine = executor.submit(wrap(double), 5)
        assert (failed.result(), with_default.result(), fine.result()) == (None, "fallback", 10)
    assert len(guarded_records(logged)) == 2
    assert guarded_records(logged)[0].worker_context.startswith("thread 'ThreadPoolExecutor-")  # type: ignore[attr-defined]


def test_run_in_executor(logged: Any) -> None:
    async def main() -> tuple[Any, Any]:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, wrap(fail)), await loop.run_in_executor(None, wrap(double), 3)

    assert asyncio.run(main()) == (None, 6)
    assert len(guarded_records(logged)) == 1


# -- asyncio -----------------------------------------------------------------------------------


async def failing_coro(message: str = "task failed") -> None:
    await asyncio.sleep(0)
    raise ValueError(message)


def test_create_task_with_wrapped_coroutine(logged: Any) -> None:
    async def main() -> Any:
        task = asyncio.create_task(wrap(failing_coro()), name="consumer")  # SPAWN-TASK
        fine = asyncio.create_task(wrap(asyncio.sleep(0, result="ok")))
        return await task, await fine

    assert asyncio.run(main()) == (None, "ok")
    (record,) = guarded_records(logged)
    assert record.worker == f"{__name__}.failing_coro()"  # type: ignore[attr-defined]
    assert record.worker_context.startswith("task 'consumer' in thread")  # type: ignore[attr-defined]
    assert record.spawn_site.endswith(f":{line_of('SPAWN-TASK')}")  # type: ignore[attr-defined]


def test_wrapped_async_function_is_a_coroutine_function() -> None:
    async def method_host() -> None: ...

    class Host:
        @wrap
        async def run(self) -> None: ...

    assert inspect.iscoroutinefunction(wrap(failing_coro))
    assert inspect.iscoroutinefunction(wrap(functools.partial(failing_coro, "x")))
    assert inspect.iscoroutinefunction(wrap(Host().run))
    assert inspect.iscoroutinefunction(Host().run)
    assert inspect.iscoroutinefunction(wrap(method_host))
    assert not inspect.iscoroutinefunction(wrap(double))


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is new in 3.11")
def test_asyncio_task_group_sibling_survives(logged: Any) -> None:
    async def main() -> list[str]:
        progress: list[str] = []

        async def sibling() -> None:
            for step in range(3):
                await asyncio.sleep(0.01)
                progress.append(f"step {step}")

        async with asyncio.TaskGroup() as tg:  # type: ignore[attr-defined]
            tg.create_task(wrap(failing_coro("child failed")))
            tg.create_task(sibling())
        return progress

    assert asyncio.run(main()) == ["step 0", "step 1", "step 2"]
    assert "child failed" in guarded_records(logged)[0].getMessage()


def test_asyncio_cancellation_passes_through(logged: Any) -> None:
    async def main() -> bool:
        started = asyncio.Event()

        async def forever() -> None:
            started.set()
            await asyncio.sleep(60)

        task = asyncio.create_task(wrap(forever()))
        await started.wait()
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            return task.cancelled()
        return False

    assert asyncio.run(main()) is True
    assert guarded_records(logged) == []


# -- anyio and trio ----------------------------------------------------------------------------


async def failing_child(message: str) -> None:
    await anyio.sleep(0)
    raise ValueError(message)


async def child_with_status(value: str, *, task_status: Any) -> None:
    task_status.started(value)
    await anyio.sleep(0)
    raise ValueError(f"{value} failed after starting")


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_anyio_task_group(logged: Any, backend: str) -> None:
    async def main() -> tuple[list[str], Any]:
        progress: list[str] = []

        async def sibling() -> None:
            for step in range(3):
                await anyio.sleep(0.01)
                progress.append(f"step {step}")

        async with anyio.create_task_group() as tg:
            tg.start_soon(wrap(failing_child), "soon")
            started = await tg.start(wrap(child_with_status), "started")
            tg.start_soon(sibling)
        return progress, started

    assert anyio.run(main, backend=backend) == (["step 0", "step 1", "step 2"], "started")
    messages = sorted(r.getMessage() for r in guarded_records(logged))
    assert len(messages) == 2
    assert "soon" in messages[1]
    assert "started failed after starting" in messages[0]


def test_anyio_cancellation_passes_through(logged: Any) -> None:
    async def main() -> None:
        async def forever() -> None:
            await anyio.sleep(60)

        async with anyio.create_task_group() as tg:
            tg.start_soon(wrap(forever))
            await anyio.sleep(0.01)
            tg.cancel_scope.cancel()

    anyio.run(main)
    assert guarded_records(logged) == []


def test_trio_nursery(logged: Any) -> None:
    async def main() -> tuple[list[str], Any]:
        progress: list[str] = []

        async def sibling() -> None:
            for step in range(3):
                await trio.sleep(0.01)
                progress.append(f"step {step}")

        async with trio.open_nursery() as nursery:
            nursery.start_soon(wrap(failing_child), "soon")
            started = await nursery.start(wrap(child_with_status), "started")
            nursery.start_soon(sibling)
        return progress, started

    assert trio.run(main) == (["step 0", "step 1", "step 2"], "started")
    records = guarded_records(logged)
    assert len(records) == 2
    assert all(r.worker_context.startswith("task '") for r in records if "started" in r.getMessage())  # type: ignore[attr-defined]


def test_trio_cancellation_passes_through(logged: Any) -> None:
    async def main() -> bool:
        with trio.move_on_after(0.01) as scope:
            await wrap(trio.sleep)(60)
        return scope.cancelled_caught

    assert trio.run(main) is True
    assert guarded_records(logged) == []


# -- handlers, metadata, idempotence ------------------------------------------------------------


def test_on_error_replaces_the_log(logged: Any) -> None:
    seen: list[Failure] = []
    assert wrap(fail, on_error=seen.append, default=0)("handled") == 0
    assert [str(f.exception) for f in seen] == ["handled"]
    assert guarded_records(logged) == []


def test_a_handler_gets_the_failure_with_its_context() -> None:
    seen: list[Failure] = []

    async def main() -> None:
        await asyncio.create_task(wrap(fail_async("in a task"), on_error=seen.append), name="consumer")  # SPAWN-CTX

    asyncio.run(main())
    thread = threading.Thread(target=wrap(fail, on_error=seen.append), args=("in a thread",), name="poller")
    thread.start()
    thread.join()
    in_task, in_thread = seen
    assert isinstance(in_task.exception, ValueError)
    assert str(in_task.exception) == "in a task"
    assert in_task.worker == "runtime_workers.fail_async()"
    assert in_task.spawn_site == SpawnSite(THIS_FILE, line_of("SPAWN-CTX"), "main")
    assert (in_task.task, in_task.thread, in_task.process) == ("consumer", "MainThread", None)
    assert in_task.caught_by == "wrap"
    assert in_task.context() == {
        "worker": "runtime_workers.fail_async()",
        "spawn_site": f"{THIS_FILE}:{line_of('SPAWN-CTX')} in main",
        "thread": "MainThread",
        "task": "consumer",
        "caught_by": "wrap",
    }
    assert (in_thread.worker, in_thread.thread, in_thread.task) == ("runtime_workers.fail", "poller", None)
    assert in_thread.where == "thread 'poller'"


def test_process_wide_handler_and_per_call_precedence(logged: Any) -> None:
    global_seen: list[str] = []
    local_seen: list[str] = []
    set_error_handler(lambda failure: global_seen.append(str(failure.exception)))
    wrap(fail)("to the global handler")
    wrap(fail, on_error=lambda failure: local_seen.append(str(failure.exception)))("to the local one")
    assert (global_seen, local_seen) == (["to the global handler"], ["to the local one"])
    assert set_error_handler(None) is not None
    wrap(fail)("back to the log")
    assert [r.getMessage().endswith("back to the log") for r in guarded_records(logged)] == [True]


def test_a_failing_handler_is_logged_and_containment_holds(logged: Any) -> None:
    def broken(failure: Failure) -> None:
        raise RuntimeError("tracker down")

    assert wrap(fail, on_error=broken, default="contained")() == "contained"
    messages = [r.getMessage() for r in guarded_records(logged)]
    assert len(messages) == 2
    assert "boom" in messages[0]
    assert "tracker down" in str(guarded_records(logged)[1].exc_info[1])


def test_metadata_and_idempotence() -> None:
    guarded = wrap(double)
    assert (guarded.__name__, guarded.__qualname__, guarded.__doc__, guarded.__wrapped__) == (
        "double",
        "double",
        None,
        double,
    )
    assert wrap(guarded) is guarded
    inner = failing_coro()
    coro = wrap(inner)
    assert wrap(coro) is coro
    coro.close()
    inner.close()
    rewrapped = wrap(wrap(fail), default=5)
    assert rewrapped.__wrapped__ is fail
    assert rewrapped() == 5


def test_keyword_arguments_pass_through() -> None:
    def keyword_only(*, a: int, b: int = 0) -> int:
        return a + b

    assert wrap(keyword_only)(a=1, b=2) == 3


def test_only_callables_and_coroutines() -> None:
    with pytest.raises(TypeError, match="wrap\\(\\) takes a callable or a coroutine object, not int"):
        wrap(42)  # type: ignore[call-overload]


# -- edges ---------------------------------------------------------------------------------------


def test_an_exception_whose_str_fails_is_still_reported() -> None:
    """Through a real handler writing to a stream: no '--- Logging error ---', the report is there."""
    script = (
        "import logging, sys\n"
        "from unguarded_workers import wrap\n"
        "class Unprintable(Exception):\n"
        "    def __str__(self):\n"
        "        raise RuntimeError('no text for you')\n"
        "def work():\n"
        "    raise Unprintable()\n"
        "logging.basicConfig(stream=sys.stdout, format='%(levelname)s %(message)s')\n"
        "wrap(work)()\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=60)
    assert "Logging error" not in result.stdout + result.stderr
    assert "ERROR worker __main__.work failed" in result.stdout
    assert "Unprintable: <str() of the exception failed: RuntimeError>" in result.stdout
    assert "Traceback" in result.stdout


def _numbers() -> Iterator[int]:
    yield 1
    raise ValueError("during iteration")


async def _async_numbers() -> Any:
    yield 1


@pytest.mark.parametrize("target", [_numbers, _async_numbers, functools.partial(_numbers)])
def test_generator_functions_are_refused_with_the_reason(target: Any) -> None:
    with pytest.raises(TypeError, match=r"cannot guard the generator function .*guard that loop instead"):
        wrap(target)


def test_a_generator_function_cannot_be_decorated_either() -> None:
    with pytest.raises(TypeError, match="cannot guard the generator function"):

        @wrap
        def numbers() -> Iterator[int]:
            yield 1


async def _failing_worker() -> None:
    raise ValueError("in a coroutine")


def test_a_coroutine_worker_is_named_with_its_module(logged: Any) -> None:
    asyncio.run(wrap(_failing_worker()))
    (record,) = guarded_records(logged)
    assert record.worker == f"{__name__}._failing_worker()"  # type: ignore[attr-defined]


@pytest.mark.parametrize("kind", [staticmethod, classmethod])
def test_wrap_above_staticmethod_and_classmethod(kind: Any, logged: Any) -> None:
    class Service:
        @wrap
        @kind
        def job(*args: object) -> None:
            raise ValueError("in a method")

    assert Service.job() is None
    assert Service().job() is None
    assert len(guarded_records(logged)) == 2


def test_a_guarded_task_cancelled_before_it_starts_does_not_warn() -> None:
    """An unguarded task cancelled before its first step warns nothing; a guarded one must not either."""
    script = (
        "import asyncio, gc, warnings\n"
        "from unguarded_workers import wrap\n"
        "warnings.simplefilter('error')\n"
        "async def worker():\n"
        "    await asyncio.sleep(1)\n"
        "async def main():\n"
        "    task = asyncio.create_task(wrap(worker()))\n"
        "    task.cancel()\n"
        "    try:\n"
        "        await task\n"
        "    except asyncio.CancelledError:\n"
        "        pass\n"
        "asyncio.run(main())\n"
        "gc.collect()\n"
        "print('done')\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60)
    assert result.stdout == "done\n", result.stderr
    assert "never awaited" not in result.stderr


def test_a_guarded_tasks_repr_shows_the_worker() -> None:
    async def main() -> str:
        task = asyncio.create_task(wrap(_failing_worker()))
        shown = repr(task)
        await task
        return shown

    shown = asyncio.run(main())
    assert "_failing_worker" in shown
    assert "_GuardedCoroutine" not in shown
    assert "_await_guarded" not in shown


def test_a_guarded_coroutine_awaited_directly_contains_and_passes_cancellation(logged: Any) -> None:
    async def main() -> Any:
        contained = await wrap(_failing_worker())
        sleeper = asyncio.create_task(wrap(asyncio.sleep(10)))
        await asyncio.sleep(0)
        sleeper.cancel()
        with pytest.raises(asyncio.CancelledError):
            await sleeper
        return contained

    assert asyncio.run(main()) is None
    assert len(guarded_records(logged)) == 1
