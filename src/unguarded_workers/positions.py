"""ast's positions in a module's text: lines as ast numbers them, UTF-8 byte columns as characters."""

from __future__ import annotations

import re

LINE_END = re.compile(r"\r\n|\r|\n")  # where ast ends lines (not at form feeds)


def character_column(line: str, byte_col: int) -> int:
    """ast's 0-based UTF-8 byte column in `line` as a 0-based character column."""
    return len(line.encode("utf-8")[:byte_col].decode("utf-8", errors="replace"))


class SourceLines:
    """Offsets into `text` for ast's (1-based line, UTF-8 byte column) positions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [match.end() for match in LINE_END.finditer(text)]
        first_end = LINE_END.search(text)
        self.newline = first_end.group() if first_end else "\n"

    def line_text(self, line: int) -> str:
        if not 0 < line <= len(self.starts):
            return ""
        start = self.starts[line - 1]
        end = self.starts[line] if line < len(self.starts) else len(self.text)
        return self.text[start:end]

    def offset(self, line: int, col: int) -> int:
        return self.starts[line - 1] + character_column(self.line_text(line), col)

    def line_start(self, line: int) -> int:
        return self.starts[line - 1] if line <= len(self.starts) else len(self.text)
