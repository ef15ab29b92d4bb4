"""One file in, its findings (and for `fix`, its rewrite) out; many files over all cores."""

from __future__ import annotations

import ast
import contextlib
import os
import re
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from enum import Enum
from pathlib import Path

from ..analysis.discovery import helpers_by_file, helpers_in_text, helpers_in_tree
from ..analysis.helpers import may_define_helper
from ..analysis.prefilter import calls_any, might_spawn
from ..analysis.project import Project, package_root, project_for
from ..codes import internal_error_text
from ..config import Settings
from ..memory import paused_collector, set_aside
from ..positions import SourceLines, character_column
from ..quoting import quoted
from ..reports import reported
from ..sources import NewerSyntax, Source, SourceError, TooLarge, decode, parse, read_source, too_large
from ..violation import Violation
from .cache import ResultsCache, settings_key


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


# Per kind ("results", "helpers"): the last job's cache, the job held so that no later job
# takes its id.
_CACHES: dict[str, tuple[Job, ResultsCache]] = {}


def _job_cache(kind: str, job: Job, key: Callable[[], str]) -> ResultsCache | None:
    """The job's cache of one kind, made once per job and process (`key()` names its entries)."""
    if job.cache_dir is None:
        return None
    held = _CACHES.get(kind)
    if held is None or held[0] is not job:
        held = _CACHES[kind] = (job, ResultsCache(job.cache_dir, key()))
    return held[1]


def results_cache(job: Job) -> ResultsCache | None:
    """The job's results: keyed by its settings, its noqa switch and the project's helpers, so
    two runs in one process never share one."""
    return _job_cache(
        "results", job, lambda: settings_key(job.settings, disable_noqa=job.disable_noqa, helpers=job.helper_names)
    )


def helpers_cache(job: Job) -> ResultsCache | None:
    """What each file's helpers are: keyed by the settings alone (the helpers are what is being
    found), apart from the results."""
    return _job_cache("helpers", job, lambda: "helpers " + settings_key(job.settings, disable_noqa=False))


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
        if not might_spawn(source.text, job.settings.options, helpers_for(item, job, text=source.text)):
            # Most files start no worker: the text says so before any parse (a file the
            # check of another needs is parsed then, by the project's module cache).
            if job.mode is Mode.FIX and item.data is not None:
                outcome.fixed_data = source.data
            return outcome
        cache = results_cache(job) if job.mode is Mode.CHECK and item.path is not None else None
        if cache is not None:
            assert item.path is not None
            cached = cache.get(item.path, source.data)
            if cached is not None:
                outcome.findings = _findings(source, cached)
                return outcome
        tree = _tree(source, project)
    except TooLarge as skipped:
        outcome.skipped = str(skipped)
        if job.mode is Mode.FIX and item.data is not None:
            outcome.fixed_data = item.data
        return outcome
    except SourceError as error:
        _failed(outcome, error, job)
        return outcome
    _analyse(item, job, source, tree, outcome=outcome, cache=cache)
    if job.mode is Mode.FIX and item.path is None and outcome.fixed_data is None:
        outcome.fixed_data = source.data  # an editor replaces its buffer with what fix prints
    return outcome


def _tree(source: Source, project: Project) -> ast.Module:
    """The file's tree: parsed already if the check of another file imported it."""
    held = project.held_tree(str(source.path)) if source.path is not None else None
    return held if held is not None else parse(source)


def _analyse(
    item: Item,
    job: Job,
    source: Source,
    tree: ast.Module,
    *,
    outcome: FileOutcome,
    cache: ResultsCache | None,
    keep: bool = False,
) -> None:
    """Check (or fix) the file; with `keep`, the project keeps its analysis for later checks."""
    project = project_for(job.settings.options)
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
        if keep:
            project.keep_checked()
        if item.path is not None:
            project.release(item.path)


@dataclass(frozen=True)
class FirstPass:
    """What a run's first pass found of a file (see `runner`): its outcome, final or
    `tentative` (checked without the helpers of other files), or None when the second pass
    decides (and certainly checks it, if `deferred`); and the spawn helpers the file defines."""

    outcome: FileOutcome | None
    tentative: bool = False
    helpers: frozenset[str] = frozenset()
    deferred: bool = False


def first_pass(items: Sequence[Item], job: Job) -> list[FirstPass]:
    """Each file checked by itself when it could define a spawn helper (its helpers found on the
    same parse); the outcome of one that cannot be read; nothing yet of the others. A file
    that could start a worker but defines no helper is checked once, by the second pass, with
    every helper known: on the 26 projects of bench_cli, 111 of the 154 files that could start one."""
    return [_first_pass_guarded(item, job) for item in items]


@contextlib.contextmanager
def _one_file(job: Job) -> Iterator[None]:
    """The work on one file: no garbage collection walks its tree while it is being analysed
    (hundreds of thousands of objects, all alive), and its analysis is dismantled at the end,
    so that reference counting frees the tree, not a collection. Measured on the 26 projects of
    bench_cli at --jobs 1: the collector's time 0.71 -> 0.08 s; CPU 3.6 -> 3.0 s."""
    project = project_for(job.settings.options)
    dropped = project.dropped
    try:
        with paused_collector():
            yield
    finally:
        project.forget_checked()
        set_aside(project.dropped - dropped)


def _first_pass_guarded(item: Item, job: Job) -> FirstPass:
    try:
        with _one_file(job):
            return _first_pass(item, job)
    except Exception as error:  # reported, against the file it happened on
        return FirstPass(FileOutcome(item.display, error=f"{item.display}: {internal_error_text(error)}"))


def _first_pass(item: Item, job: Job) -> FirstPass:
    outcome = FileOutcome(item.display)
    settings = job.settings
    if not settings.checks(item.path or (item.display if item.data is not None else None)):
        return FirstPass(outcome)
    project_for(settings.options).helper_names = job.helper_names
    try:
        source = _load(item, job)
        if not might_spawn(source.text, settings.options):
            return FirstPass(None)
        if not may_define_helper(source.text):
            return FirstPass(None, deferred=True)
        tree = _tree(source, project_for(settings.options))
    except TooLarge as skipped:
        outcome.skipped = str(skipped)
        return FirstPass(outcome)
    except SourceError as error:
        _failed(outcome, error, job)
        return FirstPass(outcome)
    # Few files get here (those that may define a helper), and the second pass checks one
    # again if it calls a helper of another file: its analysis is kept, for that check.
    _analyse(item, job, source, tree, outcome=outcome, cache=None, keep=True)
    if source.path is None:
        helpers = helpers_in_tree(tree, source.text, settings.options)
    else:
        # The check's own analysis of the file (the project holds the last) tells its helpers:
        # no second walk of the tree.
        helpers = project_for(settings.options).checked(str(source.path), tree).helpers.names
    return FirstPass(outcome, tentative=True, helpers=helpers)


def second_pass(item: Item, job: Job, first: FirstPass) -> FileOutcome | None:
    """The file's outcome now that the project's helpers are known (`job`), or None when the
    first pass's stands: a tentative one whose file calls no helper of another file. To fix, a
    file the first pass found something in is processed again, and fixed; and text from an
    editor, whose outcome carries the text to replace it with; and a file it deferred."""
    if first.deferred:
        return _process_guarded(item, job)
    if job.mode is not Mode.CHECK and (item.data is not None or (first.outcome is not None and first.outcome.findings)):
        return _process_guarded(item, job)
    if first.tentative:
        others = helpers_for(item, job, own=first.helpers)
        if not others:
            return None
        try:
            text = _load(item, job).text
        except SourceError:
            return _process_guarded(item, job)  # changed meanwhile: say what it is now
        others = helpers_for(item, job, own=first.helpers, text=text)
        return _process_guarded(item, job) if others and calls_any(text, others) else None
    if first.outcome is None and helpers_for(item, job):
        return _process_guarded(item, job)  # it may call a helper
    return None


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
        with _one_file(job):
            return process(item, job)
    except Exception as error:  # reported, against the file it happened on
        message = f"{item.display}: {internal_error_text(error)}"
        return FileOutcome(item.display, error=message)


def process_batch(items: Sequence[Item], job: Job) -> list[FileOutcome]:
    return [_process_guarded(item, job) for item in items]


def second_pass_batch(items: Sequence[Item], job: Job, firsts: Sequence[FirstPass]) -> list[FileOutcome | None]:
    return [second_pass(item, job, first) for item, first in zip(items, firsts)]


@dataclass
class _HelperFiles:
    """What `helpers_for` works out once per run's helper files: each directory's package root,
    the names each helper file is imported by from a root, the names found in no file."""

    files: tuple[tuple[str, frozenset[str]], ...]
    named_elsewhere: frozenset[str]
    roots: dict[str, str] = field(default_factory=dict)  # a directory -> its package root
    words: dict[tuple[str, str], tuple[str, ...]] = field(default_factory=dict)  # (file, root) -> names

    def root(self, directory: str) -> str:
        found = self.roots.get(directory)
        if found is None:
            found = self.roots[directory] = os.path.join(package_root(directory), "")
        return found

    def named_in(self, text: str, path: str, root: str) -> bool:
        """Whether `text` names the module at `path` as an import from `root` would (`app` or
        `background` for root/app/background.py; `app` for root/app/__init__.py)."""
        words = self.words.get((path, root))
        if words is None:
            parts = os.path.relpath(path, root).split(os.sep)
            parts[-1] = parts[-1].removesuffix(".py")
            words = self.words[path, root] = tuple(part for part in parts if part and part != "__init__")
        return any(word in text for word in words)


_HELPER_FILES: list[_HelperFiles] = []  # the current run's


def helpers_for(item: Item, job: Job, *, own: frozenset[str] | None = None, text: str | None = None) -> frozenset[str]:
    """The helpers a module can call: those defined in a file under the directory of its
    top-level package, where its imports are looked up (all of them for stdin). With `own`
    (the names the module defines), those of the other files only. With the module's `text`,
    only those of files it names: a helper of `app/background.py` is reached through an import
    that says `app` or `background` (so `asyncio.runners.run` is no helper of a file that
    calls `subprocess.run(...)` and names no asyncio)."""
    if item.path is None or not job.helper_files:
        return job.helper_names
    if not _HELPER_FILES or _HELPER_FILES[0].files is not job.helper_files:
        elsewhere = job.helper_names.difference(*(names for _, names in job.helper_files))
        _HELPER_FILES[:] = [_HelperFiles(job.helper_files, elsewhere)]
    known = _HELPER_FILES[0]
    root = known.root(os.path.dirname(os.path.abspath(item.path)))
    itself = os.path.abspath(item.path) if own is not None else None
    names = [
        names
        for path, names in job.helper_files
        if (path.startswith(root) or path == "-")
        and path != itself
        and (text is None or path == "-" or known.named_in(text, path, root))
    ]
    return known.named_elsewhere.union(*names)


def helper_files_of(items: Sequence[Item], firsts: Sequence[FirstPass]) -> tuple[tuple[str, frozenset[str]], ...]:
    """The files that define helpers, as `find_helpers` gives them, from a first pass."""
    found = []
    for item, first in zip(items, firsts):
        if first.helpers:
            found.append((os.path.abspath(item.path) if item.path is not None else "-", first.helpers))
    return tuple(found)


def find_helpers(items: Sequence[Item], job: Job) -> tuple[tuple[str, frozenset[str]], ...]:
    """The spawn helpers the files define (those the run checks: not skipped test code): each
    file that defines some (its absolute path; "-" for stdin), with their names. With a results
    cache, each file's answer is kept there: a re-run parses none of them again."""
    settings = job.settings
    options = settings.options
    paths = [item.path for item in items if item.path is not None and settings.checks(item.path)]
    memo = helpers_cache(job)
    found = [(os.path.abspath(path), names) for path, names in helpers_by_file(paths, options, memo).items()]
    for item in items:
        if item.data is not None and settings.checks(item.display):
            try:
                names = helpers_in_text(decode(item.data, item.display).text, options)
            except SourceError:
                continue
            if names:
                found.append(("-", names))
    return tuple(found)
