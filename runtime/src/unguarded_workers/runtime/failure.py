"""A worker's failure with its context, and where it is reported.

Every part of the runtime reports through `report()`: `wrap()` and `supervise()` when they
contain a failure, `install()` when one escaped every guard. The handler set with
`set_error_handler()` (or a guard's own `on_error=`) gets the whole `Failure`; without one,
the ``unguarded_workers`` logger gets one ERROR record whose first line `triage` reads back:

    worker app.jobs.work failed in thread 'Thread-1 (work)' (spawned at /srv/app/jobs.py:12 in main): ValueError: boom
"""

from __future__ import annotations

import functools
import inspect
import logging
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType, MethodType
from typing import Any

__all__ = ["ErrorHandler", "Failure", "SpawnSite", "report", "set_error_handler"]

logger = logging.getLogger("unguarded_workers")


@dataclass(frozen=True)
class SpawnSite:
    """The line that started the worker (for `wrap`/`supervise`: the line that called them)."""

    file: str
    line: int
    function: str

    @classmethod
    def of(cls, frame: FrameType) -> SpawnSite:
        # Made on every wrap() at a spawn line: the frozen dataclass's __init__ (three
        # object.__setattr__ calls) costs more than filling its dict directly.
        code = frame.f_code
        site = object.__new__(cls)
        site.__dict__.update(file=code.co_filename, line=frame.f_lineno, function=code.co_name)
        return site

    def __str__(self) -> str:
        return f"{self.file}:{self.line} in {self.function}"


@dataclass(frozen=True)
class Failure:
    """What a handler receives: the exception and where it happened.

    `worker` names the function (`module.qualname`, with `()` for a coroutine); `thread`,
    `task` and `process` where it ran (`task` None outside a task, `process` None in the main
    process); `caught_by` which part of the runtime saw it: "wrap", "supervise" or "install".
    """

    exception: BaseException
    worker: str
    spawn_site: SpawnSite | None
    thread: str
    task: str | None = None
    process: str | None = None
    caught_by: str = "wrap"

    @property
    def where(self) -> str:
        """`task 'T' in thread 'N' of process 'P'`, as much of it as applies."""
        text = f"thread {self.thread!r}"
        if self.task is not None:
            text = f"task {self.task!r} in {text}"
        if self.process is not None:
            text += f" of process {self.process!r}"
        return text

    def context(self) -> dict[str, str]:
        """The context as flat strings, for an error tracker's tags or a structured log."""
        fields = {
            "worker": self.worker,
            "spawn_site": str(self.spawn_site) if self.spawn_site else "unknown",
            "thread": self.thread,
            "task": self.task,
            "process": self.process,
            "caught_by": self.caught_by,
        }
        return {key: value for key, value in fields.items() if value is not None}

    def summary(self) -> str:
        """The report's first line; `unguarded-workers triage` parses it back."""
        site = f"spawned at {self.spawn_site}" if self.spawn_site else "spawn site unknown"
        return (
            f"worker {self.worker} failed in {self.where} ({site}): "
            f"{type(self.exception).__name__}: {text_of(self.exception)}"
        )


ErrorHandler = Callable[[Failure], object]

_error_handler: ErrorHandler | None = None


def set_error_handler(handler: ErrorHandler | None) -> ErrorHandler | None:
    """Send every reported failure to `handler(failure)` instead of the log; returns the previous one.

    A guard's own `on_error=` wins over it. `None` restores logging.
    """
    global _error_handler
    previous, _error_handler = _error_handler, handler
    return previous


def report(failure: Failure, on_error: ErrorHandler | None = None, *, note: str = "") -> None:
    """To `on_error`, else the process-wide handler, else the log. `note` ends the log line.

    Never raises: the worker must not die of its own report. A handler that raises falls back
    to the log; a log that raises (a handler's `emit` may: `Handler.handle` does not catch it)
    falls back to one line on the interpreter's own stderr.
    """
    try:
        handler = on_error or _error_handler
        if handler is None:
            _log(failure, note)
            return
        try:
            handler(failure)
        except Exception as handler_exc:
            # The handler failed: fall back to the log for both; the caller still contains.
            _log(failure, note)
            logger.error(
                "error handler %s failed while reporting a worker failure",
                describe(handler),
                exc_info=handler_exc,
            )
    except Exception as reporting_exc:
        last_resort(f"{failure.summary()}{note}", reporting_exc)


def last_resort(line: str, cause: BaseException) -> None:
    """One line on `sys.__stderr__`, where nothing else could report; never raises."""
    try:
        stream = sys.__stderr__
        if stream is not None:
            stream.write(f"unguarded-workers: {line} (the report failed: {type(cause).__name__}: {text_of(cause)})\n")
            stream.flush()
    except Exception:  # a closed or broken stderr: nothing is left to tell
        pass


def _log(failure: Failure, note: str) -> None:
    site = failure.spawn_site
    logger.error(
        "%s%s",
        failure.summary(),
        note,
        exc_info=failure.exception,
        extra={
            "worker": failure.worker,
            "worker_context": failure.where,
            "spawn_site": f"{site.file}:{site.line}" if site else None,
            "spawn_file": site.file if site else None,
            "spawn_line": site.line if site else None,
            "spawn_function": site.function if site else None,
            "caught_by": failure.caught_by,
        },
    )


def failure_here(exception: BaseException, worker: str, site: SpawnSite | None, caught_by: str) -> Failure:
    """A failure of the worker running in this thread (and task, if any) right now."""
    return Failure(
        exception, worker, site, threading.current_thread().name, current_task_name(), process_name(), caught_by
    )


def text_of(exc: BaseException) -> str:
    """str(exc), or a stand-in when the exception's own __str__ fails: the report must not
    be lost to a "--- Logging error ---"."""
    try:
        return str(exc)
    except Exception as error:
        return f"<str() of the exception failed: {type(error).__name__}>"


def describe(target: object) -> str:
    """`module.qualname` of a function, coroutine, partial or bound method; never raises."""
    try:
        return _describe(target)
    except Exception:  # a hostile __qualname__ or __module__: the report still goes out
        return f"<{type(target).__qualname__} object>"


def _describe(target: object) -> str:
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


def process_name() -> str | None:
    """The process's name outside the main process (only if multiprocessing is loaded)."""
    multiprocessing = sys.modules.get("multiprocessing")
    if multiprocessing is None:
        return None
    name = multiprocessing.current_process().name
    return None if name == "MainProcess" else str(name)


def running_trio() -> Any:
    """trio's module when this code runs inside `trio.run` (anyio on trio too), else None;
    trio is never imported here."""
    trio = sys.modules.get("trio")
    if trio is None:
        return None
    try:
        trio.lowlevel.current_task()
    except RuntimeError:  # not inside trio.run
        return None
    return trio


def current_task_name() -> str | None:
    # Only look at the libraries already imported: importing one here would be slow.
    asyncio = sys.modules.get("asyncio")
    if asyncio is not None:
        try:
            task = asyncio.current_task()
        except RuntimeError:  # no running asyncio loop
            task = None
        if task is not None:
            return str(task.get_name())
    trio = running_trio()
    return str(trio.lowlevel.current_task().name) if trio is not None else None
