"""Which files a run covers: the paths given, directories walked for ``*.py``."""

from __future__ import annotations

import os
from collections.abc import Iterator, Sequence

from ..config import path_matches as excluded  # flake8's rule: basename or absolute path
from .gitignore import GitIgnore

# Skipped while walking a directory (a path named explicitly is still checked). Virtual
# environments are recognised by what they hold, not by name: the standard library has a
# package named `venv`.
SKIPPED_DIRS = frozenset({".git", ".hg", ".svn", ".bzr", "CVS", "__pycache__", ".tox", ".nox", ".eggs", ".mypy_cache"})


def _is_virtualenv(directory: str) -> bool:
    # Every venv and virtualenv has pyvenv.cfg, whatever the directory is called; a conda
    # environment has conda-meta/.
    return os.path.isfile(os.path.join(directory, "pyvenv.cfg")) or os.path.isdir(os.path.join(directory, "conda-meta"))


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
        if os.path.isdir(path):
            found = _walk(path, exclude, _gitignore(path) if respect_gitignore else None)
        elif excluded(path, exclude) or _in_excluded_directory(path, exclude):
            continue
        else:
            found = iter((path,))
        for walked in found:
            # `check .` shows `pkg/m.py`, as typed from here
            file = walked[len(_HERE) :] if path == os.curdir and walked.startswith(_HERE) else walked
            real = os.path.normcase(_real_path(file, real_directories))
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


def _walk(root: str, exclude: Sequence[str], gitignore: GitIgnore | None) -> Iterator[str]:
    if excluded(root, exclude):
        return
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(
            name
            for name in dirnames
            if name not in SKIPPED_DIRS
            and not _is_virtualenv(os.path.join(directory, name))
            and not excluded(os.path.join(directory, name), exclude)
            and not (gitignore is not None and gitignore.ignored(os.path.join(directory, name), is_dir=True))
        )
        for name in sorted(filenames):
            file = os.path.join(directory, name)
            # os.path.isfile is false for a FIFO or a device named *.py, which reading
            # could block on for ever: while walking, only regular files count.
            if (
                name.endswith(".py")
                and not excluded(file, exclude)
                and os.path.isfile(file)
                and not (gitignore is not None and gitignore.ignored(file, is_dir=False))
            ):
                yield file
