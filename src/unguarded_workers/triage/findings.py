"""Grouping logged failures and mapping each group to the spawn site(s) in the source tree.

A group is one kind of failure: the same kind, worker, exception type and innermost frame.
Its spawn site is found in the project's files (those under `--root`), through the analysis:

1. a logged spawn line (a record's, a `spawned at` note's, asyncio's debug-mode creation
   stack) names the spawn whose call covers it, or whose guard call (`worker = supervise(f)`
   on the line above `Thread(target=worker)`) does;
2. otherwise the worker's def: a task's `defined at FILE:LINE`, else the traceback's first
   frame outside the concurrency machinery (threading, asyncio, concurrent.futures, this
   runtime, web servers), or a record's worker name; the spawns whose target resolves to that
   def are the sites. Only defs in a file of the traceback count, so a name defined in several
   modules maps to the one that ran.

Logged paths are the production machine's (`/srv/app/jobs/worker.py`); a project file
matches by the longest common tail of path components (`jobs/worker.py`). The project's lines
also tell interleaved tracebacks apart (`ProjectSpawns.source_line`).
"""

from __future__ import annotations

import ast
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..analysis.inventory import SpawnEntry, WorkerDef, spawn_inventory
from ..analysis.prefilter import might_spawn
from ..options import Options
from ..sources import SourceError, parse, read_source
from .failures import Frame, LoggedFailure, is_machinery

_KEPT_FILES = 64  # source files whose lines are kept for `source_line`


@dataclass(frozen=True)
class Site:
    """A spawn in the project: its file (relative to the root), and the inventory's entry."""

    path: str
    entry: SpawnEntry


@dataclass
class Group:
    """Identical failures: how many, the first one, and the spawn sites they map to."""

    first: LoggedFailure
    count: int = 0
    sites: list[Site] = field(default_factory=list)
    logged_site: tuple[str, int] | None = None  # a record's spawn line, in the project, with no spawn found there
    worker_def: Frame | None = None
    callback: tuple[str, int] | None = None  # a done-callback that raised, in the project


def worker_frame(failure: LoggedFailure) -> Frame | None:
    """The worker's own frame: the first outside the machinery that runs it."""
    for frame in failure.frames:
        if not is_machinery(frame.file):
            return frame
    return None


def _key(failure: LoggedFailure) -> tuple[object, ...]:
    frame = worker_frame(failure)
    worker: object = failure.worker
    if failure.coroutine is not None:
        worker = failure.coroutine
    elif frame is not None:
        worker = (frame.file, frame.function)
    innermost = failure.innermost
    where = (innermost.file, innermost.line, innermost.function) if innermost else None
    site = (failure.spawn_site.file, failure.spawn_site.line) if failure.spawn_site else None
    causes = tuple((cause.exception_type, cause.raised_at) for cause in failure.causes)
    return (failure.kind, worker, site, failure.exception_type, where, causes, failure.outcome)


def group(failures: Iterable[LoggedFailure]) -> list[Group]:
    groups: dict[tuple[object, ...], Group] = {}
    for failure in failures:
        found = groups.setdefault(_key(failure), Group(failure))
        found.count += 1
    return sorted(groups.values(), key=lambda g: (-g.count, g.first.log, g.first.log_line))


class ProjectSpawns:
    """The spawns of the project's files, each file parsed on first need and kept."""

    def __init__(self, root: str, files: Iterable[str] | Callable[[], Iterable[str]], options: Options) -> None:
        self.root = root
        self._options = options
        self._files = files  # or how to find them: the tree is walked on first need
        self._names: dict[str, list[str]] | None = None
        self._inventories: dict[str, list[SpawnEntry]] = {}
        self._lines: dict[str, list[str]] = {}
        self._matches: dict[str, str | None] = {}

    @property
    def _by_name(self) -> dict[str, list[str]]:
        if self._names is None:
            self._names = {}
            for file in self._files() if callable(self._files) else self._files:
                self._names.setdefault(os.path.basename(file), []).append(file)
        return self._names

    def source_line(self, frame: Frame) -> str | None:
        """The line a logged frame names, stripped, when its file is the project's."""
        if frame.file not in self._matches:
            if len(self._matches) > 4096:
                self._matches.clear()
            self._matches[frame.file] = self.match(frame.file)
        path = self._matches[frame.file]
        if path is None:
            return None
        if path not in self._lines:
            if len(self._lines) >= _KEPT_FILES:
                self._lines.clear()
            try:
                self._lines[path] = read_source(Path(path)).text.splitlines()
            except SourceError:
                self._lines[path] = []
        lines = self._lines[path]
        return (lines[frame.line - 1].strip() or None) if 0 < frame.line <= len(lines) else None

    def match(self, logged_path: str) -> str | None:
        """The project file a logged path is, by the longest common tail of components; None
        when two files share it (`pkg_a/utils.py`, `pkg_b/utils.py` for `/srv/utils.py`)."""
        parts = _components(logged_path)
        best: list[str] = []
        best_length = 0
        for candidate in self._by_name.get(parts[-1] if parts else "", ()):
            length = _common_tail(parts, _components(os.path.abspath(candidate)))
            if length > best_length:
                best, best_length = [candidate], length
            elif length == best_length:
                best.append(candidate)
        return best[0] if len(best) == 1 else None

    def spawns(self, path: str) -> list[SpawnEntry]:
        if path not in self._inventories:
            self._inventories[path] = self._inventory(path)
        return self._inventories[path]

    def _inventory(self, path: str) -> list[SpawnEntry]:
        try:
            source = read_source(Path(path))
            if not might_spawn(source.text, self._options):
                return []
            tree: ast.Module = parse(source)
        except SourceError:
            return []
        return spawn_inventory(tree, self._options, os.path.realpath(path))

    def all_files(self) -> Iterator[str]:
        for files in self._by_name.values():
            yield from files

    def relative(self, path: str) -> str:
        relative = os.path.relpath(path, self.root)
        return path if relative.startswith(os.pardir) else relative


def _components(path: str) -> list[str]:
    return [part for part in path.replace("\\", "/").split("/") if part and part != "."]


def _common_tail(a: list[str], b: list[str]) -> int:
    length = 0
    while length < min(len(a), len(b)) and a[-1 - length] == b[-1 - length]:
        length += 1
    return length


def locate(groups: list[Group], project: ProjectSpawns) -> None:
    """Fill each group's spawn sites."""
    for found in groups:
        failure = found.first
        found.worker_def = failure.coroutine or worker_frame(failure)
        if failure.spawn_site is not None:
            path = project.match(failure.spawn_site.file)
            if path is not None:
                line = failure.spawn_site.line
                spawns = project.spawns(path)
                at_line = [e for e in spawns if e.line <= line <= e.end_line] or [
                    e for e in spawns if e.guard_lines and e.guard_lines[0] <= line <= e.guard_lines[1]
                ]
                found.sites = [Site(project.relative(path), e) for e in at_line]
                if found.sites:
                    continue
                found.logged_site = (project.relative(path), line)
        if failure.kind == "callback":  # a done-callback raised: no spawn started it
            frame = found.worker_def
            path = project.match(frame.file) if frame is not None else None
            if frame is not None and path is not None:
                found.callback = (project.relative(path), frame.line)
            continue
        found.sites = _sites_running(found.worker_def, failure, project)


def _holds(target: WorkerDef, line: int, failure: LoggedFailure) -> bool:
    """Whether the logged line is the def's: a task's `defined at` names its first line (a
    decorator's, if any), a traceback's frame a line of its body."""
    if failure.coroutine is not None:
        return target.first <= line <= target.line
    return target.line <= line <= target.last


def _sites_running(worker: Frame | None, failure: LoggedFailure, project: ProjectSpawns) -> list[Site]:
    """The spawns whose target is the worker's def."""
    if worker is not None:
        path = project.match(worker.file)
        if path is None:
            return []
        absolute: str | None = os.path.realpath(path)
        line: int | None = worker.line
        name = worker.function
    elif failure.worker:
        absolute, line = None, None
        name = failure.worker.rstrip("()").rpartition(".")[2]
    else:
        return []
    traceback_files = {os.path.realpath(f) for frame in failure.frames if (f := project.match(frame.file))}
    sites = []
    for file in project.all_files():
        for entry in project.spawns(file):
            for target in entry.workers:
                if target.name != name or (line is not None and not _holds(target, line, failure)):
                    continue
                if absolute is not None and target.path != absolute:
                    continue
                if absolute is None and traceback_files and target.path not in traceback_files:
                    continue
                sites.append(Site(project.relative(file), entry))
                break
    if failure.escaped and any(not site.entry.guarded for site in sites):
        # It escaped: not from a spawn that guards its worker (unless the analysis is wrong
        # about every one of them, when all are shown).
        sites = [site for site in sites if not site.entry.guarded]
    sites.sort(key=lambda s: (s.path, s.entry.line))
    return sites
