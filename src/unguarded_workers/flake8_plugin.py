"""The flake8 adapter: flake8's tree and options in, UW reports out."""

from __future__ import annotations

import argparse
import ast
import configparser
import os
import stat
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from flake8.exceptions import ExecutionError
from flake8.options.manager import OptionManager

from . import __version__
from .analysis import check_module
from .analysis.discovery import helper_names
from .analysis.project import project_for
from .codes import INTERNAL_ERROR, internal_error_text
from .config import (
    EXAMPLES_CHOICES,
    FLAKE8_KEYS,
    TESTS_CHOICES,
    RawSettings,
    Settings,
    find_flake8_config,
    flake8_key_warnings,
    path_matches,
    resolve_settings,
)
from .memory import paused_collector
from .options import GROUP_CHILDREN_CHOICES, UNRESOLVED_CHOICES, OptionError
from .violation import CONFIDENCE_CHOICES, Confidence


class UnguardedWorkersChecker:
    name = "unguarded-workers"
    version = __version__
    settings: ClassVar[Settings] = Settings()
    _options: ClassVar[argparse.Namespace | None] = None
    _given: ClassVar[RawSettings] = {}
    _isolated_applied: ClassVar[bool] = False
    _helpers: ClassVar[frozenset[str]] = frozenset()  # the project's spawn helpers
    _helpers_of: ClassVar[tuple[object, ...] | None] = None  # what they were found for

    def __init__(self, tree: ast.Module, lines: Sequence[str], filename: str) -> None:
        self._tree = tree
        self._lines = lines
        self._filename = filename

    @classmethod
    def add_options(cls, manager: OptionManager) -> None:
        manager.add_option(
            "--uw-guards",
            default=None,
            parse_from_config=True,
            comma_separated_list=True,
            help="Dotted names of your own guards, used around a worker or as its decorator "
            "(e.g. myapp.concurrency.safe). unguarded_workers.wrap and .supervise always count.",
        )
        manager.add_option(
            "--uw-spawners",
            default=None,
            parse_from_config=True,
            comma_separated_list=True,
            help="Your own spawn helpers as NAME:KIND, KIND one of thread, executor, task, group "
            "(e.g. myapp.tasks.fire:task, gevent.spawn:thread; .method:KIND for a method on any object).",
        )
        manager.add_option(
            "--uw-harmless-calls",
            default=None,
            parse_from_config=True,
            comma_separated_list=True,
            help="Dotted names of calls that never make a worker body unguarded (e.g. metrics.incr).",
        )
        manager.add_option(
            "--uw-min-confidence",
            default=None,
            parse_from_config=True,
            choices=CONFIDENCE_CHOICES,
            help="The lowest confidence reported: high (the default), medium, or low (everything). "
            "Below high, each report says its confidence.",
        )
        manager.add_option(
            "--uw-unresolved",
            default=None,
            parse_from_config=True,
            choices=UNRESOLVED_CHOICES,
            help="The old spelling of --uw-min-confidence: report = low, skip = medium.",
        )
        manager.add_option(
            "--uw-coroutine-functions",
            default=None,
            parse_from_config=True,
            comma_separated_list=True,
            help="Dotted names of functions that return a coroutine without being an `async def` "
            "the check can see; `asyncio.ensure_future(f())` makes a task only from one.",
        )
        manager.add_option(
            "--uw-group-children",
            default=None,
            parse_from_config=True,
            choices=GROUP_CHILDREN_CHOICES,
            help="Which task-group children to report: those whose failure takes down a long-lived, "
            "serving group (serving, the default) or every unguarded one (all).",
        )
        manager.add_option(
            "--uw-tests",
            default=None,
            parse_from_config=True,
            choices=TESTS_CHOICES,
            help="Check test code too (check), or leave it alone (skip, the default): test_*.py, *_test.py, "
            "*_tests.py, tests.py, conftest.py and files under test, tests, _tests or testing directories "
            "(or t/unit, t/integration).",
        )
        manager.add_option(
            "--uw-examples",
            default=None,
            parse_from_config=True,
            choices=EXAMPLES_CHOICES,
            help="Check example code too (check), or leave it alone (skip, the default): files under examples, "
            "docs, demos, samples, benchmarks, experiments or tutorials directories (and *_examples ones), "
            "example_*.py, *_demo.py, bench_*.py and the like.",
        )
        manager.add_option(
            "--uw-fix-guard",
            default=None,
            parse_from_config=True,
            help="The guard `unguarded-workers fix` inserts, as MODULE:NAME (default: unguarded_workers:wrap); "
            "it counts as a guard here too.",
        )

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        # None means "not given to flake8": then [tool.unguarded-workers] in
        # pyproject.toml, if any, decides (docs/configuration.md, "Precedence").
        given: RawSettings = {}
        for key, name in FLAKE8_KEYS.items():
            value = getattr(options, key.replace("-", "_"), None)  # uw-* are ours; exclude is flake8's
            if key.startswith("uw-") and value is not None:
                given[name] = value
        cls._options = options
        cls._given = given
        cls._isolated_applied = False
        cls.settings = cls._load(isolated=_isolated())
        for warning in (*cls.settings.warnings, *_misspelt_keys(options)):
            print(f"unguarded-workers: warning: {warning}", file=sys.stderr)
        files = _flake8_files(options)
        _exclude_non_regular_files(options, files)
        cls._find_helpers(files)

    @classmethod
    def _find_helpers(cls, files: list[str]) -> None:
        """The project's spawn helpers, from the files flake8 will check (before it forks its
        workers, which inherit them): a file that only calls one is checked too."""
        settings = cls.settings
        key = (tuple(files), settings.options, settings.check_tests, settings.check_examples)
        if key == cls._helpers_of:
            return  # flake8's workers parse the options again: found already, before the fork
        cls._helpers = helper_names([file for file in files if settings.checks(file)], settings.options)
        cls._helpers_of = key

    @classmethod
    def _load(cls, *, isolated: bool) -> Settings:
        spelled = {name: key for key, name in FLAKE8_KEYS.items()}
        try:
            return resolve_settings(
                Path.cwd(),
                cls._given,
                read_flake8=False,
                read_pyproject=not isolated,
                given_as=lambda name: spelled.get(name, name),
            )[0]
        except OptionError as error:
            raise ExecutionError(f"unguarded-workers: {error}") from None

    @classmethod
    def _current_settings(cls) -> Settings:
        """The settings, read again without pyproject.toml if flake8's legacy API was
        asked for `isolated=True` (it sets the option after plugins parsed theirs)."""
        if not cls._isolated_applied and getattr(cls._options, "isolated", False):
            cls.settings = cls._load(isolated=True)
            cls._isolated_applied = True
        return cls.settings

    def run(self) -> Iterator[tuple[int, int, str, Any]]:
        settings = self._current_settings()
        path = None if self._filename in ("stdin", "-") else self._filename
        if not settings.checks(path):
            return
        source = "".join(self._lines)
        project = project_for(settings.options)
        project.helper_names = self._helpers
        try:
            with paused_collector():
                try:
                    violations = check_module(self._tree, settings.options, source, path)
                finally:
                    project.forget_checked()  # what the analysis made is freed now, not collected
        except Exception as error:
            # flake8 does not guard a plugin's run(): an error here would abort the whole
            # run with a traceback and no reports. It becomes this file's one line instead.
            yield 1, 0, f"{INTERNAL_ERROR} {internal_error_text(error)}", type(self)
            return
        show_confidence = settings.options.min_confidence < Confidence.HIGH
        for violation in violations:
            if settings.reports(violation.code.code, self._filename):
                yield violation.line, violation.col, violation.flake8_text(show_confidence=show_confidence), type(self)


def _flake8_files(options: argparse.Namespace) -> list[str]:
    """The files flake8 will find under its paths, by its `filename` and exclude patterns."""
    exclude = [*getattr(options, "exclude", []), *getattr(options, "extend_exclude", [])]
    patterns = getattr(options, "filename", None) or ["*.py"]
    files: list[str] = []
    for path in getattr(options, "filenames", None) or ["."]:
        if path == "-" or path_matches(path, exclude):
            continue
        if not os.path.isdir(path):
            files.append(path)
            continue
        for directory, dirnames, filenames in os.walk(path):
            dirnames[:] = [d for d in dirnames if not path_matches(os.path.join(directory, d), exclude)]
            files += [
                file
                for name in filenames
                if path_matches(file := os.path.join(directory, name), patterns) and not path_matches(file, exclude)
            ]
    return files


def _exclude_non_regular_files(options: argparse.Namespace, files: list[str]) -> None:
    """Add the FIFOs and devices named *.py among flake8's files to its exclude list (and take
    them out of `files`).

    flake8 reads every file it finds, and reading a FIFO blocks for ever: the whole run
    would hang before any plugin sees the file. Only non-regular files are added, so what
    flake8 checks is otherwise unchanged; one named on the command line gets a warning.
    """
    named = set(getattr(options, "filenames", None) or ())
    skipped = [file for file in files if _not_regular(file)]
    for path in skipped:
        if path in named:
            print(f"unguarded-workers: {path}: not a regular file; flake8 will not read it", file=sys.stderr)
    if skipped:
        files[:] = [file for file in files if file not in skipped]
        options.extend_exclude = [*getattr(options, "extend_exclude", []), *map(os.path.abspath, skipped)]


def _misspelt_keys(options: argparse.Namespace) -> list[str]:
    """A `uw-` key of the flake8 file flake8 read that is none of ours (`uw-gaurds`): flake8
    passes over keys no plugin registered, so it would do nothing, in silence."""
    if _isolated() or getattr(options, "isolated", False):
        return []
    named = getattr(options, "config", None)
    try:
        path = Path(named) if named else find_flake8_config(Path.cwd())
        if path is None or not path.is_file():
            return []
        parser = configparser.RawConfigParser()
        parser.read(path, encoding="utf-8")
    except (OSError, UnicodeDecodeError, configparser.Error, OptionError):
        return []  # flake8 says what is wrong with its file
    return flake8_key_warnings(path, list(parser["flake8"])) if "flake8" in parser else []


def _not_regular(path: str) -> bool:
    try:
        return not stat.S_ISREG(os.stat(path).st_mode)
    except OSError:
        return False  # missing or unreadable: flake8 reports it itself


def _isolated() -> bool:
    # flake8 consumes --isolated in a preliminary parser whose result plugins never
    # see; the command line is the one place left that says it was given.
    return "--isolated" in sys.argv[1:]
