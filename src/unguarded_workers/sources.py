"""Reading a module the way Python does: bytes, PEP 263 encoding, BOM, parse."""

from __future__ import annotations

import ast
import codecs
import io
import os
import stat
import tokenize
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .syntax import NewerFeature, newer_feature, running_python


class SourceError(Exception):
    """A file that cannot be checked; the message is one line and names the file (and the
    line and column, 1-based, where they are known: `line` and `column`)."""

    def __init__(self, message: str, line: int | None = None, column: int | None = None) -> None:
        super().__init__(message)
        self.line = line
        self.column = column


class NewerSyntax(SourceError):
    """A module that uses syntax of a Python newer than the running one (`feature`)."""

    def __init__(self, message: str, feature: NewerFeature, line: int | None, column: int | None) -> None:
        super().__init__(message, line, column)
        self.feature = feature


class TooLarge(SourceError):
    """A file over the size limit: skipped, not an error."""


# In text decoded leniently, each byte that is not UTF-8 (Python accepts them in comments)
# stands as "?": one character and one byte, so that columns and offsets stay those of the
# bytes read.
_STRAY_BYTES = dict.fromkeys(range(0xDC80, 0xDD00), "?")


@dataclass(frozen=True)
class Source:
    display: str  # how reports name the file
    path: Path | None  # None for stdin
    data: bytes  # exactly what was read, to detect a change before writing back
    text: str
    encoding: str  # as tokenize.detect_encoding names it ("utf-8-sig" when there is a BOM)

    def splice(self, insertions: Sequence[tuple[int, str]]) -> bytes:
        """The original bytes with each (character offset, text) inserted, in order.

        Every other byte stays as it was read, even where decoding and encoding again would
        not give it back (cp932's `\\xfa\\x5c` encodes again as `\\xed\\x40`).
        Raises SourceError when the result would not read back as the fixed text.
        """
        offsets = self._byte_offsets([offset for offset, _ in insertions])
        piece_encoding = "utf-8" if self.encoding == "utf-8-sig" else self.encoding  # one BOM, at the start
        pieces, done = [], 0
        try:
            for (_, text), at in zip(insertions, offsets):
                pieces += [self.data[done:at], text.encode(piece_encoding)]
                done = at
        except UnicodeEncodeError as error:
            raise SourceError(
                f"{self.display}: the guard cannot be written in {self.encoding}: {error.reason}"
            ) from None
        pieces.append(self.data[done:])
        spliced = b"".join(pieces)
        expected = "".join(_insert(self.text, insertions))
        try:
            reads_back = _decode_as_read(spliced, self.encoding) == expected
        except UnicodeDecodeError:
            reads_back = False
        if not reads_back:  # a stateful encoding (ISO-2022) would read the inserted bytes otherwise
            raise SourceError(f"{self.display}: cannot insert text into {self.encoding} bytes safely")
        return spliced

    def _byte_offsets(self, offsets: Sequence[int]) -> list[int]:
        """The byte index where each (ascending) character offset of the text starts."""
        if self.encoding in ("utf-8", "utf-8-sig"):
            bom = 3 if self.encoding == "utf-8-sig" and self.data.startswith(codecs.BOM_UTF8) else 0
            found, done, position = [], 0, bom
            for offset in offsets:
                position += len(self.text[done:offset].encode("utf-8"))
                done = offset
                found.append(position)
            return found
        # Any other encoding: decode byte by byte, noting where each wanted character starts.
        decoder = codecs.getincrementaldecoder(self.encoding)()
        found, wanted, chars = [], iter(offsets), 0
        target = next(wanted, None)
        for index in range(len(self.data) + 1):
            while target is not None and chars >= target:
                found.append(index)
                target = next(wanted, None)
            if target is None or index == len(self.data):
                break
            chars += len(decoder.decode(self.data[index : index + 1]))
        while target is not None:  # at the very end
            found.append(len(self.data))
            target = next(wanted, None)
        return found


def _insert(text: str, insertions: Sequence[tuple[int, str]]) -> list[str]:
    pieces, done = [], 0
    for offset, inserted in insertions:
        pieces += [text[done:offset], inserted]
        done = offset
    pieces.append(text[done:])
    return pieces


def decode(data: bytes, display: str, path: Path | None = None) -> Source:
    encoding = "utf-8"
    if _may_declare_encoding(data):
        try:
            encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
        except SyntaxError as error:
            # Raised for an unknown declared encoding, and for bytes in the first two
            # lines that are not UTF-8 when nothing is declared: say which byte.
            if "invalid or missing encoding declaration" not in str(error.msg):
                raise SourceError(f"{display}: cannot read: {error.msg}") from None
    try:
        text = _decode_as_read(data, encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - data.rfind(b"\n", 0, error.start)  # 1-based, in bytes
        name = "utf-8" if encoding == "utf-8-sig" else encoding
        raise SourceError(f"{display}:{line}:{column}: not valid {name}: {error.reason}", line, column) from None
    return Source(display, path, data, text, encoding)


def _may_declare_encoding(data: bytes) -> bool:
    """Whether the module starts with a BOM or may declare its encoding (`coding` in its first
    two lines): else it is UTF-8, as `tokenize.detect_encoding` would say (most files; the
    detection is a third of the cost of reading one)."""
    if data.startswith(codecs.BOM_UTF8):
        return True
    first = data.find(b"\n")
    second = data.find(b"\n", first + 1) if first >= 0 else -1
    return b"coding" in (data if second < 0 else data[:second])


def _decode_as_read(data: bytes, encoding: str) -> str:
    """`data` as text, as Python reads it.

    Python's compiler takes bytes that are not UTF-8 in a comment of a UTF-8 module
    (`ast.parse(bytes)`, and the import of a module that declares `coding: utf-8`; 3.9 to
    3.13 alike), and nowhere else: such a module is read with a "?" for each stray byte.
    Raises UnicodeDecodeError for any other module, at the first stray byte on the line
    Python complains about.
    """
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        if encoding not in ("utf-8", "utf-8-sig"):
            raise
        first = error
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(data, "<module>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except SyntaxError as rejected:
        raise _stray_byte_on(data, rejected.lineno) or first from None
    except (ValueError, RecursionError, MemoryError):  # ValueError: a decode error (3.12+)
        raise first from None
    return data.decode(encoding, "surrogateescape").translate(_STRAY_BYTES)


def _stray_byte_on(data: bytes, line: int | None) -> UnicodeDecodeError | None:
    """The error of the first byte that is not UTF-8 on `line` (1-based), if any."""
    if not line:
        return None
    start = 0
    for _ in range(line - 1):
        start = data.find(b"\n", start) + 1
        if not start:
            return None
    end = data.find(b"\n", start)
    try:
        data[start : len(data) if end < 0 else end].decode("utf-8")
    except UnicodeDecodeError as error:
        return UnicodeDecodeError("utf-8", data, start + error.start, start + error.end, error.reason)
    return None


def read_source(path: Path, display: str | None = None, max_size: int = 0) -> Source:
    """The module at `path`; `TooLarge` beyond `max_size` bytes (0: no limit)."""
    shown = display if display is not None else str(path)
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode) and not stat.S_ISDIR(info.st_mode):
            # A FIFO or device named *.py: reading it could block for ever.
            raise SourceError(f"{shown}: not a regular file")
        if max_size and info.st_size > max_size:
            raise TooLarge(too_large(shown, info.st_size, max_size))
        with open(path, "rb") as file:
            data = file.read(max_size + 1) if max_size else file.read()
    except FileNotFoundError:
        raise SourceError(f"{shown}: no such file or directory") from None
    except IsADirectoryError:
        raise SourceError(f"{shown}: is a directory") from None
    except OSError as error:
        raise SourceError(f"{shown}: cannot read: {error.strerror or error}") from None
    if max_size and len(data) > max_size:  # it grew since
        raise TooLarge(too_large(shown, len(data), max_size))
    return decode(data, shown, path)


def too_large(display: str, size: int, limit: int) -> str:
    return f"{display}: {size:,} bytes, over max-file-size ({limit:,}); not checked"


def parse(source: Source) -> ast.Module:
    try:
        with warnings.catch_warnings():
            # A SyntaxWarning (say, "invalid escape sequence") is the module's business,
            # not this tool's: printing it would bury the reports.
            warnings.simplefilter("ignore")
            return ast.parse(source.text, filename=source.display)
    except SyntaxError as error:
        where = f"{source.display}:{error.lineno}:{error.offset}" if error.lineno else source.display
        feature = newer_feature(source.text, error.lineno, str(error.msg))
        if feature is not None:
            needed = feature.version_text
            raise NewerSyntax(
                f"{where}: cannot parse with Python {running_python()}: {feature.what} needs Python {needed}; "
                f"run unguarded-workers under Python {needed} or newer (python{needed} -m unguarded_workers)",
                feature,
                error.lineno,
                error.offset,
            ) from None
        raise SourceError(f"{where}: cannot parse: {error.msg}", error.lineno, error.offset) from None
    except (ValueError, RecursionError, MemoryError) as error:
        # ValueError: null bytes before 3.12; the others: pathologically nested code.
        raise SourceError(f"{source.display}: cannot parse: {type(error).__name__}: {error}") from None
