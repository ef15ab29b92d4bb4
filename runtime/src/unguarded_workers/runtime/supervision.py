"""`supervise()`: restart a worker that must keep running; end the process when it cannot.

    threading.Thread(target=supervise(poll_queue), daemon=True).start()
    asyncio.create_task(supervise(consume)(queue))
    tg.start_soon(supervise(serve, restarts=10, within=300), listener)

A failure is reported (as `wrap()` reports it, with a note of what happens next), then the
target is called again with the same arguments after a backoff: exponential from `backoff`
seconds, capped at `max_backoff`, each wait drawn between half and all of it (jitter, so that
workers failing together do not retry together). A target that returns is done: supervision
restarts failures, not completed work.

When more than `restarts` failures fall within `within` seconds, the worker is judged broken
for good and `on_give_up` decides:
- "exit": end the process with status 1, so that systemd (`Restart=on-failure`) or Kubernetes
  replaces it. In the main thread (or a task of a loop running there) that is `SystemExit`,
  which unwinds the program's own shutdown. From another thread, the main thread gets
  KeyboardInterrupt (as from Ctrl-C: its `finally` blocks and context managers run, an asyncio
  or trio program cancels its tasks), and once it has finished, or after `exit_grace` seconds
  if it does not, the `atexit` handlers run and the process exits with status 1 whatever the
  main thread returned.
- "raise": the last failure propagates, as if unsupervised.
- a callable: called with the last `Failure`; its result is the supervised call's result.

Only `Exception` is restarted: cancellation, KeyboardInterrupt and SystemExit stop supervision
at once, during a backoff too.
"""

from __future__ import annotations

import _thread
import atexit
import collections
import contextlib
import functools
import inspect
import os
import sys
import threading
import time
from collections.abc import Callable, Coroutine
from typing import Any, NamedTuple, TypeVar, Union, overload

from .callables import guard_of
from .failure import ErrorHandler, Failure, SpawnSite, describe, failure_here, logger, report

__all__ = ["GiveUp", "supervise"]

_F = TypeVar("_F", bound=Callable[..., Any])

GiveUp = Union[str, Callable[[Failure], Any]]  # "exit", "raise" or a callable

EXIT_STATUS = 1


class _Policy(NamedTuple):
    restarts: int
    within: float
    backoff: float
    max_backoff: float
    on_give_up: GiveUp
    on_error: ErrorHandler | None
    exit_grace: float
    spawn_site: SpawnSite


class _Failures:
    """The failures of one supervised call within the window, and the wait before the next try."""

    def __init__(self, policy: _Policy) -> None:
        self._policy = policy
        self._times: collections.deque[float] = collections.deque()

    def add(self) -> float | None:
        """Count a failure now; the backoff before restarting, or None to give up."""
        policy = self._policy
        now = time.monotonic()
        self._times.append(now)
        while self._times[0] < now - policy.within:
            self._times.popleft()
        recent = len(self._times)
        if recent > policy.restarts:
            return None
        import random  # here: `import unguarded_workers` stays light

        ceiling = min(policy.max_backoff, policy.backoff * 2.0 ** (recent - 1))
        return float(ceiling / 2 + random.uniform(0, ceiling / 2))

    def note(self, delay: float | None) -> str:
        policy = self._policy
        count = len(self._times)
        window = f"{count} failure{'' if count == 1 else 's'} in {policy.within:g} s"
        if delay is None:
            give_up = policy.on_give_up
            if callable(give_up):
                action = "calling on_give_up"
            else:
                action = "ending the process" if give_up == "exit" else "raising"
            return f"; giving up after {window} (more than restarts={policy.restarts}): {action}"
        return f"; restarting in {delay:.2f} s ({window}, restarts={policy.restarts})"


@overload
def supervise(
    target: _F,
    /,
    *,
    restarts: int = ...,
    within: float = ...,
    backoff: float = ...,
    max_backoff: float = ...,
    on_give_up: GiveUp = ...,
    on_error: ErrorHandler | None = ...,
    exit_grace: float = ...,
) -> _F: ...
@overload
def supervise(
    target: None = None,
    /,
    *,
    restarts: int = ...,
    within: float = ...,
    backoff: float = ...,
    max_backoff: float = ...,
    on_give_up: GiveUp = ...,
    on_error: ErrorHandler | None = ...,
    exit_grace: float = ...,
) -> Callable[[_F], _F]: ...
def supervise(
    target: Any = None,
    /,
    *,
    restarts: int = 5,
    within: float = 60.0,
    backoff: float = 0.5,
    max_backoff: float = 30.0,
    on_give_up: GiveUp = "exit",
    on_error: ErrorHandler | None = None,
    exit_grace: float = 30.0,
) -> Any:
    """Guard a worker by restarting it after a failure; see the module's documentation.

    `supervise(f)` and `supervise(async_f)` return a callable of the same kind; `@supervise`
    and `@supervise(restarts=...)` decorate. A coroutine object cannot be restarted (it runs
    once): pass the function, `create_task(supervise(worker)(x))`.
    """
    _validate(restarts, on_give_up, within=within, backoff=backoff, max_backoff=max_backoff, exit_grace=exit_grace)
    site = SpawnSite.of(sys._getframe(1))
    policy = _Policy(restarts, within, backoff, max_backoff, on_give_up, on_error, exit_grace, site)
    if target is None:
        return functools.partial(_supervised, policy=policy)
    return _supervised(target, policy)


def _validate(restarts: int, on_give_up: Any, **seconds: float) -> None:
    if not isinstance(restarts, int) or isinstance(restarts, bool) or restarts < 0:
        raise ValueError(f"supervise(restarts=...) takes a whole number >= 0, not {restarts!r}")
    for name, value in seconds.items():
        if not isinstance(value, (int, float)) or isinstance(value, bool) or value < 0:
            raise ValueError(f"supervise({name}=...) takes a number of seconds >= 0, not {value!r}")
    if not (on_give_up in ("exit", "raise") or callable(on_give_up)):
        raise ValueError(f"supervise(on_give_up=...) takes 'exit', 'raise' or a callable, not {on_give_up!r}")


def _supervised(target: Any, policy: _Policy) -> Any:
    if inspect.iscoroutine(target):
        raise TypeError(
            f"supervise() cannot restart the coroutine object {describe(target)}: a coroutine runs once. "
            f"Pass the function and call the result: create_task(supervise(worker)(arg))"
        )
    if isinstance(target, (staticmethod, classmethod)):
        return type(target)(_supervised(target.__func__, policy))
    if not callable(target):
        raise TypeError(f"supervise() takes a function, not {type(target).__name__}")
    if inspect.isgeneratorfunction(target) or inspect.isasyncgenfunction(target):
        raise TypeError(f"supervise() cannot restart the generator function {describe(target)}")
    return guard_of(_run_async if inspect.iscoroutinefunction(target) else _run, target, policy)


def _run(target: Callable[..., Any], policy: _Policy, /, *args: Any, **kwargs: Any) -> Any:
    failures = _Failures(policy)
    while True:
        try:
            return target(*args, **kwargs)
        except Exception as exc:
            delay, result = _after_failure(exc, target, policy, failures)
            if delay is None:
                return result
        time.sleep(delay)


async def _run_async(
    target: Callable[..., Coroutine[Any, Any, Any]], policy: _Policy, /, *args: Any, **kwargs: Any
) -> Any:
    failures = _Failures(policy)
    while True:
        try:
            return await target(*args, **kwargs)
        except Exception as exc:
            delay, result = _after_failure(exc, target, policy, failures)
            if delay is None:
                return result
        await _sleep(delay)


async def _sleep(seconds: float) -> None:
    """Sleep in whichever library runs this task: trio (anyio on trio included) or asyncio."""
    trio = sys.modules.get("trio")
    if trio is not None:
        try:
            trio.lowlevel.current_task()
        except RuntimeError:  # not inside trio.run
            pass
        else:
            await trio.sleep(seconds)
            return
    import asyncio

    await asyncio.sleep(seconds)


def _after_failure(exc: Exception, target: object, policy: _Policy, failures: _Failures) -> tuple[float | None, Any]:
    """Report the failure; (the wait before the restart, None) or, giving up, (None, the result)."""
    delay = failures.add()
    failure = failure_here(exc, describe(target), policy.spawn_site, "supervise")
    report(failure, policy.on_error, note=failures.note(delay))
    if delay is not None:
        return delay, None
    if policy.on_give_up == "raise":
        raise exc
    if callable(policy.on_give_up):
        return None, policy.on_give_up(failure)
    end_process(EXIT_STATUS, policy.exit_grace)
    return None, None


_ending = threading.Lock()


def end_process(status: int, grace: float) -> None:
    """End the process with `status` after the main thread's own shutdown (see the module doc)."""
    if threading.current_thread() is threading.main_thread():
        raise SystemExit(status)
    if not _ending.acquire(blocking=False):
        return  # another worker is ending the process already
    threading.Thread(target=_exit_after_main, args=(status, grace), name="unguarded-workers-exit").start()
    _thread.interrupt_main()


def _exit_after_main(status: int, grace: float) -> None:
    """Wait for the main thread to finish, then exit with `status` whatever it returned.

    Not a daemon: the interpreter's shutdown waits for this thread, so the exit status is set
    here, after the main thread's `finally` blocks and before the interpreter would exit 0.
    """
    try:
        main = threading.main_thread()
        deadline = time.monotonic() + grace
        while main.is_alive() and time.monotonic() < deadline:
            time.sleep(0.05)
        atexit._run_exitfuncs()  # what the interpreter would run at exit (logging's flush among them)
    except Exception:  # atexit prints its handlers' failures itself: this is anything else
        logger.exception("unguarded-workers: ending the process after its main thread failed")
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # a closed or broken stream: nothing left to flush
                stream.flush()
        os._exit(status)
