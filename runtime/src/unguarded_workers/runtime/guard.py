"""`wrap()`: catch, report and contain a worker's failure inside the worker.

Put it at the spawn line, where the post-mortem says the guard belongs:

    threading.Thread(target=wrap(worker)).start()
    executor.submit(wrap(fetch), url)
    asyncio.create_task(wrap(consume(queue)))
    nursery.start_soon(wrap(child), arg)

Only `Exception` is caught: cancellation, KeyboardInterrupt and SystemExit pass
through untouched, as every structured-concurrency library needs them to.

The guard for a callable is a `functools.partial` of the one Python function that
holds the `try`, so it pickles whenever the target does (multiprocessing's spawn
start method, ProcessPoolExecutor), which a closure would not. Entering it through
C costs a few ns more than calling a closure (from 3.11, calls between Python
functions stay in the eval loop); calling the target without an empty keyword
mapping wins that back (bench_wrap: 0.99-1.18x a hand-written closure on 3.9-3.13).
A def being decorated in a class body gets `_MethodGuard`, a subclass whose
`__get__` binds `self` like a function; it is kept for that case because a partial
subclass loses vectorcall on Python < 3.12.
"""

from __future__ import annotations

import collections.abc
import functools
import inspect
import logging
import sys
import threading
from collections.abc import Callable, Coroutine
from types import FrameType, FunctionType, MethodType
from typing import Any, NamedTuple, TypeVar, overload

__all__ = ["ErrorHandler", "set_error_handler", "wrap"]

logger = logging.getLogger("unguarded_workers")

ErrorHandler = Callable[[Exception], object]
_F = TypeVar("_F", bound=Callable[..., Any])
_R = TypeVar("_R")

_error_handler: ErrorHandler | None = None


def set_error_handler(handler: ErrorHandler | None) -> ErrorHandler | None:
    """Send every contained failure to `handler(exc)` instead of the log; returns the previous one.

    A per-call `on_error=` wins over it. `None` restores logging.
    """
    global _error_handler
    previous, _error_handler = _error_handler, handler
    return previous


class _Policy(NamedTuple):
    """What a guard does on failure, and where it was put in place."""

    on_error: ErrorHandler | None
    default: Any
    spawn_file: str
    spawn_line: int


class _MethodGuard(functools.partial):  # type: ignore[type-arg]
    """The guard of a method being decorated: binds to the instance like a function."""

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        return self if instance is None else MethodType(self, instance)


def _call(target: Callable[..., Any], policy: _Policy, /, *args: Any, **kwargs: Any) -> Any:
    try:
        # Workers are mostly called without keywords, and `f(*args, **kwargs)` builds
        # a fresh dict on every call even when kwargs is empty: skipping it pays for
        # entering this frame through the partial.
        if kwargs:
            return target(*args, **kwargs)
        return target(*args)
    except Exception as exc:
        result = _contain(target, policy, exc, asynchronous=False)
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
    try:
        if kwargs:
            return await target(*args, **kwargs)
        return await target(*args)
    except Exception as exc:
        return _contain(target, policy, exc, asynchronous=True)


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
        self._worker = _describe(coro)  # now: a finished coroutine no longer knows its module
        # What asyncio shows for a task's coroutine that is not a native one.
        self.__qualname__ = str(getattr(coro, "__qualname__", self._worker))
        self.__name__ = str(getattr(coro, "__name__", self._worker))

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
            return self._coro.send(value)
        except StopIteration:
            raise
        except Exception as exc:
            raise StopIteration(_contain(self._worker, self._policy, exc, asynchronous=True)) from None

    def throw(self, typ: Any, value: Any = None, traceback: Any = None) -> Any:
        try:
            if value is None and traceback is None:
                return self._coro.throw(typ)
            return self._coro.throw(typ, value, traceback)
        except StopIteration:
            raise
        except Exception as exc:
            raise StopIteration(_contain(self._worker, self._policy, exc, asynchronous=True)) from None

    def close(self) -> None:
        self._coro.close()


@overload
def wrap(
    target: Coroutine[Any, Any, _R], /, *, on_error: ErrorHandler | None = ..., default: Any = ...
) -> Coroutine[Any, Any, _R]: ...
@overload
def wrap(target: _F, /, *, on_error: ErrorHandler | None = ..., default: Any = ...) -> _F: ...
@overload
def wrap(target: None = None, /, *, on_error: ErrorHandler | None = ..., default: Any = ...) -> Callable[[_F], _F]: ...
def wrap(target: Any = None, /, *, on_error: ErrorHandler | None = None, default: Any = None) -> Any:
    """Guard a worker: a failure is reported and contained instead of escaping.

    - `wrap(f)`: a callable running `f(*args, **kwargs)`; on an `Exception` it
      reports it and returns `default`. For an async function (or a partial or
      bound method of one) the result is an async function doing the same.
    - `wrap(coro)`: a coroutine object, for `asyncio.create_task(wrap(worker(x)))`.
    - `@wrap` and `@wrap(on_error=..., default=...)` decorate functions and methods.

    The report goes to `on_error(exc)`, else to the handler given to
    :func:`set_error_handler`, else to the ``unguarded_workers`` logger at ERROR
    with the traceback, the worker, the thread or task, and the spawn site (the
    line that called `wrap`), also set on the record as attributes.
    """
    caller = sys._getframe(1)  # the spawn site: one frame lookup, here and never per call
    policy = _Policy(on_error, default, caller.f_code.co_filename, caller.f_lineno)
    if target is None:  # @wrap(on_error=..., default=...)
        return functools.partial(_guard, policy=policy)
    return _guard(target, policy)


def _guard(target: Any, policy: _Policy) -> Any:
    if _is_guard(target):
        if policy.on_error is None and policy.default is None:
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
            f"wrap() cannot guard the generator function {_describe(target)}: its failures happen while "
            "it is iterated, in the loop that consumes it; guard that loop instead"
        )
    kind = _MethodGuard if _is_method_definition(target) else functools.partial
    guard = kind(_call_async if inspect.iscoroutinefunction(target) else _call, target, policy)
    _copy_metadata(guard, target)
    return guard


def _is_guard(target: object) -> bool:
    return isinstance(target, functools.partial) and target.func in (_call, _call_async)


def _is_method_definition(target: object) -> bool:
    """A plain function defined directly in a class body (qualname `Class.name`)."""
    if not isinstance(target, FunctionType):
        return False
    owner, _, _ = target.__qualname__.rpartition(".")
    return bool(owner) and not owner.endswith("<locals>")


def _copy_metadata(guard: functools.partial[Any], target: Callable[..., Any]) -> None:
    for name in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            value = getattr(target, name)
        except AttributeError:
            continue
        guard.__dict__[name] = value
    guard.__dict__["__wrapped__"] = target


# -- reporting ---------------------------------------------------------------------


def _contain(target: object, policy: _Policy, exc: Exception, *, asynchronous: bool) -> Any:
    handler = policy.on_error or _error_handler
    if handler is None:
        _log_failure(target, policy, exc, asynchronous=asynchronous)
        return policy.default
    try:
        handler(exc)
    except Exception as handler_exc:
        # The handler failed: fall back to the log for both, and still contain.
        _log_failure(target, policy, exc, asynchronous=asynchronous)
        logger.exception(
            "error handler %s failed while reporting a worker failure", _describe(handler), exc_info=handler_exc
        )
    return policy.default


def _log_failure(target: object, policy: _Policy, exc: Exception, *, asynchronous: bool) -> None:
    worker = _describe(target)
    context = _running_in(asynchronous=asynchronous)
    spawn_site = f"{policy.spawn_file}:{policy.spawn_line}"
    logger.error(
        "worker %s failed in %s (spawned at %s): %s: %s",
        worker,
        context,
        spawn_site,
        type(exc).__name__,
        _text_of(exc),
        exc_info=exc,
        extra={
            "worker": worker,
            "worker_context": context,
            "spawn_site": spawn_site,
            "spawn_file": policy.spawn_file,
            "spawn_line": policy.spawn_line,
        },
    )


def _text_of(exc: BaseException) -> str:
    """str(exc), or a stand-in when the exception's own __str__ fails: the report must not
    be lost to a "--- Logging error ---"."""
    try:
        return str(exc)
    except Exception as error:
        return f"<str() of the exception failed: {type(error).__name__}>"


def _describe(target: object) -> str:
    """`module.qualname` of a function, coroutine, partial or bound method."""
    if isinstance(target, str):
        return target  # described already
    while isinstance(target, functools.partial):
        target = target.func
    if inspect.iscoroutine(target):
        # The coroutine's function, named as a function is: `module.qualname()`.
        frame = target.cr_frame
        module = frame.f_globals.get("__name__") if frame is not None else None
        qualname = getattr(target, "__qualname__", target.cr_code.co_name)
        return f"{module}.{qualname}()" if module else f"{qualname}()"
    if isinstance(target, MethodType):
        target = target.__func__
    qualname = getattr(target, "__qualname__", None) or type(target).__qualname__
    module = getattr(target, "__module__", None)
    return f"{module}.{qualname}" if module else str(qualname)


def _running_in(*, asynchronous: bool) -> str:
    """Which task, thread and (outside the main one) process the worker ran in."""
    where = f"thread {threading.current_thread().name!r}"
    if asynchronous:
        task = _current_task_name()
        if task is not None:
            where = f"task {task!r} in {where}"
    process = sys.modules.get("multiprocessing")
    if process is not None:
        name = process.current_process().name
        if name != "MainProcess":
            where += f" of process {name!r}"
    return where


def _current_task_name() -> str | None:
    # Only look at the libraries already imported: importing one here would be slow.
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no running asyncio loop
            task = None
        if task is not None:
            return str(task.get_name())
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            return str(trio.lowlevel.current_task().name)
        except RuntimeError:  # not inside trio.run
            pass
    return None
