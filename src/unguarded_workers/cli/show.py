"""`--show-settings` and `--show-files`: what a run would use and check, and why, without running it."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping, Sequence

from ..codes import ALL_CODES
from ..config import DEFAULT_GUARD, DEFAULT_MAX_FILE_SIZE, SETTINGS, RawSettings, Settings, path_matches
from ..options import DEFAULT_MIN_CONFIDENCE
from ..skipped import is_example_code, is_test_code

# What each setting is when nothing sets it, as a configuration file would spell it.
_DEFAULTS: Mapping[str, object] = {
    "min-confidence": DEFAULT_MIN_CONFIDENCE,
    "group-children": "serving",
    "tests": "skip",
    "examples": "skip",
    "respect-gitignore": True,
    "fix-guard": DEFAULT_GUARD,
    "select": ["UW"],
    "max-file-size": f"{DEFAULT_MAX_FILE_SIZE >> 20}M",
}


def show_settings(settings: Settings, raw: RawSettings, origins: Mapping[str, Sequence[str]], path: str | None) -> str:
    """Each setting as a pyproject.toml would say it, with where it came from; then, for a
    file, whether the run checks it and which codes it reports there."""
    lines = []
    if path is not None and not os.path.isdir(path):
        lines += [f"# Settings for {path}", *_for_file(settings, path), ""]
    else:
        lines += [f"# Settings for the files under {path or '.'}", ""]
    width = max(map(len, SETTINGS))
    for name in SETTINGS:
        if name == "unresolved":
            continue  # the old spelling of min-confidence, shown as that
        value = _shown_value(name, raw)
        where = ", ".join(origins.get(name, ())) or "default"
        if value is None:  # unset, and TOML has no null: a comment, so the block stays TOML
            lines.append(f"# {name} is not set  # {where}")
        else:
            lines.append(f"{name.ljust(width)} = {value}  # {where}")
    if settings.target_python is not None:
        version, where = settings.target_python
        lines.append(f"# the project targets Python {version}: {where}")
    return "\n".join(lines) + "\n"


def _shown_value(name: str, raw: RawSettings) -> str | None:
    if name in raw:
        value: object = raw[name]
        if name in ("per-file-ignores", "extend-per-file-ignores") and isinstance(value, list):
            value = {pattern: codes.split(",") for pattern, _, codes in (entry.rpartition(":") for entry in value)}
        if name == "respect-gitignore":
            value = value == "true"
    else:
        value = _DEFAULTS.get(name, [] if SETTINGS[name] else None)
    return None if value is None else json.dumps(value)


def _for_file(settings: Settings, path: str) -> list[str]:
    if path_matches(path, settings.exclude):
        return ["# not checked: excluded (exclude, extend-exclude)"]
    if not settings.check_tests and is_test_code(path):
        return ['# not checked: test code (tests = "skip")']
    if not settings.check_examples and is_example_code(path):
        return ['# not checked: example code (examples = "skip")']
    reported = [code.code for code in ALL_CODES if settings.reports(code.code, path)]
    ignored = [code.code for code in ALL_CODES if code.code not in reported]
    lines = [f"# checked; codes reported: {', '.join(reported) or 'none'}"]
    if ignored:
        lines.append(f"# not reported here: {', '.join(ignored)} (select, ignore, per-file-ignores)")
    return lines


def show_files(files: Sequence[str], settings: Settings) -> tuple[str, str]:
    """The files a run checks, one a line (stdout); how many it leaves alone and why (stderr)."""
    checked = [path for path in files if settings.checks(path)]
    tests = sum(1 for path in files if not settings.check_tests and is_test_code(path))
    examples = len(files) - len(checked) - tests
    left = []
    if tests:
        left.append(f'{tests} of test code (tests = "skip")')
    if examples:
        left.append(f'{examples} of example code (examples = "skip")')
    note = f"note: {len(checked)} files checked; not checked: {', '.join(left)}\n" if left else ""
    return "".join(f"{path}\n" for path in checked), note
