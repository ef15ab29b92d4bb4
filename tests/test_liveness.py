"""`supervise(hung_after=...)` and `heartbeat()`: a worker that hangs instead of failing is noticed."""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
import traceback
from pathlib import Path
from typing import Any

import pytest
import trio

from unguarded_workers import Failure, WorkerHung, heartbeat, supervise

HUNG_AFTER = 0.3


def _line(marker: str) -> int:
    return next(n for n, text in enumerate(Path(__file__).read_text().splitlines(), 1) if text.endswith(marker))


@pytest.fixture
def logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    caplog.set_level(logging.INFO, logger="unguarded_workers")
    return caplog


def _messages(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "unguarded_workers"]


def test_heartbeat_outside_a_watched_worker_does_nothing() -> None:
    heartbeat()
    assert supervise(lambda: heartbeat() or "ran")() == "ran"  # supervised, but not watched


def test_a_slow_worker_that_beats_is_not_hung(logged: Any) -> None:
    def slow() -> str:
        for _ in range(8):
            heartbeat()
            time.sleep(HUNG_AFTER / 4)
        return "done"

    assert supervise(slow, hung_after=HUNG_AFTER)() == "done"
    assert _messages(logged) == []


def _stuck_until(release: threading.Event) -> str:
    heartbeat()
    release.wait(30)  # HUNG-HERE
    return "resumed"


def test_a_hung_thread_is_reported_with_its_stack_and_given_up(logged: Any) -> None:
    release = threading.Event()
    given_up: list[tuple[Failure, str]] = []
    results: queue.Queue[Any] = queue.Queue()

    def gave_up(failure: Failure) -> str:
        given_up.append((failure, threading.current_thread().name))
        return "fallback"

    worker = supervise(_stuck_until, hung_after=HUNG_AFTER, on_give_up=gave_up, deliver=results)  # SPAWN-HUNG
    outcome: list[Any] = []
    thread = threading.Thread(target=lambda: outcome.append(worker(release)), name="stuck")
    thread.start()
    delivered = results.get(timeout=30)  # the waiter is released while the thread still hangs
    assert thread.is_alive()
    assert isinstance(delivered.exception, WorkerHung)
    (failure, where) = given_up[0]
    assert failure is delivered
    assert where == "unguarded-workers-watchdog"  # the worker is stuck: on_give_up runs elsewhere
    assert (failure.thread, failure.caught_by, failure.worker) == ("stuck", "supervise", "test_liveness._stuck_until")
    # Its traceback is the worker's stack where it hangs.
    frames = traceback.extract_tb(failure.exception.__traceback__)
    assert (frames[0].name, frames[0].lineno) == ("_stuck_until", _line("# HUNG-HERE"))
    assert failure.exception.__notes__ == [
        f"spawned at {__file__}:{_line('# SPAWN-HUNG')} in test_a_hung_thread_is_reported_with_its_stack_and_given_up "
        "(supervise)"
    ]
    (message,) = _messages(logged)
    assert "): WorkerHung: no heartbeat for " in message
    assert message.endswith(
        f"s (hung_after={HUNG_AFTER:g}); a hung thread cannot be stopped: giving up: calling on_give_up"
    )
    release.set()
    thread.join(10)
    assert outcome == ["fallback"]  # what on_give_up returned, once the thread resumed
    assert len(given_up) == 1


def test_a_hung_thread_with_raise_raises_when_it_resumes() -> None:
    release = threading.Event()
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            supervise(_stuck_until, hung_after=HUNG_AFTER, on_give_up="raise", on_error=lambda f: None)(release)
        except BaseException as exc:
            outcome.append(exc)

    thread = threading.Thread(target=run)
    thread.start()
    time.sleep(HUNG_AFTER * 3)
    release.set()
    thread.join(10)
    assert [type(e) for e in outcome] == [WorkerHung]


# -- asyncio ---------------------------------------------------------------------------------------


def test_a_hung_task_is_cancelled_and_restarted(logged: Any) -> None:
    attempts: list[int] = []

    async def consume() -> str:
        attempts.append(1)
        heartbeat()
        if len(attempts) < 3:
            await asyncio.sleep(30)  # TASK-HUNG
        return f"consumed on attempt {len(attempts)}"

    async def main() -> str:
        return await asyncio.create_task(supervise(consume, hung_after=HUNG_AFTER, backoff=0.01)(), name="consumer")

    assert asyncio.run(main()) == "consumed on attempt 3"
    first, second = _messages(logged)
    assert "in task 'consumer' in thread 'MainThread'" in first
    assert "WorkerHung: no heartbeat for" in first
    assert "; cancelling it; restarting in " in first
    assert "(2 failures in 60 s, restarts=5)" in second
    record = next(r for r in logged.records if r.name == "unguarded_workers")
    assert record.exc_info is not None
    frames = traceback.extract_tb(record.exc_info[1].__traceback__)  # type: ignore[union-attr]
    assert (frames[0].name, frames[0].lineno) == ("consume", _line("# TASK-HUNG"))


def test_a_task_that_keeps_hanging_gives_up_and_raises_in_the_task() -> None:
    async def stuck() -> None:
        heartbeat()
        await asyncio.Event().wait()

    async def main() -> None:
        worker = supervise(stuck, hung_after=0.2, restarts=1, backoff=0.01, on_give_up="raise", on_error=lambda f: None)
        await asyncio.create_task(worker())

    started = time.monotonic()
    with pytest.raises(WorkerHung) as raised:
        asyncio.run(main())
    assert time.monotonic() - started < 20
    assert raised.value.__notes__[0].endswith("(supervise)")


def test_a_task_that_blocks_its_loop_is_given_up_from_the_watchdog() -> None:
    given_up: list[Failure] = []

    async def blocks() -> str:
        heartbeat()
        time.sleep(HUNG_AFTER * 4)  # BLOCKS-LOOP
        return "finished blocking"

    async def main() -> str:
        return await asyncio.create_task(supervise(blocks, hung_after=HUNG_AFTER, on_give_up=given_up.append)())

    result = asyncio.run(main())
    (failure,) = given_up
    assert str(failure.exception).endswith("; it blocks its event loop")
    frames = traceback.extract_tb(failure.exception.__traceback__)
    assert ("blocks", _line("# BLOCKS-LOOP")) in [(f.name, f.lineno) for f in frames]
    assert result is None  # on_give_up's result (list.append), not the worker's


def test_heartbeats_from_the_workers_child_tasks_count() -> None:
    async def parent() -> str:
        async def child() -> None:
            for _ in range(6):
                heartbeat()  # the child task copied the worker's context
                await asyncio.sleep(HUNG_AFTER / 3)

        await asyncio.create_task(child())
        return "alive"

    async def main() -> str:
        return await supervise(parent, hung_after=HUNG_AFTER, on_give_up="raise")()

    assert asyncio.run(main()) == "alive"


def test_an_external_cancellation_is_not_taken_for_a_hang() -> None:
    async def waits() -> None:
        heartbeat()
        await asyncio.sleep(30)

    async def main() -> bool:
        task = asyncio.create_task(supervise(waits, hung_after=5)())
        await asyncio.sleep(0.05)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        return task.cancelled()

    assert asyncio.run(main())


# -- trio ------------------------------------------------------------------------------------------


def test_a_hung_trio_task_is_cancelled_and_restarted(logged: Any) -> None:
    attempts: list[int] = []

    async def consume() -> str:
        attempts.append(1)
        heartbeat()
        if len(attempts) < 2:
            await trio.sleep(30)
        return "consumed"

    assert trio.run(supervise(consume, hung_after=HUNG_AFTER, backoff=0.01)) == "consumed"
    (message,) = _messages(logged)
    assert "; cancelling it; restarting in " in message


def test_hung_after_is_validated() -> None:
    for bad in (0, -1, "30", True):
        with pytest.raises(ValueError, match="hung_after"):
            supervise(time.sleep, hung_after=bad)  # type: ignore[arg-type]
