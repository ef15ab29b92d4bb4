"""Guarded tasks stay referenced until they finish.

An event loop keeps only weak references to its tasks: `asyncio.create_task(wrap(work()))`
with the task dropped can be garbage-collected while it waits on a future nothing else holds,
and the work silently stops ("Task was destroyed but it is pending!", the hazard ruff's RUF006
is for). A guarded coroutine that is its task's own coroutine holds the task here from its
first step to its end.
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["hold_current_task", "release"]

# Tasks of running guarded coroutines. Added and removed in the loop's own thread, and a
# set's add/discard are atomic under the GIL: loops in several threads may share it.
_running: set[Any] = set()
# asyncio's _get_running_loop and current_task, once asyncio is loaded (this module must not
# load it): looked up once, as this runs on every guarded task's first suspension.
_asyncio: list[Any] = []


def hold_current_task(coro: object) -> Any:
    """The current asyncio task, now held, if `coro` is the coroutine it runs; else None."""
    if not _asyncio:
        asyncio = sys.modules.get("asyncio")
        if asyncio is None:
            return None
        current_task = asyncio.current_task
        if not isinstance(current_task, type(len)):
            # 3.9-3.11: a Python function around this dict, which costs half the holding.
            current_task = asyncio.tasks._current_tasks.get
        _asyncio[:] = [asyncio._get_running_loop, current_task]
    get_running_loop, current_task = _asyncio
    loop = get_running_loop()
    if loop is None:  # not in asyncio (trio keeps its own tasks)
        return None
    task = current_task(loop)
    if task is None or task.get_coro() is not coro:
        return None  # awaited inside another coroutine: that one's task is the one to hold
    _running.add(task)
    return task


def hold_task_of_frame(frame: Any) -> Any:
    """`hold_current_task` for a native coroutine, known by its running frame."""
    asyncio = sys.modules.get("asyncio")
    if asyncio is None:
        return None
    loop = asyncio._get_running_loop()
    if loop is None:
        return None
    task = asyncio.current_task(loop)
    if task is None or getattr(task.get_coro(), "cr_frame", None) is not frame:
        return None
    _running.add(task)
    return task


def release(task: Any) -> None:
    _running.discard(task)
