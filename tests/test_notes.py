"""Go's `created by`: an exception that escapes a worker carries its spawn site as a PEP 678 note,
`spawned at FILE:LINE in FUNCTION (HOW)`, exactly once."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from unguarded_workers import Failure, install, wrap
from unguarded_workers.runtime.failure import SpawnSite
from unguarded_workers.runtime.notes import add_spawn_note, spawn_note

LINES = Path(__file__).read_text().splitlines()
NOTE = re.compile(r"^spawned at (?P<file>.+):(?P<line>\d+) in (?P<function>\S+) \((?P<how>[\w.]+)\)$")


def _line(marker: str) -> int:
    return next(n for n, text in enumerate(LINES, 1) if text.endswith(marker))


def _note(marker: str, function: str, how: str) -> str:
    return f"spawned at {__file__}:{_line(marker)} in {function} ({how})"


def _fail(message: str = "boom") -> None:
    raise ValueError(message)


async def _fail_async(message: str = "boom") -> None:
    await asyncio.sleep(0)
    raise ValueError(message)


def test_the_note_has_the_shape_triage_parses() -> None:
    note = spawn_note(SpawnSite("/srv/app/jobs.py", 12, "start"), "asyncio.TaskGroup.create_task")
    assert note == "spawned at /srv/app/jobs.py:12 in start (asyncio.TaskGroup.create_task)"
    match = NOTE.match(note)
    assert match is not None
    assert match.group("how") == "asyncio.TaskGroup.create_task"


def test_one_note_per_exception_and_never_on_a_broken_notes_list() -> None:
    exc = ValueError("x")
    add_spawn_note(exc, SpawnSite("a.py", 1, "f"), "wrap")
    add_spawn_note(exc, SpawnSite("b.py", 2, "g"), "supervise")  # an outer layer: nothing more
    assert exc.__notes__ == ["spawned at a.py:1 in f (wrap)"]
    other = ValueError("y")
    other.__notes__ = ("not", "a list")  # type: ignore[assignment]
    add_spawn_note(other, SpawnSite("a.py", 1, "f"), "wrap")
    assert other.__notes__ == ("not", "a list")
    mine = ValueError("z")
    mine.__notes__ = ["the program's own note"]
    add_spawn_note(mine, SpawnSite("a.py", 1, "f"), "wrap")
    assert mine.__notes__ == ["the program's own note", "spawned at a.py:1 in f (wrap)"]


def test_a_contained_failure_is_not_noted_a_delivered_one_is() -> None:
    seen: list[Failure] = []
    wrap(_fail, on_error=seen.append)()
    assert not hasattr(seen[0].exception, "__notes__")  # contained: it escapes nothing
    results: list[Failure] = []
    wrap(_fail, on_error=seen.append, deliver=results.append)()  # NOTE-DELIVERED
    assert results[0].exception.__notes__ == [
        _note("# NOTE-DELIVERED", "test_a_contained_failure_is_not_noted_a_delivered_one_is", "wrap")
    ]


# -- under install(): what escapes a thread, a task, an executor job ----------------------------


@pytest.fixture
def net() -> Any:
    failures: list[Failure] = []
    with install(on_error=failures.append) as installed:
        yield failures
    assert not installed.active


# pytest's own thread-exception hook, which install() chains to, turns the failure into this warning.
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_a_thread_that_dies(net: list[Failure]) -> None:
    thread = threading.Thread(target=_fail, args=("in a thread",))
    thread.start()  # NOTE-THREAD
    thread.join()
    (failure,) = net
    assert failure.exception.__notes__ == [_note("# NOTE-THREAD", "test_a_thread_that_dies", "threading.Thread")]


def test_an_executor_jobs_exception_raised_by_result(net: list[Failure]) -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(_fail, "in a job")  # NOTE-SUBMIT
        with pytest.raises(ValueError, match="in a job") as raised:
            future.result()
        mapped = pool.map(_fail, ["mapped"])  # NOTE-MAP
        with pytest.raises(ValueError, match="mapped") as raised_by_map:
            list(mapped)
    function = "test_an_executor_jobs_exception_raised_by_result"
    assert raised.value.__notes__ == [_note("# NOTE-SUBMIT", function, "ThreadPoolExecutor.submit")]
    assert raised_by_map.value.__notes__ == [_note("# NOTE-MAP", function, "ThreadPoolExecutor.submit")]


def test_tasks_and_executor_jobs_of_a_loop(net: list[Failure]) -> None:
    notes: dict[str, list[str]] = {}

    async def main() -> None:
        for key, make in (
            ("create_task", lambda: asyncio.create_task(_fail_async())),  # NOTE-CREATE-TASK
            ("loop.create_task", lambda: asyncio.get_running_loop().create_task(_fail_async())),  # NOTE-LOOP-TASK
            ("ensure_future", lambda: asyncio.ensure_future(_fail_async())),  # NOTE-ENSURE
            ("gather", lambda: asyncio.gather(_fail_async())),  # NOTE-GATHER
            ("run_in_executor", lambda: asyncio.get_running_loop().run_in_executor(None, _fail)),  # NOTE-EXECUTOR
        ):
            try:
                await make()
            except ValueError as exc:
                notes[key] = exc.__notes__

    asyncio.run(main())
    assert notes == {
        "create_task": [_note("# NOTE-CREATE-TASK", "<lambda>", "asyncio.create_task")],
        "loop.create_task": [_note("# NOTE-LOOP-TASK", "<lambda>", "loop.create_task")],
        "ensure_future": [_note("# NOTE-ENSURE", "<lambda>", "asyncio.ensure_future")],
        "gather": [_note("# NOTE-GATHER", "<lambda>", "asyncio.gather")],
        "run_in_executor": [_note("# NOTE-EXECUTOR", "<lambda>", "loop.run_in_executor")],
    }


@pytest.mark.skipif(sys.version_info < (3, 9), reason="asyncio.to_thread is new in 3.9")
def test_to_thread_and_the_main_task(net: list[Failure]) -> None:
    async def main() -> list[str]:
        try:
            await asyncio.to_thread(_fail)  # NOTE-TO-THREAD
        except ValueError as exc:
            return exc.__notes__  # type: ignore[no-any-return]
        return []

    assert asyncio.run(main()) == [_note("# NOTE-TO-THREAD", "main", "asyncio.to_thread")]
    # The task asyncio.run makes fails into the line that called it: no note is needed there.
    with pytest.raises(ValueError, match="boom") as raised:
        asyncio.run(_fail_async())
    assert not hasattr(raised.value, "__notes__")


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is new in 3.11")
def test_each_task_group_child_is_noted_before_the_group_collects_it(net: list[Failure]) -> None:
    async def main() -> BaseException:
        try:
            async with asyncio.TaskGroup() as tg:  # type: ignore[attr-defined]
                for n in range(3):
                    tg.create_task(_fail_async(f"child {n}"))  # NOTE-GROUP
        except BaseException as group:
            return group
        raise AssertionError("the group did not fail")

    group = asyncio.run(main())
    expected = [_note("# NOTE-GROUP", "main", "asyncio.TaskGroup.create_task")]
    assert [e.__notes__ for e in group.exceptions] == [expected] * 3  # type: ignore[attr-defined]


def test_an_anyio_task_group_child_is_noted_at_its_start_soon_line(net: list[Failure]) -> None:
    anyio = pytest.importorskip("anyio")

    async def main() -> BaseException:
        try:
            async with anyio.create_task_group() as tg:
                tg.start_soon(_fail_async, "anyio child")  # NOTE-ANYIO
        except BaseException as group:
            return group
        raise AssertionError("the group did not fail")

    group = anyio.run(main)
    how = "anyio.TaskGroup.start_soon" if sys.version_info >= (3, 11) else "anyio.start_soon"  # no co_qualname
    assert [e.__notes__ for e in group.exceptions] == [[_note("# NOTE-ANYIO", "main", how)]]  # type: ignore[attr-defined]


def test_an_exception_passing_two_layers_keeps_the_inner_note(net: list[Failure]) -> None:
    async def main() -> list[str]:
        async def awaits_a_job() -> None:
            await asyncio.get_running_loop().run_in_executor(None, _fail)  # NOTE-INNER

        try:
            await asyncio.create_task(awaits_a_job())
        except ValueError as exc:
            return exc.__notes__  # type: ignore[no-any-return]
        return []

    assert asyncio.run(main()) == [_note("# NOTE-INNER", "awaits_a_job", "loop.run_in_executor")]


def test_a_worker_noted_in_a_process_pool_keeps_its_note_across(tmp_path: Path) -> None:
    script = (
        "import multiprocessing\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "import unguarded_workers\n"
        "unguarded_workers.install()\n"
        "if __name__ == '__main__':\n"
        "    with ProcessPoolExecutor(1, mp_context=multiprocessing.get_context('spawn')) as pool:\n"
        "        future = pool.submit(int, 'x')\n"
        "        try:\n"
        "            future.result()\n"
        "        except ValueError as exc:\n"
        "            print(exc.__notes__)\n"
    )
    program = tmp_path / "pool.py"
    program.write_text(script)
    result = subprocess.run([sys.executable, str(program)], capture_output=True, text=True, timeout=120, check=False)
    assert result.stdout.strip() == f"['spawned at {program}:7 in <module> (ProcessPoolExecutor.submit)']", (
        result.stderr
    )


@pytest.mark.skipif(sys.version_info >= (3, 11), reason="3.11+ print notes themselves")
def test_on_3_9_and_3_10_the_note_is_on_the_exception_for_the_backport_to_print() -> None:
    results: list[Failure] = []
    wrap(_fail, on_error=lambda f: None, deliver=results.append)()
    assert results[0].exception.__notes__[0].startswith("spawned at ")
    exceptiongroup = pytest.importorskip("exceptiongroup")
    text = "".join(exceptiongroup.format_exception(results[0].exception))
    assert "spawned at " in text
