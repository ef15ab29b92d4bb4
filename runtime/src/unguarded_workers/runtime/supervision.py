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
for good; its last failure is delivered (`deliver=`: a waiter for the worker's result is
released, see `delivery`) and `on_give_up` decides:
- "exit": end the process with status 1, so that systemd (`Restart=on-failure`), Kubernetes or
  gunicorn's arbiter replaces it, after the program's own shutdown (see `exiting`).
- "raise": the last failure propagates, as if unsupervised.
- a callable: called with the last `Failure`; its result is the supervised call's result.

The last failure, which leaves the worker when supervision gives up (delivered, raised, or
given to on_give_up), carries the note ``spawned at FILE:LINE in FUNCTION (supervise)``.

With `hung_after=` seconds, a worker that calls `heartbeat()` in its loop and then stays silent
that long is hung (`liveness`): its stack is reported; a task is cancelled and restarted like a
failure; a thread cannot be stopped, so supervision gives up on it at once (the watchdog thread
delivers and acts on `on_give_up`; "raise" raises in the thread if it ever resumes).

Only `Exception` is restarted: cancellation, KeyboardInterrupt and SystemExit stop supervision
at once, during a backoff too.
"""

from __future__ import annotations

import collections
import functools
import inspect
import sys
import time
from collections.abc import Callable, Coroutine
from typing import Any, NamedTuple, TypeVar, Union, overload

from .callables import guard_of
from .delivery import Delivery
from .exiting import EXIT_STATUS, end_process, prepare
from .failure import ErrorHandler, Failure, SpawnSite, describe, failure_here, report, running_trio
from .guard import deliver
from .held_tasks import hold_task_of_frame, release
from .hung import watch_async, watch_thread
from .notes import add_spawn_note

__all__ = ["GiveUp", "supervise"]

_F = TypeVar("_F", bound=Callable[..., Any])

GiveUp = Union[str, Callable[[Failure], Any]]  # "exit", "raise" or a callable


class _Policy(NamedTuple):
    restarts: int
    within: float
    backoff: float
    max_backoff: float
    on_give_up: GiveUp
    on_error: ErrorHandler | None
    exit_grace: float
    spawn_site: SpawnSite
    deliver: Delivery | None
    hung_after: float | None


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
            return f"; giving up after {window} (more than restarts={policy.restarts}): {give_up_action(policy)}"
        return f"; restarting in {delay:.2f} s ({window}, restarts={policy.restarts})"


def give_up_action(policy: _Policy) -> str:
    if callable(policy.on_give_up):
        return "calling on_give_up"
    return "ending the process" if policy.on_give_up == "exit" else "raising"


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
    deliver: object = ...,
    hung_after: float | None = ...,
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
    deliver: object = ...,
    hung_after: float | None = ...,
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
    deliver: object = None,
    hung_after: float | None = None,
) -> Any:
    """Guard a worker by restarting it after a failure; see the module's documentation.

    `supervise(f)` and `supervise(async_f)` return a callable of the same kind; `@supervise`
    and `@supervise(restarts=...)` decorate. A coroutine object cannot be restarted (it runs
    once): pass the function, `create_task(supervise(worker)(x))`.

    `deliver=` (a future, a queue, an event or a callable) gets the last failure when
    supervision gives up: a failure that is restarted is not the end of the worker, a give-up
    is. `hung_after=` seconds without `heartbeat()` means hung.
    """
    _validate(restarts, on_give_up, within=within, backoff=backoff, max_backoff=max_backoff, exit_grace=exit_grace)
    if hung_after is not None and (
        not isinstance(hung_after, (int, float)) or isinstance(hung_after, bool) or not hung_after > 0
    ):
        raise ValueError(f"supervise(hung_after=...) takes a number of seconds > 0 or None, not {hung_after!r}")
    site = SpawnSite.of(sys._getframe(1))
    send = None if deliver is None else Delivery(deliver, "supervise")
    policy = _Policy(restarts, within, backoff, max_backoff, on_give_up, on_error, exit_grace, site, send, hung_after)
    if on_give_up == "exit":
        prepare()  # in the main thread: a give-up from another thread can interrupt it
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
        if policy.hung_after is None:
            try:
                return target(*args, **kwargs)
            except Exception as exc:
                delay, result = _after_failure(exc, target, policy, failures)
                if delay is None:
                    return result
        else:
            done, delay, result = _attempt_watched(target, policy, failures, args, kwargs)
            if done:
                return result
        time.sleep(delay)


def _attempt_watched(
    target: Callable[..., Any], policy: _Policy, failures: _Failures, args: tuple[Any, ...], kwargs: dict[str, Any]
) -> tuple[bool, float, Any]:
    """One attempt under the watchdog: (done, the backoff before the next one, the result)."""
    attempt = watch_thread(policy, target, failures, sys._getframe())
    try:
        result = target(*args, **kwargs)
    except Exception as exc:
        hang = attempt.stop()
        if hang is not None:  # judged hung while it ran: supervision gave up on it
            return True, 0.0, hang.outcome()
        delay, result = _after_failure(exc, target, policy, failures)
        return delay is None, delay or 0.0, result
    finally:
        hang = attempt.stop()
    return True, 0.0, result if hang is None else hang.outcome()


async def _run_async(
    target: Callable[..., Coroutine[Any, Any, Any]], policy: _Policy, /, *args: Any, **kwargs: Any
) -> Any:
    failures = _Failures(policy)
    task = hold_task_of_frame(sys._getframe())  # a supervised task runs long: keep it referenced
    try:
        while True:
            if policy.hung_after is None:
                try:
                    return await target(*args, **kwargs)
                except Exception as exc:
                    delay, result = _after_failure(exc, target, policy, failures)
                    if delay is None:
                        return result
            else:
                done, delay, result = await _attempt_watched_async(target, policy, failures, args, kwargs)
                if done:
                    return result
            await _sleep(delay)
    finally:
        if task is not None:
            release(task)


async def _attempt_watched_async(
    target: Callable[..., Coroutine[Any, Any, Any]],
    policy: _Policy,
    failures: _Failures,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> tuple[bool, float, Any]:
    """`_attempt_watched` for a task: one the watchdog judged hung is cancelled, then restarted."""
    attempt = watch_async(policy, target, failures, sys._getframe())
    result = None
    try:
        with attempt.scope():  # trio: a cancel scope for the watchdog; asyncio: the task is cancelled
            result = await target(*args, **kwargs)
    except Exception as exc:
        hang = attempt.stop()
        if hang is None:
            delay, result = _after_failure(exc, target, policy, failures)
            return delay is None, delay or 0.0, result
        if hang.delay is not None:
            return False, hang.delay, None  # failed once judged hung: the restart is decided already
    except BaseException as exc:
        if not attempt.cancelled_by_watchdog(exc):
            raise
    hang = attempt.stop()
    if hang is None:
        return True, 0.0, result
    if hang.delay is None:  # given up while it ran, as for a thread
        return True, 0.0, hang.outcome()
    if not attempt.cancelled:
        return True, 0.0, result  # it finished before the watchdog's cancellation reached it
    return False, hang.delay, None  # judged hung and cancelled: restart (already reported)


async def _sleep(seconds: float) -> None:
    """Sleep in whichever library runs this task: trio (anyio on trio included) or asyncio."""
    trio = running_trio()
    if trio is not None:
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
    return None, give_up(policy, failure)


def give_up(policy: _Policy, failure: Failure) -> Any:
    """Deliver the last failure, then do what `on_give_up` says; the supervised call's result.

    The exception leaves the worker here (delivered, raised, given to on_give_up): it gets its
    spawn site as a note first.
    """
    add_spawn_note(failure.exception, policy.spawn_site, "supervise")
    if policy.deliver is not None:
        deliver(policy.deliver, failure, policy.on_error)
    if policy.on_give_up == "raise":
        raise failure.exception
    if callable(policy.on_give_up):
        return policy.on_give_up(failure)
    end_process(EXIT_STATUS, policy.exit_grace)
    return None
