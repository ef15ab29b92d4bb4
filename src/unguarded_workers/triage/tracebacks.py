"""Python's rendering of an exception, read one line at a time.

    Traceback (most recent call last):                      a traceback: its frames, each with
      File "/srv/app/jobs.py", line 12, in work                its source line and carets
        raise KeyError(item)
    KeyError: 'order-17'                                    the exception: `Type: message`
    spawned at /srv/app/main.py:40 in main (threading.Thread.start)       a PEP 678 note

chained by `During handling of the above exception...` or `The above exception was the direct
cause...` to the tracebacks before it; an exception group (3.11+) drawn in boxes:

      + Exception Group Traceback (most recent call last):
      |   File "/srv/app/main.py", line 80, in quote
      | ExceptionGroup: unhandled errors in a TaskGroup (2 sub-exceptions)
      +-+---------------- 1 ----------------
        | Traceback (most recent call last):   each member a rendering of its own, in a margin
        | ...                                  two columns right of its group's, at any depth
        +---------------- 2 ----------------
        | ...
        +------------------------------------

Every test is a string operation: these lines hold anyone's text (exception messages).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, replace

from .failures import Cause, Frame, LoggedFailure

KEPT_FRAMES = 64
KEPT_CAUSES = 8
KEPT_MEMBERS = 64
KEPT_NOTES = 8

TRACEBACK = "Traceback (most recent call last):"
_GROUP_HEAD = "Exception Group "
_TOP_GROUP = "  + " + _GROUP_HEAD
CHAINED = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)
FILE = '  File "'
NOTE = "spawned at "

# What a line is (`classify`); the first three are what the lone traceback being read takes most.
BLANK, INDENTED, FRAME, TRACEBACK_LINE, GROUP, TOP_GROUP, MARGIN, CHAIN, SPAWN_NOTE, EXCEPTION, OTHER = range(11)

# A rendering's state, per box.
_START, _TRACEBACK, _EXCEPTION, _CHAINED = range(4)


def parse_frame(text: str, start: int) -> Frame | None:
    """`  File "FILE", line N, in FUNCTION` at `start` (a function holds no `", line `)."""
    rest = text[start + len(FILE) :]
    quote = rest.rfind('", line ')
    if quote <= 0:
        return None
    number, separator, function = rest[quote + 8 :].partition(", in ")
    if not separator or not number.isdigit() or not function:
        return None
    return Frame(rest[:quote], int(number), function)


def spawn_note(text: str) -> Frame | None:
    """The runtime's note `spawned at FILE:LINE in FUNCTION (HOW)`: the site, or None."""
    if not text.startswith(NOTE) or not text.endswith(")"):
        return None
    how = text.rfind(" (")
    location, separator, function = text[len(NOTE) : how].rpartition(" in ")
    file, _, line = location.rpartition(":")
    if how == -1 or not separator or not file or not line.isdigit() or not function or " " in function:
        return None
    return Frame(file, int(line), function)


def note_like(text: str) -> bool:
    """A line after an exception's that may be a note (or its message's next line): not a log
    record's start (a timestamp, a bracket, a level name), not another report's."""
    first = text[:1]
    return not (first.isdigit() or first in "[{(<" or text.startswith(_LEVELS) or "xception" in text)


_LEVELS = ("DEBUG", "INFO", "WARN", "ERROR", "CRITICAL", "FATAL")


def unqualified(exception: str) -> str:
    """The exception line as 3.11+ prints it: 3.9 and 3.10 qualify the script's own classes
    (`__main__.SyncError`) in a thread's traceback, which would split one failure's group by
    the interpreter that ran it."""
    return exception[len("__main__.") :] if exception.startswith("__main__.") else exception


def exception_type(text: str) -> str | None:
    """The type of an exception line (`Type: message`, `Type`, `pkg.mod.Type: message`), or
    None when the line is not one: a log line (`INFO:app:...`, `DEBUG: ...`), a fragment."""
    name, colon, message = text.partition(":")
    if (colon and message and message[0] != " ") or len(name) > 256:
        return None
    parts = name.split(".")
    if not all(part.isidentifier() or part == "<locals>" for part in parts):
        return None
    last = parts[-1]
    # A class, not a word in capitals: builtins and __main__'s are unqualified and capitalised.
    if last.isupper() or not last.isidentifier() or (len(parts) == 1 and not last[0].isupper()):
        return None
    return name


def classify(text: str) -> tuple[int, Frame | None, int]:
    """(kind, the frame or note's site, where a frame starts) of one line, margin included."""
    if text.startswith(FILE):  # the commonest line of a traceback
        frame = parse_frame(text, 0)
        if frame is not None:
            return FRAME, frame, 0
    if not text or text.isspace():
        return BLANK, None, 0
    if text.endswith(TRACEBACK):
        head = text[: -len(TRACEBACK)]
        if not head:
            return TRACEBACK_LINE, None, 0
        if head == _GROUP_HEAD:
            return GROUP, None, 0
        if head.endswith(_TOP_GROUP):  # at the line's start, or behind a prefix not yet learnt
            return TOP_GROUP, None, len(head) - len(_TOP_GROUP)
    if text[0] == " ":
        if text.startswith("    ") and "|" not in text and "+-" not in text and FILE not in text:
            return INDENTED, None, 0  # a source line, carets
        column = len(text) - len(text.lstrip(" "))
        mark = text[column : column + 2]
        if mark in ("| ", "|", "+-"):
            return MARGIN, None, column
        start = text.find(FILE)
        if start != -1:
            frame = parse_frame(text, start)
            if frame is not None:
                return FRAME, frame, start
        return INDENTED, None, 0
    if text.endswith(TRACEBACK):  # behind a prefix not yet learnt, or another thread's fragment
        return TRACEBACK_LINE, None, 0
    start = text.find(FILE)
    if start != -1:
        frame = parse_frame(text, start)
        if frame is not None:
            return FRAME, frame, start
    if text in CHAINED:
        return CHAIN, None, 0
    if text.startswith(NOTE):
        site = spawn_note(text)
        if site is not None:
            return SPAWN_NOTE, site, 0
    if exception_type(text) is not None:
        return EXCEPTION, None, 0
    return OTHER, None, 0


@dataclass
class Raised:
    """One exception as rendered: its traceback, the chain before it, its note's spawn site, and
    for an exception group its members (None for any other exception)."""

    exception: str
    frames: list[Frame]
    spawn_site: Frame | None
    causes: tuple[Cause, ...]
    members: list[Raised] | None


class _Box:
    """The rendering at one margin column: the whole exception's, or one group member's."""

    __slots__ = ("causes", "column", "exception", "group", "head", "last", "members", "note", "notes", "state", "tail")

    def __init__(self, column: int) -> None:
        self.column = column
        self.state = _START
        self.group = False
        self.head: list[Frame] = []
        self.tail: collections.deque[Frame] | None = None  # past KEPT_FRAMES, the last ones
        self.last: Frame | None = None
        self.exception = ""
        self.note: Frame | None = None
        self.notes = 0  # lines read as notes
        self.causes: list[Cause] = []
        self.members: list[Raised] = []

    def begin(self, group: bool) -> None:
        self.head = []
        self.tail = None
        self.last = self.note = None
        self.notes = 0
        self.group = group
        self.members = []
        self.state = _TRACEBACK

    def add(self, frame: Frame) -> None:
        if len(self.head) < KEPT_FRAMES:
            self.head.append(frame)
        else:
            if self.tail is None:
                self.tail = collections.deque(maxlen=KEPT_FRAMES)
            self.tail.append(frame)
        self.last = frame

    def feed(self, kind: int, site: Frame | None, start: int, text: str) -> bool:
        state = self.state
        if kind in (BLANK, INDENTED):
            return True
        if kind in (TRACEBACK_LINE, GROUP):
            if state not in (_START, _CHAINED):
                return False
            self.begin(kind == GROUP)
            return True
        if kind == FRAME:
            if state != _TRACEBACK or site is None:
                return False
            self.add(site)
            return True
        if kind == EXCEPTION and state != _EXCEPTION:
            self.exception = unqualified(text)
            self.state = _EXCEPTION
            return True
        if state != _EXCEPTION:
            return False
        if kind == SPAWN_NOTE:
            self.note = site
            return True
        if kind in (OTHER, EXCEPTION) and self.notes < KEPT_NOTES and note_like(text):
            self.notes += 1  # another note before the runtime's, or a message's further lines
            return True
        if kind == CHAIN:
            self.causes.append(Cause(self.exception, self.last))
            del self.causes[:-KEPT_CAUSES]
            self.state = _CHAINED
            return True
        return False

    def raised(self) -> Raised | None:
        if self.state != _EXCEPTION:
            return None  # cut off, or a group's "and 3 more exceptions"
        members = self.members if self.group else None
        frames = self.head + list(self.tail) if self.tail else self.head
        return Raised(self.exception, frames, self.note, tuple(self.causes), members)


class Rendering:
    """One exception's rendering, fed line by line (`feed` says whether the line was its own)."""

    def __init__(self) -> None:
        self.root = _Box(0)
        self._open = [self.root]  # the root, then the group members being read, by column

    @property
    def complete(self) -> bool:
        return self.root.state == _EXCEPTION and len(self._open) == 1

    @property
    def boxed(self) -> bool:
        """Inside an exception group's box: its lines come with margins."""
        return self.root.column > 0 and (len(self._open) > 1 or self.root.state == _TRACEBACK)

    @property
    def wants_frames(self) -> bool:
        return self.root.state == _TRACEBACK and self.root.column == 0

    @property
    def wants_exception(self) -> bool:
        """After a frame (Python draws none without), or a chained exception drawn alone."""
        root = self.root
        return root.column == 0 and ((root.state == _TRACEBACK and root.last is not None) or root.state == _CHAINED)

    @property
    def wants_traceback(self) -> bool:
        return self.root.state in (_START, _CHAINED)

    @property
    def last_frame(self) -> Frame | None:
        return self.root.last

    def feed(self, kind: int, site: Frame | None, start: int, text: str) -> bool:
        if kind == MARGIN:
            return self.root.column > 0 and self._margin(text, start)
        if kind == TOP_GROUP:
            if not self.wants_traceback:
                return False
            self.root.begin(group=True)
            self.root.column = 2
            return True
        if self.boxed:
            return kind == BLANK  # a group being drawn: anything else cuts it off
        if kind == TRACEBACK_LINE and self.wants_traceback:
            self.root.column = 0
        return self.root.feed(kind, site, start, text)

    def _margin(self, text: str, column: int) -> bool:
        box = next((b for b in reversed(self._open) if b.column == column), None)
        if box is None:
            return False
        if text[column] == "|":
            self._close_above(box)
            content = text[column + 2 :]
            kind, site, start = classify(content)
            box.feed(kind, site, start, content)
            return True  # the rest of a box is its own: other notes, "and 3 more exceptions"
        if text.startswith("+-+", column):  # a group's first member
            if box.state != _EXCEPTION:
                return False
            box.group = True  # a group drawn without its traceback (never raised) says so only here
            self._close_above(box)
            self._open.append(_Box(column + 2))
            return True
        if box is self.root:
            return False
        self._close_above(box)
        self._close_top()
        if text.strip("+- "):  # `+---- 2 ----`: the next member; `+-----` closes the group
            self._open.append(_Box(column))
        return True

    def _close_above(self, box: _Box) -> None:
        while self._open[-1] is not box:
            self._close_top()

    def _close_top(self) -> None:
        member = self._open.pop().raised()
        group = self._open[-1]
        if member is not None and len(group.members) < KEPT_MEMBERS:
            group.members.append(member)

    def result(self) -> Raised | None:
        while len(self._open) > 1:
            self._close_top()
        return self.root.raised()


def failures_of(header: LoggedFailure, raised: Raised) -> list[LoggedFailure]:
    """The failure a header and its exception make; for an exception group, one per member
    (each leaf of nested groups), with its own traceback, causes and note. A member with no
    traceback of its own was never raised: its group's traceback and site are its own."""
    header.exception, header.frames, header.causes = raised.exception, raised.frames, raised.causes
    header.spawn_site = header.spawn_site or raised.spawn_site
    if not raised.members:
        return [header]
    failures: list[LoggedFailure] = []
    groups = [(raised, header.frames, header.spawn_site)]
    while groups:
        group, frames, site = groups.pop(0)
        for member in group.members or ():
            inherited = not member.frames
            member_site = member.spawn_site or (site if inherited else None)
            if member.members:
                groups.append((member, member.frames or frames, member_site))
                continue
            failures.append(
                replace(
                    header,
                    exception=member.exception,
                    frames=member.frames or frames,
                    causes=member.causes,
                    group=group.exception,
                    spawn_site=member_site,
                    worker=header.worker if inherited else None,
                    task=header.task if inherited else None,
                    coroutine=header.coroutine if inherited else None,
                )
            )
    return failures
