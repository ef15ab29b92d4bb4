"""What a log says of one worker failure: where it was raised, what caused it, how it ended."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

# Frames in these are how a worker is run, not the worker (paths with "/", whatever the
# system that wrote the log; gevent's own frames are logged as `src/gevent/greenlet.py`).
MACHINERY = (
    "/threading.py",
    "/asyncio/",
    "/concurrent/futures/",
    "/multiprocessing/",
    "/unguarded_workers/runtime/",
    "/trio/",
    "/anyio/",
    "/contextvars",
    "/gevent/",
    "/uvicorn/",
    "/hypercorn/",
    "/gunicorn/",
    "/starlette/",
    "/fastapi/",
)

# How a failure ended: Python's own reports and install()'s escaped every guard; the others
# are the records of wrap() and supervise() (runtime/supervision.py's notes).
ESCAPED = "escaped"
CONTAINED = "contained"
RESTARTED = "restarted"
ENDED_PROCESS = "ended the process"
RAISED_AGAIN = "raised again"
GAVE_UP_TO_HANDLER = "handed to on_give_up"


def is_machinery(file: str) -> bool:
    path = file.replace("\\", "/")
    return path.startswith("<") or any(part in path for part in MACHINERY)


class Frame(NamedTuple):  # a tuple: hashed and compared fast, as the reader's keys
    file: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} in {self.function}"


@dataclass(frozen=True)
class Cause:
    """An exception earlier in the chain (`During handling of...`, `The above exception was...`)."""

    exception: str
    raised_at: Frame | None

    @property
    def exception_type(self) -> str:
        return exception_type_of(self.exception)


def exception_type_of(exception: str) -> str:
    return exception.partition(":")[0].strip() or "<unknown>"


@dataclass
class LoggedFailure:
    """One worker failure as the log shows it.

    kind: "thread" (threading's hook), "task" (never retrieved), "callback" (a future's
    done-callback raised), "request" (a web server's report of its ASGI/WSGI app), "greenlet"
    (gevent's hub) or "guard" (a record of wrap/supervise/install). `frames` is the exception's
    traceback, outermost first (its middle dropped past 2*KEPT_FRAMES); `causes` the chain
    before it, nearest last. A member of an exception group is a failure of its own, `group`
    naming the group. `spawn_site` is the logged one: a record's, a `spawned at` note's, or
    asyncio's debug-mode creation stack.
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
    causes: tuple[Cause, ...] = ()
    group: str | None = None
    outcome: str = ESCAPED

    @property
    def escaped(self) -> bool:
        """Escaped every guard (wrap() and supervise() records are failures a guard saw)."""
        return self.outcome == ESCAPED

    @property
    def exception_type(self) -> str:
        return exception_type_of(self.exception)

    @property
    def innermost(self) -> Frame | None:
        return self.frames[-1] if self.frames else None


@dataclass
class ReadStats:
    lines: int = 0
    failures: int = 0
    unreadable: int = 0  # undecodable or overlong lines, and tracebacks cut off before their exception
