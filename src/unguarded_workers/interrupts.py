"""Holding Ctrl-C back while something must be done whole: a file renamed into place, a
report line or document written out. The signal is delivered right after, and the run
stops as asked."""

from __future__ import annotations

import contextlib
import signal
import sys
from collections.abc import Iterator

_DEFERRED_SIGNALS = {signal.SIGINT, signal.SIGTERM} | ({signal.SIGHUP} if hasattr(signal, "SIGHUP") else set())


@contextlib.contextmanager
def deferred() -> Iterator[None]:
    """Block SIGINT, SIGTERM and SIGHUP in this thread for the duration (POSIX)."""
    if sys.platform == "win32" or not hasattr(signal, "pthread_sigmask"):
        yield
        return
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, _DEFERRED_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)
