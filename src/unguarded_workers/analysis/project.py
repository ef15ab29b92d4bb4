"""The project's own modules that a checked module imports: found on disk, parsed once.

`from .base import BaseThread` or `from myapp.jobs import poll` lead to a file of the
same project: relative imports from the checked file's package, absolute ones from the
directory that holds its top-level package (the first directory upwards without an
`__init__.py`). A module found there is parsed on first use and kept, so a base class
shared by many files is read once per process. A name that leads nowhere on disk (the
standard library, installed packages) stays "could not be inspected".

Every file probed on the way is recorded, found or not (a module that appears later, or an
`__init__.py` that moves the top-level package, changes what an import leads to): a results
cache keeps a check's result only while they are all as they were (`dependencies`).
"""

from __future__ import annotations

import ast
import functools
import importlib.util
import os
import re
import stat
import warnings
from collections import OrderedDict

from ..options import Options
from .module import ModuleAnalysis

# Enough for every module a large project's workers lead to; the oldest go first.
MAX_MODULES = 1024
# A module larger than this is generated code, not where a worker lives.
MAX_BYTES = 2 * 1024 * 1024

FileKey = tuple[str, int, int]  # (real path, mtime, size)
# A path probed, with its key when it was a regular file, None when there was none.
Dependency = tuple[str, "FileKey | None"]


class Project:
    """Modules by file, analysed with one set of options; one per run and process."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self._modules: OrderedDict[FileKey, ModuleAnalysis | None] = OrderedDict()
        self._roots: dict[str, tuple[str, tuple[Dependency, ...]]] = {}
        # What the imports of each module (by real path) probed, for `dependencies`. A
        # module's analysis is kept, with what it found out: a later check that reuses it
        # depends on what it probed then.
        self._probed: dict[str, set[Dependency]] = {}
        self._kept: set[str] = set()  # the real paths of the modules ever loaded
        self._real_paths: dict[str, str] = {}
        # Whether a file makes or subclasses a class (`making`), by the class's name and the
        # file, with the file's modification time and size when it was read.
        self._made: dict[tuple[str, str], tuple[tuple[int, int] | None, bool]] = {}
        # The names of the project's spawn helpers, found before the check (`helpers`): a
        # module that calls one is checked even when it holds no spawn word.
        self.helper_names: frozenset[str] = frozenset()
        self._last_checked: ModuleAnalysis | None = None
        # How many modules were dropped to stay under MAX_MODULES: garbage, held in cycles
        # that only a collection frees (see `memory.set_aside`).
        self.dropped = 0

    def checked(self, path: str, tree: ast.Module) -> ModuleAnalysis:
        """The analysis of the module being checked, whose imports lead into the project.

        It is not kept: most checked modules are imported by none of the others, and a
        kept tree is memory that every later garbage collection walks again (flake8 over
        the standard library measured +15% with every checked module kept, +3% without).
        Only the last is held, for its file's spawn helpers, found on the same analysis.
        A module that another check imported (and `held_tree` gave the tree of) is checked on
        that analysis, which the project keeps.
        """
        last = self._last_checked
        if last is not None and last.index.tree is tree and last.path == path:
            return last  # asked again by the same run: the check, then its helpers
        held = self._held(path)  # imported by a module checked before, its tree reused (`held_tree`)
        last = held if held is not None and held.index.tree is tree else ModuleAnalysis(tree, self.options, path, self)
        self._last_checked = last
        return last

    def keep_checked(self) -> None:
        """Keep the analysis of the module checked last, as if an import had loaded it: a run
        that checks the file again (`held_tree`) or imports it reuses it."""
        last = self._last_checked
        key = file_key(last.path, self._real(last.path)) if last is not None and last.path is not None else None
        if last is not None and key is not None and key not in self._modules:
            self._remember(key, last)

    def held_tree(self, path: str) -> ast.Module | None:
        """The tree of the file as it is now, if an import of another checked module has
        parsed it already: a module that others import is checked on the same analysis."""
        held = self._held(path)
        return held.index.tree if held is not None else None

    def _held(self, path: str) -> ModuleAnalysis | None:
        key = file_key(path, self._real(path))
        return self._modules.get(key) if key is not None else None

    def forget_checked(self) -> None:
        """Done with the module checked last: its analysis is dismantled (see `dispose`), so that
        its tree is freed now, before any garbage collection walks it. No kept module refers to
        it: a module that others import is analysed apart, by `_load`. For a caller that checks
        one module at a time (a command's worker, flake8's): the editor server checks buffers in
        several threads at once, and leaves the analyses to the collector."""
        last, self._last_checked = self._last_checked, None
        if last is None:
            return
        key = file_key(last.path) if last.path is not None else None  # its real path is released
        if key is None or self._modules.get(key) is not last:
            last.dispose()

    def find(self, importer: str, origin: str) -> tuple[ModuleAnalysis, list[str]] | None:
        """The project module an import in file `importer` names, and the names after it.

        `origin` is the dotted origin of the name as the index records it:
        ``.base.BaseThread`` (relative), ``myapp.jobs.poll`` (absolute).
        """
        level = len(origin) - len(origin.lstrip("."))
        parts = [part for part in origin[level:].split(".") if part]
        probed = self._probed_by(importer)
        if level:
            base = os.path.dirname(os.path.abspath(importer))
            for _ in range(level - 1):
                base = os.path.dirname(base)
            shortest = 0  # `from . import name`: the package's __init__ holds it
        else:
            base, root_probes = self._root(importer)
            probed.update(root_probes)
            shortest = 1
        found = self._find_under(base, parts, shortest, probed)
        outer = _namespace_base(base, parts) if found is None and not level else None
        if outer is not None:  # `localstack.services.x` from localstack/services/y.py
            found = self._find_under(outer, parts, 1, probed)
        return found

    def _find_under(
        self, base: str, parts: list[str], shortest: int, probed: set[Dependency]
    ) -> tuple[ModuleAnalysis, list[str]] | None:
        """The module of the longest leading run of `parts` (at least `shortest`) under `base`."""
        for length in range(len(parts), shortest - 1, -1):
            module = self._load(_module_file(base, parts[:length], probed))
            if module is not None:
                return module, parts[length:]
        return None

    def making(self, importer: str, name: str) -> list[ModuleAnalysis] | None:
        """The modules of the importer's top-level package (or of its directory, for a module in
        none) whose text makes or subclasses a class `name` (`Name(`, `Name.__init__`, `class
        X(Name)`), found without following imports: where a class is made. None when the
        package is too large to read through. Each module found is a dependency of the
        importer's check; a file that comes to make the class later is not (a cached result
        keeps what the files that did said). A file is read again only when it changed (a
        long-lived server asks again and again)."""
        package, recursive = self._package(importer)
        files = _python_files(package, recursive=recursive)
        if files is None:
            return None
        probed = self._probed_by(importer)
        found = []
        patterns = _making_patterns(name)
        for path in files:
            stamp = _stamp(path)
            known = self._made.get((name, path))
            if known is None or known[0] != stamp:
                if len(self._made) >= MAX_REMEMBERED:
                    self._made.clear()
                known = self._made[name, path] = (stamp, _matches(path, name.encode(), patterns))
            if not known[1]:
                continue
            key = file_key(path)
            probed.add((path, key))
            module = self._load((path, key)) if key is not None else None
            if module is not None:
                found.append(module)
        return found

    def exports(self, importer: str, name: str) -> bool:
        """Whether an `__init__.py` of the importer's packages, from its own up to the top-level
        one, names `name` (`from .monitor import MonitorObserver`): part of the package's
        interface; where it lists its interface in a literal `__all__`, only a name listed
        there (socketIO-client's `__init__.py` imports `HeartbeatThread` to make one itself).
        Each is a dependency of the importer's check."""
        package, _ = self._package(importer)
        directory = os.path.dirname(os.path.abspath(importer))
        probed = self._probed_by(importer)
        word = name.encode()
        patterns = (re.compile(re.escape(word) + rb"\b"),)
        while True:
            init = os.path.join(directory, "__init__.py")
            if os.path.isfile(init):
                probed.add((init, file_key(init)))
                if _matches(init, word, patterns):
                    public = _public_names(init)
                    if public is None or name in public:
                        return True
            if directory == package or os.path.dirname(directory) == directory:
                return False
            directory = os.path.dirname(directory)

    def _package(self, importer: str) -> tuple[str, bool]:
        """The directory of the importer's top-level package, and whether it is one (else the
        importer's own directory, searched without its subdirectories)."""
        root, _ = self._root(importer)
        directory = os.path.dirname(os.path.abspath(importer))
        relative = os.path.relpath(directory, root)
        if relative == os.curdir:
            return directory, False
        return os.path.join(root, relative.split(os.sep)[0]), True

    def dependencies(self, path: str) -> set[Dependency]:
        """Every file probed for the module at `path` and, through the modules found, for
        theirs: a check's result depends on them besides the module's own text."""
        found: set[Dependency] = set()
        todo = [self._real(path)]
        seen = set(todo)
        while todo:
            for dependency in self._probed.get(todo.pop(), ()):
                found.add(dependency)
                key = dependency[1]
                if key is not None and key[0] not in seen:
                    seen.add(key[0])
                    todo.append(key[0])
        return found

    def release(self, path: str) -> None:
        """Forget what the check of `path` probed, unless its module is kept for others."""
        real = self._real_paths.pop(path, None) or os.path.realpath(path)
        if real not in self._kept:
            self._probed.pop(real, None)

    def _real(self, path: str) -> str:
        real = self._real_paths.get(path)
        if real is None:
            real = self._real_paths[path] = os.path.realpath(path)
        return real

    def _probed_by(self, importer: str) -> set[Dependency]:
        return self._probed.setdefault(self._real(importer), set())

    def _root(self, importer: str) -> tuple[str, tuple[Dependency, ...]]:
        """The directory that holds the importer's top-level package, with the
        `__init__.py` files probed on the way up."""
        directory = os.path.dirname(os.path.abspath(importer))
        found = self._roots.get(directory)
        if found is None:
            root, probes = directory, []
            while os.path.dirname(root) != root:
                marker = os.path.join(root, "__init__.py")
                key = file_key(marker)
                probes.append((marker, key))
                if key is None:
                    break
                root = os.path.dirname(root)
            found = self._roots[directory] = (root, tuple(probes))
        return found

    def _load(self, found: tuple[str, FileKey] | None) -> ModuleAnalysis | None:
        if found is None:
            return None
        path, key = found
        if key in self._modules:
            self._modules.move_to_end(key)
            return self._modules[key]
        tree = _parse(path)
        module = ModuleAnalysis(tree, self.options, path, self) if tree is not None else None
        self._remember(key, module)
        return module

    def _remember(self, key: FileKey, module: ModuleAnalysis | None) -> None:
        self._modules[key] = module
        self._modules.move_to_end(key)
        self._kept.add(key[0])
        while len(self._modules) > MAX_MODULES:
            # What the module dropped probed stays: another kept module's findings may
            # have come through it.
            self._modules.popitem(last=False)
            self.dropped += 1


# The most files `making` reads through (a larger package is not searched), and the most it
# remembers what they make of.
MAX_SEARCHED = 3000
MAX_REMEMBERED = 20000


def _stamp(path: str) -> tuple[int, int] | None:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def _python_files(directory: str, *, recursive: bool) -> list[str] | None:
    """The `.py` files under `directory` (hidden and cache directories aside), in a stable
    order; None when there are more than MAX_SEARCHED."""
    found: list[str] = []
    for current, directories, files in os.walk(directory):
        directories[:] = sorted(d for d in directories if not d.startswith((".", "__pycache__")))
        found += [os.path.join(current, name) for name in sorted(files) if name.endswith(".py")]
        if len(found) > MAX_SEARCHED:
            return None
        if not recursive:
            break
    return found


@functools.lru_cache(maxsize=256)
def _making_patterns(name: str) -> tuple[re.Pattern[bytes], ...]:
    """A call of `name`, its `__init__`, or a class statement that lists it among its bases:
    one pattern each, each beginning with a literal that the regular expression engine skips
    to (one pattern of them all tried every alternative at every byte of a file)."""
    word = re.escape(name.encode())
    return (
        re.compile(word + rb"\s*\("),
        re.compile(word + rb"\.__init__\b"),
        re.compile(rb"class\s+\w+\s*\([^)]*\b" + word + rb"\b"),
    )


def _matches(path: str, word: bytes, patterns: tuple[re.Pattern[bytes], ...]) -> bool:
    """Whether the file's bytes hold `word` and match one of `patterns` where no longer name runs
    into the match (the word searched for first: most files of a package never name it)."""
    try:
        if os.path.getsize(path) > MAX_BYTES:
            return False
        with open(path, "rb") as file:
            data = file.read()
    except OSError:
        return False
    if word not in data:
        return False
    for pattern in patterns:
        for found in pattern.finditer(data):
            before = data[found.start() - 1 : found.start()]
            if not (before.isalnum() or before == b"_"):  # not the end of a longer name: `IntervalTimer(`
                return True
    return False


def _module_file(base: str, parts: list[str], probed: set[Dependency]) -> tuple[str, FileKey] | None:
    if not all(part.isidentifier() for part in parts):
        return None
    stem = os.path.join(base, *parts)
    for candidate in (stem + ".py", os.path.join(stem, "__init__.py")):
        key = file_key(candidate) if os.path.isfile(candidate) else None
        probed.add((candidate, key))
        if key is not None:
            return candidate, key
    return None


def _namespace_base(root: str, parts: list[str]) -> str | None:
    """Where an absolute import is looked up when the root (the first directory upwards without
    an `__init__.py`) is itself a namespace package's portion (PEP 420) that the import names:
    `localstack.services.x` from localstack/services/y.py, localstack/ holding no
    `__init__.py`; `google.cloud.storage` from google/cloud/storage/. The directory above the
    longest run of the root's last names that the import begins with; None when it names none."""
    names = os.path.normpath(root).split(os.sep)
    for length in range(min(len(parts) - 1, len(names) - 1), 0, -1):
        if names[-length:] == parts[:length]:
            return os.sep.join(names[:-length]) or os.sep
    return None


def package_root(directory: str) -> str:
    """The directory that holds the top-level package of a module in `directory` (the first
    directory upwards without an `__init__.py`): where its absolute imports are looked up.
    A module can reach only the modules under it (a relative import above it is an error)."""
    root = os.path.abspath(directory)
    while os.path.dirname(root) != root and os.path.isfile(os.path.join(root, "__init__.py")):
        root = os.path.dirname(root)
    return root


def holds(dependency: Dependency) -> bool:
    """Whether a file probed is as it was: the same file, unchanged, or still no file."""
    path, key = dependency
    if key is None:
        return not os.path.isfile(path)
    return file_key(path) == key


def file_key(path: str, real: str | None = None) -> FileKey | None:
    """The real path (`real`, when known) with its modification time and size: a changed file
    is read again."""
    real = os.path.realpath(path) if real is None else real
    try:
        info = os.stat(real)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None  # a FIFO or device named *.py: reading it could block for ever
    return real, info.st_mtime_ns, info.st_size


def _public_names(init: str) -> set[str] | None:
    """The names a module's literal `__all__` lists (`__all__ = "A", "B"`, `__all__ += [...]`);
    None when it has none, or one the text does not spell out."""
    tree = _parse(init)
    names: set[str] | None = None
    for stmt in tree.body if tree is not None else []:
        if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1:
            target, value = stmt.targets[0], stmt.value
        elif isinstance(stmt, ast.AugAssign):
            target, value = stmt.target, stmt.value
        else:
            continue
        if not (isinstance(target, ast.Name) and target.id == "__all__"):
            continue
        items = value.elts if isinstance(value, (ast.List, ast.Tuple)) else []
        listed = [item.value for item in items if isinstance(item, ast.Constant) and isinstance(item.value, str)]
        if not items or len(listed) != len(items):
            return None
        names = (names or set()) | set(listed)
    return names


def _parse(path: str) -> ast.Module | None:
    """The module's tree, or None for anything that cannot be read as Python."""
    try:
        if os.path.getsize(path) > MAX_BYTES:
            return None
        with open(path, "rb") as file:
            text = importlib.util.decode_source(file.read())
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text, filename=path)
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError, RecursionError, MemoryError, LookupError):
        return None


_PROJECTS: OrderedDict[int, tuple[Options, Project]] = OrderedDict()


def project_for(options: Options) -> Project:
    """The process's project for these options (the same object for the whole run)."""
    found = _PROJECTS.get(id(options))
    if found is not None and found[0] is options:
        return found[1]
    project = Project(options)
    _PROJECTS[id(options)] = (options, project)
    while len(_PROJECTS) > 4:
        _PROJECTS.popitem(last=False)
    return project
