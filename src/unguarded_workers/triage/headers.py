"""The lines that say what a traceback is: a worker failure's header, behind any log prefix.

    Exception in thread Thread-1 (poll_queue):                  threading's excepthook
    Exception ignored in thread started by: <function work at 0x7f...>       _thread's
    Task exception was never retrieved                          asyncio's exception handler
    future: <Task finished name='Task-2' coro=<consume() done, defined at /srv/app/jobs.py:38> ...>
    exception calling callback for <Future at 0x7f... state=finished raised OSError>
    Exception in ASGI application                               uvicorn (after the traceback:
    Error in ASGI Framework / Error handling request /path        hypercorn, gunicorn)
    worker app.jobs.work failed in thread 'w' (spawned at /srv/app/jobs.py:12 in main): ...
                                                                wrap(), supervise(), install()
    <Greenlet at 0x7f...: work(3)> failed with ValueError       gevent, after the traceback

String searches and suffixes, not patterns: an exception's message is anyone's text, and a
backtracking pattern over a hostile line took a second.
"""

from __future__ import annotations

import re

from .failures import (
    CONTAINED,
    ENDED_PROCESS,
    ESCAPED,
    GAVE_UP_TO_HANDLER,
    RAISED_AGAIN,
    RESTARTED,
    Frame,
    LoggedFailure,
)

_SPAWNED_AT = " (spawned at "
_SITE_OPENINGS = (_SPAWNED_AT, " (spawn site unknown")
THREAD = "Exception in thread "
_STARTED_BY = "Exception ignored in thread started by: "
_NEVER_RETRIEVED = re.compile(r"(?:Task|Future) exception was never retrieved$")
_CALLBACK = "exception calling callback for <"
_ASGI = "Exception in ASGI application"
# Web servers' reports that hold no "xception": read on the line before a traceback.
_SERVER_ERRORS = ("Error in ASGI Framework", "Error in ASGI application", "Error in WebSocket ASGI application")
_GUNICORN = "Error handling request"
# More headers run together than that: a line of text quoting one, unless the line holds
# little else than their threads' names (forty threads dying at once wrote 17 pieces and 6
# names on one line).
_MAX_PIECES = 16
_MAX_NAME = 80  # the room a piece's name may take
_TASK_NAME = re.compile(r"\bname='(?P<task>[^']*)'")
# How install()'s records end (runtime/safety_net.py): the failure escaped every guard.
ESCAPED_NOTES = (
    "; the thread died",
    "; its exception was never retrieved",
    "; its future was discarded without its result being read",
)
# supervise()'s (runtime/supervision.py): `; restarting in 0.50 s (...)`, `; giving up after
# 6 failures in 60 s (more than restarts=5): ending the process`.
_RESTARTING = "; restarting in "
_GIVING_UP = "; giving up after "
_GIVE_UP_ACTIONS = (
    (": ending the process", ENDED_PROCESS),
    (": raising", RAISED_AGAIN),
    (": calling on_give_up", GAVE_UP_TO_HANDLER),
)


def headers(text: str, log: str, number: int) -> list[LoggedFailure]:
    """The failures a line announces (more than one when threads' headers ran together)."""
    if " failed in " in text:
        record = _record(text)
        if record is not None:
            worker, where, site, exception = record
            failure = LoggedFailure("guard", log, number, worker=worker, spawn_site=site)
            failure.exception, failure.outcome = _outcome(exception)
            _where(failure, where)
            return [failure]
    if THREAD in text:
        return _threads(text, log, number)
    start = text.find(_STARTED_BY)
    if start != -1:
        failure = LoggedFailure("thread", log, number)
        name = text[start + len(_STARTED_BY) :]
        if name.startswith("<function ") and " at 0x" in name:
            failure.worker = name[len("<function ") : name.find(" at 0x")]
        return [failure]
    if "never retrieved" in text and _NEVER_RETRIEVED.search(text):
        return [LoggedFailure("task", log, number)]
    if text.endswith(">") and _CALLBACK in text:
        return [LoggedFailure("callback", log, number)]
    if text.rstrip().endswith(_ASGI):
        return [LoggedFailure("request", log, number)]
    return []


def server_error(text: str, log: str, number: int) -> LoggedFailure | None:
    """A web server's report of its app's failure, on the line before the traceback."""
    stripped = text.rstrip()
    if stripped.endswith(_SERVER_ERRORS) or _GUNICORN in stripped:
        return LoggedFailure("request", log, number)
    return None


def _threads(text: str, log: str, number: int) -> list[LoggedFailure]:
    """`Exception in thread NAME:`; threads dying at once on an unbuffered stderr write theirs
    in pieces (`Exception in thread Exception in thread T-2:`): one failure for each."""
    count = text.count(THREAD)
    last = text.rfind(THREAD) + len(THREAD)
    if count == 1 and not text.endswith(":"):
        return []
    if count > _MAX_PIECES and len(text) - count * len(THREAD) > count * _MAX_NAME:
        return []
    failures = [thread_failure(log, number) for _ in range(count)]
    if text.endswith(":") and len(text) > last + 1:
        failures[-1].thread = text[last:-1]
    return failures


def thread_pieces(text: str) -> tuple[int, str]:
    """`Exception in thread Exception in thread   File "...", line 9, in run`: on an unbuffered
    stderr, the headers of threads dying at once begin on a line that another thread's
    traceback then takes. How many such pieces begin the line, and the rest of it (a line is
    64 KB at most: a few thousand pieces)."""
    pieces, rest = 0, text
    while rest.startswith(THREAD):
        rest = rest[len(THREAD) :]
        pieces += 1
    return pieces, rest


def thread_failure(log: str, number: int) -> LoggedFailure:
    """The failure a thread's header announces (its name is another piece of the line, if any)."""
    return LoggedFailure("thread", log, number)


def future_line(failure: LoggedFailure, line: str) -> None:
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


def greenlet(text: str) -> str | None:
    """gevent's `<Greenlet at 0x7f..: work(3, label='y')> failed with ValueError` (its name, if
    any, before `at`): the function, `work`; None for another line."""
    start = text.find("<Greenlet")
    if start == -1 or "> failed with " not in text:
        return None
    at = text.find(" at 0x", start)
    colon = text.find(": ", at) if at != -1 else -1
    if colon == -1:
        return ""
    function = text[colon + 2 :].partition("(")[0]
    return function if function and " " not in function else ""


def _record(raw: str) -> tuple[str, str, Frame | None, str] | None:
    """`worker W failed in WHERE (spawned at FILE:LINE in FUNCTION): EXCEPTION` (or `(spawn site
    unknown)`): W, WHERE, the site and EXCEPTION."""
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
    return raw[start + 7 : worker_end], raw[where_start:paren], site, raw[close + 3 :]


def _outcome(exception: str) -> tuple[str, str]:
    """The exception without the runtime's note, and what the note says happened."""
    for note in ESCAPED_NOTES:
        if exception.endswith(note):
            return exception[: -len(note)], ESCAPED
    giving_up = exception.rfind(_GIVING_UP)
    if giving_up != -1:
        for ending, outcome in _GIVE_UP_ACTIONS:
            if exception.endswith(ending):
                return exception[:giving_up], outcome
    restarting = exception.rfind(_RESTARTING)
    if restarting != -1 and exception.endswith(")"):
        return exception[:restarting], RESTARTED
    return exception, CONTAINED


def _where(failure: LoggedFailure, where: str) -> None:
    """`task 'T' in thread 'N' of process 'P'`."""
    task = re.match(r"task '(?P<task>[^']*)' in ", where)
    if task:
        failure.task = task["task"]
    thread = re.search(r"thread '(?P<thread>[^']*)'", where)
    if thread:
        failure.thread = thread["thread"]
