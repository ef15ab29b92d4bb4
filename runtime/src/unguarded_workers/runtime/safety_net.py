"""`install()`: the process-wide safety net for failures that escaped every guard.

    import unguarded_workers
    unguarded_workers.install()   # once, at start-up

From then on the spawn site of every thread (`Thread.start`), asyncio task (`create_task`,
`ensure_future`, task groups) and executor job (`ThreadPoolExecutor.submit`,
`ProcessPoolExecutor.submit`, `loop.run_in_executor`) is recorded: the first frame outside
threading, asyncio, concurrent.futures and this package, like Go's `created by` line. A
failure that escapes is then reported once, with that site, through `report()` (the handler
given to `set_error_handler`, else the ``unguarded_workers`` logger):

- a thread that dies: `threading.excepthook`, which then calls the hook it replaced unless
  that was Python's default printer (whose traceback the report already carries);
- a task or future whose exception was never retrieved: asyncio's default exception handler,
  for every loop (a handler the program set with `loop.set_exception_handler` keeps priority;
  calling `loop.default_exception_handler(context)` from it reaches the report);
- an executor future that failed and was discarded without `result()` or `exception()`
  having been called on it (a future still referenced at exit counts as discarded).

Failures contained by `wrap()` or `supervise()`, and results the program reads, are not
reported again. Loops that are not asyncio's own (uvloop) keep their own handler.
"""

from __future__ import annotations

import _thread
import asyncio
import concurrent.futures
import os
import sys
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from types import FrameType, TracebackType
from typing import Any, NamedTuple

from .failure import ErrorHandler, Failure, SpawnSite, describe, process_name, report

__all__ = ["SafetyNet", "install"]

# Python's own printer of a dead thread's traceback (threading.__excepthook__ from 3.10).
_DEFAULT_EXCEPTHOOK = getattr(threading, "__excepthook__", None) or getattr(_thread, "_excepthook", None)

# (file, line, function) of the spawning frame: a plain tuple per spawn, a SpawnSite only on failure.
_Site = tuple[str, int, str]


class _Patch(NamedTuple):
    owner: Any
    name: str
    original: Any
    replacement: Any


class SafetyNet:
    """What `install()` put in place; `uninstall()` (or leaving a `with` block) takes it out."""

    def __init__(self, on_error: ErrorHandler | None) -> None:
        self.on_error = on_error
        self.active = False
        self._patches: list[_Patch] = []
        self._previous_excepthook: Callable[[Any], object] | None = None
        self._task_sites: weakref.WeakKeyDictionary[Any, tuple[_Site | None, str | None]] = weakref.WeakKeyDictionary()
        # Frames in these files are the machinery of a spawn, not its site.
        self._machinery = tuple(
            os.path.dirname(path) + os.sep if path.endswith("__init__.py") else path
            for path in (threading.__file__, asyncio.__file__, concurrent.futures.__file__, __file__)
        )

    def __enter__(self) -> SafetyNet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    # -- installing ---------------------------------------------------------------------

    def _install(self) -> None:
        self._previous_excepthook = threading.excepthook
        threading.excepthook = self._thread_died
        self._patch(threading.Thread, "start", self._recording_thread_start)
        self._patch(asyncio.BaseEventLoop, "create_task", self._recording_create_task)
        self._patch(asyncio.BaseEventLoop, "run_in_executor", self._recording_run_in_executor)
        self._patch(asyncio.BaseEventLoop, "default_exception_handler", self._reporting_exception_handler)
        for executor in (concurrent.futures.ThreadPoolExecutor, concurrent.futures.ProcessPoolExecutor):
            self._patch(executor, "submit", self._recording_submit)
        self._patch(Future, "result", self._marking_retrieved)
        self._patch(Future, "exception", self._marking_retrieved)
        self.active = True

    def _patch(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        original = owner.__dict__[name]
        replacement = make(original)
        setattr(owner, name, replacement)
        self._patches.append(_Patch(owner, name, original, replacement))

    def uninstall(self) -> None:
        """Put back what `install()` replaced (what another tool replaced since is left to it)."""
        if not self.active:
            return
        self.active = False
        for patch in reversed(self._patches):
            if patch.owner.__dict__.get(patch.name) is patch.replacement:
                setattr(patch.owner, patch.name, patch.original)
        self._patches.clear()
        if threading.excepthook == self._thread_died and self._previous_excepthook is not None:
            threading.excepthook = self._previous_excepthook

    def _site(self, frame: FrameType | None) -> _Site | None:
        machinery = self._machinery
        while frame is not None and frame.f_code.co_filename.startswith(machinery):
            frame = frame.f_back
        if frame is None:
            return None
        return (frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name)

    # -- threads --------------------------------------------------------------------------

    def _recording_thread_start(self, original: Callable[[threading.Thread], None]) -> Callable[..., None]:
        net = self

        def start(thread: threading.Thread) -> None:
            if net.active:
                frame: FrameType | None = sys._getframe(1)
                # A subclass's own start() calling this one: its caller is the spawn site.
                while frame is not None and frame.f_code.co_name == "start" and frame.f_locals.get("self") is thread:
                    frame = frame.f_back
                target = getattr(thread, "_target", None)
                # The worker's name now, not the target: a finished thread must not keep it alive.
                worker = describe(target) if target is not None else f"{_qualname(type(thread))}.run"
                thread._unguarded_spawn = (net._site(frame), worker)  # type: ignore[attr-defined]
            original(thread)

        return start

    def _thread_died(self, args: Any) -> None:
        previous = self._previous_excepthook
        if self.active and not issubclass(args.exc_type, SystemExit) and args.exc_value is not None:
            thread = args.thread
            site, worker = getattr(thread, "_unguarded_spawn", (None, None))
            if worker is None:  # started before install()
                worker = f"{_qualname(type(thread))}.run" if thread is not None else "<unknown>"
            exception = _with_traceback(args.exc_value, args.exc_traceback)
            name = thread.name if thread is not None else threading.current_thread().name
            failure = Failure(exception, worker, _spawn_site(site), name, None, process_name(), "install")
            report(failure, self.on_error, note="; the thread died")
            if previous is _DEFAULT_EXCEPTHOOK:
                return  # the default hook would print the same traceback a second time
        if previous is not None:
            previous(args)

    # -- tasks ----------------------------------------------------------------------------

    def _recording_create_task(self, original: Callable[..., Any]) -> Callable[..., Any]:
        net = self

        def create_task(loop: Any, coro: Any, *args: Any, **kwargs: Any) -> Any:
            task = original(loop, coro, *args, **kwargs)
            if net.active:
                frame = getattr(coro, "cr_frame", None)
                module = frame.f_globals.get("__name__") if frame is not None else None
                net._task_sites[task] = (net._site(sys._getframe(1)), module)
            return task

        return create_task

    def _recording_run_in_executor(self, original: Callable[..., Any]) -> Callable[..., Any]:
        net = self

        def run_in_executor(loop: Any, executor: Any, func: Any, *args: Any) -> Any:
            future = original(loop, executor, func, *args)
            if net.active:
                net._task_sites[future] = (net._site(sys._getframe(1)), func)
            return future

        return run_in_executor

    def _reporting_exception_handler(self, original: Callable[[Any, dict[str, Any]], None]) -> Callable[..., None]:
        net = self

        def default_exception_handler(loop: Any, context: dict[str, Any]) -> None:
            failure = net._never_retrieved(context) if net.active else None
            if failure is None:
                original(loop, context)
            else:
                report(failure, net.on_error, note="; its exception was never retrieved")

        return default_exception_handler

    def _never_retrieved(self, context: dict[str, Any]) -> Failure | None:
        exception = context.get("exception")
        future = context.get("future")
        if not isinstance(exception, BaseException) or future is None:
            return None
        site, origin = self._task_sites.get(future, (None, None))
        if isinstance(future, asyncio.Task):
            coro = future.get_coro()
            qualname = getattr(coro, "__qualname__", None) or type(coro).__qualname__
            worker = f"{origin}.{qualname}()" if isinstance(origin, str) else f"{qualname}()"
            task: str | None = future.get_name()
        else:  # a future of run_in_executor (origin: its function), or one made by hand
            worker = describe(origin) if origin is not None else repr(future)
            task = None
        thread = threading.current_thread().name
        return Failure(exception, worker, _spawn_site(site), thread, task, process_name(), "install")

    # -- executor futures -----------------------------------------------------------------

    def _recording_submit(self, original: Callable[..., Future[Any]]) -> Callable[..., Future[Any]]:
        net = self

        def submit(executor: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
            future = original(executor, fn, *args, **kwargs)
            if net.active:
                watch = _FutureWatch(net, net._site(sys._getframe(1)), fn, executor)
                future._unguarded_watch = watch  # type: ignore[attr-defined]
                watch.finalizer = weakref.finalize(future, watch.discarded)
                future.add_done_callback(watch.done)
            return future

        return submit

    @staticmethod
    def _marking_retrieved(original: Callable[..., Any]) -> Callable[..., Any]:
        def retrieving(future: Future[Any], *args: Any, **kwargs: Any) -> Any:
            watch = future.__dict__.get("_unguarded_watch")
            if watch is not None:
                watch.retrieved = True
            return original(future, *args, **kwargs)

        retrieving.__name__ = original.__name__
        retrieving.__doc__ = original.__doc__
        return retrieving


class _FutureWatch:
    """What the safety net knows of one executor future; holds no reference to the future."""

    __slots__ = ("exception", "finalizer", "fn", "net", "retrieved", "site", "submitter", "thread")

    def __init__(self, net: SafetyNet, site: _Site | None, fn: object, executor: object) -> None:
        self.net = net
        self.site = site
        self.fn = fn
        self.exception: BaseException | None = None
        # Done-callbacks run in the pool's thread, or at once in the caller's when the job has
        # finished already: then only the kind of worker is known.
        self.thread = f"a {type(executor).__name__} worker"
        self.submitter = threading.get_ident() if isinstance(executor, concurrent.futures.ThreadPoolExecutor) else None
        self.retrieved = False
        self.finalizer: weakref.finalize[Any, Any] | None = None

    def done(self, future: Future[Any]) -> None:
        exception = None if future.cancelled() else future._exception
        if exception is None or not isinstance(exception, Exception):
            if self.finalizer is not None:
                self.finalizer.detach()  # nothing to report: drop it now
            return
        self.exception = exception
        if self.submitter is not None and threading.get_ident() != self.submitter:
            self.thread = threading.current_thread().name

    def discarded(self) -> None:
        if self.retrieved or self.exception is None or not self.net.active:
            return
        failure = Failure(
            self.exception,
            describe(self.fn),
            _spawn_site(self.site),
            self.thread,
            None,
            process_name(),
            "install",
        )
        report(failure, self.net.on_error, note="; its future was discarded without its result being read")


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _spawn_site(site: _Site | None) -> SpawnSite | None:
    return SpawnSite(*site) if site is not None else None


def _with_traceback(exception: BaseException, traceback: TracebackType | None) -> BaseException:
    if traceback is not None and exception.__traceback__ is None:
        exception = exception.with_traceback(traceback)
    return exception


_installed: list[SafetyNet] = []  # the active net, if any
_lock = threading.Lock()


def install(*, on_error: ErrorHandler | None = None) -> SafetyNet:
    """Put the safety net in place; returns the handle that undoes it (`uninstall()`, or `with`).

    Idempotent: while one is in place, a second call returns it unchanged. `on_error`
    receives each failure instead of the process-wide handler or the log.
    """
    with _lock:
        if not _installed or not _installed[0].active:
            net = SafetyNet(on_error)
            net._install()
            _installed[:] = [net]
        return _installed[0]
