"""`unguarded-workers triage LOGFILE...`: worker failures in logs, mapped to their spawn lines."""

from __future__ import annotations

import argparse
import gzip
import json
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

from ..config import resolve_settings
from ..options import OptionError
from ..triage.failures import ENDED_PROCESS, ESCAPED, GAVE_UP_TO_HANDLER, RAISED_AGAIN, RESTARTED, Frame
from ..triage.findings import Group, ProjectSpawns, Site, group, locate
from ..triage.interleaving import SourceLines
from ..triage.logs import LoggedFailure, ReadStats, read_failures, read_lines
from .discovery import discover
from .text import plural

EXIT_OK, EXIT_ERROR = 0, 2


def run(args: argparse.Namespace) -> int:
    root: Path = args.root if args.root is not None else Path.cwd()
    if not root.is_dir():
        print(f"error: --root {root}: not a directory", file=sys.stderr)
        return EXIT_ERROR
    try:
        settings = resolve_settings(root, {}, search_from=root)[0]
    except OptionError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    stats = ReadStats()
    # The tree is walked only when there is something to map (or interleaved tracebacks to
    # tell apart by the project's lines).
    project = ProjectSpawns(
        str(root),
        lambda: discover([str(root)], settings.exclude, respect_gitignore=settings.respect_gitignore),
        settings.options,
    )
    try:
        groups = group(_failures(args.logs, stats, project.source_line))
    except _LogError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_ERROR
    if groups:
        locate(groups, project)
    try:
        output: TextIO = args.output_file.open("w", encoding="utf-8") if args.output_file else sys.stdout
    except OSError as error:
        print(f"error: {args.output_file}: cannot write: {error.strerror or error}", file=sys.stderr)
        return EXIT_ERROR
    try:
        if args.output_format == "json":
            json.dump([_as_json(g) for g in groups], output, indent=2)
            output.write("\n")
        else:
            for found in groups:
                output.write(_as_text(found))
    finally:
        if output is not sys.stdout:
            output.close()
    print(
        f"unguarded-workers: {plural(stats.failures, 'failure')} in {plural(len(groups), 'group')} "
        f"from {plural(stats.lines, 'line')}; {stats.unreadable} could not be read",
        file=sys.stderr,
    )
    return EXIT_OK


class _LogError(Exception):
    pass


def _failures(logs: Sequence[str], stats: ReadStats, lines: SourceLines) -> Iterator[LoggedFailure]:
    for log in logs:
        with _open_log(log) as stream:
            try:
                yield from read_failures(read_lines(stream), log, stats, lines)
            except (OSError, EOFError) as error:  # a truncated .gz, a read error
                raise _LogError(f"{log}: cannot read: {error}") from None


@contextmanager
def _open_log(log: str) -> Iterator[BinaryIO]:
    if log == "-":
        yield sys.stdin.buffer
        return
    try:
        if os.path.isdir(log):
            raise _LogError(f"{log}: is a directory")
        with open(log, "rb") as raw:
            if raw.read(2) == b"\x1f\x8b":  # gzip's magic number, whatever the name
                raw.seek(0)
                with gzip.GzipFile(fileobj=raw) as unzipped:
                    yield unzipped  # type: ignore[misc]
            else:
                raw.seek(0)
                yield raw
    except FileNotFoundError:
        raise _LogError(f"{log}: no such file") from None
    except PermissionError:
        raise _LogError(f"{log}: permission denied") from None


_KINDS = {
    "thread": "a thread died",
    "task": "a task's exception was never retrieved",
    "callback": "a future's done-callback raised",
    "request": "a request failed: logged by the web server",
    "greenlet": "a greenlet died",
}
_OUTCOMES = {
    ESCAPED: "escaped: reported by install()",
    RESTARTED: "contained by supervise(), which restarted it",
    ENDED_PROCESS: "supervise() gave up: it ended the process",
    RAISED_AGAIN: "supervise() gave up: it raised it again",
    GAVE_UP_TO_HANDLER: "supervise() gave up: it called on_give_up",
}


def _kind(failure: LoggedFailure) -> str:
    if failure.kind != "guard":
        return _KINDS[failure.kind]
    return _OUTCOMES.get(failure.outcome, "contained by wrap() or supervise()")


def _worker_name(found: Group) -> str:
    failure = found.first
    if failure.worker:
        return failure.worker
    if found.worker_def is not None:
        return found.worker_def.function
    return failure.thread or "<unknown>"


def _as_text(found: Group) -> str:
    failure = found.first
    raised = f", raised at {failure.innermost}" if failure.innermost else ""
    member = f" (a member of {failure.group})" if failure.group else ""
    causes = "".join(
        f", from {cause.exception}" + (f" raised at {cause.raised_at}" if cause.raised_at else "")
        for cause in reversed(failure.causes)
    )
    what = (
        f"{plural(found.count, 'failure')} of {_worker_name(found)} ({_kind(failure)}): "
        f"{failure.exception}{member}{raised}{causes}; first at {failure.log}:{failure.log_line}"
    )
    if found.sites:
        first, *others = found.sites
        lines = [f"{_site(first)} {what} [{_state(first)}]\n"]
        lines += [f"  or {_site(site)} (runs the same worker) [{_state(site)}]\n" for site in others]
        return "".join(lines)
    if found.logged_site is not None:
        path, line = found.logged_site
        return f"{path}:{line}: {what} [the logged spawn line; no spawn call found there]\n"
    if failure.kind == "callback" and found.callback is not None:
        path, line = found.callback
        return f"{path}:{line}: {what} [a done-callback, not a spawn]\n"
    return f"(no spawn found): {what}\n"


def _site(site: Site) -> str:
    entry = site.entry
    return f"{site.path}:{entry.line}:{entry.col + 1}: {entry.code.code}"


def _state(site: Site) -> str:
    entry = site.entry
    if entry.reported:
        return "reported by check"
    return "guarded" if entry.guarded else "not reported by check"


def _as_json(found: Group) -> dict[str, object]:
    failure = found.first
    frame = failure.innermost
    return {
        "count": found.count,
        "kind": failure.kind,
        "worker": _worker_name(found),
        "thread": failure.thread,
        "task": failure.task,
        "exception_type": failure.exception_type,
        "exception": failure.exception,
        "escaped": failure.escaped,
        "outcome": failure.outcome,
        "raised_at": _frame(frame),
        "caused_by": [
            {"exception": cause.exception, "raised_at": _frame(cause.raised_at)} for cause in reversed(failure.causes)
        ],
        "exception_group": failure.group,
        "logged_spawn_site": _frame(failure.spawn_site),
        "first_seen": {"log": failure.log, "line": failure.log_line},
        "spawns": [
            {
                "path": site.path,
                "line": site.entry.line,
                "column": site.entry.col + 1,
                "code": site.entry.code.code,
                "guarded": site.entry.guarded,
                "reported_by_check": site.entry.reported,
            }
            for site in found.sites
        ],
    }


def _frame(frame: Frame | None) -> dict[str, object] | None:
    return {"file": frame.file, "line": frame.line, "function": frame.function} if frame is not None else None
