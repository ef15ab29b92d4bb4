"""The server's stdin, read frame by frame: only well-formed JSON-RPC messages reach pygls.

The base protocol frames each message with header lines (`Content-Length: N`, ended by an
empty line) and N bytes of JSON. pygls reads that stream trusting it: one header it cannot
read (`Content-Length: abc`) and it takes each following body for header lines, for good;
a body that is not a JSON-RPC message costs a traceback on stderr. `Frames` stands between
stdin and pygls (which only calls `readline` and `read`): it passes each good message on as
a clean frame, says in one line why it drops a bad one, and finds the next message's
header again after a frame whose length it cannot know.
"""

from __future__ import annotations

import json
import logging
from typing import BinaryIO

logger = logging.getLogger(__name__)

HEADER = b"content-length:"
# A larger length is a broken header, not a message: no buffer of an editor is this large.
MAX_LENGTH = 1 << 30


def _shown(data: bytes) -> str:
    text = repr(data)[2:-1]  # escaped: the log line stays one line
    return text if len(text) <= 60 else text[:57] + "..."


class Frames:
    """A file-like reader over `raw` that yields only well-formed messages' frames."""

    def __init__(self, raw: BinaryIO) -> None:
        self._raw = raw
        self._frame = b""  # what pygls has yet to read of the current good frame
        self._ahead = b""  # read from `raw`, not yet looked at: the start of a header

    # -- what pygls calls -------------------------------------------------------------

    def readline(self, size: int = -1) -> bytes:
        if not self._frame:
            self._frame = self._next_frame()
        end = self._frame.find(b"\n") + 1 or len(self._frame)
        line, self._frame = self._frame[:end], self._frame[end:]
        return line

    def read(self, size: int = -1) -> bytes:
        if not self._frame:
            self._frame = self._next_frame()
        size = len(self._frame) if size < 0 else size
        data, self._frame = self._frame[:size], self._frame[size:]
        return data

    # -- the frames -----------------------------------------------------------------------

    def _next_frame(self) -> bytes:
        """The next good message as `Content-Length: N` + empty line + body; b"" at the end."""
        while True:
            block = self._header_block()
            if block is None:
                return b""
            lengths, garbage = block
            problem = _length_problem(lengths)
            if problem is not None:
                logger.warning("ignored a message: %s%s", problem, _garbage_note(garbage))
                self._skip_to_header()  # the body's end is unknown: find the next header
                continue
            length = int(lengths[0])
            body = self._read_exactly(length)
            if len(body) < length:
                return b""  # the stream ended inside the body
            problem = _body_problem(body)
            if problem is not None:
                logger.warning("ignored a message: %s%s", problem, _garbage_note(garbage))
                continue
            if garbage:
                logger.warning("ignored header lines that are not 'Name: value': %s", _garbage_list(garbage))
            return b"Content-Length: %d\r\n\r\n%b" % (length, body)

    def _line(self) -> bytes:
        if self._ahead:
            line, self._ahead = self._ahead, b""
            return line
        return self._raw.readline()

    def _header_block(self) -> tuple[list[bytes], list[bytes]] | None:
        """The Content-Length values and the lines that are not headers, up to the empty
        line that ends the header; None at the end of the stream."""
        lengths: list[bytes] = []
        garbage: list[bytes] = []
        started = False
        while True:
            line = self._line()
            if not line:
                return None
            content = line.rstrip(b"\r\n")
            if not content.strip():
                if started:
                    return lengths, garbage
                continue  # blank lines between messages
            started = True
            at = content.lower().find(HEADER)
            if at > 0:  # glued to what came before (a body of unknown length)
                garbage.append(content[:at])
                content = content[at:]
            name, colon, value = content.partition(b":")
            if not colon or not name.strip() or name != name.strip():
                garbage.append(content)
            elif name.lower() == b"content-length":
                lengths.append(value.strip())

    def _skip_to_header(self) -> None:
        """Drop everything up to the next line that holds a Content-Length header."""
        while True:
            line = self._line()
            if not line:
                return
            at = line.lower().find(HEADER)
            if at >= 0:
                self._ahead = line[at:]
                return

    def _read_exactly(self, length: int) -> bytes:
        chunks, left = [], length
        while left:
            chunk = self._raw.read(left)
            if not chunk:
                break
            chunks.append(chunk)
            left -= len(chunk)
        return b"".join(chunks)


def _length_problem(lengths: list[bytes]) -> str | None:
    if not lengths:
        return "its header has no Content-Length"
    if len(set(lengths)) > 1:
        return f"its header has {len(lengths)} different Content-Length values"
    value = lengths[0]
    if not value.isdigit():
        return f"Content-Length '{_shown(value)}' is not a number of bytes"
    if len(value) > 10 or int(value) > MAX_LENGTH:
        return f"Content-Length {_shown(value)} is beyond any message"
    return None


def _body_problem(body: bytes) -> str | None:
    try:
        message = json.loads(body)
    except ValueError as error:  # UnicodeDecodeError included
        return f"its body is not JSON ({error}): '{_shown(body)}'"
    if not isinstance(message, dict):
        return f"its body is a JSON {type(message).__name__}, not a JSON-RPC message: '{_shown(body)}'"
    if message.get("jsonrpc") != "2.0":
        return f'its body is not a JSON-RPC 2.0 message (no "jsonrpc": "2.0"): \'{_shown(body)}\''
    is_call = isinstance(message.get("method"), str)
    is_answer = "id" in message and ("result" in message or "error" in message)
    if not (is_call or is_answer):
        return f"its body is neither a request, a notification nor a response: '{_shown(body)}'"
    return None


def _garbage_note(garbage: list[bytes]) -> str:
    return f"; and header lines that are not 'Name: value': {_garbage_list(garbage)}" if garbage else ""


def _garbage_list(garbage: list[bytes]) -> str:
    return ", ".join(f"'{_shown(line)}'" for line in garbage[:3]) + (", ..." if len(garbage) > 3 else "")
