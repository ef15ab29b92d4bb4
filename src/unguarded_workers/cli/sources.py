"""Reading a module the way Python does: bytes, PEP 263 encoding, BOM, parse."""

from __future__ import annotations

import ast
import io
import tokenize
import warnings
from dataclasses import dataclass
from pathlib import Path


class SourceError(Exception):
    """A file that cannot be checked; the message is one line and names the file."""


@dataclass(frozen=True)
class Source:
    display: str  # how reports name the file
    path: Path | None  # None for stdin
    data: bytes  # exactly what was read, to detect a change before writing back
    text: str
    encoding: str  # as tokenize.detect_encoding names it ("utf-8-sig" when there is a BOM)

    def encode(self, text: str) -> bytes:
        return text.encode(self.encoding)


def decode(data: bytes, display: str, path: Path | None = None) -> Source:
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        # Raised for an unknown declared encoding, and for bytes in the first two
        # lines that are not UTF-8 when nothing is declared: say which byte.
        encoding = "utf-8"
        if "invalid or missing encoding declaration" not in str(error.msg):
            raise SourceError(f"{display}: cannot read: {error.msg}") from None
    try:
        text = data.decode(encoding)
    except UnicodeDecodeError as error:
        line = data.count(b"\n", 0, error.start) + 1
        column = error.start - data.rfind(b"\n", 0, error.start)  # 1-based, in bytes
        name = "utf-8" if encoding == "utf-8-sig" else encoding
        raise SourceError(f"{display}:{line}:{column}: not valid {name}: {error.reason}") from None
    return Source(display, path, data, text, encoding)


def read_source(path: Path, display: str | None = None) -> Source:
    shown = display if display is not None else str(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise SourceError(f"{shown}: no such file or directory") from None
    except IsADirectoryError:
        raise SourceError(f"{shown}: is a directory") from None
    except OSError as error:
        raise SourceError(f"{shown}: cannot read: {error.strerror or error}") from None
    return decode(data, shown, path)


def parse(source: Source) -> ast.Module:
    try:
        with warnings.catch_warnings():
            # A SyntaxWarning (say, "invalid escape sequence") is the module's business,
            # not this tool's: printing it would bury the reports.
            warnings.simplefilter("ignore")
            return ast.parse(source.text, filename=source.display)
    except SyntaxError as error:
        where = f"{source.display}:{error.lineno}:{error.offset}" if error.lineno else source.display
        raise SourceError(f"{where}: cannot parse: {error.msg}") from None
    except (ValueError, RecursionError, MemoryError) as error:
        # ValueError: null bytes before 3.12; the others: pathologically nested code.
        raise SourceError(f"{source.display}: cannot parse: {type(error).__name__}: {error}") from None
