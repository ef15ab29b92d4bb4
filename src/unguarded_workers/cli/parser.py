"""The command line: its commands, their options, and how a mistake in them is answered."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import NoReturn

from .. import __version__
from ..config import EXAMPLES_CHOICES, TESTS_CHOICES, parse_per_file_ignores
from ..options import GROUP_CHILDREN_CHOICES, UNRESOLVED_CHOICES, OptionError
from ..violation import CONFIDENCE_CHOICES
from .cache import CACHE_DIR
from .output import FORMATS, SARIF_LEVELS
from .text import TEXT_FORMATS

COMMANDS = ("check", "fix", "rule", "server", "triage")
OUTPUT_FORMATS = sorted({*TEXT_FORMATS, *FORMATS})


def _comma_list(value: str) -> list[str]:
    return [item.strip() for item in value.split(",") if item.strip()]


def _per_file_ignores(value: str) -> list[str]:
    try:
        return parse_per_file_ignores(value)
    except OptionError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("paths", nargs="*", default=["."], metavar="PATH", help="files and directories; - is stdin")
    parser.add_argument("--stdin-filename", metavar="NAME", help="the name reports give the file read from stdin")
    parser.add_argument("--select", type=_comma_list, metavar="CODES", help="codes or prefixes to report (UW101,UW2)")
    parser.add_argument("--extend-select", type=_comma_list, metavar="CODES", help="add to the selected codes")
    parser.add_argument("--ignore", type=_comma_list, metavar="CODES", help="codes or prefixes not to report")
    parser.add_argument(
        "--per-file-ignores",
        type=_per_file_ignores,
        metavar="MAPPING",
        help="codes to ignore in matching files: 'tests/*:UW101 scripts/*.py:UW2' (flake8's syntax)",
    )
    parser.add_argument(
        "--extend-per-file-ignores",
        type=_per_file_ignores,
        metavar="MAPPING",
        help="more codes to ignore in matching files, added to the configured per-file-ignores",
    )
    parser.add_argument("--exclude", type=_comma_list, metavar="PATTERNS", help="replace the configured exclude")
    parser.add_argument("--extend-exclude", type=_comma_list, metavar="PATTERNS", help="add to the exclude patterns")
    parser.add_argument("--guards", type=_comma_list, metavar="NAMES", help="your own guards (uw-guards)")
    parser.add_argument("--spawners", type=_comma_list, metavar="NAME:KIND", help="your own spawners (uw-spawners)")
    parser.add_argument("--harmless-calls", type=_comma_list, metavar="NAMES", help="see uw-harmless-calls")
    parser.add_argument(
        "--min-confidence",
        choices=CONFIDENCE_CHOICES,
        help="the lowest confidence reported (default: high; low reports everything)",
    )
    parser.add_argument(
        "--unresolved", choices=UNRESOLVED_CHOICES, help="old spelling of --min-confidence: report=low, skip=medium"
    )
    parser.add_argument("--coroutine-functions", type=_comma_list, metavar="NAMES", help="see uw-coroutine-functions")
    parser.add_argument(
        "--group-children", choices=GROUP_CHILDREN_CHOICES, help="task-group children to report (serving)"
    )
    parser.add_argument("--tests", choices=TESTS_CHOICES, help="check test code too, or skip it (skip)")
    parser.add_argument(
        "--examples", choices=EXAMPLES_CHOICES, help="check examples, docs, demos and benchmarks too (skip)"
    )
    parser.add_argument(
        "--no-respect-gitignore",
        dest="respect_gitignore",
        action="store_const",
        const="false",
        help="walk into what .gitignore lists too",
    )
    parser.add_argument("--fix-guard", metavar="MODULE:NAME", help="the guard fix inserts (unguarded_workers:wrap)")
    parser.add_argument(
        "--target-version",
        metavar="VERSION",
        help="the Python the project targets (py312 or 3.12; default: requires-python in pyproject.toml)",
    )
    parser.add_argument(
        "--config", type=Path, metavar="FILE", help="the pyproject.toml or flake8 file to read (default: found)"
    )
    parser.add_argument("--disable-noqa", action="store_true", help="report (and fix) lines marked # noqa too")
    parser.add_argument("--isolated", action="store_true", help="read no configuration file (as flake8 --isolated)")
    parser.add_argument(
        "--max-file-size", metavar="SIZE", help="skip larger files, with a note (default: 2M; 0: no limit)"
    )
    parser.add_argument("-j", "--jobs", type=int, metavar="N", help="processes to use (default: one per core)")
    parser.add_argument(
        "--show-settings",
        action="store_true",
        help="print the settings for the first PATH, and where each came from, then stop",
    )
    parser.add_argument("--show-files", action="store_true", help="print the files a run would check, then stop")


def _add_check(commands: argparse._SubParsersAction[_Parser]) -> None:
    check = commands.add_parser(
        "check", help="report unguarded worker spawns", allow_abbrev=False, usage=_SHORT_USAGE.format("check")
    )
    _add_common(check)
    check.add_argument(
        "--output-format",
        choices=OUTPUT_FORMATS,
        default="text",
        help="text (flake8's, the default), concise, grouped, full, pylint, or for machines json, sarif, "
        "github, junit, gitlab",
    )
    check.add_argument(
        "--sarif-level", choices=SARIF_LEVELS, default="error", help="the level of sarif results (default: error)"
    )
    check.add_argument("-o", "--output-file", type=Path, metavar="FILE", help="write the report to FILE")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    check.add_argument("--no-cache", action="store_true", help=f"do not read or write {CACHE_DIR}")
    check.add_argument("--statistics", action="store_true", help="count the findings per code, at the end")
    check.add_argument("-q", "--quiet", action="store_true", help="print the findings and errors, nothing else")
    check.add_argument("--fix", action="store_true", help="guard what can be guarded safely, report the rest")
    check.add_argument("--unsafe-fixes", action="store_true", help="with --fix or --diff: the unsafe fixes too")
    check.add_argument("--diff", action="store_true", help="print the diff --fix would make, and write nothing")
    check.add_argument(
        "--add-noqa", action="store_true", help="add `# noqa: CODE` to each reported line (adopting on a legacy tree)"
    )


# Forty options make argparse's usage a screenful above a mistake's one line: `--help` lists them.
_SHORT_USAGE = "unguarded-workers {} [options] [PATH ...]"


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        super().error(f"{message}\n(`{self.prog} --help` lists every option)")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="unguarded-workers",
        description="Find worker spawns whose failure escapes every guard (check), guard them (fix), and map the "
        "failures in production logs back to them (triage).",
        allow_abbrev=False,  # `check --fix` must never be read as `--fix-guard`
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{" + ",".join(COMMANDS) + "}")
    _add_check(commands)
    fix = commands.add_parser(
        "fix", help="insert the guard at each reported spawn", allow_abbrev=False, usage=_SHORT_USAGE.format("fix")
    )
    _add_common(fix)
    fix.add_argument("--diff", action="store_true", help="print a unified diff and write nothing")
    fix.add_argument(
        "--unsafe-fixes", action="store_true", help="also apply unsafe fixes (task groups, uninspected targets)"
    )
    rule = commands.add_parser(
        "rule",
        allow_abbrev=False,
        help="explain a code: its page (what it reports, why, examples, options, fix safety)",
        description="Print a rule's page, as `ruff rule` does: `unguarded-workers rule UW101`; every page with --all.",
    )
    rule.add_argument("code", nargs="?", metavar="CODE", help="a code, like UW101")
    rule.add_argument("--all", action="store_true", help="every rule's page")
    rule.add_argument("--output-format", choices=("text", "json"), default="text", help="text (the default) or json")
    commands.add_parser(
        "server",
        allow_abbrev=False,
        help="run the language server (LSP over stdio) for editors",
        description="A Language Server Protocol server on stdin/stdout: diagnostics for open buffers with exact "
        "ranges and rule links, quick fixes (guard the worker, ignore the line) and source.fixAll. Settings are "
        "read from each document's pyproject.toml or flake8 file, as `check` reads them. See docs/integrations.md.",
    )
    _add_triage(commands)
    return parser


TRIAGE_DESCRIPTION = (
    "Read logs holding Python tracebacks of worker failures (a thread that died, a task whose exception "
    "was never retrieved, a future's callback that raised, a web server's failed request, a greenlet that "
    "died, and the records of wrap(), supervise() and install()), group identical failures and map each "
    "to the spawn line(s) under --root. Plain text, JSON lines (structured loggers, docker's json-file, "
    "journald's export) and lines behind a per-line prefix (container runtimes, journald, docker compose) "
    "are read. Logs may be gzip-compressed (.gz); - reads stdin."
)


def _add_triage(commands: argparse._SubParsersAction[_Parser]) -> None:
    triage = commands.add_parser(
        "triage",
        help="map worker failures in logs to their spawn lines",
        description=TRIAGE_DESCRIPTION,
        allow_abbrev=False,
    )
    triage.add_argument("logs", nargs="+", metavar="LOGFILE", help="log files (.gz too); - for stdin")
    triage.add_argument(
        "--root",
        type=Path,
        default=None,
        metavar="PATH",
        help="the source tree the logs' program came from (default: .)",
    )
    triage.add_argument("--output-format", choices=("text", "json"), default="text", help="default: text")
    triage.add_argument("-o", "--output-file", type=Path, metavar="FILE", help="write the findings to FILE")


def command_parser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[command]
            return found
    return parser


def parse_arguments(parser: argparse.ArgumentParser, argv: Sequence[str] | None) -> argparse.Namespace:
    """The arguments; a mistake is answered with the usage of the command it was made in, and
    an unknown option with the option it is closest to (`--extend-exlude`: --extend-exclude?)."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        command = command_parser(parser, args.command)
        options = [flag for action in command._actions for flag in action.option_strings]
        first = unknown[0].partition("=")[0]
        close = difflib.get_close_matches(first, options, n=1) if first.startswith("-") else []
        hint = f" (did you mean {close[0]}?)" if close else ""
        command.error(f"unrecognized arguments: {' '.join(unknown)}{hint}")
    return args
