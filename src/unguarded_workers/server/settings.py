"""The settings `check` would use for a document, found from its directory, and read again
whenever a configuration file on the way up appears, changes or goes."""

from __future__ import annotations

import os
from pathlib import Path

from ..config import FLAKE8_FILES, Settings, resolve_settings
from ..options import OptionError

CONFIG_FILES = ("pyproject.toml", *FLAKE8_FILES)

# (path, mtime, size) of every configuration file that exists from a directory upwards.
_Fingerprint = tuple[tuple[str, int, int], ...]


class SettingsCache:
    def __init__(self, root: Path | None) -> None:
        self._root = root  # the workspace: anchors per-file-ignores, as the command's cwd does
        self._cache: dict[Path, tuple[_Fingerprint, Settings | OptionError]] = {}

    def for_document(self, path: Path | None) -> Settings | OptionError:
        """The document's settings, or the configuration error that stops `check` there."""
        directory = path.parent if path is not None else (self._root or Path.cwd())
        fingerprint = _fingerprint(directory)
        cached = self._cache.get(directory)
        if cached is not None and cached[0] == fingerprint:
            return cached[1]
        root = self._root if self._root is not None and _under(directory, self._root) else directory
        try:
            found: Settings | OptionError = resolve_settings(root, {}, search_from=directory)[0]
        except OptionError as error:
            found = error
        self._cache[directory] = (fingerprint, found)
        return found

    def clear(self) -> None:
        self._cache.clear()


def _under(path: Path, root: Path) -> bool:
    try:
        path.relative_to(root)
    except ValueError:
        return False
    return True


def _fingerprint(directory: Path) -> _Fingerprint:
    found = []
    for folder in (directory, *directory.parents):
        for name in CONFIG_FILES:
            candidate = os.path.join(folder, name)
            try:
                info = os.stat(candidate)
            except OSError:
                continue
            found.append((candidate, info.st_mtime_ns, info.st_size))
    return tuple(found)
