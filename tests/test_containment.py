"""The guard contains everything: a worker never dies of its own report, and a guarded task
is not garbage-collected while it waits."""

from __future__ import annotations

import asyncio
import gc
import logging
import subprocess
import sys
import threading
import weakref
from collections.abc import Iterator
from typing import Any

import pytest

from unguarded_workers import Failure, set_error_handler, supervise, wrap


@pytest.fixture(autouse=True)
def _no_global_handler() -> Iterator[None]:
    previous = set_error_handler(None)
    yield
    set_error_handler(previous)


class RaisingHandler(logging.Handler):
    """A handler whose emit raises, as a broken network or file handler may: legal, since
    Handler.handle does not catch what emit raises."""

    def emit(self, record: logging.LogRecord) -> None:
        raise OSError("log server unreachable")


@pytest.fixture
def raising_log() -> Iterator[None]:
    logger = logging.getLogger("unguarded_workers")
    handler = RaisingHandler()
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)


def _fail() -> None:
    raise ValueError("worker failed")


def test_a_raising_log_handler_does_not_kill_the_thread_or_poison_the_future(
    raising_log: None, capfd: pytest.CaptureFixture[str]
) -> None:
    died: list[Any] = []
    previous_hook = threading.excepthook
    threading.excepthook = died.append
    try:
        thread = threading.Thread(target=wrap(_fail))
        thread.start()
        thread.join()
    finally:
        threading.excepthook = previous_hook
    assert died == []
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(wrap(_fail, default="contained")).result() == "contained"
    # The last resort: one line on the interpreter's stderr, with the failure and why.
    err = capfd.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("unguarded-workers: worker ")]
    assert len(lines) == 2
    assert "test_containment._fail failed" in lines[0]
    assert "ValueError: worker failed" in lines[0]
    assert lines[0].endswith("(the report failed: OSError: log server unreachable)")


def test_an_on_error_handler_that_raises_falls_back_to_the_log_then_to_stderr(
    raising_log: None, capfd: pytest.CaptureFixture[str]
) -> None:
    def broken(failure: Failure) -> None:
        raise RuntimeError("tracker down")

    assert wrap(_fail, on_error=broken, default=1)() == 1
    err = capfd.readouterr().err
    assert "ValueError: worker failed" in err
    assert "(the report failed: OSError: log server unreachable)" in err


class Hostile:
    """A worker whose repr and str raise."""

    def __call__(self) -> None:
        raise ValueError("hostile worker failed")

    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    __str__ = __repr__


class HostileError(Exception):
    def __str__(self) -> str:
        raise RuntimeError("no str")

    __repr__ = __str__


class Nameless:
    def __getattribute__(self, name: str) -> Any:
        if name in ("__qualname__", "__module__", "__name__"):
            raise RuntimeError(f"no {name}")
        return super().__getattribute__(name)


def test_a_worker_and_an_exception_that_cannot_be_described_are_still_reported(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, logger="unguarded_workers")
    assert wrap(Hostile(), default="contained")() == "contained"

    def raises_hostile() -> None:
        raise HostileError

    assert wrap(raises_hostile, default="again")() == "again"
    first, second = (r.getMessage() for r in caplog.records if r.name == "unguarded_workers")
    assert first.startswith("worker test_containment.Hostile failed in thread ")
    assert second.endswith("HostileError: <str() of the exception failed: RuntimeError>")
    # Even a worker whose name cannot be read is described.
    from unguarded_workers.runtime.failure import describe

    assert describe(Nameless()) == "<Nameless object>"


def test_a_report_that_cannot_even_reach_stderr_is_dropped_silently() -> None:
    """The worker's own failure path must not raise, whatever is broken around it."""
    script = (
        "import logging, sys\n"
        "from unguarded_workers import wrap\n"
        "class Broken(logging.Handler):\n"
        "    def emit(self, record):\n"
        "        raise OSError('no log')\n"
        "logging.getLogger('unguarded_workers').addHandler(Broken())\n"
        "sys.__stderr__.close()\n"
        "def work():\n"
        "    raise ValueError('x')\n"
        "print(wrap(work, default='contained')(), flush=True)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60)
    assert result.stdout == "contained\n"


def test_supervise_survives_a_raising_log_handler(raising_log: None, capfd: pytest.CaptureFixture[str]) -> None:
    calls: list[int] = []

    def flaky() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise TimeoutError("again")
        return "done"

    assert supervise(flaky, backoff=0.001)() == "done"
    assert capfd.readouterr().err.count("(the report failed: OSError: log server unreachable)") == 2


# -- guarded tasks stay referenced --------------------------------------------------------------

_futures: list[weakref.ref[asyncio.Future[str]]] = []


async def _waits_on_a_future_nothing_else_holds(finished: list[str]) -> None:
    future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    _futures.append(weakref.ref(future))
    finished.append(await future)


@pytest.mark.parametrize("form", ["coroutine", "supervised"])
def test_a_guarded_task_nothing_references_is_not_collected_while_it_waits(form: str) -> None:
    """asyncio holds tasks weakly: without the guard's reference, gc.collect() destroys the
    task ("Task was destroyed but it is pending!") and the work never finishes."""

    async def main() -> list[str]:
        finished: list[str] = []
        _futures.clear()
        if form == "coroutine":
            asyncio.create_task(wrap(_waits_on_a_future_nothing_else_holds(finished)))  # noqa: RUF006
        else:
            asyncio.create_task(supervise(_waits_on_a_future_nothing_else_holds)(finished))  # noqa: RUF006
        await asyncio.sleep(0.01)
        gc.collect()
        future = _futures[0]()
        assert future is not None, "the task and its future were collected"
        future.set_result("resumed")
        await asyncio.sleep(0.01)
        return finished

    assert asyncio.run(main()) == ["resumed"]


def test_the_reference_is_dropped_when_the_task_ends() -> None:
    from unguarded_workers.runtime import held_tasks

    async def quick() -> None:
        await asyncio.sleep(0)

    async def cancelled() -> None:
        await asyncio.sleep(10)

    async def main() -> None:
        await asyncio.create_task(wrap(quick()))
        await asyncio.create_task(wrap(_fail_async()))
        task = asyncio.create_task(wrap(cancelled()))
        await asyncio.sleep(0)
        assert task in held_tasks._running
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        await wrap(quick)()  # awaited inside this task: nothing held for it

    asyncio.run(main())
    assert held_tasks._running == set()


async def _fail_async() -> None:
    raise ValueError("contained")
