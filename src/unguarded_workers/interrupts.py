"""Stopping a run on Ctrl-C, SIGTERM or SIGHUP without leaving anything half done.

The command's main process turns each of the three signals into `Interrupted` (a
`KeyboardInterrupt` that knows its signal, for the exit status 128 + signal). While
something must be done whole (a file renamed into place, a report line or document written
out) the signal is held back and raised right after, and the run stops as asked. A worker
process that outlives the main process waits for the same sections before it exits.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType

SIGNALS = (signal.SIGINT, signal.SIGTERM) + ((signal.SIGHUP,) if hasattr(signal, "SIGHUP") else ())
_MASKABLE = sys.platform != "win32" and hasattr(signal, "pthread_sigmask")


class Interrupted(KeyboardInterrupt):
    """The run was asked to stop by `signum`."""

    def __init__(self, signum: int = signal.SIGINT) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def say_interrupted(interrupt: KeyboardInterrupt) -> None:
    """The one line a stopped command prints: which signal stopped it, unless Ctrl-C."""
    signum = getattr(interrupt, "signum", signal.SIGINT)
    how = "" if signum == signal.SIGINT else f" ({signal.Signals(signum).name})"
    print(f"unguarded-workers: interrupted{how}", file=sys.stderr)


def exit_status(interrupt: KeyboardInterrupt) -> int:
    """128 + the signal, as shells report a process that a signal ended (130 for Ctrl-C)."""
    return 128 + getattr(interrupt, "signum", signal.SIGINT)


class _State:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.whole = threading.RLock()  # held by a section that must be done whole
        self.depth = 0
        self.pending: int | None = None


_state = _State()
if hasattr(os, "register_at_fork"):
    # A worker forked while the main process held a section must not inherit it held.
    os.register_at_fork(after_in_child=_state.reset)


def _handler(signum: int, frame: FrameType | None) -> None:
    if _state.depth:
        if _state.pending is None:
            _state.pending = signum
        return
    raise Interrupted(signum)


@contextlib.contextmanager
def handled() -> Iterator[None]:
    """In the main thread of the main process, for the duration: the three signals raise
    `Interrupted`, held back by `deferred()`; the previous handlers come back after."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, _handler) for signum in SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        _state.pending = None


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Hold the three signals back for the duration; an interruption raises right after.

    Also blocks them in this thread (POSIX), for code that runs without `handled()`.
    """
    state = _state
    state.depth += 1  # from here on, a signal is held
    try:
        previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS) if _MASKABLE else None
        try:
            with state.whole:
                yield
        finally:
            if previous is not None:
                signal.pthread_sigmask(signal.SIG_SETMASK, previous)
    finally:
        state.depth -= 1
    if not state.depth and state.pending is not None:
        signum, state.pending = state.pending, None
        raise Interrupted(signum)


@contextlib.contextmanager
def stopping() -> Iterator[None]:
    """While the run stops (the files in hand are finished): further signals are held and
    dropped, the run is stopping already."""
    state = _state
    state.depth += 1
    try:
        with state.whole:
            yield
    finally:
        state.depth -= 1
        state.pending = None


@contextlib.contextmanager
def blocked() -> Iterator[None]:
    """Block the three signals in this thread (POSIX): a process forked meanwhile starts
    with them blocked, until it decides what they do there."""
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS) if _MASKABLE else None
    try:
        yield
    finally:
        if previous is not None:
            signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def ignore_in_worker() -> None:
    """In a worker process: the signals are the main process's to handle, which stops the run."""
    for signum in SIGNALS:
        signal.signal(signum, signal.SIG_IGN)
    if _MASKABLE:
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)


def exit_when_whole(status: int) -> None:
    """End this process at once, but not in the middle of a section that must be done whole."""
    with _state.whole:
        os._exit(status)
