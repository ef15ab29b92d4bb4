"""Reading worker failures out of logs, one line at a time.

Recognised, each followed by Python's traceback:

    Exception in thread Thread-1 (poll_queue):                  threading's excepthook
    Task exception was never retrieved                          asyncio's exception handler
    future: <Task finished name='Task-2' coro=<consume() done, defined at /srv/app/jobs.py:38> ...>
    exception calling callback for <Future at 0x7f... state=finished raised OSError>
    worker app.jobs.work failed in thread 'w' (spawned at /srv/app/jobs.py:12 in main): ...
                                                                wrap(), supervise(), install()

A header may sit behind a log prefix (`2026-11-30 12:00:00,123 ERROR [asyncio] `); when every
line of the traceback carries the same kind of prefix (journald, a container runtime), it is
stripped from them too: digits may differ, the rest must not. Chained exceptions keep the last
(the one that escaped), an exception group its top level. Memory stays bounded whatever the
log: a line longer than `MAX_LINE` bytes is skipped, and a traceback keeps its first and last
`KEPT_FRAMES` frames.
"""

from __future__ import annotations

import collections
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

MAX_LINE = 64 * 1024
KEPT_FRAMES = 64

_SPAWNED_AT = " (spawned at "
_SITE_OPENINGS = (_SPAWNED_AT, " (spawn site unknown")
_THREAD = "Exception in thread "
_NEVER_RETRIEVED = re.compile(r"(?:Task|Future) exception was never retrieved$")
_CALLBACK = "exception calling callback for <"
_TASK_NAME = re.compile(r"\bname='(?P<task>[^']*)'")
_TRACEBACK = re.compile(r"^(?:  \+ )?(?:Exception Group )?Traceback \(most recent call last\):$")
_FRAME = re.compile(r'^  File "(?P<file>.+)", line (?P<line>\d+), in (?P<function>.+)$')
_CHAINED = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
_DIGITS = re.compile(r"\d+")
# How install()'s records end (runtime/safety_net.py): the failure escaped every guard.
ESCAPED_NOTES = (
    "; the thread died",
    "; its exception was never retrieved",
    "; its future was discarded without its result being read",
)


@dataclass(frozen=True)
class Frame:
    file: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} in {self.function}"


@dataclass
class LoggedFailure:
    """One worker failure as the log shows it.

    kind: "thread" (threading's hook), "task" (never retrieved), "callback" (a future's
    done-callback raised) or "guard" (a record of wrap/supervise/install). `frames` is the
    escaping exception's traceback, outermost first (its middle dropped past 2*KEPT_FRAMES).
    """

    kind: str
    log: str
    log_line: int
    worker: str | None = None
    thread: str | None = None
    task: str | None = None
    spawn_site: Frame | None = None
    coroutine: Frame | None = None  # a task's coroutine function: name and `defined at`
    exception: str = ""
    frames: list[Frame] = field(default_factory=list)
    # Escaped every guard: Python's own reports, and install()'s; wrap() and supervise()
    # records are failures a guard contained.
    escaped: bool = True

    @property
    def exception_type(self) -> str:
        return self.exception.partition(":")[0].strip() or "<unknown>"

    @property
    def innermost(self) -> Frame | None:
        return self.frames[-1] if self.frames else None


@dataclass
class ReadStats:
    lines: int = 0
    failures: int = 0
    unreadable: int = 0  # undecodable or overlong lines, and tracebacks cut off before their exception


class _Block:
    """The failure being read: its header is known, its traceback is coming."""

    def __init__(self, failure: LoggedFailure, prefix: str) -> None:
        self.failure = failure
        self.prefix = _prefix_shape(prefix)
        self.state = "header"  # header -> traceback -> exception (-> traceback again when chained)
        self.waited = 0
        self.head: list[Frame] = []
        self.tail: collections.deque[Frame] = collections.deque(maxlen=KEPT_FRAMES)

    def strip(self, line: str) -> str:
        if self.prefix is not None:
            match = self.prefix.match(line)
            if match:
                return line[match.end() :]
        return line

    def add_frame(self, frame: Frame) -> None:
        if len(self.head) < KEPT_FRAMES:
            self.head.append(frame)
        else:
            self.tail.append(frame)

    def finish(self) -> LoggedFailure:
        self.failure.frames = self.head + list(self.tail)
        return self.failure


def _prefix_shape(prefix: str) -> re.Pattern[str] | None:
    if not prefix.strip():
        return None
    return re.compile(_DIGITS.sub(r"\\d+", re.escape(prefix)))


def read_failures(lines: Iterable[tuple[int, str | None]], log: str, stats: ReadStats) -> Iterator[LoggedFailure]:
    """The failures in `lines` ((number, text) pairs; text None for a line that could not be
    decoded), in order. `stats` counts what was read."""
    block: _Block | None = None
    for number, raw in lines:
        stats.lines += 1
        if raw is None:
            stats.unreadable += 1
            continue
        if block is not None:
            outcome = _continue(block, raw)
            if outcome == "consumed":
                continue
            if outcome == "done" or block.failure.kind == "guard":
                stats.failures += 1
                yield block.finish()
            else:  # the header was not followed by a traceback
                stats.unreadable += 1
            block = None
        # Every header holds one of these two: most lines are rejected here, without a call.
        block = _header(raw, log, number) if "xception" in raw or " failed in " in raw else None
    if block is not None:
        if block.state == "exception" or block.failure.kind == "guard":
            stats.failures += 1
            yield block.finish()
        else:
            stats.unreadable += 1


def _header(raw: str, log: str, number: int) -> _Block | None:
    if " failed in " in raw:
        record = _record(raw)
        if record is not None:
            start, worker, where, site, exception = record
            failure = LoggedFailure("guard", log, number, worker=worker, spawn_site=site)
            failure.exception = exception
            failure.escaped = exception.endswith(ESCAPED_NOTES)
            _where(failure, where)
            return _Block(failure, raw[:start])
    # Headers by string search and suffix, not patterns: see _record.
    start = raw.find(_THREAD) if raw.endswith(":") else -1
    if start != -1 and len(raw) > start + len(_THREAD) + 1:
        thread = raw[start + len(_THREAD) : -1]
        return _Block(LoggedFailure("thread", log, number, thread=thread), raw[:start])
    if "never retrieved" in raw:
        match = _NEVER_RETRIEVED.search(raw)
        if match:
            return _Block(LoggedFailure("task", log, number), raw[: match.start()])
    start = raw.find(_CALLBACK) if raw.endswith(">") else -1
    if start != -1:
        return _Block(LoggedFailure("callback", log, number), raw[:start])
    return None


def _record(raw: str) -> tuple[int, str, str, Frame | None, str] | None:
    """`worker W failed in WHERE (spawned at FILE:LINE in FUNCTION): EXCEPTION` (or `(spawn site
    unknown)`): its start, W, WHERE, the site and EXCEPTION. String searches, not a regex: an
    exception's message is anyone's text, and a backtracking pattern took a second on one line."""
    start = raw.find("worker ")
    while start != -1:
        worker_end = raw.find(" ", start + 7)
        if worker_end > start + 7 and raw.startswith(" failed in ", worker_end):
            break
        start = raw.find("worker ", start + 1)
    else:
        return None
    where_start = worker_end + len(" failed in ")
    # The first of the two openings: the exception's message may quote either.
    found = [(at, opening) for opening in _SITE_OPENINGS if (at := raw.find(opening, where_start)) != -1]
    if not found:
        return None
    paren, opening = min(found)
    close = raw.find("): ", paren)
    if close == -1:
        return None
    site = None
    if opening == _SPAWNED_AT:
        location, separator, function = raw[paren + len(opening) : close].rpartition(" in ")
        file, _, line = location.rpartition(":")
        if not separator or not file or not line.isdigit():
            return None
        site = Frame(file, int(line), function)
    return start, raw[start + 7 : worker_end], raw[where_start:paren], site, raw[close + 3 :]


def _where(failure: LoggedFailure, where: str) -> None:
    """`task 'T' in thread 'N' of process 'P'`."""
    task = re.match(r"task '(?P<task>[^']*)' in ", where)
    if task:
        failure.task = task["task"]
    thread = re.search(r"thread '(?P<thread>[^']*)'", where)
    if thread:
        failure.thread = thread["thread"]


def _continue(block: _Block, raw: str) -> str:
    """Feed one more line to the block: "consumed", "done" (the line follows the failure: the
    failure is complete and the line is read afresh) or "broken"."""
    line = block.strip(raw)
    failure = block.failure
    if block.state == "header":
        if _TRACEBACK.match(line):
            block.state = "traceback"
            return "consumed"
        if line.startswith("future: <"):
            _future_line(failure, line)
            return "consumed"
        block.waited += 1
        return "consumed" if block.waited <= 1 and not line.strip() else "broken"
    if block.state == "traceback":
        if line.startswith("  | "):  # an exception group's own traceback, drawn in a frame
            line = line[4:]
        frame = _FRAME.match(line)
        if frame:
            block.add_frame(Frame(frame["file"], int(frame["line"]), frame["function"]))
            return "consumed"
        if line.startswith(" ") or not line.strip():
            return "consumed"  # source lines, carets, "[Previous line repeated ...]"
        failure.exception = line.strip()
        block.state = "exception"
        return "consumed"
    # state "exception": what follows may chain another traceback to this failure
    if not line.strip() or line.startswith((" ", "|", "+")):
        return "consumed"  # blank lines, an exception group's sub-exceptions, notes
    if line.strip() in _CHAINED:
        block.head.clear()
        block.tail.clear()
        block.state = "header"
        block.waited = -1
        return "consumed"
    return "done"


def _future_line(failure: LoggedFailure, line: str) -> None:
    """`future: <Task finished name='Task-2' coro=<consume() done, defined at FILE:LINE> ...>`

    Read with string searches for the first of each part: a pattern over this line
    backtracked quadratically on a hostile one."""
    name = _TASK_NAME.search(line)
    if name:
        failure.task = name["task"]
    start = line.find("coro=<")
    if start == -1:
        return
    start += len("coro=<")
    end = line.find("()", start)
    coro = line[start:end] if end != -1 else ""
    if not coro or any(c.isspace() for c in coro):
        return
    failure.worker = coro + "()"
    defined = line.find(" defined at ", end)
    if defined == -1:
        return
    close = line.find(">", defined)
    file, _, number = line[defined + len(" defined at ") : close if close != -1 else len(line)].rpartition(":")
    if file and number.isdigit():
        failure.coroutine = Frame(file, int(number), coro.rpartition(".")[2])


def read_lines(stream: BinaryIO) -> Iterator[tuple[int, str | None]]:
    """Numbered lines of a binary stream, decoded as UTF-8; None for a line that is not
    UTF-8 or is longer than MAX_LINE (whose bytes are read past, not kept)."""
    number = 0
    while True:
        chunk = stream.readline(MAX_LINE + 1)
        if not chunk:
            return
        number += 1
        if len(chunk) > MAX_LINE and not chunk.endswith(b"\n"):
            while chunk and not chunk.endswith(b"\n"):  # the rest of the overlong line
                chunk = stream.readline(MAX_LINE + 1)
            yield number, None
            continue
        try:
            yield number, chunk.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError:
            yield number, None
