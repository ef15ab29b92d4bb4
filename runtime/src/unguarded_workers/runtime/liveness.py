"""Liveness: a supervised worker says it is alive; silence longer than `hung_after` means hung.

    @supervise(hung_after=30)
    def consume(queue):
        while True:
            heartbeat()                      # finds its worker through a context variable
            handle(queue.get(timeout=10))    # waits shorter than hung_after, or beats while waiting

One watchdog thread (a daemon, started with the first watched worker) sleeps until the
earliest deadline; a heartbeat only stores the time, so beating in a tight loop is cheap.
When a worker is silent for `hung_after` seconds, the watchdog takes its stack (a thread's
current frames, a task's coroutine chain) and hands it to supervision, which decides.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections.abc import Callable
from contextvars import ContextVar
from types import FrameType, TracebackType
from typing import Any

from .failure import last_resort

__all__ = ["Watch", "WorkerHung", "heartbeat", "stack_of_coroutine", "stack_of_thread", "traceback_of"]


class WorkerHung(Exception):
    """A supervised worker stopped calling `heartbeat()` for longer than `hung_after` seconds.

    Reported as the worker's failure; its traceback is the worker's stack when it was judged
    hung, so the report shows where it is stuck.
    """


WorkerHung.__module__ = "unguarded_workers"  # where it is imported from: tracebacks print this name


class Watch:
    """One attempt of one supervised worker, as the watchdog sees it.

    `last` is written by `heartbeat()` in the worker and read by the watchdog: a float
    attribute's store and load are atomic, no lock needed. Everything else changes under the
    watchdog's lock.
    """

    __slots__ = ("__weakref__", "hung_after", "judge", "judged", "last")

    def __init__(self, hung_after: float, judge: Callable[[Watch, float], Callable[[], None] | None]) -> None:
        self.hung_after = hung_after
        # Called under the watchdog's lock when the worker is silent too long: decides (fast)
        # and returns what to do outside the lock (report, deliver, cancel), or None.
        self.judge = judge
        self.judged: Any = None  # what `judge` decided, for the worker to read when it resumes
        self.last = time.monotonic()

    def start(self) -> None:
        with _dog.changed:
            _dog.watched.add(self)
            _dog.ensure_running()
            _dog.changed.notify()

    def stop(self) -> Any:
        """Stop watching; what the watchdog decided, if it judged the worker hung meanwhile."""
        with _dog.changed:
            _dog.watched.discard(self)
            return self.judged


_beating: ContextVar[Watch | None] = ContextVar("unguarded_workers_watch", default=None)
_monotonic = time.monotonic


def heartbeat() -> None:
    """Tell the supervisor of the worker running here that it is alive; a no-op elsewhere.

    The worker is found through a context variable set by `supervise(..., hung_after=...)`:
    in its thread, or in its task (and tasks it starts, which copy its context). Threads the
    worker starts do not inherit it: there, heartbeat() does nothing.
    """
    watch = _beating.get()
    if watch is not None:
        watch.last = _monotonic()


def beating(watch: Watch) -> Any:
    """Make `heartbeat()` in this context beat for `watch`; the token to reset it with."""
    return _beating.set(watch)


def stop_beating(token: Any) -> None:
    _beating.reset(token)


# -- the watchdog ------------------------------------------------------------------------------


class _Watchdog:
    def __init__(self) -> None:
        self.changed = threading.Condition(threading.Lock())
        self.watched: set[Watch] = set()
        self.thread: threading.Thread | None = None

    def ensure_running(self) -> None:
        if self.thread is None or not self.thread.is_alive():
            self.thread = threading.Thread(target=self.run, name="unguarded-workers-watchdog", daemon=True)
            self.thread.start()

    def run(self) -> None:
        while True:
            actions: list[Callable[[], None]] = []
            with self.changed:
                now = time.monotonic()
                wait: float | None = None
                for watch in list(self.watched):
                    silence = now - watch.last
                    if silence < watch.hung_after:
                        left = watch.hung_after - silence
                        wait = left if wait is None else min(wait, left)
                        continue
                    self.watched.discard(watch)
                    try:
                        action = watch.judge(watch, silence)
                    except Exception as error:  # the watchdog must outlive any judgement
                        last_resort("the watchdog could not judge a hung worker", error)
                        continue
                    if action is not None:
                        actions.append(action)
                if not actions:
                    # A heartbeat moves a deadline later without waking us: we wake at the old
                    # deadline, find the worker alive, and sleep again until the new one.
                    self.changed.wait(wait)
                    continue
            for action in actions:
                try:
                    action()
                except Exception as error:
                    last_resort("the watchdog could not act on a hung worker", error)


_dog = _Watchdog()


def _after_fork() -> None:
    # The child has no watchdog thread, and may have inherited the lock held.
    _dog.__init__()  # type: ignore[misc]


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork)


# -- stacks ------------------------------------------------------------------------------------


def stack_of_thread(ident: int | None, below: FrameType) -> list[FrameType]:
    """The thread's frames from the one called by `below` (the supervisor's) inward."""
    frame = sys._current_frames().get(ident) if ident is not None else None
    frames: list[FrameType] = []
    while frame is not None and frame is not below:
        frames.append(frame)
        frame = frame.f_back
    if frame is None:
        return []  # the thread is no longer inside the supervisor
    frames.reverse()
    return frames


def stack_of_coroutine(coro: Any, below: FrameType) -> list[FrameType]:
    """A suspended task's frames from the one awaited by `below` (the supervisor's) inward."""
    frames: list[FrameType] = []
    seen_below = False
    for _ in range(1000):  # a bound: a pathological await chain must not hang the watchdog
        if coro is None:
            break
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            break
        if seen_below:
            frames.append(frame)
        seen_below = seen_below or frame is below
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)
    return frames


def traceback_of(frames: list[FrameType]) -> TracebackType | None:
    """A traceback through `frames` (outermost first), for a report to print as any other."""
    tb = None
    for frame in reversed(frames):
        tb = TracebackType(tb, frame, frame.f_lasti, frame.f_lineno or 0)
    return tb
