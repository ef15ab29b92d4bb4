"""`deliver=`: where a guard sends a failure so that whoever waits for the worker is released.

Containing a failure is not enough when someone waits for the worker's result: the request
handler blocked on `results.get()` waits forever for a worker that died (Go's WrapWithSignal
exists for this). The target is resolved once, when the guard is made; on failure it gets:

- a `concurrent.futures.Future` or an `asyncio.Future`: the exception (`set_exception`);
- a queue (`queue.Queue`, `SimpleQueue`, `multiprocessing` queues, `asyncio.Queue`): the
  `Failure`, put like a result (a full bounded `queue.Queue` blocks the worker as a result would);
- an event (`threading.Event`, `multiprocessing.Event`, `asyncio.Event`): `set()`;
- a callable: called with the `Failure`.

asyncio objects are not thread-safe: from another thread the call goes through their loop's
`call_soon_threadsafe`. A future that is already done (the waiter gave up and cancelled it) is
left alone.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from .failure import Failure, describe, text_of

__all__ = ["Delivery"]


class Delivery:
    """The target and how to deliver to it: resolved once, when the guard is made.

    A plain object (no closure) so that a guard pickles whenever its target and its delivery
    target do: `Process(target=wrap(f, deliver=mp_queue))` under the spawn start method.
    """

    __slots__ = ("kind", "target")

    def __init__(self, target: object, guard: str) -> None:
        self.target = target
        self.kind = _kind_of(target, guard)

    def __call__(self, failure: Failure) -> None:
        target: Any = self.target
        kind = self.kind
        if kind == "asyncio.Future":
            _in_loop(target.get_loop(), _set_exception, target, failure.exception)
        elif kind == "asyncio.Queue":
            _in_loop(getattr(target, "_loop", None), target.put_nowait, failure)
        elif kind == "asyncio.Event":
            _in_loop(getattr(target, "_loop", None), target.set)
        elif kind == "future":
            _set_exception(target, failure.exception)
        elif kind == "multiprocessing queue":
            target.put(_picklable(failure))
        elif kind == "queue":
            target.put(failure)
        elif kind == "event":
            target.set()
        else:
            target(failure)

    def __str__(self) -> str:
        if self.kind == "callable":
            return describe(self.target)
        cls = type(self.target)
        return f"{cls.__module__}.{cls.__qualname__}"

    def __getstate__(self) -> tuple[object, str]:
        return self.target, self.kind

    def __setstate__(self, state: tuple[object, str]) -> None:
        self.target, self.kind = state


def _kind_of(target: object, guard: str) -> str:
    asyncio = sys.modules.get("asyncio")  # an asyncio object means asyncio is loaded already
    if asyncio is not None:
        for kind in ("Future", "Queue", "Event"):
            if isinstance(target, getattr(asyncio, kind)):
                return f"asyncio.{kind}"
    if callable(getattr(target, "set_exception", None)):  # concurrent.futures.Future and look-alikes
        return "future"
    if callable(getattr(target, "put", None)):
        return "multiprocessing queue" if type(target).__module__.startswith("multiprocessing") else "queue"
    if callable(getattr(target, "set", None)) and callable(getattr(target, "is_set", None)):
        return "event"
    if callable(target):
        return "callable"
    raise TypeError(
        f"{guard}(deliver=...) takes a future, a queue, an event or a callable, not {type(target).__name__}"
    )


def _set_exception(future: Any, exception: BaseException) -> None:
    if future.done():
        return  # cancelled by a waiter that stopped waiting, or resolved already
    try:
        future.set_exception(exception)
    except Exception:
        if not future.done():
            raise
        # resolved between the check and the call (another thread): nothing left to release


def _in_loop(loop: Any, call: Callable[..., Any], *args: Any) -> None:
    """`call(*args)` in `loop`'s thread: directly when that is this thread, or when the object
    is bound to no loop yet (nothing waits on it), else through call_soon_threadsafe (which
    raises if the loop is closed: the delivery failed, and is reported)."""
    import asyncio

    if loop is None or asyncio._get_running_loop() is loop:
        call(*args)
    else:
        loop.call_soon_threadsafe(call, *args)


def _picklable(failure: Failure) -> Failure:
    """The failure, or one whose exception pickles: a multiprocessing queue pickles what it is
    given in a feeder thread, where an error would be printed and the item lost."""
    import pickle

    try:
        pickle.dumps(failure)
        return failure
    except Exception:
        exception = failure.exception
        stand_in = Exception(f"{type(exception).__name__}: {text_of(exception)}")
        notes = getattr(exception, "__notes__", None)
        if isinstance(notes, list):
            stand_in.__notes__ = [str(note) for note in notes]
        return Failure(
            stand_in,
            failure.worker,
            failure.spawn_site,
            failure.thread,
            failure.task,
            failure.process,
            failure.caught_by,
        )
