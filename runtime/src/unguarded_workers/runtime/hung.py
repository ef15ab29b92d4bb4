"""What `supervise(hung_after=...)` does with a worker the watchdog judged hung.

- A task (asyncio, or trio) that is suspended is cancelled and restarted, as after a failure:
  the hang counts towards `restarts` within `within`.
- A thread cannot be stopped, and a task that is running (it blocks its event loop) cannot be
  cancelled: supervision gives up on it at once. Starting a replacement beside it was rejected:
  the hung one may wake up and do the work twice, or hold the lock the replacement waits for;
  the process restart that giving up leads to is the recovery that works.

On a give-up the watchdog thread delivers the failure (`deliver=`) and acts on `on_give_up`:
"exit" ends the process; a callable is called there (the worker is stuck); "raise" raises
`WorkerHung` in the worker if it ever resumes (a task is cancelled so that it does).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

from .exiting import EXIT_STATUS, end_process
from .failure import Failure, describe, process_name, report, running_trio
from .guard import deliver
from .liveness import Watch, WorkerHung, beating, stack_of_coroutine, stack_of_thread, stop_beating, traceback_of
from .notes import add_spawn_note

__all__ = ["Hang", "watch_async", "watch_thread"]


class Hang:
    """The watchdog's decision on a hung attempt: restart after `delay`, or give up (None)."""

    def __init__(self, failure: Failure, delay: float | None, policy: Any) -> None:
        self.failure = failure
        self.delay = delay
        self.policy = policy
        self._lock = threading.Lock()
        self._called = False
        self._result: Any = None

    def call_give_up(self) -> Any:
        """A callable `on_give_up`, called once whoever comes first (the watchdog or the worker)."""
        with self._lock:
            if not self._called:
                self._called = True
                self._result = self.policy.on_give_up(self.failure)
            return self._result

    def outcome(self) -> Any:
        """In the worker, once it resumes: the supervised call's result after giving up."""
        on_give_up = self.policy.on_give_up
        if on_give_up == "raise":
            raise self.failure.exception
        if callable(on_give_up):
            return self.call_give_up()
        return None  # "exit": the process is ending


class _Attempt:
    """One watched attempt of a supervised worker, in its thread or task."""

    cancelled = False  # the watchdog's cancellation was sent into the task
    task_name: str | None = None  # None for a thread

    def __init__(self, policy: Any, target: object, failures: Any, frame: FrameType) -> None:
        self.policy = policy
        self.worker = describe(target)
        self.failures = failures
        self.frame = frame  # the supervisor's frame: the worker's stack is what it called
        self.ident = threading.get_ident()
        self.thread = threading.current_thread().name
        self.stopped = False
        self.watch = Watch(policy.hung_after, self._judge)
        self._token = beating(self.watch)
        self.watch.start()

    def stop(self) -> Hang | None:
        """Stop watching (idempotent); the watchdog's decision if it judged the attempt hung."""
        if not self.stopped:
            self.stopped = True
            stop_beating(self._token)
        hang: Hang | None = self.watch.stop()
        return hang

    # -- in the watchdog thread, under its lock: decide fast, act outside ----------------------

    def _judge(self, watch: Watch, silence: float) -> Any:
        running = stack_of_thread(self.ident, self.frame)
        frames = running or self._suspended_stack()
        blocked = bool(running) and self.task_name is not None
        text = f"no heartbeat for {silence:.1f} s (hung_after={self.policy.hung_after:g})"
        if blocked:
            text += "; it blocks its event loop"
        exception = WorkerHung(text).with_traceback(traceback_of(frames))
        site = self.policy.spawn_site
        failure = Failure(exception, self.worker, site, self.thread, self.task_name, process_name(), "supervise")
        if self.task_name is None or blocked:
            reason = (
                "a hung thread cannot be stopped" if self.task_name is None else "a running task cannot be cancelled"
            )
            hang = Hang(failure, None, self.policy)
            watch.judged = hang
            return lambda: self._give_up(hang, f"; {reason}: giving up: {_action(self.policy)}")
        delay = self.failures.add()
        hang = Hang(failure, delay, self.policy)
        watch.judged = hang
        note = self.failures.note(delay)
        if not (delay is None and self.policy.on_give_up == "exit"):
            note = "; cancelling it" + note
        return lambda: self._cancel_and_restart(hang, note)

    def _suspended_stack(self) -> list[FrameType]:
        return []

    def _give_up(self, hang: Hang, note: str) -> None:
        policy = self.policy
        report(hang.failure, policy.on_error, note=note)
        add_spawn_note(hang.failure.exception, policy.spawn_site, "supervise")
        if policy.deliver is not None:
            deliver(policy.deliver, hang.failure, policy.on_error)
        if policy.on_give_up == "exit":
            end_process(EXIT_STATUS, policy.exit_grace)
        elif callable(policy.on_give_up):
            hang.call_give_up()

    def _cancel_and_restart(self, hang: Hang, note: str) -> None:
        policy = self.policy
        report(hang.failure, policy.on_error, note=note)
        if hang.delay is None:
            add_spawn_note(hang.failure.exception, policy.spawn_site, "supervise")
            if policy.deliver is not None:
                deliver(policy.deliver, hang.failure, policy.on_error)
            if policy.on_give_up == "exit":
                end_process(EXIT_STATUS, policy.exit_grace)
                return
        self._send_cancel()

    def _send_cancel(self) -> None:
        raise NotImplementedError


def _action(policy: Any) -> str:
    if callable(policy.on_give_up):
        return "calling on_give_up"
    return "ending the process" if policy.on_give_up == "exit" else "raising when it resumes"


def watch_thread(policy: Any, target: object, failures: Any, frame: FrameType) -> _Attempt:
    return _Attempt(policy, target, failures, frame)


class _AsyncioAttempt(_Attempt):
    def __init__(self, policy: Any, target: object, failures: Any, frame: FrameType, task: Any) -> None:
        self.task = task
        self.loop = task.get_loop()
        self.task_name = str(task.get_name())
        super().__init__(policy, target, failures, frame)

    def _suspended_stack(self) -> list[FrameType]:
        return stack_of_coroutine(self.task.get_coro(), self.frame)

    def _send_cancel(self) -> None:
        with contextlib.suppress(RuntimeError):  # its loop is closed: the task is gone
            self.loop.call_soon_threadsafe(self._cancel)

    def _cancel(self) -> None:
        if not self.stopped and not self.task.done():  # it may have finished since it was judged
            self.cancelled = True
            self.task.cancel()

    def cancelled_by_watchdog(self, exc: BaseException) -> bool:
        import asyncio

        if self.stop() is None or not self.cancelled or not isinstance(exc, asyncio.CancelledError):
            return False
        uncancel = getattr(self.task, "uncancel", None)  # 3.11+: undo our request, see if others remain
        return uncancel is None or uncancel() == 0

    def scope(self) -> Any:
        return contextlib.nullcontext()


class _TrioAttempt(_Attempt):
    def __init__(self, policy: Any, target: object, failures: Any, frame: FrameType, trio: Any) -> None:
        self.trio = trio
        task = trio.lowlevel.current_task()
        self.coro = task.coro
        self.task_name = str(task.name)
        self.token = trio.lowlevel.current_trio_token()
        self.cancel_scope = trio.CancelScope()
        super().__init__(policy, target, failures, frame)

    def _suspended_stack(self) -> list[FrameType]:
        return stack_of_coroutine(self.coro, self.frame)

    def _send_cancel(self) -> None:
        with contextlib.suppress(Exception):  # trio.RunFinishedError: the run is over
            self.token.run_sync_soon(self._cancel)

    def _cancel(self) -> None:
        if not self.stopped:
            self.cancelled = True
            self.cancel_scope.cancel()

    def cancelled_by_watchdog(self, exc: BaseException) -> bool:
        return False  # the cancel scope catches the watchdog's cancellation itself

    @contextlib.contextmanager
    def scope(self) -> Iterator[None]:
        with self.cancel_scope:
            yield


def watch_async(policy: Any, target: object, failures: Any, frame: FrameType) -> Any:
    trio = running_trio()
    if trio is not None:
        return _TrioAttempt(policy, target, failures, frame, trio)
    import asyncio

    return _AsyncioAttempt(policy, target, failures, frame, asyncio.current_task())
