"""Which files a run covers: the paths given, directories walked for ``*.py``."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Sequence

from ..config import path_matches as excluded  # flake8's rule: basename or absolute path
from .gitignore import GitIgnore

# Skipped while walking a directory (a path named explicitly is still checked). Virtual
# environments are recognised by what they hold, not by name: the standard library has a
# package named `venv`.
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "CVS", "__pycache__", ".tox", ".nox", ".eggs", ".mypy_cache"})
# What setuptools builds under `build/`: copies of the package (`build/lib`,
# `build/lib.linux-x86_64-3.11`, `build/bdist.linux-x86_64`), whose reports would be the
# package's twice over. A package of the project named `build` is walked.
_BUILD_DIR = "build"
_BUILD_OUTPUTS = ("lib.", "bdist.")


def _is_build_output(directory: str, name: str) -> bool:
    return os.path.basename(directory) == _BUILD_DIR and (name == "lib" or name.startswith(_BUILD_OUTPUTS))


def _is_virtualenv(entries: Sequence[os.DirEntry[str]]) -> bool:
    """Whether a directory's entries are a virtual environment's (or a conda environment's)."""
    for entry in entries:
        if (entry.name == "pyvenv.cfg" and _is(entry.is_file)) or (entry.name == "conda-meta" and _is(entry.is_dir)):
            return True
    return False


def _is(test: Callable[[], bool]) -> bool:
    """A DirEntry's test (it follows symlinks, as os.path.isfile does), false where it fails."""
    try:
        return test()
    except OSError:
        return False


_HERE = os.curdir + os.sep


def discover(paths: Sequence[str], exclude: Sequence[str], *, respect_gitignore: bool = True) -> Iterator[str]:
    """Files to check, in a stable order: each path as given, directories sorted; under `.`,
    without the `./` the walk adds (`check .` shows `pkg/m.py`, as ruff does).

    A path that does not exist is yielded as is, so that reading it reports the error.
    While walking, what git ignores is skipped (`respect_gitignore`); a file named
    explicitly is checked all the same. A file reached by several paths (a symlink to it,
    a directory given twice) is yielded once, where it was first met, under the path that
    is not through a symlink if there is one.
    """
    chosen: dict[str, str] = {}  # real path -> the path to show, in the order first met
    real_directories: dict[str, str] = {}
    for path in paths:
        found: Iterator[tuple[str, str | None]]
        if os.path.isdir(path):
            found = _walk(path, exclude, _gitignore(path) if respect_gitignore else None)
        elif excluded(path, exclude) or _in_excluded_directory(path, exclude):
            continue
        else:
            found = iter(((path, None),))
        for walked, walked_real in found:
            # `check .` shows `pkg/m.py`, as typed from here
            file = walked[len(_HERE) :] if path == os.curdir and walked.startswith(_HERE) else walked
            real = os.path.normcase(walked_real if walked_real is not None else _real_path(file, real_directories))
            if real not in chosen or (not _is_itself(chosen[real], real) and _is_itself(file, real)):
                chosen[real] = file
    yield from chosen.values()


def _real_path(file: str, directories: dict[str, str]) -> str:
    """os.path.realpath, with each directory's resolved once: thousands of files share a few
    hundred directories (a file that is a symlink itself is resolved whole)."""
    if os.path.islink(file):
        return os.path.realpath(file)
    directory, name = os.path.split(os.path.abspath(file))
    real = directories.get(directory)
    if real is None:
        real = directories[directory] = os.path.realpath(directory)
    return os.path.join(real, name)


def _is_itself(path: str, real: str) -> bool:
    """Whether `path` names the file without going through a symlink."""
    return os.path.normcase(os.path.abspath(path)) == real


def _gitignore(root: str) -> GitIgnore | None:
    """The rules for walking `root`; none when git ignores `root` itself: a directory named
    on the command line is checked (as ripgrep and ruff walk it), rules apply below it."""
    rules = GitIgnore(root)
    return None if rules.ignored(root, is_dir=True) else rules


def _in_excluded_directory(path: str, exclude: Sequence[str]) -> bool:
    """Whether a directory the file is in is excluded, as walking would have skipped it:
    pre-commit names `legacy/x.py` itself, and `exclude = ["legacy"]` must still hold.
    Directories count from the current directory down, for a file under it."""
    if not exclude:
        return False
    absolute = os.path.abspath(path)
    cwd = os.getcwd()
    top = cwd if absolute.startswith(cwd + os.sep) else os.path.dirname(absolute.rstrip(os.sep))
    directory = os.path.dirname(absolute)
    while len(directory) > len(top) and directory.startswith(top):
        if excluded(directory, exclude):
            return True
        directory = os.path.dirname(directory)
    return False


def _walk(root: str, exclude: Sequence[str], gitignore: GitIgnore | None) -> Iterator[tuple[str, str]]:
    """Each `.py` file under `root` that is a regular file (or a symlink to one: a FIFO named
    *.py could block a read for ever), with its real path; a directory's files first, sorted,
    then its subdirectories, sorted. Symlinked directories are not walked (os.walk's rule), so a
    file's real path is its directory's and its name, unless it is a symlink itself. One
    `scandir` per directory and no `stat` of an ordinary file: the names' types come with the
    listing."""
    if excluded(root, exclude):
        return
    stack = [(root, os.path.realpath(root), _listing(root))]
    while stack:
        directory, real_directory, entries = stack.pop()
        subdirectories = []
        for entry in entries:
            name = entry.name
            if entry.is_dir(follow_symlinks=False):
                path = os.path.join(directory, name)
                if (
                    name in SKIPPED_DIRS
                    or _is_build_output(directory, name)
                    or excluded(path, exclude)
                    or (gitignore is not None and gitignore.ignored(path, is_dir=True))
                ):
                    continue
                listing = _listing(path)
                if not _is_virtualenv(listing):
                    subdirectories.append((path, os.path.join(real_directory, name), listing))
            elif name.endswith(".py"):
                file = os.path.join(directory, name)
                if (
                    not excluded(file, exclude)
                    and _is(entry.is_file)
                    and not (gitignore is not None and gitignore.ignored(file, is_dir=False))
                ):
                    symlink = _is(entry.is_symlink)
                    yield file, os.path.realpath(file) if symlink else os.path.join(real_directory, name)
        stack.extend(reversed(subdirectories))


def _listing(directory: str) -> list[os.DirEntry[str]]:
    """The directory's entries sorted by name; none where it cannot be read (as os.walk)."""
    try:
        with os.scandir(directory) as entries:
            return sorted(entries, key=lambda entry: entry.name)
    except OSError:
        return []
