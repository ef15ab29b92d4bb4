"""One file in, its findings (and for `fix`, its rewrite) out; many files over all cores."""

from __future__ import annotations

import ast
import os
import signal
from collections import Counter
from collections.abc import Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

from ..analysis import might_spawn
from ..analysis.discovery import helper_names, helpers_in_text
from ..analysis.project import project_for
from ..codes import internal_error_text
from ..config import Settings
from ..positions import SourceLines, character_column
from ..reports import reported
from ..sources import Source, SourceError, decode, parse, read_source
from ..violation import Violation
from .cache import ResultsCache, settings_key

# Below this many files a pool costs more to start than it saves.
POOL_THRESHOLD = 48


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


@dataclass
class FileOutcome:
    display: str
    findings: list[Finding] = field(default_factory=list)  # for fix runs: the sites left
    error: str | None = None
    fixed: list[Finding] = field(default_factory=list)
    left_reasons: list[str] = field(default_factory=list)  # parallel to findings, fix runs only
    diff: str | None = None
    fixed_data: bytes | None = None  # stdin under `fix`: the whole module, fixed or not
    write_error: str | None = None


def _findings(source: Source, violations: Sequence[Violation]) -> list[Finding]:
    """Each violation with its columns in characters (ast gives UTF-8 bytes)."""
    if not violations:
        return []  # most files: no need to index their lines
    lines = SourceLines(source.text)
    others: dict[str, SourceLines | None] = {}
    return [
        Finding(v, character_column(lines.line_text(v.line), v.col) + 1, _places(source, lines, v, others))
        for v in violations
    ]


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


def _load(item: Item) -> Source:
    if item.data is not None:
        return decode(item.data, item.display)
    assert item.path is not None
    return read_source(Path(item.path), item.display)


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
        source = _load(item)
        if not might_spawn(source.text, job.settings.options, job.helper_names):
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
    except SourceError as error:
        outcome.error = str(error)
        return outcome
    project.consulted.clear()
    violations = _reported(source, tree, job)
    if cache is not None:
        assert item.path is not None
        cache.put(item.path, source.data, violations, project.consulted)
    if job.mode is Mode.CHECK or not violations:
        outcome.findings = _findings(source, violations)
    else:
        _fix(item, job, source, tree=tree, violations=violations, outcome=outcome)
    if job.mode is Mode.FIX and item.path is None and outcome.fixed_data is None:
        outcome.fixed_data = source.data  # an editor replaces its buffer with what fix prints
    return outcome


def _fix(
    item: Item, job: Job, source: Source, *, tree: ast.Module, violations: list[Violation], outcome: FileOutcome
) -> None:
    from ..fix.transform import fix_module  # libcst: loaded only when a file has something to fix
    from ..fix.write import WriteError, unified_diff, write_atomically

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
        outcome.diff = unified_diff(item.display, source.text, result.text)
    elif item.path is None:
        outcome.fixed_data = data
    else:
        try:
            write_atomically(Path(item.path), source.data, data)
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


def find_helpers(items: Sequence[Item], settings: Settings) -> frozenset[str]:
    """The spawn helpers the run's files define (those it checks: not skipped test code)."""
    options = settings.options
    paths = [item.path for item in items if item.path is not None and settings.checks(item.path)]
    names = set(helper_names(paths, options))
    for item in items:
        if item.data is not None and settings.checks(item.display):
            try:
                names |= helpers_in_text(decode(item.data, item.display).text, options)
            except SourceError:
                continue
    return frozenset(names)


def run(items: Sequence[Item], job: Job, jobs: int | None = None) -> Iterator[FileOutcome]:
    """Process every item; outcomes come back in the order of `items`."""
    workers = jobs if jobs is not None else (os.cpu_count() or 1)
    if workers <= 1 or len(items) < POOL_THRESHOLD:
        for item in items:
            yield _process_guarded(item, job)
        return
    # Batches amortise the pickling of the job; several per worker keep cores busy
    # when one batch holds the slow files.
    size = max(1, min(64, len(items) // (workers * 4)))
    batches = [items[start : start + size] for start in range(0, len(items), size)]
    pool = ProcessPoolExecutor(max_workers=workers, initializer=_ignore_interrupts)
    try:
        for outcomes in pool.map(_process_batch, batches, [job] * len(batches)):
            yield from outcomes
    except BaseException:
        # Ctrl-C (or a closed pipe): the batches not started are dropped; those running
        # finish their files (a file is written whole or not at all), then the run ends.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _ignore_interrupts() -> None:
    """In a worker process: Ctrl-C is the main process's to handle, which stops the run."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
