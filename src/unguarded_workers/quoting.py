"""File names and messages shown on one line of a terminal or a log.

A file name may hold any character but `/` and NUL: a newline would split a report line,
an escape sequence would drive the terminal, and a byte that is not text (kept by Python as
a lone surrogate) cannot even be printed. `quoted` shows such a name as git does (its
`core.quotePath` rule): in double quotes, with C escapes (`\\n`, `\\t`, `\\"`, `\\\\`) and
octal ones for other control characters and for bytes (`\\033`, `\\377`), a form patch tools
read back. Other names are shown as they are.
"""

from __future__ import annotations

import re

# C0 and C1 control characters, DEL, and the surrogates Python decodes stray bytes to.
_UNPRINTABLE = re.compile("[\x00-\x1f\x7f-\x9f\ud800-\udfff]")
_NEEDS_QUOTES = re.compile('[\x00-\x1f\x7f-\x9f\ud800-\udfff"]')
_C_ESCAPES = {"\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f", "\r": "\\r"}
_QUOTED_ESCAPES = {**_C_ESCAPES, '"': '\\"', "\\": "\\\\"}


def _octal(char: str) -> str:
    # A byte that was not UTF-8 is shown as that byte.
    data = char.encode("utf-8", "surrogateescape" if "\udc80" <= char <= "\udcff" else "surrogatepass")
    return "".join(f"\\{byte:03o}" for byte in data)


def quoted(name: str) -> str:
    """`name` as it is, or in double quotes with escapes if it holds a control character,
    a byte that is not text or a double quote."""
    if not _NEEDS_QUOTES.search(name):
        return name
    return '"' + re.sub(r'[\x00-\x1f\x7f-\x9f\ud800-\udfff"\\]', _escape_quoted, name) + '"'


def _escape_quoted(match: re.Match[str]) -> str:
    char = match.group()
    return _QUOTED_ESCAPES.get(char) or _octal(char)


def escaped(text: str) -> str:
    """`text` with its control characters and stray bytes escaped (a message, on one line)."""
    if not _UNPRINTABLE.search(text):
        return text
    return _UNPRINTABLE.sub(lambda match: _C_ESCAPES.get(match.group()) or _octal(match.group()), text)
