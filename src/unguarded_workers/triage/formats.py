"""What wraps the text Python printed, taken off: JSON records and per-line prefixes.

- A structured log event (python-json-logger, structlog, ECS...): its message (`message`,
  `msg`, `event`), then every field holding a traceback (`exc_info`, `exception`,
  `error.stack_trace`...), as text or as structlog's `dict_tracebacks`; read as one unit.
- A record holding one printed line: docker's json-file (`{"log": "...\\n", "stream": "stderr"}`,
  a line past 16 KiB split over records without the newline), fluentd's, journald's export
  (`MESSAGE`); a traceback spans many of them.
- A prefix on every line (a container runtime's `2024-01-01T00:00:00.000Z stderr F `, journald's
  `Jan 01 00:00:00 host app[123]: `, docker compose's `web-1  | `): learnt from the log, off a
  traceback's frame line whose line before carries the same prefix; digits may vary.
- Terminal colours (ANSI escapes).

And below all of it, the bytes: lines decoded as UTF-8, one longer than MAX_LINE skipped.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator
from typing import Any, BinaryIO

from .tracebacks import CHAINED, FILE, TRACEBACK

_MESSAGE_KEYS = ("message", "msg", "event")
_JOURNAL_KEYS = ("__CURSOR", "_PID", "_SYSTEMD_UNIT", "SYSLOG_IDENTIFIER")
_ANSI = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_DIGITS = re.compile(r"\d+")
_NOT_PREFIXES = ("xception", "Traceback", FILE.strip())
MAX_PREFIXES = 8
MAX_LINE = 64 * 1024


def without_colours(text: str) -> str:
    return _ANSI.sub("", text) if "\x1b[" in text else text


def json_object(text: str) -> dict[str, Any] | None:
    """The JSON object a line holds, or None (not JSON, or not an object)."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    return value if isinstance(value, dict) else None


def printed_line(record: dict[str, Any]) -> tuple[str, str] | None:
    """(stream, text) of a record holding one line a program printed: docker's and fluentd's
    `log` (its newline kept: a record without one is the first part of a longer line),
    journald's `MESSAGE`; None for any other record."""
    log = record.get("log")
    if isinstance(log, str) and not any(key in record for key in _MESSAGE_KEYS):
        return str(record.get("stream", "")), log
    message = record.get("MESSAGE")
    if message is not None and any(key in record for key in _JOURNAL_KEYS):
        if isinstance(message, list):  # journald exports a message that is not UTF-8 as bytes
            try:
                message = bytes(message).decode("utf-8", "replace")
            except (TypeError, ValueError):
                return None
        if isinstance(message, str):
            return "journal " + str(record.get("_PID", record.get("SYSLOG_IDENTIFIER", ""))), message + "\n"
    return None


def event_lines(record: dict[str, Any]) -> list[str]:
    """A structured log event as lines: its message, then each traceback it holds."""
    message = next((record[key] for key in _MESSAGE_KEYS if isinstance(record.get(key), str)), "")
    lines = message.splitlines()
    for value in record.values():
        if value is not message:
            lines.extend(_tracebacks(value, nested=True))
    return lines


def _tracebacks(value: object, nested: bool) -> list[str]:
    if isinstance(value, str):
        return value.splitlines() if TRACEBACK in value else []
    if isinstance(value, list) and value and isinstance(value[0], dict) and "exc_type" in value[0]:
        return list(_structlog(value, 0))
    if isinstance(value, dict) and nested:  # ECS's `error: {stack_trace: ...}`
        return [line for inner in value.values() for line in _tracebacks(inner, nested=False)]
    return []


def _structlog(stacks: list[Any], depth: int) -> Iterator[str]:
    """structlog's `dict_tracebacks` (the exception first, then its cause, each with
    `is_cause`), drawn as Python draws the exception (traceback.TracebackException.format)."""

    def draw(text: str, depth: int, margin: str = "|") -> str:
        return f"{'  ' * depth}{margin} {text}" if depth else text

    previous: dict[str, Any] = {}
    for stack in reversed([s for s in stacks if isinstance(s, dict)]):
        if previous:
            yield from (draw("", depth), draw(CHAINED[bool(previous.get("is_cause"))], depth), draw("", depth))
        previous = stack
        group = bool(stack.get("is_group")) and isinstance(stack.get("exceptions"), list)
        inner = depth + 1 if group and not depth else depth
        frames = [f for f in stack.get("frames") or () if isinstance(f, dict)]
        if group:
            yield draw("Exception Group " + TRACEBACK, inner, "+" if not depth else "|")
        elif frames:
            yield draw(TRACEBACK, inner)
        for frame in frames:
            yield draw(f'{FILE}{frame.get("filename")}", line {frame.get("lineno")}, in {frame.get("name")}', inner)
        value = stack.get("exc_value")
        yield draw(f"{stack.get('exc_type')}: {value}" if value else str(stack.get("exc_type")), inner)
        for note in stack.get("exc_notes") or ():
            yield draw(str(note), inner)
        if group:
            members = [m for m in stack["exceptions"] if isinstance(m, list)]
            for number, member in enumerate(members, start=1):
                yield f"{'  ' * inner}{'+-' if number == 1 else '  '}+---------------- {number} ----------------"
                yield from _structlog(member, inner + 1)
            if members:
                yield f"{'  ' * (inner + 1)}+------------------------------------"


def prefix_shape(prefix: str) -> re.Pattern[str]:
    """Digits become \\d+ (timestamps, pids), the rest is literal: a match cannot backtrack."""
    return re.compile(_DIGITS.sub(r"\\d+", re.escape(prefix)))


class Prefixes:
    """The per-line prefixes learnt so far (the most recent first, at most MAX_PREFIXES)."""

    def __init__(self) -> None:
        self.shapes: list[re.Pattern[str]] = []

    def strip(self, text: str) -> tuple[re.Pattern[str] | None, str]:
        """(the shape, the text behind it), or (None, text)."""
        for shape in self.shapes:
            match = shape.match(text)
            if match:
                return shape, text[match.end() :]
        return None, text

    def learn(self, prefix: str, before: Iterable[str | None]) -> re.Pattern[str] | None:
        """The shape of `prefix`, seen before a frame line, if a line `before` it (the line
        before, the header of a traceback being read) has it too: a prefix every line carries,
        not another thread's fragment or a log format's start."""
        if not prefix or prefix[0].isspace() or len(prefix) > 256 or any(w in prefix for w in _NOT_PREFIXES):
            return None
        shape = prefix_shape(prefix)
        if not any(line is not None and shape.match(line) for line in before):
            return None
        self.shapes.insert(0, shape)
        del self.shapes[MAX_PREFIXES:]
        return shape


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
