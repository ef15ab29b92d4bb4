"""``# noqa`` comments, read exactly as flake8 reads them."""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings
from collections.abc import Sequence

from .positions import SourceLines

# flake8's NOQA_INLINE_REGEXP: the bare comment silences every code on the line;
# followed by a colon and codes, only the listed codes and code prefixes.
_NOQA = re.compile(r"# noqa(?::[\s]?(?P<codes>([A-Z]+[0-9]+(?:[,\s]+)?)+))?", re.IGNORECASE)
_SEPARATOR = re.compile(r"[,\s]")
# flake8's NOQA_FILE: a line starting with this comment silences the whole file.
_NOQA_FILE = re.compile(r"\s*# flake8[:=]\s*noqa", re.IGNORECASE)


def _comment_lines(lines: Sequence[str]) -> dict[int, str]:
    """Line number -> the text searched for noqa: the line, or for a token spanning
    lines (a triple-quoted string) all the lines of it, as flake8 joins them."""
    mapping: dict[int, str] = {}
    first, last = len(lines) + 2, -1
    try:
        for token in tokenize.generate_tokens(iter(lines).__next__):
            if token.type in (tokenize.ENDMARKER, tokenize.DEDENT):
                continue
            first, last = min(first, token.start[0]), max(last, token.end[0])
            if token.type in (tokenize.NL, tokenize.NEWLINE):
                joined = "".join(lines[first - 1 : last])
                mapping.update(dict.fromkeys(range(first, last + 1), joined))
                first, last = len(lines) + 2, -1
    except (tokenize.TokenError, SyntaxError):
        return {}
    return mapping


class NoqaFilter:
    def __init__(self, text: str) -> None:
        # Universal newlines, as flake8 reads files (str.splitlines would also split
        # at form feeds and other separators Python does not end lines at).
        self._lines = io.StringIO(text, newline=None).readlines()
        self._mapping: dict[int, str] | None = None
        # Tokenizing is the slow part; most files have no such comment at all.
        self._any = _NOQA.search(text) is not None
        self._whole_file = "flake8" in text and any(_NOQA_FILE.match(line) for line in self._lines)

    def silenced(self, code: str, line: int) -> bool:
        if self._whole_file:
            return True
        if not self._any:
            return False
        if self._mapping is None:
            self._mapping = _comment_lines(self._lines)
        searched = self._mapping.get(line)
        if searched is None:
            searched = self._lines[line - 1] if 0 < line <= len(self._lines) else ""
        match = _NOQA.search(searched)
        if match is None:
            return False
        codes = match.group("codes")
        if codes is None:
            return True
        listed = tuple(code for code in _SEPARATOR.split(codes) if code)
        return code.startswith(listed)


# An existing list of codes after noqa and a colon, which adding a code extends.
_NOQA_LIST = re.compile(r"#\s*noqa:\s*[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*", re.IGNORECASE)


def noqa_insertion(lines: SourceLines, line: int, codes: Sequence[str]) -> tuple[int, str] | None:
    """Where and what to insert in `lines.text` so that `line` is silenced for `codes`: after
    the line's existing `# noqa:` list, or a new `  # noqa: CODES` at its end (other comments
    kept). None when no comment can go there: the code would change (the line ends inside a
    multi-line string) or flake8 would not read it as silencing that line."""
    text = lines.text
    body = lines.line_text(line).rstrip("\r\n")
    existing = _NOQA_LIST.search(body)
    if existing is not None:
        offset, inserted = lines.line_start(line) + existing.end(), "".join(f",{code}" for code in codes)
    else:
        offset, inserted = lines.line_start(line) + len(body), f"  # noqa: {','.join(codes)}"
    new_text = text[:offset] + inserted + text[offset:]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if ast.dump(ast.parse(new_text)) != ast.dump(ast.parse(text)):
                return None
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    noqa = NoqaFilter(new_text)
    return (offset, inserted) if all(noqa.silenced(code, line) for code in codes) else None
