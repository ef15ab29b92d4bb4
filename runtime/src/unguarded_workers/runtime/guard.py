"""`wrap()`: catch, report and contain a worker's failure inside the worker.

Put it at the spawn line, where the post-mortem says the guard belongs:

    threading.Thread(target=wrap(worker)).start()
    executor.submit(wrap(fetch), url)
    asyncio.create_task(wrap(consume(queue)))
    nursery.start_soon(wrap(child), arg)

Only `Exception` is caught: cancellation, KeyboardInterrupt and SystemExit pass
through untouched, as every structured-concurrency library needs them to.

Containing is right for a worker nobody waits for. When someone waits for its result, pass
`deliver=` (a future, a queue, an event or a callable: `delivery`) so that the waiter gets the
failure at once instead of waiting forever; the delivered exception carries its spawn site as
a note (`notes`). A guarded coroutine keeps its task referenced until it ends (`held_tasks`).

The guard for a callable is a `functools.partial` of the one Python function that
holds the `try`, so it pickles whenever the target does (multiprocessing's spawn
start method, ProcessPoolExecutor), which a closure would not. Entering it through
C costs a few ns more than calling a closure (from 3.11, calls between Python
functions stay in the eval loop); calling the target without an empty keyword
mapping wins that back (bench_wrap: 0.99-1.18x a hand-written closure on 3.9-3.13).
A def being decorated in a class body gets a partial subclass whose `__get__` binds
`self` like a function (`callables.MethodPartial`).
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import sys
from collections.abc import Callable, Coroutine
from types import CoroutineType, FrameType
from typing import Any, NamedTuple, TypeVar, overload

from .callables import guard_of
from .delivery import Delivery
from .failure import ErrorHandler, Failure, SpawnSite, describe, failure_here, last_resort, report
from .held_tasks import _running, hold_current_task
from .notes import add_spawn_note

__all__ = ["wrap"]

_F = TypeVar("_F", bound=Callable[..., Any])
_R = TypeVar("_R")


class _Policy(NamedTuple):
    """What a guard does on failure, and where it was put in place."""

    on_error: ErrorHandler | None
    default: Any
    spawn_site: SpawnSite
    deliver: Delivery | None = None


def _call(target: Callable[..., Any], policy: _Policy, /, *args: Any, **kwargs: Any) -> Any:
    try:
        # Workers are mostly called without keywords, and `f(*args, **kwargs)` builds
        # a fresh dict on every call even when kwargs is empty: skipping it pays for
        # entering this frame through the partial.
        if kwargs:
            return target(*args, **kwargs)
        return target(*args)
    except Exception as exc:
        result = _contain(target, policy, exc)
        if _is_process_target(sys._getframe(1)):
            # A process's exit status is its channel back to whoever supervises it: the
            # failure is reported, and the process still exits non-zero (without a second
            # traceback: SystemExit is how multiprocessing sets the exit code).
            raise SystemExit(1) from None
        return result


def _is_process_target(caller: FrameType | None) -> bool:
    """Whether the guard was called by multiprocessing as a process's target or `run()`."""
    process = sys.modules.get("multiprocessing.process")
    if caller is None or process is None:
        return False
    base = process.BaseProcess
    return caller.f_code in (base.run.__code__, base._bootstrap.__code__)


async def _call_async(target: Callable[..., Any], policy: _Policy, /, *args: Any, **kwargs: Any) -> Any:
    # No task is held here: telling whether this coroutine is its task's own costs a frame
    # lookup on every await of a guarded function (+35%); `wrap(worker(x))` holds its task.
    try:
        if kwargs:
            return await target(*args, **kwargs)
        return await target(*args)
    except Exception as exc:
        return _contain(target, policy, exc)


class _GuardedCoroutine(collections.abc.Coroutine[Any, Any, Any]):
    """`wrap(coro)`: the coroutine itself, driven step by step, its failure contained.

    A delegating object rather than an `async def` around it: closing it (a task cancelled
    before it ever ran) closes the worker's coroutine too, which would otherwise warn
    "coroutine ... was never awaited"; and it carries the worker's name, so a task's repr
    shows the worker, not the guard.
    """

    def __init__(self, coro: Coroutine[Any, Any, Any], policy: _Policy) -> None:
        self._coro = coro
        self._policy = policy
        self._task: Any = None  # None until it first suspends; then the task held, or False
        # The worker's name now: a finished coroutine no longer knows its module.
        frame = getattr(coro, "cr_frame", None)
        if type(coro) is CoroutineType and frame is not None:  # the usual case, spelled fast
            qualname = coro.__qualname__
            module = frame.f_globals.get("__name__")
            self._worker = f"{module}.{qualname}()" if module else f"{qualname}()"
            self.__name__ = coro.__name__
        else:
            self._worker = describe(coro)
            qualname = str(getattr(coro, "__qualname__", self._worker))
            self.__name__ = str(getattr(coro, "__name__", self._worker))
        # What asyncio shows for a task's coroutine that is not a native one.
        self.__qualname__ = qualname

    def __repr__(self) -> str:
        return f"<guarded {self._coro!r}>"

    def __await__(self) -> Any:
        return self

    def __iter__(self) -> Any:
        return self

    def __next__(self) -> Any:
        return self.send(None)

    def send(self, value: Any) -> Any:
        try:
            step = self._coro.send(value)
        except StopIteration:
            if self._task:
                _release(self._task)
            raise
        except Exception as exc:
            self._end()
            raise StopIteration(_contain(self._worker, self._policy, exc)) from None
        except BaseException:
            self._end()
            raise
        if self._task is None:  # its first suspension: the task now waits, and stays referenced
            self._task = hold_current_task(self) or False
        return step

    def throw(self, typ: Any, value: Any = None, traceback: Any = None) -> Any:
        try:
            if value is None and traceback is None:
                return self._coro.throw(typ)
            return self._coro.throw(typ, value, traceback)
        except StopIteration:
            self._end()
            raise
        except Exception as exc:
            self._end()
            raise StopIteration(_contain(self._worker, self._policy, exc)) from None
        except BaseException:
            self._end()
            raise

    def close(self) -> None:
        self._end()
        self._coro.close()

    def _end(self) -> None:
        if self._task:
            _release(self._task)
        self._task = False


_release = _running.discard


@overload
def wrap(
    target: Coroutine[Any, Any, _R],
    /,
    *,
    on_error: ErrorHandler | None = ...,
    default: Any = ...,
    deliver: object = ...,
) -> Coroutine[Any, Any, _R]: ...
@overload
def wrap(target: _F, /, *, on_error: ErrorHandler | None = ..., default: Any = ..., deliver: object = ...) -> _F: ...
@overload
def wrap(
    target: None = None, /, *, on_error: ErrorHandler | None = ..., default: Any = ..., deliver: object = ...
) -> Callable[[_F], _F]: ...
def wrap(
    target: Any = None, /, *, on_error: ErrorHandler | None = None, default: Any = None, deliver: object = None
) -> Any:
    """Guard a worker: a failure is reported and contained instead of escaping.

    - `wrap(f)`: a callable running `f(*args, **kwargs)`; on an `Exception` it
      reports it and returns `default`. For an async function (or a partial or
      bound method of one) the result is an async function doing the same.
    - `wrap(coro)`: a coroutine object, for `asyncio.create_task(wrap(worker(x)))`.
    - `@wrap` and `@wrap(on_error=..., default=...)` decorate functions and methods.

    The report, a :class:`Failure` (the exception, the worker, the thread or task, and
    the spawn site: the line that called `wrap`), goes to `on_error(failure)`, else to
    the handler given to :func:`set_error_handler`, else to the ``unguarded_workers``
    logger at ERROR with the traceback.

    `deliver=` releases whoever waits for the worker's result: a future gets the
    exception, a queue the `Failure`, an event is set, a callable is called with the
    `Failure` (see `delivery`). Without it, a waiter waits forever for a contained failure.
    A delivered exception carries the note ``spawned at FILE:LINE in FUNCTION (wrap)``.
    """
    # The spawn site: one frame lookup, here and never per call.
    send = None if deliver is None else Delivery(deliver, "wrap")
    policy = _Policy(on_error, default, SpawnSite.of(sys._getframe(1)), send)
    if target is None:  # @wrap(on_error=..., default=...)
        return functools.partial(_guard, policy=policy)
    return _guard(target, policy)


def _guard(target: Any, policy: _Policy) -> Any:
    if _is_guard(target):
        if policy.on_error is None and policy.default is None and policy.deliver is None:
            return target  # already guarded: guard once
        target = target.args[0]
    elif inspect.iscoroutine(target):
        return _GuardedCoroutine(target, policy)
    elif isinstance(target, _GuardedCoroutine):
        return target
    elif isinstance(target, (staticmethod, classmethod)):
        # `@wrap` above `@staticmethod` / `@classmethod`: guard the function inside and keep
        # the descriptor (on 3.9 a staticmethod object is not even callable).
        return type(target)(_guard(target.__func__, policy))
    if not callable(target):
        raise TypeError(f"wrap() takes a callable or a coroutine object, not {type(target).__name__}")
    if inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target):
        # Calling one only makes a generator: its failures come while the caller iterates
        # it, in the caller's frame, where no guard made here can catch them.
        raise TypeError(
            f"wrap() cannot guard the generator function {describe(target)}: its failures happen while "
            "it is iterated, in the loop that consumes it; guard that loop instead"
        )
    return guard_of(_call_async if inspect.iscoroutinefunction(target) else _call, target, policy)


def _is_guard(target: object) -> bool:
    return isinstance(target, functools.partial) and target.func in (_call, _call_async)


def _contain(target: object, policy: _Policy, exc: Exception) -> Any:
    """Note, report and deliver the failure; the guard's result. Never raises: a worker must
    not die of its own report."""
    try:
        failure = failure_here(exc, describe(target), policy.spawn_site, "wrap")
        report(failure, policy.on_error)
        if policy.deliver is not None:
            deliver(policy.deliver, failure, policy.on_error)
    except Exception as error:  # reporting is guarded inside; this is anything around it
        last_resort(f"worker {describe(target)} failed: {type(exc).__name__}", error)
    return policy.default


def deliver(delivery: Delivery, failure: Failure, on_error: ErrorHandler | None) -> None:
    """Deliver, and report a delivery that failed (a closed loop, a callable that raised).

    The exception leaves the worker here: it gets its spawn site as a note first.
    """
    add_spawn_note(failure.exception, failure.spawn_site, failure.caught_by)
    try:
        delivery(failure)
    except Exception as error:
        add_spawn_note(error, failure.spawn_site, failure.caught_by)
        failed = Failure(
            error, failure.worker, failure.spawn_site, failure.thread, failure.task, failure.process, failure.caught_by
        )
        report(failed, on_error, note=f"; delivering its failure to {delivery} failed: its waiter was not released")
