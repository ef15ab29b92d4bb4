"""The project's own modules that a checked module imports: found on disk, parsed once.

`from .base import BaseThread` or `from myapp.jobs import poll` lead to a file of the
same project: relative imports from the checked file's package, absolute ones from the
directory that holds its top-level package (the first directory upwards without an
`__init__.py`). A module found there is parsed on first use and kept, so a base class
shared by many files is read once per process. A name that leads nowhere on disk (the
standard library, installed packages) stays "could not be inspected".
"""

from __future__ import annotations

import ast
import importlib.util
import os
import stat
import warnings
from collections import OrderedDict

from ..options import Options
from .module import ModuleAnalysis

# Enough for every module a large project's workers lead to; the oldest go first.
MAX_MODULES = 1024
# A module larger than this is generated code, not where a worker lives.
MAX_BYTES = 2 * 1024 * 1024


class Project:
    """Modules by file, analysed with one set of options; one per run and process."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self._modules: OrderedDict[tuple[str, int, int], ModuleAnalysis | None] = OrderedDict()
        self._roots: dict[str, str] = {}
        # Every project file read (or found again in the cache) since last cleared: what a
        # check's result depends on besides the checked file, for a results cache.
        self.consulted: set[tuple[str, int, int]] = set()
        # The names of the project's spawn helpers, found before the check (`helpers`): a
        # module that calls one is checked even when it holds no spawn word.
        self.helper_names: frozenset[str] = frozenset()

    def checked(self, path: str, tree: ast.Module) -> ModuleAnalysis:
        """The analysis of the module being checked, whose imports lead into the project.

        It is not kept: most checked modules are imported by none of the others, and a
        kept tree is memory that every later garbage collection walks again (flake8 over
        the standard library measured +15% with every checked module kept, +3% without).
        """
        return ModuleAnalysis(tree, self.options, path, self)

    def find(self, importer: str, origin: str) -> tuple[ModuleAnalysis, list[str]] | None:
        """The project module an import in file `importer` names, and the names after it.

        `origin` is the dotted origin of the name as the index records it:
        ``.base.BaseThread`` (relative), ``myapp.jobs.poll`` (absolute).
        """
        level = len(origin) - len(origin.lstrip("."))
        parts = [part for part in origin[level:].split(".") if part]
        if level:
            base = os.path.dirname(os.path.abspath(importer))
            for _ in range(level - 1):
                base = os.path.dirname(base)
            shortest = 0  # `from . import name`: the package's __init__ holds it
        else:
            base = self._root(importer)
            shortest = 1
        for length in range(len(parts), shortest - 1, -1):
            module = self._load(_module_file(base, parts[:length]))
            if module is not None:
                return module, parts[length:]
        return None

    def _root(self, importer: str) -> str:
        directory = os.path.dirname(os.path.abspath(importer))
        root = self._roots.get(directory)
        if root is None:
            root = directory
            while os.path.isfile(os.path.join(root, "__init__.py")) and os.path.dirname(root) != root:
                root = os.path.dirname(root)
            self._roots[directory] = root
        return root

    def _load(self, path: str | None) -> ModuleAnalysis | None:
        if path is None:
            return None
        key = file_key(path)
        if key is None:
            return None
        self.consulted.add(key)
        if key in self._modules:
            self._modules.move_to_end(key)
            return self._modules[key]
        tree = _parse(path)
        module = ModuleAnalysis(tree, self.options, path, self) if tree is not None else None
        self._remember(key, module)
        return module

    def _remember(self, key: tuple[str, int, int], module: ModuleAnalysis | None) -> None:
        self._modules[key] = module
        self._modules.move_to_end(key)
        while len(self._modules) > MAX_MODULES:
            self._modules.popitem(last=False)


def _module_file(base: str, parts: list[str]) -> str | None:
    if not all(part.isidentifier() for part in parts):
        return None
    stem = os.path.join(base, *parts)
    for candidate in (stem + ".py", os.path.join(stem, "__init__.py")):
        if os.path.isfile(candidate):
            return candidate
    return None


def file_key(path: str) -> tuple[str, int, int] | None:
    """The real path with its modification time and size: a changed file is read again."""
    real = os.path.realpath(path)
    try:
        info = os.stat(real)
    except OSError:
        return None
    if not stat.S_ISREG(info.st_mode):
        return None  # a FIFO or device named *.py: reading it could block for ever
    return real, info.st_mtime_ns, info.st_size


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
