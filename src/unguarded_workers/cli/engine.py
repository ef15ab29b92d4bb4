"""One file in, its findings (and for `fix`, its rewrite) out; many files over all cores."""

from __future__ import annotations

import ast
import contextlib
import gc
import multiprocessing
import os
import re
import threading
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from enum import Enum
from multiprocessing.connection import Connection
from pathlib import Path

from .. import interrupts
from ..analysis import might_spawn
from ..analysis.discovery import helpers_by_file, helpers_in_text
from ..analysis.project import package_root, project_for
from ..codes import internal_error_text
from ..config import Settings
from ..positions import SourceLines, character_column
from ..quoting import quoted
from ..reports import reported
from ..sources import NewerSyntax, Source, SourceError, TooLarge, decode, parse, read_source, too_large
from ..violation import Violation
from .cache import ResultsCache, settings_key

# Below this many files a pool costs more to start than it saves.
POOL_THRESHOLD = 48
WORKERS_PER_CORE = 2


class Mode(Enum):
    CHECK = "check"
    DIFF = "diff"  # fix, but show the change instead of writing it
    FIX = "fix"


@dataclass(frozen=True)
class Job:
    settings: Settings
    mode: Mode = Mode.CHECK
    unsafe_fixes: bool = False
    disable_noqa: bool = False
    cache_dir: str | None = None  # where `check` keeps results of unchanged files; None: no cache
    helper_names: frozenset[str] = frozenset()  # the project's spawn helpers (found before the run)
    # Where each was found: (file, the names it defines); a module calls only those under its
    # top-level package's directory (`helpers_for`).
    helper_files: tuple[tuple[str, frozenset[str]], ...] = ()


@dataclass(frozen=True)
class Item:
    """A file to process: a path, or text read from stdin (`data`)."""

    display: str
    path: str | None = None
    data: bytes | None = None


@dataclass(frozen=True)
class Place:
    """A related place of a finding (the uncovered statement, the waiter), as reports show it."""

    path: str  # as reports name files: the finding's own display, or the other file's path
    line: int
    column: int  # 1-based, in characters
    end_line: int
    end_column: int  # 1-based, exclusive, in characters
    message: str


@dataclass(frozen=True)
class Finding:
    violation: Violation
    column: int  # 1-based, in characters (flake8's text format counts UTF-8 bytes)
    related: tuple[Place, ...] = ()
    # Where the reported code ends (1-based, the column exclusive, in characters), and its
    # lines as written: for end positions and snippets.
    end_line: int = 0
    end_column: int = 0
    lines: tuple[str, ...] = ()

    @property
    def fixable(self) -> bool:
        """Whether `fix` guards it by default (a safe fix)."""
        return self.violation.unsafe_fix is None


@dataclass
class FileOutcome:
    display: str
    findings: list[Finding] = field(default_factory=list)  # for fix runs: the sites left
    error: str | None = None
    fixed: list[Finding] = field(default_factory=list)
    left_reasons: list[str] = field(default_factory=list)  # parallel to findings, fix runs only
    diff: bytes | None = None  # in the file's own bytes
    fixed_data: bytes | None = None  # stdin under `fix`: the whole module, fixed or not
    write_error: str | None = None
    skipped: str | None = None  # why the file was not checked (over the size limit)
    error_line: int | None = None  # where the error is, when it is in the file (1-based)
    error_column: int | None = None
    newer_python: str | None = None  # the file needs this Python to be read ("3.12")


def _findings(source: Source, violations: Sequence[Violation]) -> list[Finding]:
    """Each violation with its columns in characters (ast gives UTF-8 bytes)."""
    if not violations:
        return []  # most files: no need to index their lines
    lines = SourceLines(source.text)
    others: dict[str, SourceLines | None] = {}
    found = []
    for v in violations:
        end_line, end_column = _end(lines, v)
        text = tuple(lines.line_text(number).rstrip("\r\n") for number in range(v.line, end_line + 1))
        column = character_column(lines.line_text(v.line), v.col) + 1
        found.append(Finding(v, column, _places(source, lines, v, others), end_line, end_column, text))
    return found


# The header a UW102 report covers: `def run` (or `async def run`).
_RUN_HEADER = re.compile(r"(?:async\s+)?def\s+run\b")


def _end(lines: SourceLines, violation: Violation) -> tuple[int, int]:
    """Where the reported code ends: the spawn call's end, or the end of the `def run` header
    (1-based line; column 1-based, exclusive, in characters)."""
    if violation.end_line is not None and violation.end_col is not None:
        return violation.end_line, character_column(lines.line_text(violation.end_line), violation.end_col) + 1
    text = lines.line_text(violation.line)
    start = character_column(text, violation.col)
    header = _RUN_HEADER.match(text, start)
    return violation.line, (header.end() if header else start) + 1


def _places(
    source: Source, lines: SourceLines, violation: Violation, others: dict[str, SourceLines | None]
) -> tuple[Place, ...]:
    places = []
    for related in violation.related:
        where: SourceLines | None = lines
        shown = source.display
        if related.path is not None:
            if related.path not in others:
                others[related.path] = _lines_of(related.path)
            where, shown = others[related.path], _shown_path(related.path)
        r = related.range
        if where is None:  # the other file went away meanwhile: its lines, without columns
            places.append(Place(shown, r.line, 1, r.end_line, 1, related.message))
            continue
        start = character_column(where.line_text(r.line), r.col) + 1
        end = character_column(where.line_text(r.end_line), r.end_col) + 1
        places.append(Place(shown, r.line, start, r.end_line, end, related.message))
    return tuple(places)


def _lines_of(path: str) -> SourceLines | None:
    try:
        return SourceLines(read_source(Path(path)).text)
    except SourceError:
        return None


def _shown_path(path: str) -> str:
    """Another project file, as a report names it: relative to the current directory when under it."""
    relative = os.path.relpath(path)
    return path if relative.startswith(os.pardir) else relative


def _load(item: Item, job: Job) -> Source:
    limit = job.settings.max_file_size
    if item.data is not None:
        if limit and len(item.data) > limit:
            raise TooLarge(too_large(item.display, len(item.data), limit))
        return decode(item.data, item.display)
    assert item.path is not None
    return read_source(Path(item.path), item.display, limit)


_CACHES: dict[tuple[str, int], ResultsCache] = {}


def _cache(job: Job) -> ResultsCache | None:
    """The job's results cache, made once per process."""
    if job.cache_dir is None:
        return None
    key = (job.cache_dir, id(job.settings))
    if key not in _CACHES:
        _CACHES.clear()
        settings = settings_key(job.settings, disable_noqa=job.disable_noqa, helpers=job.helper_names)
        _CACHES[key] = ResultsCache(job.cache_dir, settings)
    return _CACHES[key]


def _reported(source: Source, tree: ast.Module, job: Job) -> list[Violation]:
    return reported(source, tree, job.settings, disable_noqa=job.disable_noqa)


def process(item: Item, job: Job) -> FileOutcome:
    outcome = FileOutcome(item.display)
    if not job.settings.checks(item.path or (item.display if item.data is not None else None)):
        if job.mode is Mode.FIX and item.data is not None:
            outcome.fixed_data = item.data  # an editor replaces its buffer with what fix prints
        return outcome  # test code, left alone unless `tests = "check"`
    project = project_for(job.settings.options)
    project.helper_names = job.helper_names
    try:
        source = _load(item, job)
        if not might_spawn(source.text, job.settings.options, helpers_for(item, job)):
            # Most files start no worker: the text says so before any parse (a file the
            # check of another needs is parsed then, by the project's module cache).
            if job.mode is Mode.FIX and item.data is not None:
                outcome.fixed_data = source.data
            return outcome
        cache = _cache(job) if job.mode is Mode.CHECK and item.path is not None else None
        if cache is not None:
            assert item.path is not None
            cached = cache.get(item.path, source.data)
            if cached is not None:
                outcome.findings = _findings(source, cached)
                return outcome
        tree = parse(source)
    except TooLarge as skipped:
        outcome.skipped = str(skipped)
        if job.mode is Mode.FIX and item.data is not None:
            outcome.fixed_data = item.data
        return outcome
    except SourceError as error:
        _failed(outcome, error, job)
        return outcome
    try:
        violations = _reported(source, tree, job)
        if cache is not None:
            assert item.path is not None
            cache.put(item.path, source.data, violations, project.dependencies(item.path))
        if job.mode is Mode.CHECK or not violations:
            outcome.findings = _findings(source, violations)
        else:
            _fix(item, job, source, tree=tree, violations=violations, outcome=outcome)
    finally:
        if item.path is not None:
            project.release(item.path)
    if job.mode is Mode.FIX and item.path is None and outcome.fixed_data is None:
        outcome.fixed_data = source.data  # an editor replaces its buffer with what fix prints
    return outcome


def _failed(outcome: FileOutcome, error: SourceError, job: Job) -> None:
    """The file could not be read: the error, where it is, and for newer syntax the Python
    it needs, with the one the project says it targets."""
    outcome.error = str(error)
    outcome.error_line, outcome.error_column = error.line, error.column
    if isinstance(error, NewerSyntax):
        outcome.newer_python = error.feature.version_text
        target = job.settings.target_python
        if target is not None:
            version, where = target
            outcome.error += f" (the project targets Python {version}: {where})"


def _fix(
    item: Item, job: Job, source: Source, *, tree: ast.Module, violations: list[Violation], outcome: FileOutcome
) -> None:
    from ..fix.transform import fix_module  # libcst: loaded only when a file has something to fix
    from ..fix.write import ChangedOnDisk, WriteError, unified_diff, write_atomically

    guard = job.settings.fix_guard
    result = fix_module(source.text, tree, violations, guard, unsafe=job.unsafe_fixes, path=item.path)
    left = sorted(result.left, key=lambda site: (site[0].line, site[0].col))
    if not result.insertions:
        outcome.findings = _findings(source, [violation for violation, _ in left])
        outcome.left_reasons = [reason for _, reason in left]
        return

    def unwritten(reason: str) -> None:
        outcome.findings = _findings(source, violations)
        outcome.left_reasons = [reason] * len(violations)

    try:
        data = source.splice(result.insertions)
        now = replace(source, data=data, text=result.text)
        still = _reported(now, parse(now), job)
    except SourceError as error:
        outcome.write_error = str(error)
        unwritten("the file was not written")
        return
    # Re-check what the fix wrote: every fixed site must be gone, and nothing new reported.
    if Counter(v.code.code for v, _ in left) != Counter(v.code.code for v in still):
        outcome.write_error = (
            f"{item.display}: a fixed site is still reported after the fix; not written (please report)"
        )
        unwritten("the file was not written")
        return
    if job.mode is Mode.DIFF:
        outcome.diff = unified_diff(quoted(item.display), source.data, data)
    elif item.path is None:
        outcome.fixed_data = data
    else:
        try:
            write_atomically(Path(item.path), source.data, data)
        except ChangedOnDisk as error:
            now_outcome = _already_fixed(item, job)
            if now_outcome is not None:  # another run fixed it meanwhile: nothing left to do
                outcome.findings, outcome.left_reasons = now_outcome.findings, now_outcome.left_reasons
                return
            outcome.write_error = f"{item.display}: {error}"
            unwritten("the file was not written")
            return
        except WriteError as error:
            outcome.write_error = f"{item.display}: {error}"
            unwritten("the file was not written")
            return
    outcome.fixed = _findings(source, result.fixed)
    # Where the sites left are now: imports and decorators moved them.
    relocated = _relocate(left, still) if job.mode is not Mode.DIFF else left
    shown_in = now if job.mode is not Mode.DIFF else source
    outcome.findings = _findings(shown_in, [violation for violation, _ in relocated])
    outcome.left_reasons = [reason for _, reason in relocated]


def _already_fixed(item: Item, job: Job) -> FileOutcome | None:
    """The file as it is on disk now, if this fix would change nothing in it (another
    `fix` run, or the user, guarded it meanwhile); None if it still needs the fix, which
    would overwrite whatever changed it."""
    again = process(item, replace(job, mode=Mode.DIFF))
    if again.error or again.write_error or again.skipped or again.diff is not None:
        return None
    return again


def _relocate(left: list[tuple[Violation, str]], now: list[Violation]) -> list[tuple[Violation, str]]:
    """Pair each site still reported after a fix with the reason it was left.

    Fixes only insert text, so the sites left keep their order and codes.
    """
    reasons: dict[str, list[str]] = {}
    for violation, reason in left:
        reasons.setdefault(violation.code.code, []).append(reason)
    relocated = []
    for violation in now:
        queue = reasons.get(violation.code.code)
        relocated.append((violation, queue.pop(0) if queue else "still reported after the fix (please report)"))
    return relocated


def _process_guarded(item: Item, job: Job) -> FileOutcome:
    """`process`, with a bug in it reported against the one file, not the whole run."""
    try:
        return process(item, job)
    except Exception as error:  # reported, against the file it happened on
        message = f"{item.display}: {internal_error_text(error)}"
        return FileOutcome(item.display, error=message)


def _process_batch(items: Sequence[Item], job: Job) -> list[FileOutcome]:
    return [_process_guarded(item, job) for item in items]


_ROOTS: dict[str, str] = {}  # a directory -> its package root, for the current job
_ROOTS_OF: list[object] = [None]  # the job's helper files the cache is for
_NAMED_ELSEWHERE: list[frozenset[str]] = [frozenset()]  # the job's helper names not found in a file


def helpers_for(item: Item, job: Job) -> frozenset[str]:
    """The helpers a module can call: those defined in a file under the directory of its
    top-level package, where its imports are looked up (all of them for stdin)."""
    if item.path is None or not job.helper_files:
        return job.helper_names
    if _ROOTS_OF[0] is not job.helper_files:
        _ROOTS.clear()
        _ROOTS_OF[0] = job.helper_files
        _NAMED_ELSEWHERE[0] = job.helper_names.difference(*(names for _, names in job.helper_files))
    directory = os.path.dirname(os.path.abspath(item.path))
    root = _ROOTS.get(directory)
    if root is None:
        root = _ROOTS[directory] = os.path.join(package_root(directory), "")
    names = [names for path, names in job.helper_files if path.startswith(root) or path == "-"]
    return _NAMED_ELSEWHERE[0].union(*names)


def find_helpers(items: Sequence[Item], settings: Settings) -> tuple[tuple[str, frozenset[str]], ...]:
    """The spawn helpers the files define (those the run checks: not skipped test code): each
    file that defines some (its absolute path; "-" for stdin), with their names."""
    options = settings.options
    paths = [item.path for item in items if item.path is not None and settings.checks(item.path)]
    found = [(os.path.abspath(path), names) for path, names in helpers_by_file(paths, options).items()]
    for item in items:
        if item.data is not None and settings.checks(item.display):
            try:
                names = helpers_in_text(decode(item.data, item.display).text, options)
            except SourceError:
                continue
            if names:
                found.append(("-", names))
    return tuple(found)


def collect_less() -> None:
    """Tune the garbage collector for a batch run: a parse makes hundreds of thousands of
    objects at once, which the default thresholds (a collection every 700 allocations, a
    full one every hundred of those) walk again and again while the tree is alive; and
    what was imported before the work began is never garbage. Measured on 26 real
    projects' trees: 10-15% less CPU for `check`."""
    gc.freeze()
    gc.set_threshold(100_000, 50, 100)


def worker_limit() -> int:
    """The most worker processes a run starts: the analysis is CPU-bound, so more than two
    per core (room for a slow disk) would only cost memory, each holding its own modules."""
    return WORKERS_PER_CORE * (os.cpu_count() or 1)


class Runner:
    """Every item processed, over several processes when there are many.

    Iterating yields each outcome as it is ready, in the order of `items`; `done` holds
    them all. After an interrupt, `stop()` lets the files in hand finish (a file is written
    whole or not at all) and adds their outcomes to `done`, so that a summary counts every
    file written. Used as a context manager: the pool is shut down on the way out.
    """

    def __init__(self, items: Sequence[Item], job: Job, jobs: int | None = None, *, find: bool = True) -> None:
        self.done: list[FileOutcome] = []
        self._items = items
        self._job = job
        self._find = find  # find the project's spawn helpers first (`find_helpers`), on the same workers
        self._finding: list[Future[tuple[tuple[str, frozenset[str]], ...]]] = []
        self._futures: list[Future[list[FileOutcome]]] = []
        self._next = 0  # the first future whose outcomes are not in `done`
        self._pool: ProcessPoolExecutor | None = None
        self._parent_alive: Connection | None = None
        workers = min(jobs if jobs is not None else (os.cpu_count() or 1), worker_limit())
        self._batches: list[Sequence[Item]] = []
        if workers > 1 and len(items) >= POOL_THRESHOLD:
            # Batches amortise the pickling of the job; several per worker keep cores busy
            # when one batch holds the slow files.
            size = max(1, min(64, len(items) // (workers * 4)))
            self._batches = [items[start : start + size] for start in range(0, len(items), size)]
        self._workers = min(workers, len(self._batches))

    def __enter__(self) -> Runner:
        if self._batches:
            reader, writer = multiprocessing.Pipe(duplex=False)
            self._parent_alive = writer
            try:
                # Workers start with the signals blocked, until they ignore them.
                with interrupts.blocked():
                    self._pool = ProcessPoolExecutor(
                        self._workers, initializer=_start_worker, initargs=(reader, writer)
                    )
                    # The workers start with the first submission, and must inherit `reader`.
                    if self._find:
                        settings = self._job.settings
                        self._finding = [self._pool.submit(find_helpers, batch, settings) for batch in self._batches]
                    else:
                        self._submit()
            except BaseException:  # interrupted while starting: no batch is left to run
                self.__exit__()
                raise
            finally:
                reader.close()  # the workers hold it
        return self

    def _submit(self) -> None:
        assert self._pool is not None
        self._futures = [self._pool.submit(_process_batch, batch, self._job) for batch in self._batches]

    def _find_helpers(self) -> None:
        """First, the spawn helpers every file defines: the check of each file needs them all."""
        if self._pool is None:
            files = find_helpers(self._items, self._job.settings)
        else:
            files = tuple(found for future in self._finding for found in future.result())
            self._finding = []
        names = frozenset().union(*(names for _, names in files))
        job = self._job
        self._job = replace(job, helper_names=job.helper_names | names, helper_files=job.helper_files + files)
        self._find = False

    def __iter__(self) -> Iterator[FileOutcome]:
        collect_less()
        if self._find:
            self._find_helpers()
            if self._pool is not None:
                self._submit()
        if self._pool is None:
            # A file being fixed is finished before an interrupt stops the run, so that the
            # outcome of every file written is in `done`.
            hold = interrupts.deferred if self._job.mode is Mode.FIX else contextlib.nullcontext
            while len(self.done) < len(self._items):
                with hold():
                    self.done.append(_process_guarded(self._items[len(self.done)], self._job))
                yield self.done[-1]
            return
        while self._next < len(self._futures):
            outcomes = self._futures[self._next].result()
            with interrupts.deferred():
                self.done.extend(outcomes)
                self._next += 1
            yield from outcomes

    def stop(self) -> None:
        """After an interrupt: drop the batches not started, finish those started."""
        with interrupts.stopping():  # another Ctrl-C must not lose what is being finished
            for finding in self._finding:  # interrupted while finding the helpers: nothing checked yet
                finding.cancel()
            pending = self._futures[self._next :]
            self._next = len(self._futures)
            for future in pending:
                future.cancel()
            for future in pending:
                if future.cancelled():
                    continue
                try:
                    self.done.extend(future.result())
                except Exception:  # a worker died: its files have no outcome
                    continue

    def __exit__(self, *exc_info: object) -> None:
        with interrupts.stopping():
            if self._pool is not None:
                for finding in self._finding:
                    finding.cancel()
                for future in self._futures[self._next :]:
                    future.cancel()
                self._pool.shutdown(wait=True, cancel_futures=True)
            if self._parent_alive is not None:
                self._parent_alive.close()  # a worker still alive now sees the main process gone


def run(items: Sequence[Item], job: Job, jobs: int | None = None) -> Iterator[FileOutcome]:
    """Process every item; outcomes come back in the order of `items`."""
    with Runner(items, job, jobs) as runner:
        yield from runner


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
