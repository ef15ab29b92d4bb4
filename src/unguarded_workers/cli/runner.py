"""Many files over all cores: the worker processes, the two passes of a run, and what an
interrupt leaves done.

A run first needs the project's spawn helpers (a module that only calls one is checked for
it), which every file may define. So it goes over the files twice, each batch of files on the
same worker both times (its lane: runs of neighbouring batches, so that a package's files and
the modules they import are parsed by one worker; on the 26 projects of bench_cli, 271 parses
at `--jobs 2` where a pool that hands batches to whichever worker is free made 289):

- without a results cache (`--no-cache`, the default of CI runners), the first pass checks
  each file that could define a helper by itself, finding its helpers on the same parse; the
  second checks the other files that could start a worker, re-reads the rest, and checks a
  file checked first again only if it calls a helper defined elsewhere;
- to fix, the same, but the first pass only checks (it writes nothing): the second fixes the
  files it found something in, and those that call a helper defined elsewhere;
- with the cache, the first pass only finds the helpers (`find_helpers`), and the second
  checks every file (a cached result is keyed by the helpers).
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, TypeVar

from .. import interrupts
from ..memory import collect_less, collecting_less
from ..options import Options
from .engine import (
    FileOutcome,
    FirstPass,
    Item,
    Job,
    Mode,
    find_helpers,
    first_pass,
    helper_files_of,
    process_batch,
    second_pass,
    second_pass_batch,
)

if TYPE_CHECKING:  # loaded by a run that starts a pool (24 ms of start-up a run on one core spares)
    from concurrent.futures import Future, ProcessPoolExecutor
    from multiprocessing.connection import Connection

# Below this many files a pool costs more to start than it saves.
POOL_THRESHOLD = 48
WORKERS_PER_CORE = 2


def worker_limit() -> int:
    """The most worker processes a run starts: the analysis is CPU-bound, so more than two
    per core (room for a slow disk) would only cost memory, each holding its own modules."""
    return WORKERS_PER_CORE * (os.cpu_count() or 1)


class Runner:
    """Every item processed, over several processes when there are many.

    Iterating yields each outcome as it is ready, in the order of `items`; `done` holds
    them all. After an interrupt, `stop()` lets the files in hand finish (a file is written
    whole or not at all) and adds their outcomes to `done`, so that a summary counts every
    file written. Used as a context manager: the pools are shut down on the way out.
    """

    def __init__(self, items: Sequence[Item], job: Job, jobs: int | None = None, *, find: bool = True) -> None:
        self.done: list[FileOutcome] = []
        self._items = items
        self._job = job
        self._find = find  # find the project's spawn helpers first, on the same workers
        # The first pass checks too (see the module's docstring): a check without a cache, a fix.
        self._checks_first = find and (job.mode is not Mode.CHECK or job.cache_dir is None)
        self._first_job = replace(job, mode=Mode.CHECK)  # a fix's first pass writes nothing
        self._first: list[FirstPass] = []  # the first pass's findings, per item
        self._checking: list[Future[list[FirstPass]]] = []  # the first pass, when it checks
        self._finding: list[Future[tuple[tuple[str, frozenset[str]], ...]]] = []  # when it only finds
        self._futures: list[Future[list[FileOutcome]] | Future[list[FileOutcome | None]]] = []
        self._next = 0  # the first future whose outcomes are not in `done`
        # One single-process pool per worker, each a lane that batches are pinned to (see
        # `_lanes`): a batch's two passes run in one process, which keeps its first pass's
        # analyses and the modules they imported.
        self._pools: list[ProcessPoolExecutor] | None = None
        self._parent_alive: Connection | None = None
        workers = min(jobs if jobs is not None else (os.cpu_count() or 1), worker_limit())
        self._batches: list[Sequence[Item]] = []
        self._starts: list[int] = []  # where each batch starts in `items`
        if workers > 1 and len(items) >= POOL_THRESHOLD:
            # Batches amortise the pickling of the job; several per worker keep cores busy
            # when one batch holds the slow files.
            size = max(1, min(64, len(items) // (workers * 4)))
            self._starts = list(range(0, len(items), size))
            self._batches = [items[start : start + size] for start in self._starts]
        self._workers = min(workers, len(self._batches))
        self._lanes = _lanes(len(self._batches), self._workers)

    def __enter__(self) -> Runner:
        if self._batches:
            import multiprocessing
            from concurrent.futures import ProcessPoolExecutor

            reader, writer = multiprocessing.Pipe(duplex=False)
            self._parent_alive = writer
            try:
                # Workers start with the signals blocked, until they ignore them.
                with interrupts.blocked():
                    self._pools = [
                        ProcessPoolExecutor(1, initializer=_start_worker, initargs=(reader, writer))
                        for _ in range(self._workers)
                    ]
                    # The workers start with their lane's first submission, and must inherit
                    # `reader`: every lane has a batch of the first pass (or of the only one).
                    if self._checks_first:
                        self._checking = [
                            self._lane(number).submit(_in_worker, first_pass, batch, self._first_job)
                            for number, batch in enumerate(self._batches)
                        ]
                    elif self._find:
                        self._finding = [
                            self._lane(number).submit(_in_worker, find_helpers, batch, self._job)
                            for number, batch in enumerate(self._batches)
                        ]
                    else:
                        self._submit()
            except BaseException:  # interrupted while starting: no batch is left to run
                self.__exit__()
                raise
            finally:
                reader.close()  # the workers hold it
        return self

    def _lane(self, number: int) -> ProcessPoolExecutor:
        """The pool of the worker batch `number` is pinned to."""
        assert self._pools is not None
        return self._pools[self._lanes[number]]

    def _submit(self) -> None:
        # All or nothing: an interrupt in the middle would leave batches running in the workers
        # that `stop()` does not know of, their outcomes lost (an interrupted run that shows none).
        with interrupts.deferred():
            self._futures = self._submitted()

    def _submitted(self) -> list[Future[list[FileOutcome]] | Future[list[FileOutcome | None]]]:
        job = self._job
        if not self._first:
            return [
                self._lane(number).submit(_in_worker, process_batch, batch, job)
                for number, batch in enumerate(self._batches)
            ]
        return [
            self._lane(number).submit(
                _in_worker, second_pass_batch, batch, job, self._first[start : start + len(batch)]
            )
            for number, (batch, start) in enumerate(zip(self._batches, self._starts))
        ]

    def _find_helpers(self) -> None:
        """First, the spawn helpers every file defines: the check of each file needs them all."""
        if self._checks_first:
            if self._pools is None:
                self._first = first_pass(self._items, self._first_job)
            else:
                self._first = [found for future in self._checking for found in future.result()]
            files = helper_files_of(self._items, self._first)
        elif self._pools is None:
            files = find_helpers(self._items, self._job)
        else:
            files = tuple(found for future in self._finding for found in future.result())
        self._finding, self._checking = [], []
        names = frozenset().union(*(names for _, names in files))
        job = self._job
        self._job = replace(job, helper_names=job.helper_names | names, helper_files=job.helper_files + files)
        self._find = False

    def __iter__(self) -> Iterator[FileOutcome]:
        with collecting_less():
            yield from self._outcomes()

    def _outcomes(self) -> Iterator[FileOutcome]:
        if self._find:
            self._find_helpers()
            if self._pools is not None:
                self._submit()
        if self._pools is None:
            # A file being fixed is finished before an interrupt stops the run, so that the
            # outcome of every file written is in `done`.
            hold = interrupts.deferred if self._job.mode is Mode.FIX else contextlib.nullcontext
            while len(self.done) < len(self._items):
                index = len(self.done)
                with hold():
                    self.done.append(self._outcome(self._items[index], index))
                yield self.done[-1]
            return
        while self._next < len(self._futures):
            outcomes = self._settled(self._next, self._futures[self._next].result())
            with interrupts.deferred():
                self.done.extend(outcomes)
                self._next += 1
            yield from outcomes

    def _outcome(self, item: Item, index: int) -> FileOutcome:
        if not self._first:
            return process_batch([item], self._job)[0]
        first = self._first[index]
        return self._settle(first, second_pass(item, self._job, first), item)

    def _settled(self, number: int, outcomes: Sequence[FileOutcome | None]) -> list[FileOutcome]:
        """A batch's outcomes, the first pass's where the second left it standing."""
        if not self._first:
            return [outcome for outcome in outcomes if outcome is not None]
        start = self._starts[number]
        firsts = self._first[start : start + len(outcomes)]
        items = self._batches[number]
        return [self._settle(first, outcome, item) for first, outcome, item in zip(firsts, outcomes, items)]

    @staticmethod
    def _settle(first: FirstPass, second: FileOutcome | None, item: Item) -> FileOutcome:
        if second is not None:
            return second
        return first.outcome if first.outcome is not None else FileOutcome(item.display)

    def _cancel_first_pass(self) -> None:
        for finding in self._finding:
            finding.cancel()
        for checking in self._checking:
            checking.cancel()

    def stop(self) -> None:
        """After an interrupt: drop the batches not started, finish those started."""
        with interrupts.stopping():  # another Ctrl-C must not lose what is being finished
            self._cancel_first_pass()  # interrupted in the first pass: nothing is shown
            pending = list(range(self._next, len(self._futures)))
            self._next = len(self._futures)
            for number in pending:
                self._futures[number].cancel()
            for number in pending:
                future = self._futures[number]
                if future.cancelled():
                    continue
                try:
                    self.done.extend(self._settled(number, future.result()))
                except Exception:  # a worker died: its files have no outcome
                    continue

    def __exit__(self, *exc_info: object) -> None:
        with interrupts.stopping():
            if self._pools is not None:
                self._cancel_first_pass()
                for future in self._futures[self._next :]:
                    future.cancel()
                for pool in self._pools:
                    pool.shutdown(wait=True, cancel_futures=True)
            if self._parent_alive is not None:
                self._parent_alive.close()  # a worker still alive now sees the main process gone


# How many runs of batches each worker takes: more balance the load, fewer split fewer packages.
# On the 26 projects of bench_cli at --jobs 2, the MB each worker parsed: 1.8 and 4.3 with 4
# runs, 3.5 and 2.7 with 8, 2.9 and 3.4 with 16 (6.3 MB in all, against 6.1 with 4).
_SEGMENTS_PER_WORKER = 16


def _lanes(batches: int, workers: int) -> list[int]:
    """The worker each batch is pinned to: runs of neighbouring batches (the walk's order keeps
    a package's files together, and with them the modules they import), dealt round in
    `_SEGMENTS_PER_WORKER` runs per worker so that no worker is left with the heavy packages."""
    if workers <= 1:
        return [0] * batches
    segments = min(batches, workers * _SEGMENTS_PER_WORKER)
    return [(number * segments // batches) % workers for number in range(batches)]


def run(items: Sequence[Item], job: Job, jobs: int | None = None) -> Iterator[FileOutcome]:
    """Process every item; outcomes come back in the order of `items`."""
    with Runner(items, job, jobs) as runner:
        yield from runner


# In a worker, the options of the run's first batch (see `_in_worker`).
_RUN_OPTIONS: list[Options] = []
_Result = TypeVar("_Result")


def _in_worker(work: Callable[..., _Result], batch: Sequence[Item], job: Job, *more: object) -> _Result:
    """A batch's work, in a worker process. Each batch's job arrives unpickled, its options
    equal to those of the run's other batches but a new object, and a project (its modules,
    parsed once) is the options' (`project_for`, by identity): the batches of both passes
    share the first batch's options, and so one project. In the command's own process they
    are one object already."""
    options = job.settings.options
    if not _RUN_OPTIONS:
        _RUN_OPTIONS.append(options)
    elif _RUN_OPTIONS[0] is not options and _RUN_OPTIONS[0] == options:
        job = replace(job, settings=replace(job.settings, options=_RUN_OPTIONS[0]))
    return work(batch, job, *more)


def _start_worker(parent_alive: Connection, parent_end: Connection) -> None:
    """In each worker process, first: it prints nothing and dies with the main process.

    Its fds 0-2 go to /dev/null, so that a worker never holds the command's output open
    (a reader of the output would wait for it); outcomes go back through the pool. The main
    process alone holds the writing end of `parent_alive`: reading it returns (end of file)
    when that process is gone, however it went (Ctrl-C, a signal, SIGKILL, the OOM killer).
    A pipe works on every platform and start method, unlike Linux's PR_SET_PDEATHSIG,
    which also fires when the thread that forked the worker ends.
    """
    interrupts.ignore_in_worker()
    collect_less()
    parent_end.close()  # this process's copy, inherited or passed: it would keep the pipe open
    devnull = os.open(os.devnull, os.O_RDWR)
    for descriptor in (0, 1, 2):
        os.dup2(devnull, descriptor)
    os.close(devnull)
    watch = threading.Thread(target=_exit_with_parent, args=(parent_alive,), name="uw-parent-watch", daemon=True)
    watch.start()


def _exit_with_parent(parent_alive: Connection) -> None:
    with contextlib.suppress(EOFError, OSError):
        parent_alive.recv_bytes()  # nothing is ever sent
    interrupts.exit_when_whole(1)  # not in the middle of writing a file
