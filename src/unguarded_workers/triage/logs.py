"""Reading worker failures out of logs, one line at a time.

A failure is a header (`headers`) and Python's rendering of the exception (`tracebacks`),
in whatever wraps them (`formats`: JSON records, per-line prefixes). Several are read at once:
threads dying together write their tracebacks line by line into one stream, so each line goes
to the failure it continues (a frame to the traceback whose last frame called it before, as
far as the log has shown; an exception line to the traceback that raised it before), and a
line no failure can take is not made into one. A failure is reported only once its exception
line reads as an exception; an exception group's members are failures of their own.

Memory stays bounded whatever the log: a line longer than `MAX_LINE` bytes is skipped, a
traceback keeps its first and last `KEPT_FRAMES` frames, at most `MAX_OPEN` failures are read
at once, and one that has not been continued for `STALE` lines is given up.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

from .failures import Frame, LoggedFailure, ReadStats, is_machinery
from .formats import (
    MAX_LINE,
    Prefixes,
    event_lines,
    json_object,
    prefix_shape,
    printed_line,
    read_lines,
    without_colours,
)
from .headers import future_line, greenlet, headers, server_error, thread_failure, thread_pieces
from .interleaving import SourceLines, Untangler
from .tracebacks import (
    BLANK,
    CHAIN,
    EXCEPTION,
    FRAME,
    INDENTED,
    KEPT_FRAMES,
    MARGIN,
    OTHER,
    SPAWN_NOTE,
    TOP_GROUP,
    TRACEBACK_LINE,
    Rendering,
    classify,
    exception_type,
    failures_of,
    note_like,
)

__all__ = ["KEPT_FRAMES", "MAX_LINE", "Frame", "LoggedFailure", "ReadStats", "read_failures", "read_lines"]

MAX_OPEN = 64
STALE = 4096
MAX_STRAYS = 8  # lines a lone traceback lets by before it is taken as cut off
_BARE = ""  # a traceback with no header (yet): gevent's comes after it
_SOURCE = "source_traceback: "
_NEUTRAL = (BLANK, INDENTED)  # source lines and carets continue whichever traceback


class _Line(NamedTuple):
    kind: int
    site: Frame | None  # a frame's, or a note's spawn site
    start: int  # where a frame or a margin starts
    text: str  # without what wraps it
    channel: object
    number: int
    raw: str  # as logged
    previous: str | None  # the line before, as logged


class _Block:
    """One failure being read: its header, then its rendering."""

    __slots__ = (
        "channel",
        "failure",
        "raw",
        "rendering",
        "source",
        "source_last",
        "spawn_frame",
        "strays",
        "touched",
        "wants_source",
    )

    def __init__(self, failure: LoggedFailure, channel: object, raw: str, number: int) -> None:
        self.failure = failure
        self.channel = channel  # the stream it was written to: a prefix's shape, a docker stream
        self.raw = raw  # as logged: a prefix learnt later may be its channel
        self.rendering: Rendering | None = None
        self.source = False  # reading asyncio's debug-mode `source_traceback`
        self.source_last: Frame | None = None
        self.spawn_frame: Frame | None = None
        self.touched = number
        self.wants_source = False  # its last frame's source line has not come yet
        self.strays = 0  # lines since its last that it could not take

    @property
    def last_frame(self) -> Frame | None:
        if self.source:
            return self.source_last
        return self.rendering.last_frame if self.rendering is not None else None


class Reader:
    """Failures out of lines fed one at a time; `done` holds those read to their end."""

    def __init__(self, log: str, stats: ReadStats, *, records: bool = True, lines: SourceLines | None = None) -> None:
        self.log = log
        self.stats = stats
        self.blocks: list[_Block] = []
        self.done: list[LoggedFailure] = []
        self._records = records  # JSON lines are read (not inside a JSON record's own lines)
        self._prefixes = Prefixes()
        self._lines = lines
        self._untangler = Untangler(lines)
        self._partial: dict[str, str] = {}

    def feed(self, raw: str, number: int, previous: str | None) -> None:
        text = without_colours(raw) if "\x1b[" in raw else raw
        if self._records and text.startswith("{"):
            record = json_object(text)
            if record is not None:
                self._record(record, number, previous)
                return
        channel: object = None
        if self._prefixes.shapes:
            channel, text = self._prefixes.strip(text)
        self._line(text, channel, number, raw, previous)

    def finish(self) -> None:
        for block in self.blocks:
            self._end(block)
        self.blocks.clear()

    # -- records ----------------------------------------------------------------------------

    def _record(self, record: dict[str, Any], number: int, previous: str | None, channel: object = None) -> None:
        printed = printed_line(record)
        if printed is None:
            lines = event_lines(record)
            if lines:  # an event holds its message and traceback: read as a log of its own
                reader = Reader(self.log, self.stats, records=False)
                for before, line in zip([None, *lines], lines):
                    reader.feed(line, number, before)
                reader.finish()
                self.done += reader.done
            self._settle(None, channel, number)  # a line of the stream no traceback takes
            return
        stream, text = printed
        if not text.endswith("\n"):  # docker splits a line past 16 KiB: the first parts
            part = self._partial.get(stream, "") + text
            if len(part) <= MAX_LINE:
                self._partial[stream] = part
            return
        text = without_colours(self._partial.pop(stream, "") + text[:-1]).rstrip("\r")
        inner = json_object(text) if text.startswith("{") else None
        if inner is not None and printed_line(inner) is None:
            self._record(inner, number, None, ("stream", stream))
        else:
            self._line(text, ("stream", stream), number, text, self._content(previous))

    def _content(self, raw: str | None) -> str | None:
        """A line's text, without what wraps it (for a look at the line before)."""
        if raw is None:
            return None
        text = without_colours(raw)
        record = json_object(text) if text.startswith("{") else None
        if record is not None:
            printed = printed_line(record)
            return printed[1].rstrip("\r\n") if printed is not None else None
        return self._prefixes.strip(text)[1]

    # -- lines ------------------------------------------------------------------------------

    def _line(self, text: str, channel: object, number: int, raw: str, previous: str | None) -> None:
        pieces, rest = thread_pieces(text)
        if pieces and classify(rest)[0] in (FRAME, TRACEBACK_LINE):
            # Headers begun, then another thread's traceback line (`Exception in thread
            # Traceback (most recent call last):`): that line is read as its own, for a thread
            # whose header came earlier; then each header waits for its traceback, which follows.
            self._line(rest, channel, number, raw, previous)
            for _ in range(pieces):
                self._open(thread_failure(self.log, number), channel, raw, number)
            return
        kind, site, start = classify(text)
        if start and kind in (FRAME, TOP_GROUP) and channel is None:
            shape = self._prefixes.learn(text[:start], [previous, *(b.raw for b in self.blocks)])
            if shape is not None:
                for block in self.blocks:
                    if block.channel is None and shape.match(block.raw):
                        block.channel = shape
                channel, text = shape, text[start:]
                kind, site, start = classify(text)
        blocks = self.blocks
        if len(blocks) == 1 and blocks[0].channel == channel and self._continues(blocks[0], kind, site, text, number):
            return
        line = _Line(kind, site, start, text, channel, number, raw, previous)
        target = self._route(line, self._in(channel))
        if target is not None:
            target.touched = number
            target.strays = 0
        if kind in _NEUTRAL or (kind == MARGIN and target is None):
            return
        self._settle(target, channel, number)

    def _continues(self, block: _Block, kind: int, site: Frame | None, text: str, number: int) -> bool:
        """The lone failure being read took its traceback's start, a frame, a source line or its
        exception line, or the log's next record ended it: the common cases, short."""
        rendering = block.rendering
        if block.source:
            return False
        if rendering is None:
            if kind != TRACEBACK_LINE:
                return False
            block.rendering = rendering = Rendering()
            rendering.feed(kind, None, 0, text)
        elif rendering.wants_frames:
            root = rendering.root
            if kind == FRAME and site is not None:
                self._untangler.follows(site, root.last)
                root.add(site)
                block.wants_source = True
            elif kind == INDENTED:
                block.wants_source = False
            elif kind == EXCEPTION and root.last is not None:
                root.feed(EXCEPTION, None, 0, text)
            elif kind != BLANK:
                return False
        elif kind == OTHER and rendering.complete and not note_like(text):
            if "xception" in text or " failed " in text:
                return False  # a report: read in full
            self._close(block)
            return True
        else:
            return False
        block.touched = number
        block.strays = 0
        return True

    def _in(self, channel: object) -> list[_Block]:
        """The failures being read in a stream (a copy: reading may close some)."""
        blocks = self.blocks
        if not blocks or (len(blocks) == 1 and blocks[0].channel == channel):
            return blocks[:]
        return [b for b in blocks if b.channel == channel]

    def _route(self, line: _Line, blocks: list[_Block]) -> _Block | None:
        """The failure a line continues (or opens), among those of its stream."""
        kind, text = line.kind, line.text
        if kind == FRAME and line.site is not None:
            return self._frame(line.site, blocks)
        if kind in (TRACEBACK_LINE, TOP_GROUP):
            chained = [b for b in blocks if b.rendering is not None and b.rendering.wants_traceback]
            waiting = chained or _behind_same_prefix(text, "Traceback", [b for b in blocks if b.rendering is None])
            block = max(waiting, key=_recency) if waiting else self._bare(line)
            block.rendering = block.rendering or Rendering()
            block.source = False
            block.rendering.feed(kind, None, 0, text)
            return block
        if kind == INDENTED:
            return self._source(text, blocks)
        taken = None
        if kind == EXCEPTION:
            taken = self._exception(text, blocks)
        elif kind == OTHER:
            taken = self._other(line, blocks)
        if taken is None and kind in (SPAWN_NOTE, CHAIN, MARGIN, EXCEPTION, OTHER):  # after an exception line
            for block in sorted(blocks, key=_recency, reverse=True):
                if block.rendering is not None and block.rendering.feed(kind, line.site, line.start, text):
                    return block
        return taken

    def _frame(self, frame: Frame, blocks: list[_Block]) -> _Block | None:
        waiting = [b for b in blocks if b.source or (b.rendering is not None and b.rendering.wants_frames)]
        if not waiting:
            return None
        block = self._untangler.frame(frame, waiting)
        block.wants_source = True
        if block.source:  # asyncio's record of where the task was created
            block.source_last = frame
            if not is_machinery(frame.file):
                block.spawn_frame = frame
        elif block.rendering is not None:
            block.rendering.feed(FRAME, frame, 0, "")
        return block

    def _exception(self, text: str, blocks: list[_Block]) -> _Block | None:
        waiting = [b for b in blocks if b.rendering is not None and b.rendering.wants_exception]
        if not waiting:
            return None
        block = waiting[0] if len(waiting) == 1 else self._untangler.exception(exception_type(text) or "", waiting)
        block.rendering.feed(EXCEPTION, None, 0, text)  # type: ignore[union-attr]
        return block

    def _source(self, text: str, blocks: list[_Block]) -> _Block | None:
        """A frame's source line: whose it is tells whose the next lines are. Carets, and the
        further lines of a statement, are nobody's."""
        if not text.strip(" ~^"):
            return None
        waiting = [b for b in blocks if b.wants_source]
        block = self._untangler.source(text, waiting) if waiting else None
        if block is not None:
            block.wants_source = False
        return block

    def _other(self, line: _Line, blocks: list[_Block]) -> _Block | None:
        text = line.text
        found = headers(text, self.log, line.number)
        if found:
            for block in blocks:  # a record's traceback follows it at once, or it has none
                if block.failure.kind == "guard" and block.rendering is None:
                    self._close(block)
            opened = [self._open(failure, line.channel, line.raw, line.number) for failure in found]
            return opened[-1]
        header_state = [b for b in blocks if b.rendering is None and not b.source]
        future = text.find("future: <")
        if future != -1:
            tasks = [b for b in header_state if b.failure.kind == "task" and b.failure.worker is None]
            tasks = _behind_same_prefix(text, "future: <", tasks)
            if tasks:
                block = max(tasks, key=_recency)
                future_line(block.failure, text[future:])
                return block
        elif _SOURCE in text and text.endswith("(most recent call last):") and header_state:
            block = max(header_state, key=_recency)
            block.source = True
            return block
        function = greenlet(text)
        if function is not None:
            done = [b for b in blocks if b.failure.kind == _BARE and b.rendering is not None and b.rendering.complete]
            if done:
                block = max(done, key=_recency)
                block.failure.kind = "greenlet"
                block.failure.worker = function or None
                self._close(block)
                return block
        return None

    def _open(self, failure: LoggedFailure, channel: object, raw: str, number: int) -> _Block:
        if len(self.blocks) >= MAX_OPEN:
            self._close(min(self.blocks, key=_recency))
        block = _Block(failure, channel, raw, number)
        self.blocks.append(block)
        return block

    def _bare(self, line: _Line) -> _Block:
        """A traceback with no header before it: a web server's report on the line before (its
        own header), else perhaps gevent's (whose header follows it)."""
        before = self._content(line.previous)
        failure = server_error(before, self.log, line.number - 1) if before is not None else None
        return self._open(failure or LoggedFailure(_BARE, self.log, line.number), line.channel, line.raw, line.number)

    def _settle(self, target: _Block | None, channel: object, number: int) -> None:
        """After a line: a complete failure that did not take it is done; alone in its stream,
        one that could not take it is cut off; one left waiting too long is given up."""
        same = self._in(channel)
        for block in same:
            if block is target:
                continue
            rendering = block.rendering
            if rendering is not None and rendering.complete:
                self._close(block)
            elif target is None and len(same) == 1:
                block.strays += 1  # another stream merged into this one (journald), or cut off
                if block.strays > MAX_STRAYS:
                    self._close(block)
        if not number % 64:
            for block in [b for b in self.blocks if number - b.touched > STALE]:
                self._close(block)

    def _close(self, block: _Block) -> None:
        if block in self.blocks:
            self.blocks.remove(block)
            self._end(block)

    def _end(self, block: _Block) -> None:
        failure, rendering = block.failure, block.rendering
        raised = rendering.result() if rendering is not None else None
        if raised is not None and failure.kind != _BARE:
            if failure.spawn_site is None:
                failure.spawn_site = block.spawn_frame
            found = failures_of(failure, raised)
        elif rendering is None and failure.kind == "guard":
            found = [failure]  # a record with no traceback
        else:
            if failure.kind != _BARE:
                self.stats.unreadable += 1
            return
        self.stats.failures += len(found)
        self.done += found


def _behind_same_prefix(text: str, content: str, blocks: list[_Block]) -> list[_Block]:
    """Of several failures waiting for a line, those whose header has the prefix the line has
    (`web-1  | `, not `worker-1  | `: a prefix not learnt yet), if any."""
    head = text[: text.find(content)]
    if len(blocks) < 2 or not head.strip() or len(head) > 256:
        return blocks
    shape = prefix_shape(head)
    return [b for b in blocks if shape.match(b.raw)] or blocks


def _recency(block: _Block) -> int:
    return block.touched


def read_failures(
    lines: Iterable[tuple[int, str | None]], log: str, stats: ReadStats, source_lines: SourceLines | None = None
) -> Iterator[LoggedFailure]:
    """The failures in `lines` ((number, text) pairs; text None for a line that could not be
    decoded), in the order they end. `stats` counts what was read."""
    reader = Reader(log, stats, lines=source_lines)
    previous: str | None = None
    count = 0  # lines read since `stats.lines` was last brought up to date (it costs per line)
    try:
        for number, raw in lines:
            count += 1
            if raw is None:
                stats.unreadable += 1
                previous = None
                continue
            # Every failure starts on a line holding one of these: while none is being read, the
            # other lines are passed over here, without a call.
            if reader.blocks or "xception" in raw or "Traceback" in raw or " failed in " in raw:
                reader.feed(raw, number, previous)
                if reader.done:
                    stats.lines += count
                    count = 0
                    yield from reader.done
                    reader.done.clear()
            previous = raw
        reader.finish()
    finally:
        stats.lines += count
    yield from reader.done
