"""Where the settings come from: flake8's config file and pyproject.toml, merged once.

The flake8 plugin and the command line read the same two places with the same
precedence, per setting: a value given on the command line wins, then the
``[flake8]`` section's ``uw-*`` keys, then ``[tool.unguarded-workers]`` in
pyproject.toml, then the default.
"""

from __future__ import annotations

import configparser
import difflib
import fnmatch
import functools
import os
import re
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .codes import ALL_CODES, INTERNAL_ERROR
from .options import (
    DEFAULT_MIN_CONFIDENCE,
    UNRESOLVED_ALIAS,
    UNRESOLVED_CHOICES,
    OptionError,
    Options,
    SettingError,
    choice,
    parse_options,
)
from .skipped import is_example_code, is_test_code

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised by the 3.9/3.10 tox environments
    import tomli as tomllib

PYPROJECT_TABLE = "unguarded-workers"
FLAKE8_FILES = ("setup.cfg", "tox.ini", ".flake8")  # flake8's own search order

# Setting name -> whether it holds a list. The pyproject table uses these names; the
# flake8 section uses "uw-" + name for the analysis settings and its own keys for the
# rest (see FLAKE8_KEYS).
SETTINGS: Mapping[str, bool] = {
    "guards": True,
    "spawners": True,
    "harmless-calls": True,
    "min-confidence": False,
    "unresolved": False,  # the old spelling of min-confidence: report = low, skip = medium
    "coroutine-functions": True,
    "group-children": False,
    "tests": False,
    "examples": False,
    "respect-gitignore": False,
    "fix-guard": False,
    "select": True,
    "ignore": True,
    "exclude": True,
    "extend-exclude": True,
    # Held as "PATTERN:CODE,CODE" strings; a table of pattern -> codes in pyproject.toml.
    "per-file-ignores": True,
    "extend-per-file-ignores": True,
    "max-file-size": False,
    "target-version": False,  # the Python the project targets: "py312" or "3.12"
}
# Settings that add up across the places that give them (each other one: the first place wins).
EXTENDING = frozenset({"extend-exclude", "extend-per-file-ignores"})
FLAKE8_KEYS: Mapping[str, str] = {
    "uw-guards": "guards",
    "uw-spawners": "spawners",
    "uw-harmless-calls": "harmless-calls",
    "uw-min-confidence": "min-confidence",
    "uw-unresolved": "unresolved",
    "uw-coroutine-functions": "coroutine-functions",
    "uw-group-children": "group-children",
    "uw-tests": "tests",
    "uw-examples": "examples",
    "uw-respect-gitignore": "respect-gitignore",
    "uw-fix-guard": "fix-guard",
    "uw-max-file-size": "max-file-size",
    "exclude": "exclude",
    "extend-exclude": "extend-exclude",
}
_FLAKE8_PER_FILE_KEY = "per-file-ignores"
# flake8's ignore lists apply to every plugin; the entries that can name a UW code
# ("U", "UW", "UW4", "UW401") are the ones both tools honour.
_FLAKE8_IGNORE_KEYS = ("ignore", "extend-ignore")

DEFAULT_GUARD = "unguarded_workers:wrap"
# Files larger than this are skipped (with a note): generated code, which takes 200-230
# times its size in memory to check and 290-340 times to fix (docs/configuration.md).
DEFAULT_MAX_FILE_SIZE = 2 << 20  # 2M
_SIZE_UNITS = {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}
TESTS_CHOICES = ("skip", "check")
EXAMPLES_CHOICES = TESTS_CHOICES
# Settings that are booleans in pyproject.toml, "true"/"false" elsewhere.
BOOLEAN_SETTINGS = frozenset({"respect-gitignore"})

RawSettings = dict[str, "str | list[str]"]


@dataclass(frozen=True)
class GuardRef:
    """The helper `fix` inserts: ``from module import name``."""

    module: str
    name: str

    @property
    def dotted(self) -> str:
        return f"{self.module}.{self.name}"

    @classmethod
    def parse(cls, value: str) -> GuardRef:
        module, sep, name = value.strip().partition(":")
        parts = module.split(".")
        if not sep or not name.isidentifier() or not all(part.isidentifier() for part in parts):
            raise SettingError("fix-guard", f"{value!r} is not MODULE:NAME, like 'myapp.concurrency:safe'")
        return cls(module, name)


@dataclass(frozen=True)
class Settings:
    """The merged settings: the analysis options, what to report, what to skip, what `fix` inserts."""

    options: Options = field(default_factory=Options)
    select: tuple[str, ...] = ("UW",)
    ignore: tuple[str, ...] = ()
    # Patterns: a bare name matches any path component's basename; one holding a
    # "/" is anchored to the directory of the file that set it (as in flake8).
    exclude: tuple[str, ...] = ()
    fix_guard: GuardRef = field(default_factory=lambda: GuardRef.parse(DEFAULT_GUARD))
    # (pattern, codes): more codes to ignore in files the pattern matches.
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    check_tests: bool = False  # tests = "check"
    check_examples: bool = False  # examples = "check"
    respect_gitignore: bool = True  # walking skips what git ignores
    max_file_size: int = DEFAULT_MAX_FILE_SIZE  # bytes; larger files are skipped; 0: no limit
    # The Python the project says it targets, as it says it ("3.12", ">=3.10"), and where it
    # says so: for the message on a file whose syntax this interpreter cannot read.
    target_python: tuple[str, str] | None = None
    # Said once per run, before the reports: configuration that was passed over.
    warnings: tuple[str, ...] = ()

    def checks(self, path: str | None) -> bool:
        """Whether the file is checked at all: test code only when `tests = "check"`, example
        code (examples, docs, demos, benchmarks) only when `examples = "check"`."""
        if path is None:
            return True
        return (self.check_tests or not is_test_code(path)) and (self.check_examples or not is_example_code(path))

    def reports(self, code: str, path: str | None = None) -> bool:
        """Whether select/ignore (and per-file-ignores for `path`) let `code` through;
        the longer matching prefix wins, as in flake8."""
        ignore = self.ignore
        if path is not None and self.per_file_ignores:
            for pattern, codes in self.per_file_ignores:
                if path_matches(path, [pattern]):
                    ignore += codes
        selected = max((len(p) for p in self.select if code.startswith(p)), default=-1)
        ignored = max((len(p) for p in ignore if code.startswith(p)), default=-1)
        return selected > ignored


def path_matches(path: str, patterns: Sequence[str]) -> bool:
    """flake8's rule for exclude and per-file-ignores: a pattern matches the basename or
    the absolute path."""
    if not patterns:
        return False
    absolute = os.path.normcase(os.path.abspath(path))
    matches = _matcher(tuple(patterns))
    return matches(os.path.basename(absolute)) is not None or matches(absolute) is not None


@functools.lru_cache(maxsize=64)
def _matcher(patterns: tuple[str, ...]) -> Callable[[str], re.Match[str] | None]:
    """The patterns as one regular expression, as fnmatch.fnmatch matches each (its case rule:
    os.path.normcase): a walk asks it of every file and directory."""
    return re.compile("|".join(fnmatch.translate(os.path.normcase(pattern)) for pattern in patterns)).match


def parse_size(value: str) -> int:
    """A size in bytes: `2000000`, `512K`, `2M`, `1G` (also `2MB`, `2MiB`; binary multiples)."""
    text = value.strip().upper().replace(" ", "")
    for suffix in ("IB", "B"):
        if text.endswith(suffix) and text[: -len(suffix)][-1:] in ("K", "M", "G"):
            text = text[: -len(suffix)]
            break
    number, unit = (text[:-1], text[-1]) if text[-1:] in _SIZE_UNITS else (text, "")
    if not number.isdigit():
        raise SettingError("max-file-size", f"{value!r} is not a size, like 2M, 512K or 1000000 (0: no limit)")
    return int(number) * _SIZE_UNITS[unit]


_TARGET = re.compile(r"(?:py)?3\.?(\d+)")


def parse_target_version(value: str) -> tuple[int, int]:
    """`py312` (ruff's spelling) or `3.12`."""
    found = _TARGET.fullmatch(value.strip().lower())
    if found is None:
        raise SettingError("target-version", f"{value!r} is not a Python version, like py312 or 3.12")
    return 3, int(found.group(1))


def parse_per_file_ignores(value: str) -> list[str]:
    """flake8's ``per-file-ignores`` syntax ("tests/*.py: UW101 scripts/*:UW2") as
    "PATTERN:CODES" strings, keeping the codes that can name a UW code."""
    # flake8 is loaded only for a mapping to parse (13 ms of every run's start-up otherwise).
    from flake8.exceptions import ExecutionError
    from flake8.utils import parse_files_to_codes_mapping

    try:
        mapping = parse_files_to_codes_mapping(value)
    except ExecutionError as error:  # flake8's error for a malformed mapping
        raise OptionError(f"per-file-ignores: {value!r}: {error}") from None
    entries = []
    for pattern, codes in mapping:
        ours = [code for code in codes if _names_uw_code(code)]
        if ours:
            entries.append(f"{pattern}:{','.join(ours)}")
    return entries


def _names_uw_code(entry: str) -> bool:
    return any(code.code.startswith(entry) for code in ALL_CODES)


# Every code and prefix that names one of ours: what a select or ignore entry may be.
_CODE_NAMES = sorted({code.code[:length] for code in ALL_CODES for length in range(1, len(code.code) + 1)})


def close_match(word: str, candidates: Sequence[str]) -> str:
    """ "; did you mean X?" when a candidate is close to `word`, else nothing."""
    found = difflib.get_close_matches(word, candidates, n=1, cutoff=0.6)
    return f"; did you mean {found[0]}?" if found else ""


def unknown_codes(entries: Sequence[str], where: str) -> list[str]:
    """A warning for each select/ignore entry that names none of this tool's codes (`FOO`,
    `UW1O1`): accepted, but it selects or ignores nothing."""
    codes = ", ".join(code.code for code in ALL_CODES)
    return [
        f"{where}: {entry} names none of this tool's codes ({codes}){close_match(entry, _CODE_NAMES)}"
        for entry in entries
        if not _names_uw_code(entry) and entry != INTERNAL_ERROR
    ]


@dataclass
class _Layer:
    values: RawSettings
    base: Path  # the directory relative exclude patterns are anchored to
    # Where each setting was read, as a person finds it: "--guards", "setup.cfg [flake8]
    # uw-guards", "pyproject.toml [tool.unguarded-workers] guards".
    origins: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def _split(value: str) -> list[str]:
    # flake8's list syntax: commas and/or newlines.
    return [item.strip() for item in value.replace("\n", ",").split(",") if item.strip()]


def find_flake8_config(start: Path) -> Path | None:
    """The file flake8 would read: the first of setup.cfg, tox.ini, .flake8 with a
    ``[flake8]`` section, from `start` up to (not including) the home directory."""
    home = Path.home()
    for directory in (start, *start.parents):
        if directory == home and directory != start:
            break
        for name in FLAKE8_FILES:
            candidate = directory / name
            if candidate.is_file() and _has_flake8_section(candidate):
                return candidate
    return None


def _has_flake8_section(path: Path) -> bool:
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (UnicodeDecodeError, configparser.ParsingError):
        return False  # flake8 passes over a config file it cannot parse, with a warning
    except configparser.Error as error:  # a duplicate key or section: flake8 stops on it too
        raise OptionError(f"{path}: cannot read: {error}") from None
    return "flake8" in parser


def find_pyproject(start: Path, warnings: list[str] | None = None) -> Path | None:
    """The nearest pyproject.toml, from `start` upwards, with a ``[tool.unguarded-workers]`` table.

    One that is not valid TOML is passed over with a warning when its text does not
    mention this tool (another tool's broken file must not stop this one), and is an
    error when it does.
    """
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if not candidate.is_file():
            continue
        try:
            tool = _read_toml(candidate).get("tool")
        except OptionError as error:
            if _mentions_this_tool(candidate):
                raise
            if warnings is not None:
                warnings.append(f"{error}; it sets nothing for unguarded-workers, so it is passed over")
            continue
        if isinstance(tool, dict) and PYPROJECT_TABLE in tool:
            return candidate
    return None


def _mentions_this_tool(path: Path) -> bool:
    try:
        return PYPROJECT_TABLE in path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return False


def _read_ini(path: Path) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    try:
        parser.read(path, encoding="utf-8")
    except (UnicodeDecodeError, configparser.Error) as error:
        raise OptionError(f"{path}: cannot read: {error}") from None
    return parser


def _read_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as file:
            return tomllib.load(file)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise OptionError(f"{path}: cannot read: {error}") from None


def flake8_key_warnings(path: Path, keys: Sequence[str]) -> list[str]:
    """A warning for each `uw-` key of a flake8 file that is none of ours (`uw-gaurds`): flake8
    passes over keys it does not know, so a misspelt one would do nothing, in silence."""
    ours = sorted(FLAKE8_KEYS)
    return [
        f"{path}: [flake8]: {key} is not a setting of unguarded-workers{close_match(key, ours)}"
        for key in keys
        if key.replace("_", "-").startswith("uw-") and key.replace("_", "-") not in FLAKE8_KEYS
    ]


def _flake8_layer(path: Path) -> _Layer:
    if not path.is_file():
        raise OptionError(f"{path}: no such file")
    config = _read_ini(path)
    if "flake8" not in config:
        raise OptionError(f"{path}: has no [flake8] section")
    section = config["flake8"]
    values: RawSettings = {}
    origins: dict[str, str] = {}
    where = f"{_display(path)} [flake8]"
    warnings = flake8_key_warnings(path, list(section))
    for raw_key, raw_value in section.items():
        key = raw_key.replace("_", "-")
        if key in FLAKE8_KEYS:
            name = FLAKE8_KEYS[key]
            values[name] = _split(raw_value) if SETTINGS[name] else raw_value.strip()
            origins[name] = f"{where} {raw_key}"
        # flake8's own lists set ours only when they name a UW code: an `extend-ignore =
        # E203` must not shadow the pyproject table's `ignore`.
        elif key == _FLAKE8_PER_FILE_KEY:
            entries = parse_per_file_ignores(raw_value)
            if entries:
                values["per-file-ignores"] = entries
                origins["per-file-ignores"] = f"{where} {raw_key}"
        elif key in _FLAKE8_IGNORE_KEYS:
            entries = _split(raw_value)
            codes = [entry for entry in entries if _names_uw_code(entry)]
            # Other plugins' codes are theirs; one that looks like ours but is not is a typo.
            mistaken = [entry for entry in entries if entry.upper().startswith("UW") and entry not in codes]
            warnings += unknown_codes(mistaken, f"{where}: {raw_key}")
            if codes:
                ignored = values.setdefault("ignore", [])
                assert isinstance(ignored, list)
                ignored.extend(codes)
                origins["ignore"] = f"{where} {raw_key}"
    spelled = {name: key for key, name in FLAKE8_KEYS.items()}
    _validate(values, lambda name: f"{path}: [flake8]: {spelled.get(name, name)}")
    return _Layer(values, path.resolve().parent, origins, warnings)


def _pyproject_layer(path: Path) -> _Layer:
    table = _read_toml(path).get("tool", {})
    if not isinstance(table, dict) or PYPROJECT_TABLE not in table:
        raise OptionError(f"{path}: has no [tool.{PYPROJECT_TABLE}] table")
    raw = table[PYPROJECT_TABLE]
    where = f"{path}: [tool.{PYPROJECT_TABLE}]"
    if not isinstance(raw, dict):
        raise OptionError(f"{where} is not a table")
    values: RawSettings = {}
    spelled: dict[str, str] = {}
    for key, value in raw.items():
        name = key.replace("_", "-")
        spelled[name] = key
        if name not in SETTINGS:
            known = ", ".join(SETTINGS)
            raise OptionError(f"{where}: unknown setting {key!r}{close_match(name, list(SETTINGS))} (known: {known})")
        if name in ("per-file-ignores", "extend-per-file-ignores"):
            values[name] = _per_file_table(value, f"{where}: {key}")
        elif SETTINGS[name]:
            if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
                raise OptionError(f"{where}: {key} must be a list of strings")
            values[name] = [item.strip() for item in value if item.strip()]
        elif name in BOOLEAN_SETTINGS:
            if not isinstance(value, bool):
                raise OptionError(f"{where}: {key} must be true or false")
            values[name] = "true" if value else "false"
        elif name == "max-file-size" and isinstance(value, int) and not isinstance(value, bool):
            values[name] = str(value)
        else:
            if not isinstance(value, str):
                raise OptionError(f"{where}: {key} must be a string")
            values[name] = value
    _validate(values, lambda name: f"{where}: {spelled[name]}")
    origins = {name: f"{_display(path)} [tool.{PYPROJECT_TABLE}] {key}" for name, key in spelled.items()}
    if "unresolved" in spelled:
        origins["min-confidence"] = origins.pop("unresolved")
    return _Layer(
        values, path.resolve().parent, origins, _code_warnings(values, lambda name: f"{where}: {spelled[name]}")
    )


def _code_warnings(values: RawSettings, spell: Callable[[str], str]) -> list[str]:
    """Warnings for the entries of select, ignore and per-file-ignores that name none of our codes."""
    found = []
    for name in ("select", "ignore"):
        entries = values.get(name)
        if isinstance(entries, list):
            found += unknown_codes([entry.upper() for entry in entries], spell(name))
    for name in ("per-file-ignores", "extend-per-file-ignores"):
        entries = values.get(name)
        if isinstance(entries, list):
            codes = [code for entry in entries for code in entry.rpartition(":")[2].split(",") if code]
            found += unknown_codes(codes, spell(name))
    return found


def _validate(values: RawSettings, spell: Callable[[str], str]) -> None:
    """Check each value where it was read, so that an error names that place and the key
    as it is spelled there (`unresolved` in pyproject.toml, `uw-unresolved` for flake8).

    `unresolved`, the old spelling of `min-confidence`, becomes it here: one place may set
    one of the two."""
    if "unresolved" in values:
        if "min-confidence" in values:
            raise OptionError(
                f"{spell('unresolved')}: the old spelling of {spell('min-confidence')}: set one of the two"
            )
        old = values.pop("unresolved")
        try:
            assert isinstance(old, str)
            choice("unresolved", old, UNRESOLVED_CHOICES)
        except SettingError as error:
            raise OptionError(f"{spell('unresolved')}: {error.detail}") from None
        values["min-confidence"] = UNRESOLVED_ALIAS[old]
    for name, value in values.items():
        try:
            build_settings({name: value}, (), Path.cwd())
        except SettingError as error:
            raise OptionError(f"{spell(error.setting)}: {error.detail}") from None


def _per_file_table(value: object, where: str) -> list[str]:
    if not isinstance(value, dict):
        raise OptionError(f"{where} must be a table of pattern = [codes]")
    entries = []
    for pattern, codes in value.items():
        if not isinstance(codes, list) or not all(isinstance(code, str) for code in codes):
            raise OptionError(f"{where}: {pattern!r} must be a list of codes")
        entries.append(f"{pattern}:{','.join(code.strip().upper() for code in codes)}")
    return entries


def merge(layers: Sequence[_Layer]) -> tuple[RawSettings, tuple[str, ...], dict[str, list[str]]]:
    """Per setting, the first layer that sets it wins; the `extend-*` settings add up over
    every layer. Exclude patterns are anchored to the directory of the layer that gave them.
    Also where each setting came from (several places for one that adds up)."""
    merged: RawSettings = {}
    exclude: list[str] = []
    origins: dict[str, list[str]] = {}
    for name in SETTINGS:
        for layer in layers:
            if name not in layer.values:
                continue
            value = layer.values[name]
            origins.setdefault(name, []).append(layer.origins.get(name, f"--{name}"))
            if name in ("exclude", "extend-exclude"):
                assert isinstance(value, list)
                exclude.extend(_anchor(pattern, layer.base) for pattern in value)
            if name in EXTENDING:
                assert isinstance(value, list)
                extended = merged.setdefault(name, [])
                assert isinstance(extended, list)
                extended.extend(value)
            else:
                merged[name] = value
            if name not in EXTENDING:
                break
    return merged, tuple(exclude), origins


def _anchor(pattern: str, base: Path) -> str:
    if "/" in pattern or os.sep in pattern:
        return os.path.normpath(os.path.join(base, pattern))
    return pattern


def file_layers(
    cwd: Path,
    flake8_config: Path | None = None,
    *,
    read_flake8: bool = True,
    read_pyproject: bool = True,
    warnings: list[str] | None = None,
    pyproject_config: Path | None = None,
) -> list[_Layer]:
    """The configuration files' layers, highest precedence first."""
    layers = []
    flake8_path = flake8_config or (find_flake8_config(cwd) if read_flake8 else None)
    if flake8_path is not None:
        layers.append(_flake8_layer(flake8_path))
    if pyproject_config is not None:
        if not pyproject_config.is_file():
            raise OptionError(f"{pyproject_config}: no such file")
        return [*layers, _pyproject_layer(pyproject_config)]
    pyproject = find_pyproject(cwd, warnings) if read_pyproject else None
    if pyproject is not None:
        layers.append(_pyproject_layer(pyproject))
    return layers


def _list(raw: RawSettings, name: str) -> list[str]:
    value = raw.get(name, [])
    assert isinstance(value, list)
    return value


def _text(raw: RawSettings, name: str, default: str) -> str:
    value = raw.get(name, default)
    assert isinstance(value, str)
    return value


def build_options(raw: RawSettings, extra_guards: Sequence[str] = ()) -> Options:
    return parse_options(
        guards=[*_list(raw, "guards"), *extra_guards],
        spawners=_list(raw, "spawners"),
        harmless_calls=_list(raw, "harmless-calls"),
        min_confidence=_text(raw, "min-confidence", DEFAULT_MIN_CONFIDENCE),
        coroutine_functions=_list(raw, "coroutine-functions"),
        group_children=_text(raw, "group-children", "serving"),
    )


def _per_file_ignores(raw: RawSettings, cwd: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    entries = []
    for entry in [*_list(raw, "per-file-ignores"), *_list(raw, "extend-per-file-ignores")]:
        pattern, _, codes = entry.rpartition(":")
        # flake8 anchors these patterns to the current directory, not the config file's.
        entries.append((_anchor(pattern.strip(), cwd), tuple(c.strip() for c in codes.split(",") if c.strip())))
    return tuple(entries)


def build_settings(raw: RawSettings, exclude: tuple[str, ...], cwd: Path) -> Settings:
    fix_guard = GuardRef.parse(_text(raw, "fix-guard", DEFAULT_GUARD))
    tests = _text(raw, "tests", "skip")
    choice("tests", tests, TESTS_CHOICES)
    examples = _text(raw, "examples", "skip")
    choice("examples", examples, EXAMPLES_CHOICES)
    respect_gitignore = _text(raw, "respect-gitignore", "true").strip().lower()
    choice("respect-gitignore", respect_gitignore, ("true", "false"))
    # The configured fix guard is a guard: code it fixed must check clean.
    options = build_options(raw, extra_guards=[fix_guard.dotted])
    select = tuple(code.upper() for code in _list(raw, "select")) or ("UW",)
    if not any(code.code.startswith(select) for code in ALL_CODES):
        codes = ", ".join(code.code for code in ALL_CODES)
        raise SettingError("select", f"{', '.join(select)} selects none of this tool's codes ({codes})")
    ignore = tuple(code.upper() for code in _list(raw, "ignore"))
    max_file_size = parse_size(_text(raw, "max-file-size", str(DEFAULT_MAX_FILE_SIZE)))
    target = raw.get("target-version")
    if isinstance(target, str):
        parse_target_version(target)
    return Settings(
        options,
        select,
        ignore,
        exclude,
        fix_guard,
        _per_file_ignores(raw, cwd),
        check_tests=tests == "check",
        check_examples=examples == "check",
        respect_gitignore=respect_gitignore == "true",
        max_file_size=max_file_size,
    )


def resolve_settings(
    cwd: Path,
    given: RawSettings,
    flake8_config: Path | None = None,
    *,
    read_flake8: bool = True,
    read_pyproject: bool = True,
    given_as: Callable[[str], str] = lambda name: f"--{name}",
    search_from: Path | None = None,
    pyproject_config: Path | None = None,
) -> tuple[Settings, RawSettings, dict[str, list[str]]]:
    """Merge settings `given` (the command line) with the configuration files found from `cwd`.

    The flake8 plugin passes what flake8 parsed as `given` (flake8 has read its own
    config file into it) and `read_flake8=False`. `given_as` spells a given setting's
    name for error messages (`--unresolved` on our command line). The configuration files
    are searched from `search_from` (default `cwd`) upwards; `cwd` anchors per-file-ignores.

    Returns the settings, the merged values as given, and where each came from (for
    `--show-settings`).
    """
    given = dict(given)
    origins = {
        name: given_as("unresolved" if name == "min-confidence" and "unresolved" in given else name) for name in given
    }
    _validate(given, given_as)
    warnings: list[str] = []
    files = file_layers(
        search_from or cwd,
        flake8_config,
        read_flake8=read_flake8,
        read_pyproject=read_pyproject,
        warnings=warnings,
        pyproject_config=pyproject_config,
    )
    layers = [_Layer(given, cwd, origins, _code_warnings(given, given_as)), *files]
    raw, exclude, found = merge(layers)
    warnings = [warning for layer in layers for warning in layer.warnings] + warnings
    target = _target_python(raw, found, search_from or cwd, read_pyproject=read_pyproject)
    settings = replace(build_settings(raw, exclude, cwd), target_python=target, warnings=tuple(warnings))
    return settings, raw, found


def _target_python(
    raw: RawSettings, origins: dict[str, list[str]], start: Path, *, read_pyproject: bool
) -> tuple[str, str] | None:
    """The Python the project targets: the `target-version` setting, else the `requires-python`
    of the nearest pyproject.toml (whatever tools it configures)."""
    target = raw.get("target-version")
    if isinstance(target, str):
        major, minor = parse_target_version(target)
        return f"{major}.{minor}", origins["target-version"][0]
    if not read_pyproject:
        return None
    for directory in (start, *start.parents):
        candidate = directory / "pyproject.toml"
        if not candidate.is_file():
            continue
        try:
            project = _read_toml(candidate).get("project")
        except OptionError:
            return None  # said elsewhere, if it matters
        requires = project.get("requires-python") if isinstance(project, dict) else None
        return (requires.strip(), f"requires-python in {_display(candidate)}") if isinstance(requires, str) else None
    return None


def _display(path: Path) -> str:
    """A configuration file as messages name it: relative to the current directory when under it."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except (ValueError, OSError):
        return str(path)
