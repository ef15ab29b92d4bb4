"""Each report says what is at stake for its kind of spawn, in the words of what really happens."""

from __future__ import annotations

import ast
import textwrap

import pytest

from unguarded_workers.analysis import check_module

HEAD = textwrap.dedent(
    """\
    import asyncio, threading
    from concurrent.futures import ThreadPoolExecutor

    def work():
        step()

    async def consume():
        await step()

    """
)


@pytest.mark.parametrize(
    ("spawn", "stake"),
    [
        ("threading.Thread(target=work).start()", "its exception kills the thread silently"),
        (
            "ThreadPoolExecutor().submit(work)",
            "its exception is stored in a future that nothing reads, and is lost",
        ),
        (
            "async def f():\n    asyncio.get_running_loop().run_in_executor(None, work)",
            "its exception is stored in an asyncio future that nothing reads: "
            "it is logged only when the future is garbage-collected, if ever",
        ),
        (
            "async def f():\n    asyncio.create_task(consume())",
            "nothing references the task: its failure is logged only when the task is garbage-collected, if ever",
        ),
        (
            "tasks = set()\nasync def f():\n    tasks.add(asyncio.create_task(consume()))",
            "the task is held but nobody reads it: its failure stays silent while the holder lives",
        ),
    ],
    ids=["thread", "submit", "run_in_executor", "dropped task", "held task"],
)
def test_the_stake_of_each_spawn(spawn: str, stake: str) -> None:
    source = HEAD + textwrap.dedent(spawn) + "\n"
    (violation,) = check_module(ast.parse(source))
    assert f"has no try/except guard: {stake}; " in violation.message, violation.message
