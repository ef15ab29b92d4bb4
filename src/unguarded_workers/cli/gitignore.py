"""The .gitignore rules that apply while walking a directory, as git reads them: every
`.gitignore` from the repository's root down to the file's directory (deeper files win,
`!negation` included) and `.git/info/exclude`. Outside a git repository nothing is
ignored. The patterns are matched by pathspec's implementation of git's rules."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pathspec is loaded by the first .gitignore read (40 ms of start-up outside a repository)
    from pathspec import GitIgnoreSpec


class GitIgnore:
    def __init__(self, start: str) -> None:
        self._repository = _repository_root(os.path.abspath(start))
        self._specs: dict[str, GitIgnoreSpec | None] = {}
        if self._repository is not None:
            self._info_exclude = _read(os.path.join(self._repository, ".git", "info", "exclude"))

    def ignored(self, path: str, *, is_dir: bool) -> bool:
        """Whether git would ignore `path` (a directory's rules cover everything under it)."""
        repository = self._repository
        if repository is None:
            return False
        absolute = os.path.abspath(path)
        if not absolute.startswith(repository + os.sep):
            return False
        verdict: bool | None = None
        for base, spec in self._applicable(absolute, repository):
            relative = os.path.relpath(absolute, base).replace(os.sep, "/") + ("/" if is_dir else "")
            include = spec.check_file(relative).include
            if include is not None:
                verdict = include  # a deeper file's decision overrides a shallower one's
        return bool(verdict)

    def _applicable(self, absolute: str, repository: str) -> list[tuple[str, GitIgnoreSpec]]:
        found = [(repository, self._info_exclude)] if self._info_exclude is not None else []
        directories = []
        directory = os.path.dirname(absolute)
        while len(directory) >= len(repository):
            directories.append(directory)
            if directory == repository:
                break
            directory = os.path.dirname(directory)
        for directory in reversed(directories):
            spec = self._spec_of(directory)
            if spec is not None:
                found.append((directory, spec))
        return found

    def _spec_of(self, directory: str) -> GitIgnoreSpec | None:
        if directory not in self._specs:
            self._specs[directory] = _read(os.path.join(directory, ".gitignore"))
        return self._specs[directory]


def _read(path: str) -> GitIgnoreSpec | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as file:
            lines = file.read().splitlines()
    except OSError:
        return None
    from pathspec import GitIgnoreSpec

    return GitIgnoreSpec.from_lines(lines)


def _repository_root(start: str) -> str | None:
    directory = start if os.path.isdir(start) else os.path.dirname(start)
    while True:
        if os.path.exists(os.path.join(directory, ".git")):
            return directory
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent
