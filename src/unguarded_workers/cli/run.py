"""`check` and `fix`: the settings from the command line and the configuration files, the files,
the run over them, and what is printed as it goes and at the end."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TextIO

from .. import interrupts
from ..config import SETTINGS, RawSettings, Settings, resolve_settings, unknown_codes
from ..options import OptionError
from ..violation import Confidence
from .add_noqa import add_noqa
from .cache import CACHE_DIR
from .colour import PLAIN, Palette, palette_for
from .discovery import discover
from .engine import FileOutcome, Item, Job, Mode
from .output import FORMATS, STREAMED_FORMATS, escaped, quoted, sarif
from .runner import WORKERS_PER_CORE, Runner, worker_limit
from .show import show_files, show_settings
from .summary import summary_line
from .text import TEXT_FORMATS, TextStyle, plural, statistics

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2
# Interrupted: 128 + the signal, as shells report it (130 Ctrl-C, 143 SIGTERM, 129 SIGHUP).


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


def check_or_fix(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    if args.jobs is not None and args.jobs < 1:
        parser.error("--jobs must be at least 1")
    if args.paths.count("-") > 1:
        parser.error("- (stdin) can be given once")
    checking = args.command == "check"
    if checking and sum((args.fix, args.add_noqa, args.diff)) > 1:
        parser.error("--fix, --diff and --add-noqa do not go together")
    quiet = checking and args.quiet
    errors = palette_for(sys.stderr)
    try:
        settings, raw, origins = _settings(args)
    except OptionError as error:
        print(f"{errors.level('error')} {error}", file=sys.stderr)
        return EXIT_ERROR
    if not quiet:
        for warning in settings.warnings:
            print(f"{errors.level('warning')} {warning}", file=sys.stderr)
    if args.show_settings:
        first = next((path for path in args.paths if path != "-"), None)
        sys.stdout.write(show_settings(settings, raw, origins, first))
        return EXIT_CLEAN
    args.jobs = _jobs(args.jobs, quiet=quiet)
    items = _items(args, settings.exclude, respect_gitignore=settings.respect_gitignore)
    if args.show_files:
        listing, note = show_files([item.display for item in items if item.path is not None], settings)
        sys.stdout.write(listing)
        if note and not quiet:
            sys.stderr.write(note)
        return EXIT_CLEAN
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
    # `check --fix` reports the sites it left; `--diff` shows the diff alone, as `fix --diff`.
    output_format = args.output_format if checking and job.mode is not Mode.DIFF else None
    text_style = TextStyle(
        show_confidence=settings.options.min_confidence < Confidence.HIGH,
        palette=palette_for(output) if output is sys.stdout else PLAIN,
    )
    counts_only = bool(getattr(args, "statistics", False)) and output_format in TEXT_FORMATS
    report = _Report(output, output_format, quiet, text_style, errors, counts_only)
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
    """`check` reports; `check --fix` and `fix` write; `check --diff` and `fix --diff` show."""
    if args.diff:
        return Mode.DIFF
    if args.command == "check":
        return Mode.FIX if args.fix else Mode.CHECK
    return Mode.FIX


@dataclass(frozen=True)
class _Report:
    """Where the findings go and how: `format` None for the fixing modes (a summary on stderr)."""

    output: TextIO
    format: str | None
    quiet: bool
    style: TextStyle = field(default_factory=TextStyle)
    errors: Palette = PLAIN  # for the lines on stderr
    counts_only: bool = False  # --statistics: the counts per code, not each finding (as ruff)

    @property
    def streamed(self) -> bool:
        return self.format in TEXT_FORMATS or self.format in STREAMED_FORMATS

    @property
    def for_people(self) -> bool:
        """A text format, read by a person: it ends with a summary."""
        return self.format in TEXT_FORMATS and not self.quiet


def _settings(args: argparse.Namespace) -> tuple[Settings, RawSettings, dict[str, list[str]]]:
    config: Path | None = args.config
    pyproject = config is not None and config.name.endswith(".toml")
    settings, raw, origins = resolve_settings(
        Path.cwd(),
        _command_line_settings(args),
        None if pyproject else config,
        read_flake8=not args.isolated and not pyproject,
        read_pyproject=not args.isolated,
        pyproject_config=config if pyproject else None,
    )
    if args.extend_select:
        added = [code.upper() for code in args.extend_select]
        warnings = (*settings.warnings, *unknown_codes(added, "--extend-select"))
        settings = replace(settings, select=(*settings.select, *added), warnings=warnings)
        raw = {**raw, "select": list(settings.select)}
        origins = {**origins, "select": [*origins.get("select", ["default"]), "--extend-select"]}
    return settings, raw, origins


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
        if report.for_people and job.mode is Mode.CHECK and interrupted is None:
            sys.stderr.write(summary_line(outcomes, report.errors))
    if interrupted is not None:
        interrupts.say_interrupted(interrupted)
        return interrupts.exit_status(interrupted)
    if any(o.error or o.write_error for o in outcomes):
        return EXIT_ERROR
    found = any(o.findings for o in outcomes) or (job.mode is Mode.DIFF and any(o.diff for o in outcomes))
    if getattr(args, "exit_zero", False):
        return EXIT_CLEAN
    return EXIT_FINDINGS if found else EXIT_CLEAN


class _Printer:
    """Writes each outcome once, whole, as it comes: `shown` moves with each write, in
    the same section, so that an interrupt never shows one twice or skips one."""

    def __init__(self, report: _Report) -> None:
        self.report = report
        self.shown = 0

    def show(self, outcomes: Sequence[FileOutcome]) -> None:
        while self.shown < len(outcomes):
            if _silent(outcomes[self.shown]):
                # Most files: nothing to write, so no signals to hold nor streams to flush (two
                # system calls and two flushes a file: 1.6% of a run over 3,633 files).
                self.shown += 1
                continue
            with interrupts.deferred():  # whole lines only, even when interrupted
                _write_outcome_now(outcomes[self.shown], self.report)
                self.report.output.flush()
                sys.stdout.flush()
                self.shown += 1


def _silent(outcome: FileOutcome) -> bool:
    """Whether no format writes anything for the outcome: a file checked without a finding."""
    return not (
        outcome.findings
        or outcome.fixed
        or outcome.error
        or outcome.write_error
        or outcome.skipped
        or outcome.diff is not None
        or outcome.fixed_data is not None
    )


def _write_outcome_now(outcome: FileOutcome, report: _Report) -> None:
    errors = report.errors
    for message in (outcome.error, outcome.write_error):
        if message:
            print(f"{errors.level('error')} {escaped(message)}", file=sys.stderr)
    if outcome.skipped and not report.quiet:
        print(f"{errors.level('note')} {escaped(outcome.skipped)}", file=sys.stderr)
    if report.format in TEXT_FORMATS and not report.counts_only:
        report.output.write(TEXT_FORMATS[report.format]([outcome], report.style))
    elif report.format in STREAMED_FORMATS:
        report.output.write(FORMATS[report.format]([outcome]))
    for data in (outcome.diff, outcome.fixed_data):
        if data is not None:
            sys.stdout.flush()
            sys.stdout.buffer.write(data)
