"""The flake8 adapter: flake8's tree and options in, UW reports out."""

from __future__ import annotations

import argparse
import ast
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any, ClassVar

from flake8.exceptions import ExecutionError
from flake8.options.manager import OptionManager

from . import __version__
from .analysis import check_module
from .config import FLAKE8_KEYS, RawSettings, Settings, load_settings
from .options import UNRESOLVED_CHOICES, OptionError


class UnguardedWorkersChecker:
    name = "unguarded-workers"
    version = __version__
    settings: ClassVar[Settings] = Settings()

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
            "(e.g. myapp.concurrency.safe). unguarded_workers.wrap always counts.",
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
            "--uw-unresolved",
            default=None,
            parse_from_config=True,
            choices=UNRESOLVED_CHOICES,
            help="Report workers defined outside the module, which cannot be inspected (default: report).",
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
        try:
            cls.settings = load_settings(Path.cwd(), given, read_flake8=False, read_pyproject=not _isolated())
        except OptionError as error:
            raise ExecutionError(f"unguarded-workers: {error}") from None

    def run(self) -> Iterator[tuple[int, int, str, Any]]:
        source = "".join(self._lines)
        settings = self.settings
        for violation in check_module(self._tree, settings.options, source):
            if settings.reports(violation.code.code, self._filename):
                yield violation.line, violation.col, violation.flake8_text(), type(self)


def _isolated() -> bool:
    # flake8 consumes --isolated in a preliminary parser whose result plugins never
    # see; the command line is the one place left that says it was given.
    return "--isolated" in sys.argv[1:]
