"""The safety net on event loops: patched by class, so every loop of the class is covered, those
made before install() and after it, in any thread, however they are made (asyncio.run, an event
loop policy, `new_event_loop`, uvicorn's loop factory).

- asyncio's `BaseEventLoop`: `create_task`, `run_in_executor` and `default_exception_handler`.
- uvloop's `Loop` is a Cython class that cannot be patched, but `uvloop.Loop`, the class every
  uvloop loop is made from, is a Python subclass of it: the same three methods are put there
  (Python code calling `loop.create_task`, as asyncio.create_task and TaskGroup do, finds them;
  uvloop's own Cython code calls `self.default_exception_handler` through the same lookup).
  Unlike a task factory this covers loops already running in other threads, and also
  `run_in_executor` and the never-retrieved report, which a factory cannot reach.
- a loop running at install() whose class is neither and cannot be patched (an extension
  type): a task factory on that loop, chaining the factory it had, covers its tasks; a warning
  says what is left to the loop itself.
"""

from __future__ import annotations

import asyncio
import sys
import weakref
from typing import TYPE_CHECKING, Any

from .failure import logger

if TYPE_CHECKING:
    from .safety_net import SafetyNet

__all__ = ["cover_loop_class", "cover_running_loop"]


def cover_loop_class(net: SafetyNet, cls: type) -> None:
    """Patch the loop class's spawning methods and its default exception handler."""
    net.patch(cls, "create_task", net.recording_create_task)
    net.patch(cls, "run_in_executor", net.recording_run_in_executor)
    net.patch(cls, "default_exception_handler", net.reporting_exception_handler)


def _covered(net: SafetyNet, cls: type) -> bool:
    create_task = getattr(cls, "create_task", None)
    return any(patch.replacement is create_task for patch in net._patches)


def cover_running_loop(net: SafetyNet) -> None:
    """The loop running in this thread, if its class is not covered yet."""
    loop = asyncio._get_running_loop()
    if loop is None or _covered(net, type(loop)):
        return
    try:
        cover_loop_class(net, type(loop))
        return
    except TypeError:  # an extension type: its methods cannot be replaced
        pass
    _cover_with_task_factory(net, loop)
    cls = type(loop)
    logger.warning(
        "unguarded-workers: install() covers the tasks of the running %s.%s loop through a task factory; "
        "its run_in_executor and never-retrieved exceptions are reported by the loop itself",
        cls.__module__,
        cls.__qualname__,
    )


def _cover_with_task_factory(net: SafetyNet, loop: Any) -> None:
    inner = loop.get_task_factory()

    def task_factory(loop: Any, coro: Any, **kwargs: Any) -> Any:
        task = inner(loop, coro, **kwargs) if inner is not None else asyncio.Task(coro, loop=loop, **kwargs)
        if net.active:
            net.record_task(task, coro, sys._getframe(1), "loop.create_task")
        return task

    loop.set_task_factory(task_factory)
    try:
        ref: Any = weakref.ref(loop)
    except TypeError:  # no weak references to this loop type: hold it until uninstall
        ref = lambda: loop  # noqa: E731

    def undo() -> None:
        held = ref()
        if held is not None and not held.is_closed() and held.get_task_factory() is task_factory:
            held.set_task_factory(inner)

    net.on_uninstall(undo)
