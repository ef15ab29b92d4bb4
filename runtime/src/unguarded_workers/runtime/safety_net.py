"""`install()`: the process-wide safety net for failures that escaped every guard.

    import unguarded_workers
    unguarded_workers.install()   # once, at start-up

From then on the spawn site of every thread (`Thread.start`), asyncio task (`create_task`,
`ensure_future`, task groups) and executor job (`ThreadPoolExecutor.submit`,
`ProcessPoolExecutor.submit`, `loop.run_in_executor`) is recorded: the first frame outside
threading, asyncio, concurrent.futures, anyio, uvloop, gevent and this package, like Go's
`created by` line. Every exception that escapes such a worker carries it as a note
(`notes`): the one a TaskGroup collects, a future's `result()` raises, a thread dies of. A
failure that escapes is then reported once, with that site, through `report()` (the handler
given to `set_error_handler`, else the ``unguarded_workers`` logger):

- a thread that dies: `threading.excepthook`, which then calls the hook it replaced unless
  that was Python's default printer (whose traceback the report already carries);
- a task or future whose exception was never retrieved: asyncio's default exception handler,
  for every loop (a handler the program set with `loop.set_exception_handler` keeps priority;
  calling `loop.default_exception_handler(context)` from it reaches the report);
- an executor future that failed and was discarded without `result()` or `exception()`
  having been called on it (a future still referenced at exit counts as discarded).

- a greenlet that dies, under gevent: its hub's `print_exception` (`net_gevent`).

Failures contained by `wrap()` or `supervise()`, and results the program reads, are not
reported again. Loops are covered by class: asyncio's `BaseEventLoop`, and uvloop's `Loop`
whether uvloop is imported before install() or after (`net_loops`). A part that cannot be put
in place is left out whole, with one WARNING on the ``unguarded_workers`` logger.
"""

from __future__ import annotations

import _thread
import asyncio
import concurrent.futures
import functools
import sys
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future
from types import FrameType, TracebackType
from typing import Any, NamedTuple

from . import net_gevent, net_loops
from .exiting import prepare
from .failure import ErrorHandler, Failure, describe, last_resort, logger, process_name, report
from .import_watch import ImportWatch
from .notes import add_spawn_note
from .sites import RUNNERS, Site, Sites, how_of, spawn_site

__all__ = ["SafetyNet", "install"]

# Python's own printer of a dead thread's traceback (threading.__excepthook__ from 3.10).
_DEFAULT_EXCEPTHOOK = getattr(threading, "__excepthook__", None) or getattr(_thread, "_excepthook", None)

_Site = Site


class _Patch(NamedTuple):
    owner: Any
    name: str
    original: Any  # what owner.__dict__ held, or None when the attribute was inherited
    replacement: Any
    owned: bool  # whether owner.__dict__ held the attribute (else uninstall deletes ours)


class SafetyNet:
    """What `install()` put in place; `uninstall()` (or leaving a `with` block) takes it out."""

    def __init__(self, on_error: ErrorHandler | None) -> None:
        self.on_error = on_error
        self.active = False
        self._patches: list[_Patch] = []
        self._undo: list[Callable[[], None]] = []
        self._previous_excepthook: Callable[[Any], object] | None = None
        self._task_sites: weakref.WeakKeyDictionary[Any, tuple[_Site | None, str | None]] = weakref.WeakKeyDictionary()
        self._sites = Sites()
        self._imports = ImportWatch()
        # Bound once: the hook and the done-callback are compared and added by identity.
        self._hook = self._thread_died
        self._task_done = self._note_failed_task

    def __enter__(self) -> SafetyNet:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.uninstall()

    # -- installing ---------------------------------------------------------------------

    def _install(self) -> None:
        try:
            self._part("threads", self._install_threads)
            self._part("asyncio", self._install_asyncio)
            self._part("executors", self._install_executors)
            self._part("uvloop", lambda: self._when_imported("uvloop", self._cover_uvloop))
            self._part("gevent", lambda: self._when_imported("gevent.hub", self._cover_gevent))
            prepare()  # in the main thread: a supervise() give-up from another thread can interrupt it
        except BaseException:
            self._revert(0, 0)
            raise
        self.active = True

    def _part(self, name: str, install: Callable[[], None]) -> None:
        """Install one part whole, or leave it out whole with one warning."""
        patches, undo = len(self._patches), len(self._undo)
        try:
            install()
        except Exception as error:
            self._revert(patches, undo)
            logger.warning(
                "unguarded-workers: install() could not cover %s (%s: %s); the rest of the safety net is in place",
                name,
                type(error).__name__,
                error,
            )

    def _when_imported(self, module: str, cover: Callable[[Any], None]) -> None:
        loaded = sys.modules.get(module)
        if loaded is not None:
            cover(loaded)
        else:
            self._imports.watch(module, lambda loaded: self._part(module.partition(".")[0], lambda: cover(loaded)))

    def _cover_uvloop(self, uvloop: Any) -> None:
        net_loops.cover_loop_class(self, uvloop.Loop)

    def _cover_gevent(self, hub: Any) -> None:
        net_gevent.cover(self, hub)

    def patch(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        """Replace `owner.name` with `make(original)`; the original is what an instance would find."""
        owned = name in owner.__dict__
        original = owner.__dict__[name] if owned else getattr(owner, name)
        replacement = make(original)
        setattr(owner, name, replacement)
        self._patches.append(_Patch(owner, name, original if owned else None, replacement, owned))

    def on_uninstall(self, undo: Callable[[], None]) -> None:
        self._undo.append(undo)

    def _revert(self, patches: int, undo: int) -> None:
        while len(self._patches) > patches:
            patch = self._patches.pop()
            if patch.owner.__dict__.get(patch.name) is patch.replacement:  # what another tool put since is left
                if patch.owned:
                    setattr(patch.owner, patch.name, patch.original)
                else:
                    delattr(patch.owner, patch.name)
        while len(self._undo) > undo:
            self._undo.pop()()

    def uninstall(self) -> None:
        """Put back what `install()` replaced (what another tool replaced since is left to it)."""
        if not self.active:
            return
        self.active = False
        self._imports.close()
        self._revert(0, 0)

    def site(self, frame: FrameType | None, how: str) -> _Site | None:
        return self._sites.site(frame, how)

    def machinery(self) -> tuple[str, ...]:
        return self._sites.machinery

    # -- threads --------------------------------------------------------------------------

    def _install_threads(self) -> None:
        # The standard library's class: gevent's monkey-patching puts a subclass in its place.
        base = next(c for c in threading.Thread.__mro__ if "start" in c.__dict__ and c.__module__ == "threading")
        self.patch(base, "start", self._recording_thread_start)
        self._previous_excepthook = threading.excepthook
        self.patch(threading, "excepthook", lambda previous: self._hook)

    def _recording_thread_start(self, original: Callable[[threading.Thread], None]) -> Callable[..., None]:
        net = self

        def start(thread: threading.Thread) -> None:
            if net.active:
                try:
                    net._record_thread(thread, sys._getframe(1))
                except Exception as error:  # recording must never stop a spawn
                    last_resort("install() could not record a thread's spawn site", error)
            original(thread)

        return start

    def _record_thread(self, thread: threading.Thread, frame: FrameType | None) -> None:
        # A subclass's own start() calling this one: its caller is the spawn site.
        while frame is not None and frame.f_code.co_name == "start" and frame.f_locals.get("self") is thread:
            frame = frame.f_back
        target = getattr(thread, "_target", None)
        # The worker's name now, not the target: a finished thread must not keep it alive.
        worker = describe(target) if target is not None else f"{_qualname(type(thread))}.run"
        thread._unguarded_spawn = (self.site(frame, "threading.Thread"), worker)  # type: ignore[attr-defined]

    def _thread_died(self, args: Any) -> None:
        previous = self._previous_excepthook
        if self.active and not issubclass(args.exc_type, SystemExit) and args.exc_value is not None:
            thread = args.thread
            site, worker = getattr(thread, "_unguarded_spawn", (None, None))
            if worker is None:  # started before install()
                worker = f"{_qualname(type(thread))}.run" if thread is not None else "<unknown>"
            exception = _with_traceback(args.exc_value, args.exc_traceback)
            if site is not None:
                add_spawn_note(exception, spawn_site(site), how_of(site))
            name = thread.name if thread is not None else threading.current_thread().name
            failure = Failure(exception, worker, spawn_site(site), name, None, process_name(), "install")
            report(failure, self.on_error, note="; the thread died")
            if previous is _DEFAULT_EXCEPTHOOK:
                return  # the default hook would print the same traceback a second time
        if previous is not None:
            previous(args)

    # -- tasks ----------------------------------------------------------------------------

    def _install_asyncio(self) -> None:
        net_loops.cover_loop_class(self, asyncio.BaseEventLoop)
        net_loops.cover_running_loop(self)

    def record_task(self, task: Any, coro: Any, frame: FrameType | None, how: str) -> None:
        """Remember a new task's spawn site, and note it on the task's exception when it fails."""
        code_frame = getattr(coro, "cr_frame", None)
        module = code_frame.f_globals.get("__name__") if code_frame is not None else None
        self._task_sites[task] = (self.site(frame, how), module)
        if task.done():  # an eager task (3.12+) may have finished already
            self._task_done(task)
        else:
            # Added before any other done-callback (a TaskGroup adds its own after create_task
            # returns): the note is on the exception before the group collects it.
            task.add_done_callback(self._task_done)

    def _note_failed_task(self, task: Any) -> None:
        if task.cancelled():
            return
        exception = task._exception  # not task.exception(): that would mark it retrieved
        if exception is None:
            return
        try:
            site = self._task_sites.get(task, (None, None))[0]
            if site is not None:
                how = how_of(site)
                if how not in RUNNERS:
                    add_spawn_note(exception, spawn_site(site), how)
        except Exception as error:  # a done-callback that raises is logged by the loop: not ours
            last_resort("install() could not note a task's spawn site", error)

    def recording_create_task(self, original: Callable[..., Any]) -> Callable[..., Any]:
        net = self

        def create_task(loop: Any, coro: Any, *args: Any, **kwargs: Any) -> Any:
            task = original(loop, coro, *args, **kwargs)
            if net.active:
                try:
                    net.record_task(task, coro, sys._getframe(1), "loop.create_task")
                except Exception as error:  # recording must never stop a spawn
                    last_resort("install() could not record a task's spawn site", error)
            return task

        return create_task

    def recording_run_in_executor(self, original: Callable[..., Any]) -> Callable[..., Any]:
        net = self

        def run_in_executor(loop: Any, executor: Any, func: Any, *args: Any) -> Any:
            future = original(loop, executor, func, *args)
            if net.active:
                try:
                    net._task_sites[future] = (net.site(sys._getframe(1), "loop.run_in_executor"), func)
                except Exception as error:  # recording must never stop a spawn
                    last_resort("install() could not record a job's spawn site", error)
            return future

        return run_in_executor

    def reporting_exception_handler(self, original: Callable[[Any, dict[str, Any]], None]) -> Callable[..., None]:
        net = self

        def default_exception_handler(loop: Any, context: dict[str, Any]) -> None:
            try:
                failure = net._never_retrieved(context) if net.active else None
            except Exception as error:  # the loop's own report, then
                last_resort("install() could not report a never-retrieved exception", error)
                failure = None
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
        if site is not None:
            add_spawn_note(exception, spawn_site(site), how_of(site))
        thread = threading.current_thread().name
        return Failure(exception, worker, spawn_site(site), thread, task, process_name(), "install")

    # -- executor futures -----------------------------------------------------------------

    def _install_executors(self) -> None:
        for executor in (concurrent.futures.ThreadPoolExecutor, concurrent.futures.ProcessPoolExecutor):
            self.patch(executor, "submit", functools.partial(self._recording_submit, how=f"{executor.__name__}.submit"))
        self.patch(Future, "result", self._marking_retrieved)
        self.patch(Future, "exception", self._marking_retrieved)
        self.patch(Future, "set_exception", self._noting_set_exception)

    def _recording_submit(self, original: Callable[..., Future[Any]], how: str) -> Callable[..., Future[Any]]:
        net = self

        def submit(executor: Any, fn: Any, /, *args: Any, **kwargs: Any) -> Future[Any]:
            future = original(executor, fn, *args, **kwargs)
            if net.active:
                try:
                    net._watch_future(future, sys._getframe(1), how, fn, executor)
                except Exception as error:  # recording must never stop a spawn
                    last_resort("install() could not record a job's spawn site", error)
            return future

        return submit

    def _watch_future(self, future: Future[Any], frame: FrameType, how: str, fn: object, executor: object) -> None:
        watch = _FutureWatch(self, self.site(frame, how), fn, executor)
        future._unguarded_watch = watch  # type: ignore[attr-defined]
        watch.finalizer = weakref.finalize(future, watch.discarded)
        future.add_done_callback(watch.done)
        if future.done() and watch.site is not None and future._exception is not None:
            # It failed before the watch was attached: note it before anyone can read it.
            add_spawn_note(future._exception, spawn_site(watch.site), how_of(watch.site))

    @staticmethod
    def _noting_set_exception(original: Callable[..., Any]) -> Callable[..., Any]:
        # Before the waiters wake: result() raises an exception that carries its spawn site.
        def set_exception(future: Future[Any], exception: BaseException | None) -> None:
            watch = future.__dict__.get("_unguarded_watch")
            if watch is not None and exception is not None and watch.site is not None:
                add_spawn_note(exception, spawn_site(watch.site), how_of(watch.site))  # never raises
            original(future, exception)

        set_exception.__doc__ = original.__doc__
        return set_exception

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
            spawn_site(self.site),
            self.thread,
            None,
            process_name(),
            "install",
        )
        report(failure, self.net.on_error, note="; its future was discarded without its result being read")


def _qualname(cls: type) -> str:
    return f"{cls.__module__}.{cls.__qualname__}"


def _with_traceback(exception: BaseException, traceback: TracebackType | None) -> BaseException:
    if traceback is not None and exception.__traceback__ is None:
        exception = exception.with_traceback(traceback)
    return exception


_installed: list[SafetyNet] = []  # the active net, if any
_lock = threading.Lock()


def install(*, on_error: ErrorHandler | None = None) -> SafetyNet:
    """Put the safety net in place; returns the handle that undoes it (`uninstall()`, or `with`).

    Idempotent: while one is in place, a second call returns it unchanged. `on_error`
    receives each failure instead of the process-wide handler or the log. A part that cannot
    be put in place (an unknown loop, gevent's hub changed) is left out whole, with a warning.
    """
    with _lock:
        if not _installed or not _installed[0].active:
            net = SafetyNet(on_error)
            net._install()
            _installed[:] = [net]
        return _installed[0]
