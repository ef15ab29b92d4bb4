"""`unguarded-workers check|fix|server|triage`: the command line over the same core as the flake8 plugin."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from collections.abc import Sequence
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TextIO

from .. import __version__, interrupts
from ..config import (
    EXAMPLES_CHOICES,
    SETTINGS,
    TESTS_CHOICES,
    RawSettings,
    Settings,
    load_settings,
    parse_per_file_ignores,
)
from ..options import GROUP_CHILDREN_CHOICES, UNRESOLVED_CHOICES, OptionError
from ..violation import CONFIDENCE_CHOICES, Confidence
from . import triage
from .add_noqa import add_noqa
from .cache import CACHE_DIR
from .discovery import discover
from .engine import WORKERS_PER_CORE, FileOutcome, Item, Job, Mode, Runner, worker_limit
from .output import FORMATS, SARIF_LEVELS, STREAMED_FORMATS, escaped, plural, quoted, sarif, statistics, text

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
# Interrupted: 128 + the signal, as shells report it (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).


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
        "--config", type=Path, metavar="FILE", help="the pyproject.toml or flake8 file to read (default: found)"
    )
    parser.add_argument("--disable-noqa", action="store_true", help="report (and fix) lines marked # noqa too")
    parser.add_argument("--isolated", action="store_true", help="read no configuration file (as flake8 --isolated)")
    parser.add_argument(
        "--max-file-size", metavar="SIZE", help="skip larger files, with a note (default: 2M; 0: no limit)"
    )
    parser.add_argument("-j", "--jobs", type=int, metavar="N", help="processes to use (default: one per core)")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="unguarded-workers",
        description="Find worker spawns whose failure escapes every guard (check), guard them (fix), and map the "
        "failures in production logs back to them (triage).",
        allow_abbrev=False,  # `check --fix` must never be read as `--fix-guard`
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="{check,fix,server,triage}")
    check = commands.add_parser("check", help="report unguarded worker spawns", allow_abbrev=False)
    _add_common(check)
    check.add_argument("--output-format", choices=sorted(FORMATS), default="text", help="default: text")
    check.add_argument(
        "--sarif-level", choices=SARIF_LEVELS, default="error", help="the level of sarif results (default: error)"
    )
    check.add_argument("-o", "--output-file", type=Path, metavar="FILE", help="write the report to FILE")
    check.add_argument("--exit-zero", action="store_true", help="exit 0 even when there are findings")
    check.add_argument("--no-cache", action="store_true", help=f"do not read or write {CACHE_DIR}")
    check.add_argument("--statistics", action="store_true", help="count the findings per code, at the end")
    check.add_argument("-q", "--quiet", action="store_true", help="print the findings and errors, nothing else")
    check.add_argument("--fix", action="store_true", help="guard what can be guarded safely, report the rest")
    check.add_argument("--unsafe-fixes", action="store_true", help="with --fix: apply the unsafe fixes too")
    check.add_argument(
        "--add-noqa", action="store_true", help="add `# noqa: CODE` to each reported line (adopting on a legacy tree)"
    )
    fix = commands.add_parser("fix", help="insert the guard at each reported spawn", allow_abbrev=False)
    _add_common(fix)
    fix.add_argument("--diff", action="store_true", help="print a unified diff and write nothing")
    fix.add_argument(
        "--unsafe-fixes", action="store_true", help="also apply unsafe fixes (task groups, uninspected targets)"
    )
    commands.add_parser(
        "server",
        allow_abbrev=False,
        help="run the language server (LSP over stdio) for editors",
        description="A Language Server Protocol server on stdin/stdout: diagnostics for open buffers with exact "
        "ranges and rule links, quick fixes (guard the worker, ignore the line) and source.fixAll. Settings are "
        "read from each document's pyproject.toml or flake8 file, as `check` reads them. See docs/integrations.md.",
    )
    triage.add_parser(commands)
    return parser


def _command_line_settings(args: argparse.Namespace) -> RawSettings:
    """The settings given as options (each option's dest is the setting's name)."""
    given: RawSettings = {}
    for name in SETTINGS:
        value = getattr(args, name.replace("-", "_"))
        if value is not None:
            given[name] = value
    return given


def _items(args: argparse.Namespace, exclude: Sequence[str], *, respect_gitignore: bool) -> list[Item]:
    items = []
    for path in discover([p for p in args.paths if p != "-"], exclude, respect_gitignore=respect_gitignore):
        items.append(Item(path, path))
    if "-" in args.paths:
        items.append(Item(args.stdin_filename or "stdin", data=sys.stdin.buffer.read()))
    return items


def _fix_summary(outcomes: Sequence[FileOutcome], mode: Mode) -> str:
    fixed = sum(len(o.fixed) for o in outcomes)
    files = sum(1 for o in outcomes if o.fixed)
    left = [(o, f, reason) for o in outcomes for f, reason in zip(o.findings, o.left_reasons)]
    verb = "would fix" if mode is Mode.DIFF else "fixed"
    lines = [f"unguarded-workers: {verb} {plural(fixed, 'site')} in {plural(files, 'file')}; {len(left)} left"]
    for outcome, finding, reason in left:
        v = finding.violation
        lines.append(f"  {quoted(outcome.display)}:{v.line}:{v.col + 1}: {v.code.code} left: {escaped(reason)}")
    return "\n".join(lines) + "\n"


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _main(argv)
    except KeyboardInterrupt as interrupt:  # before the files were reached: nothing to show
        _say_interrupted(interrupt)
        return interrupts.exit_status(interrupt)
    except BrokenProcessPool as error:  # a worker process was killed (out of memory, a signal)
        print(f"error: a worker process died ({error}); try --jobs 1", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # The reader went away (`... | head`): stop quietly, as Unix tools do.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return EXIT_FINDINGS


def _main(argv: Sequence[str] | None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "server":
        from ..server.app import serve  # pygls: loaded only by this command

        return serve()  # pygls ends on Ctrl-C; other signals end the process
    with interrupts.handled():  # SIGTERM and SIGHUP stop the run as Ctrl-C does
        if args.command == "triage":
            return triage.run(args)
        return _check_or_fix(args, parser)


def _check_or_fix(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.paths.count("-") > 1:
        parser.error("- (stdin) can be given once")
    checking = args.command == "check"
    if checking and args.fix and args.add_noqa:
        parser.error("--fix and --add-noqa do not go together")
    try:
        settings = _settings(args)
    except OptionError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    quiet = checking and args.quiet
    if not quiet:
        for warning in settings.warnings:
            print(f"warning: {warning}", file=sys.stderr)
    args.jobs = _jobs(args.jobs, quiet=quiet)
    items = _items(args, settings.exclude, respect_gitignore=settings.respect_gitignore)
    if checking and args.add_noqa:
        job = Job(settings, disable_noqa=args.disable_noqa)
        return add_noqa(items, job, args.jobs, quiet=quiet)
    cache_dir = None if not checking or args.no_cache else os.path.join(os.getcwd(), CACHE_DIR)
    job = Job(
        settings,
        _mode(args),
        unsafe_fixes=args.unsafe_fixes,
        disable_noqa=args.disable_noqa,
        cache_dir=cache_dir,
    )
    output = _open_output(args.output_file if checking else None)
    show_confidence = settings.options.min_confidence < Confidence.HIGH
    report = _Report(output, args.output_format if checking else None, quiet, show_confidence)
    try:
        return _run(items, job, args, report)
    finally:
        if output is not sys.stdout:
            output.close()


def _jobs(jobs: int | None, *, quiet: bool) -> int | None:
    """`--jobs`, at most what the machine can use (said once; a run never starts thousands
    of processes because of a typo)."""
    limit = worker_limit()
    if jobs is None or jobs <= limit:
        return jobs
    if not quiet:
        print(
            f"unguarded-workers: --jobs {jobs} is more than this machine can use; using {limit} "
            f"({WORKERS_PER_CORE} per core)",
            file=sys.stderr,
        )
    return limit


def _mode(args: argparse.Namespace) -> Mode:
    if args.command == "check":
        return Mode.FIX if args.fix else Mode.CHECK
    return Mode.DIFF if args.diff else Mode.FIX


@dataclass(frozen=True)
class _Report:
    """Where the findings go and how: `format` None for `fix` (a summary on stderr)."""

    output: TextIO
    format: str | None
    quiet: bool
    show_confidence: bool = False  # text lines say their confidence (a setting below high)

    @property
    def streamed(self) -> bool:
        return self.format in STREAMED_FORMATS


def _settings(args: argparse.Namespace) -> Settings:
    config: Path | None = args.config
    pyproject = config is not None and config.name.endswith(".toml")
    settings = load_settings(
        Path.cwd(),
        _command_line_settings(args),
        None if pyproject else config,
        read_flake8=not args.isolated and not pyproject,
        read_pyproject=not args.isolated,
        pyproject_config=config if pyproject else None,
    )
    if args.extend_select:
        settings = replace(settings, select=(*settings.select, *(code.upper() for code in args.extend_select)))
    return settings


def _open_output(path: Path | None) -> TextIO:
    if path is None:
        return sys.stdout
    try:
        return path.open("w", encoding="utf-8")
    except OSError as error:
        raise SystemExit(f"error: {path}: cannot write: {error.strerror or error}") from None


def _run(items: list[Item], job: Job, args: argparse.Namespace, report: _Report) -> int:
    """Check or fix every item, writing each file's result as it comes, so that an
    interrupted run keeps what it found; a document format is written whole at the end,
    of the files done by then."""
    interrupted: KeyboardInterrupt | None = None
    printer = _Printer(report)
    with Runner(items, job, args.jobs) as runner:
        try:
            for _ in runner:
                printer.show(runner.done)
        except KeyboardInterrupt as interrupt:
            interrupted = interrupt
            with interrupts.stopping():
                runner.stop()  # the files in hand are finished: every file written is counted
                printer.show(runner.done)
    outcomes = runner.done
    with interrupts.stopping() if interrupted else interrupts.deferred():
        if report.format == "sarif":
            report.output.write(sarif(outcomes, args.sarif_level))
        elif report.format is not None and not report.streamed:
            report.output.write(FORMATS[report.format](outcomes))
        if job.mode is not Mode.CHECK and not report.quiet:
            sys.stderr.write(_fix_summary(outcomes, job.mode))
        if getattr(args, "statistics", False):
            report.output.write(statistics(outcomes))
        report.output.flush()
    if interrupted is not None:
        _say_interrupted(interrupted)
        return interrupts.exit_status(interrupted)
    if any(o.error or o.write_error for o in outcomes):
        return EXIT_ERROR
    found = any(o.findings for o in outcomes) or (job.mode is Mode.DIFF and any(o.diff for o in outcomes))
    if getattr(args, "exit_zero", False):
        return EXIT_CLEAN
    return EXIT_FINDINGS if found else EXIT_CLEAN


def _say_interrupted(interrupt: KeyboardInterrupt) -> None:
    signum = getattr(interrupt, "signum", signal.SIGINT)
    how = "" if signum == signal.SIGINT else f" ({signal.Signals(signum).name})"
    print(f"unguarded-workers: interrupted{how}", file=sys.stderr)


class _Printer:
    """Writes each outcome once, whole, as it comes: `shown` moves with each write, in
    the same section, so that an interrupt never shows one twice or skips one."""

    def __init__(self, report: _Report) -> None:
        self.report = report
        self.shown = 0

    def show(self, outcomes: Sequence[FileOutcome]) -> None:
        streamed = self.report.format if self.report.streamed else None
        while self.shown < len(outcomes):
            with interrupts.deferred():  # whole lines only, even when interrupted
                _write_outcome_now(outcomes[self.shown], self.report, streamed)
                self.report.output.flush()
                sys.stdout.flush()
                self.shown += 1


def _write_outcome_now(outcome: FileOutcome, report: _Report, streamed_format: str | None) -> None:
    for message in (outcome.error, outcome.write_error):
        if message:
            print(f"error: {escaped(message)}", file=sys.stderr)
    if outcome.skipped and not report.quiet:
        print(f"note: {escaped(outcome.skipped)}", file=sys.stderr)
    if streamed_format == "text":
        report.output.write(text([outcome], show_confidence=report.show_confidence))
    elif streamed_format is not None:
        report.output.write(FORMATS[streamed_format]([outcome]))
    for data in (outcome.diff, outcome.fixed_data):
        if data is not None:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
