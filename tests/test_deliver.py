"""`deliver=`: a contained failure reaches whoever waits for the worker's result.

The fan-out program (tests/programs/fanout.py) is the incident of issue 18: a handler waits
for its workers' results while one of them fails. Without a guard, and with `wrap()` alone,
it never answers; with `deliver=` it answers 500 at once, the failure carrying its spawn site.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import pickle
import queue
import subprocess
import sys
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from runtime_workers import fail

from unguarded_workers import Failure, supervise, wrap

ROOT = Path(__file__).resolve().parent.parent
FANOUT = ROOT / "tests" / "programs" / "fanout.py"


def fanout(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "runtime" / "src")}
    return subprocess.run(
        [sys.executable, str(FANOUT), *args], capture_output=True, text=True, check=False, timeout=60, env=env
    )


def spawn_line(shape: str) -> int:
    lines = FANOUT.read_text().splitlines()
    return next(n for n, text in enumerate(lines, 1) if text.rstrip().endswith(f"# SPAWN-{shape}"))


@pytest.mark.parametrize("shape", ["threads", "executor", "tasks"])
def test_the_handler_of_a_fan_out_answers_500_at_once_with_deliver(shape: str) -> None:
    result = fanout("deliver", shape)
    assert result.returncode == 0, result.stderr
    answer = result.stdout.strip()
    assert answer.startswith("500 ValueError: bad input 'bad' [spawned at "), answer
    function = {"threads": "handle_threads", "executor": "handle_executor", "tasks": "handle_tasks"}[shape]
    assert answer.endswith(f"fanout.py:{spawn_line(shape)} in {function} (wrap)]"), answer
    # Contained and reported as before: the log line names the worker and the spawn site.
    assert f"fanout.py:{spawn_line(shape)} in {function}): ValueError: bad input 'bad'" in result.stderr


@pytest.mark.parametrize("guard", ["bare", "wrap"])
@pytest.mark.parametrize("shape", ["threads", "executor", "tasks"])
def test_without_deliver_the_handler_waits_for_a_worker_that_died(guard: str, shape: str) -> None:
    """The outage: wrap() logs and contains the failure, and the handler still waits."""
    result = fanout(guard, shape)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "no answer after 2 s"


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is new in 3.11")
def test_a_task_groups_children_propagate_and_wrap_turns_the_500_into_a_wrong_total() -> None:
    honest = fanout("--install", "bare", "taskgroup")
    assert honest.stdout.startswith("500 ValueError: bad input 'bad' [spawned at "), honest.stdout
    assert f"fanout.py:{spawn_line('taskgroup')} in " in honest.stdout
    assert honest.stdout.rstrip().endswith("(asyncio.TaskGroup.create_task)]")
    wrong = fanout("wrap", "taskgroup")
    assert wrong.stdout.strip() == "200 total=14"  # 2 + 4 + 8, the failed child counted as 0
    refused = fanout("deliver", "taskgroup")
    assert refused.returncode == 2
    assert "let their failure propagate" in refused.stderr


# -- each kind of target, in this process --------------------------------------------------------


def _quiet(failure: Failure) -> None:
    pass


def test_a_future_gets_the_exception_with_its_note() -> None:
    done: Future[int] = Future()
    thread = threading.Thread(target=wrap(fail, deliver=done, on_error=_quiet), args=("to a future",))  # SPAWN-F
    thread.start()
    with pytest.raises(ValueError, match="to a future") as raised:
        done.result(timeout=10)
    thread.join()
    line = next(n for n, t in enumerate(Path(__file__).read_text().splitlines(), 1) if t.endswith("# SPAWN-F"))
    expected = f"spawned at {__file__}:{line} in test_a_future_gets_the_exception_with_its_note (wrap)"
    assert raised.value.__notes__ == [expected]


def test_a_queue_gets_the_failure_and_a_cancelled_future_is_left_alone() -> None:
    results: queue.Queue[Any] = queue.Queue()
    assert wrap(fail, deliver=results, on_error=_quiet, default="contained")("to a queue") == "contained"
    failure = results.get_nowait()
    assert isinstance(failure, Failure)
    assert (str(failure.exception), failure.caught_by, failure.worker) == ("to a queue", "wrap", "runtime_workers.fail")
    simple: queue.SimpleQueue[Any] = queue.SimpleQueue()
    wrap(fail, deliver=simple, on_error=_quiet)()
    assert isinstance(simple.get_nowait(), Failure)
    gone: Future[int] = Future()
    gone.cancel()
    wrap(fail, deliver=gone, on_error=_quiet)()  # the waiter stopped waiting: nothing to release
    assert gone.cancelled()


def test_an_event_is_set_and_a_callable_is_called() -> None:
    event = threading.Event()
    wrap(fail, deliver=event, on_error=_quiet)()
    assert event.is_set()
    seen: list[Failure] = []
    wrap(fail, deliver=seen.append, on_error=_quiet)("called")
    assert [str(f.exception) for f in seen] == ["called"]


def test_asyncio_targets_are_delivered_through_their_loop_from_another_thread() -> None:
    async def main() -> tuple[Any, Any, bool]:
        future = asyncio.get_running_loop().create_future()
        results: asyncio.Queue[Any] = asyncio.Queue()
        event = asyncio.Event()
        # Waiters already waiting: the queue and the event are bound to this loop.
        getter = asyncio.ensure_future(results.get())
        waiter = asyncio.ensure_future(event.wait())
        await asyncio.sleep(0)
        with ThreadPoolExecutor(max_workers=3) as pool:
            for target in (future, results, event):
                pool.submit(wrap(fail, deliver=target, on_error=_quiet), "across threads")
            delivered = await asyncio.wait_for(getter, 10)
            await asyncio.wait_for(waiter, 10)
            with pytest.raises(ValueError, match="across threads"):
                await asyncio.wait_for(future, 10)
        return delivered, future.exception(), event.is_set()

    delivered, exception, is_set = asyncio.run(main())
    assert isinstance(delivered, Failure)
    assert str(exception) == "across threads"
    assert is_set


def test_a_task_delivers_in_its_own_loop() -> None:
    async def failing() -> None:
        await asyncio.sleep(0)
        raise KeyError("in a task")

    async def main() -> BaseException | None:
        future = asyncio.get_running_loop().create_future()
        asyncio.create_task(wrap(failing(), deliver=future, on_error=_quiet))  # noqa: RUF006
        await asyncio.wait([future], timeout=10)
        return future.exception()

    assert isinstance(asyncio.run(main()), KeyError)


def test_a_delivery_that_fails_is_reported_and_the_worker_is_still_contained() -> None:
    seen: list[Failure] = []

    def broken_callback(failure: Failure) -> None:
        raise RuntimeError("the waiter is gone")

    loop = asyncio.new_event_loop()
    future = loop.create_future()
    loop.close()
    assert wrap(fail, deliver=future, on_error=seen.append, default=7)() == 7
    assert wrap(fail, deliver=broken_callback, on_error=seen.append, default=8)() == 8
    assert [type(f.exception).__name__ for f in seen] == ["ValueError", "RuntimeError", "ValueError", "RuntimeError"]
    assert "closed" in str(seen[1].exception)


def test_what_cannot_be_delivered_to_is_refused_at_the_spawn_line() -> None:
    with pytest.raises(
        TypeError, match=r"wrap\(deliver=...\) takes a future, a queue, an event or a callable, not int"
    ):
        wrap(fail, deliver=42)
    with pytest.raises(TypeError, match=r"supervise\(deliver=...\) takes"):
        supervise(fail, deliver="a string")


def test_a_guard_with_a_multiprocessing_queue_pickles_and_delivers_from_a_child() -> None:
    ctx = multiprocessing.get_context("spawn")
    results = ctx.Queue()
    guarded = wrap(fail, deliver=results, on_error=_quiet)
    process = ctx.Process(target=guarded, args=("in a child",))
    process.start()
    failure = results.get(timeout=60)
    process.join(timeout=60)
    assert isinstance(failure, Failure)
    assert str(failure.exception) == "in a child"
    assert failure.exception.__notes__[0].endswith("(wrap)")  # the note crossed the process boundary
    assert process.exitcode == 1  # a process's failure still ends it non-zero
    assert pickle.loads(pickle.dumps(wrap(fail, deliver=_quiet))).__wrapped__ is fail


def test_an_unpicklable_failure_reaches_a_multiprocessing_queue_as_a_stand_in() -> None:
    class Unpicklable(Exception):
        def __reduce__(self) -> Any:
            raise TypeError("not today")

    def raises() -> None:
        raise Unpicklable("local class")

    results = multiprocessing.get_context("spawn").Queue()
    wrap(raises, deliver=results, on_error=_quiet)()
    failure = results.get(timeout=30)
    assert type(failure.exception) is Exception
    assert str(failure.exception) == "Unpicklable: local class"
    assert failure.exception.__notes__[0].startswith("spawned at ")


# -- supervise: delivers when it gives up -------------------------------------------------------


def test_supervise_delivers_the_last_failure_when_it_gives_up_not_before() -> None:
    results: queue.Queue[Any] = queue.Queue()
    attempts: list[int] = []

    def flaky() -> None:
        attempts.append(1)
        raise TimeoutError(f"attempt {len(attempts)}")

    guarded = supervise(flaky, restarts=2, backoff=0.001, deliver=results, on_give_up=lambda f: "gave up")
    assert guarded.__wrapped__ is flaky
    thread = threading.Thread(target=guarded)
    thread.start()
    failure = results.get(timeout=10)
    thread.join()
    assert len(attempts) == 3
    assert str(failure.exception) == "attempt 3"
    assert results.empty()  # the restarted failures were not delivered
    assert failure.exception.__notes__[0].endswith("(supervise)")


def test_supervise_raise_carries_the_spawn_note() -> None:
    with pytest.raises(ValueError, match="boom") as raised:
        supervise(fail, restarts=0, on_give_up="raise", on_error=_quiet)()  # SPAWN-R
    line = next(n for n, t in enumerate(Path(__file__).read_text().splitlines(), 1) if t.endswith("# SPAWN-R"))
    assert raised.value.__notes__ == [
        f"spawned at {__file__}:{line} in test_supervise_raise_carries_the_spawn_note (supervise)"
    ]
