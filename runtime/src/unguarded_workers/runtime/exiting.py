"""Ending the process with status 1 when `supervise()` gives up, after the program's own shutdown.

In the main thread (or a task of a loop running there) that is `SystemExit(1)`. From any other
thread:

1. a non-daemon "unguarded-workers-exit" thread is started (daemon=False said explicitly: a
   thread inherits its starter's daemon flag, and the interpreter does not wait for a daemon);
2. the main thread is interrupted as by Ctrl-C: SIGINT is sent to it with `pthread_kill`, which
   also wakes it from `time.sleep`, `join()` or a selector (`_thread.interrupt_main` only sets a
   flag it would see once the blocking call returns). Its SIGINT handler decides what happens:
   Python's raises KeyboardInterrupt, so `finally` blocks and context managers run; a server's
   (uvicorn, gunicorn's workers) starts its graceful shutdown;
3. once the main thread has finished, or after `exit_grace` seconds if it has not, the exit
   thread runs the `atexit` handlers and ends the process with `os._exit(1)`, whatever status
   the main thread was going to exit with (uvicorn exits 0 after a signal).

A SIGINT that Python does not handle (ignored: a background job of a non-interactive shell;
or the default action: gunicorn's uvicorn worker resets it, and uvicorn re-raises the signal
it shut down for) could not interrupt the main thread, or would kill the process by a signal
that systemd's Restart=on-failure treats as a clean stop. So `prepare()`, called by supervise()
and install() in the main thread, puts a stand-in handler there that behaves exactly as before
(ignores SIGINT, or lets it kill the process) until a give-up is under way, and then raises
SystemExit(1) in the main thread. Under gunicorn's uvicorn worker, install() or supervise() must
run at the app module's import (the worker resets SIGINT to the default action before it, and
uvicorn saves the handler it finds when it starts serving, to re-raise the signal into it).
"""

from __future__ import annotations

import _thread
import atexit
import contextlib
import os
import sys
import threading
import time
from types import FrameType
from typing import Any

from .failure import logger

__all__ = ["EXIT_STATUS", "end_process", "prepare"]

EXIT_STATUS = 1

_ending = threading.Lock()
_giving_up: list[bool] = []  # non-empty once a give-up from another thread is under way


class _StandIn:
    """SIGINT's handler where Python had none: as before, until the process is giving up."""

    def __init__(self, original: Any) -> None:
        self.original = original

    def __call__(self, signum: int, frame: FrameType | None) -> None:
        if _giving_up:
            # Not KeyboardInterrupt: the program never expected one (SIGINT was not handled),
            # and gunicorn's worker would let it reach its arbiter's code, which halts the
            # server from inside the worker (signalling the other workers) instead of exiting.
            raise SystemExit(EXIT_STATUS)
        import signal

        if self.original == signal.SIG_DFL:  # what the default action would have done
            signal.signal(signum, signal.SIG_DFL)
            signal.raise_signal(signum)
        # SIG_IGN: ignored, as before

    def __repr__(self) -> str:
        return f"<unguarded-workers stand-in for {self.original!r}>"


def prepare() -> None:
    """In the main thread, on POSIX: make sure a give-up from another thread can interrupt it."""
    if threading.current_thread() is not threading.main_thread():
        return
    import signal

    if not hasattr(signal, "pthread_kill"):
        return  # Windows: only _thread.interrupt_main, which needs no handler of ours
    with contextlib.suppress(ValueError, OSError):  # not the main interpreter
        current = signal.getsignal(signal.SIGINT)
        if current in (signal.SIG_IGN, signal.SIG_DFL):
            signal.signal(signal.SIGINT, _StandIn(current))


def end_process(status: int, grace: float) -> None:
    """End the process with `status` after the main thread's own shutdown (see the module doc)."""
    if threading.current_thread() is threading.main_thread():
        raise SystemExit(status)
    if not _ending.acquire(blocking=False):
        return  # another worker is ending the process already
    _giving_up.append(True)
    threading.Thread(target=_exit_after_main, args=(status, grace), name="unguarded-workers-exit", daemon=False).start()
    _interrupt_main()


def _interrupt_main() -> None:
    import signal

    main = threading.main_thread()
    if not main.is_alive():
        return  # finishing already: the exit thread ends the process once it has
    handler = signal.getsignal(signal.SIGINT)
    if not callable(handler):
        # Ignored or the default action, and no stand-in (prepare() never ran in the main
        # thread): a signal would do nothing, or kill the process. The exit thread ends it
        # after exit_grace.
        logger.warning(
            "unguarded-workers: SIGINT is %s in this process: the main thread cannot be interrupted; "
            "the process ends in at most exit_grace seconds",
            "ignored" if handler == signal.SIG_IGN else "not handled by Python",
        )
        return
    if hasattr(signal, "pthread_kill") and main.ident is not None:
        signal.pthread_kill(main.ident, signal.SIGINT)
    else:
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
            time.sleep(0.02)
        atexit._run_exitfuncs()  # what the interpreter would run at exit (logging's flush among them)
    except Exception:  # atexit prints its handlers' failures itself: this is anything else
        logger.exception("unguarded-workers: ending the process after its main thread failed")
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # a closed or broken stream: nothing left to flush
                stream.flush()
        os._exit(status)
