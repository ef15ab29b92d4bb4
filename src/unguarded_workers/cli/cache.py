"""The results cache: an unchanged file is not analysed again.

An entry is keyed by the file's path and bytes, the settings, the tool (its version and its
own files) and the interpreter (whose parser gives the positions), and records every file
its analysis probed: the project modules read (imported targets, base classes, and what
those led to) with their modification time and size, and the candidates that were not
there (a module added later, an `__init__.py` that moves the top-level package). A hit
requires them all to be as they were: a cached run reports what `--no-cache` would. Entries are written
to a temporary file and renamed into place, so two concurrent runs never read half an
entry. The directory (`.unguarded-workers-cache` where the run starts, like
`.ruff_cache`) ignores itself for git and is tagged for backup tools.
"""

from __future__ import annotations

import contextlib
import dataclasses
import enum
import functools
import hashlib
import json
import os
import sys
import tempfile
from collections.abc import Iterable, Sequence
from pathlib import Path

from .. import __version__
from ..analysis.project import Dependency, holds
from ..codes import ALL_CODES
from ..config import Settings
from ..violation import Confidence, Evidence, Related, SourceRange, Violation

CACHE_DIR = ".unguarded-workers-cache"
_BY_CODE = {code.code: code for code in ALL_CODES}
_TAG = "Signature: 8a477f597d28d172789f06886806bc55\n# unguarded-workers results cache\n"

_PACKAGE = Path(__file__).resolve().parents[1]  # the linter's own modules


def settings_key(settings: Settings, *, disable_noqa: bool, helpers: frozenset[str] = frozenset()) -> str:
    """The settings, the project's spawn helpers (they decide what other files are checked
    for), the tool and the interpreter as a stable string: sets sorted, so every process agrees."""
    interpreter = [sys.implementation.name, sys.version, sys.implementation.cache_tag]
    key = [_plain(settings), disable_noqa, sorted(helpers), __version__, _tool(), interpreter]
    return json.dumps(key, sort_keys=True)


@functools.cache
def _tool() -> str:
    """The tool's own files, by name, size and modification time: an edited checkout or a
    reinstall of the same version is another tool (about 70 stats, once per process)."""
    digest = hashlib.sha256()
    for path in sorted(_PACKAGE.rglob("*.py")):
        with contextlib.suppress(OSError):
            info = path.stat()
            digest.update(f"{path.relative_to(_PACKAGE)}:{info.st_size}:{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def _plain(value: object) -> object:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return sorted((str(k), _plain(v)) for k, v in value.items())
    if isinstance(value, (set, frozenset)):
        return sorted(str(item) for item in value)
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


class ResultsCache:
    def __init__(self, directory: str, settings: str) -> None:
        self._directory = Path(directory)
        self._settings = settings

    def _entry(self, path: str, data: bytes) -> Path:
        digest = hashlib.sha256()
        for part in (self._settings.encode(), os.fsencode(os.path.abspath(path)), data):
            digest.update(len(part).to_bytes(8, "little"))
            digest.update(part)
        key = digest.hexdigest()
        return self._directory / key[:2] / f"{key}.json"

    def get(self, path: str, data: bytes) -> list[Violation] | None:
        try:
            record = json.loads(self._entry(path, data).read_text(encoding="utf-8"))
            if not all(holds(_dependency(item)) for item in record["dependencies"]):
                return None
            return [_violation(item) for item in record["violations"]]
        except (OSError, ValueError, KeyError, TypeError, AssertionError):
            return None  # missing, half-written by another version, or unreadable: a miss

    def put(self, path: str, data: bytes, violations: Sequence[Violation], dependencies: Iterable[Dependency]) -> None:
        record = {
            "violations": [_plain(v) for v in violations],
            "dependencies": sorted(([path, *key] if key else [path]) for path, key in dependencies),
        }
        self._write(self._entry(path, data), record)

    def helpers(self, path: str, data: bytes) -> frozenset[str] | None:
        """The spawn helpers the file was found to define (a run's first pass), or None."""
        try:
            record = json.loads(self._entry(path, data).read_text(encoding="utf-8"))
            names = record["helpers"]
            if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
                return None
            return frozenset(names)
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def put_helpers(self, path: str, data: bytes, names: frozenset[str]) -> None:
        self._write(self._entry(path, data), {"helpers": sorted(names)})

    def _write(self, entry: Path, record: dict[str, object]) -> None:
        with contextlib.suppress(OSError):  # a cache that cannot be written is only slower
            self._prepare()
            entry.parent.mkdir(exist_ok=True)
            descriptor, temporary = tempfile.mkstemp(dir=entry.parent, suffix=".tmp")
            try:
                with os.fdopen(descriptor, "w", encoding="utf-8") as file:
                    json.dump(record, file)
                os.replace(temporary, entry)
            except BaseException:
                with contextlib.suppress(OSError):
                    os.unlink(temporary)
                raise

    def _prepare(self) -> None:
        if (self._directory / ".gitignore").exists():
            return
        self._directory.mkdir(parents=True, exist_ok=True)
        (self._directory / ".gitignore").write_text("# Created by unguarded-workers.\n*\n")
        (self._directory / "CACHEDIR.TAG").write_text(_TAG)


def _dependency(item: list[object]) -> Dependency:
    """[path] (no file there) or [path, real path, mtime, size]."""
    if len(item) == 1:
        return str(item[0]), None
    path, real, mtime, size = item
    return str(path), (str(real), int(str(mtime)), int(str(size)))


def _violation(item: dict[str, object]) -> Violation:
    target = item["target"]
    assert isinstance(target, dict)
    code = item["code"]
    assert isinstance(code, dict)
    evidence = item["evidence"]
    related = item["related"]
    assert isinstance(evidence, list)
    assert isinstance(related, list)
    return Violation(
        _BY_CODE[str(code["code"])],
        int(str(item["line"])),
        int(str(item["col"])),
        str(item["message"]),
        str(item["spawner"]),
        _range(target),
        None if item["target_fingerprint"] is None else str(item["target_fingerprint"]),
        None if item["unsafe_fix"] is None else str(item["unsafe_fix"]),
        Confidence(int(str(item["confidence"]))),
        tuple(Evidence(str(value)) for value in evidence),
        tuple(_related(entry) for entry in related),
        _optional_int(item["end_line"]),
        _optional_int(item["end_col"]),
    )


def _optional_int(value: object) -> int | None:
    return None if value is None else int(str(value))


def _range(value: object) -> SourceRange:
    assert isinstance(value, dict)
    return SourceRange(int(value["line"]), int(value["col"]), int(value["end_line"]), int(value["end_col"]))


def _related(value: object) -> Related:
    assert isinstance(value, dict)
    path = value["path"]
    return Related(_range(value["range"]), str(value["message"]), None if path is None else str(path))
