"""The flake8 adapter: flake8's tree and options in, UW reports out."""

from __future__ import annotations

import argparse
import ast
from collections.abc import Iterator, Sequence
from typing import Any, ClassVar

from flake8.exceptions import ExecutionError
from flake8.options.manager import OptionManager

from . import __version__
from .analysis import check_module
from .options import UNRESOLVED_CHOICES, OptionError, Options, parse_options


class UnguardedWorkersChecker:
    name = "unguarded-workers"
    version = __version__
    options: ClassVar[Options] = Options()

    def __init__(self, tree: ast.Module, lines: Sequence[str]) -> None:
        self._tree = tree
        self._lines = lines

    @classmethod
    def add_options(cls, manager: OptionManager) -> None:
        manager.add_option(
            "--uw-guards",
            default=[],
            parse_from_config=True,
            comma_separated_list=True,
            help="Dotted names of your own guards, used around a worker or as its decorator "
            "(e.g. myapp.concurrency.safe). unguarded_workers.wrap always counts.",
        )
        manager.add_option(
            "--uw-spawners",
            default=[],
            parse_from_config=True,
            comma_separated_list=True,
            help="Your own spawn helpers as NAME:KIND, KIND one of thread, executor, task, group "
            "(e.g. myapp.tasks.fire:task, gevent.spawn:thread; .method:KIND for a method on any object).",
        )
        manager.add_option(
            "--uw-harmless-calls",
            default=[],
            parse_from_config=True,
            comma_separated_list=True,
            help="Dotted names of calls that never make a worker body unguarded (e.g. metrics.incr).",
        )
        manager.add_option(
            "--uw-unresolved",
            default="report",
            parse_from_config=True,
            choices=UNRESOLVED_CHOICES,
            help="Report workers defined outside the module, which cannot be inspected (default: report).",
        )

    @classmethod
    def parse_options(cls, options: argparse.Namespace) -> None:
        try:
            cls.options = parse_options(
                guards=options.uw_guards,
                spawners=options.uw_spawners,
                harmless_calls=options.uw_harmless_calls,
                unresolved=options.uw_unresolved,
            )
        except OptionError as error:
            raise ExecutionError(f"unguarded-workers: {error}") from None

    def run(self) -> Iterator[tuple[int, int, str, Any]]:
        source = "".join(self._lines)
        for violation in check_module(self._tree, self.options, source):
            yield violation.line, violation.col, violation.flake8_text(), type(self)
