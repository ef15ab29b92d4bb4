"""Syntax newer than the running interpreter's: which feature a module that does not parse
uses, and the Python it needs.

The check parses with the interpreter it runs under (`ast`), so a module of a project that
targets a newer Python cannot be read: `match` on 3.9, PEP 695's `type X = ...` on 3.11,
`except A, B:` before 3.14. When the parse fails, the lines around the error are compared
with the shapes of each newer feature; a match names it, so that the user learns which
Python to run the tool under, instead of "invalid syntax".

Measured before choosing to say so rather than read such modules another way: libcst's
native parser (already a dependency, for `fix`) reads all of these, but took 7.1 times
`ast`'s time on 60 modules of the standard library (47k lines: 1.92 s against 0.27 s), and
its tree is not the one the analysis reads: every module would pay for a conversion, or the
analysis would need a second implementation. The interpreter the project targets reads them
at `ast`'s speed; the message names it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class NewerFeature:
    what: str  # "a `match` statement"
    version: tuple[int, int]  # the Python that reads it first

    @property
    def version_text(self) -> str:
        return f"{self.version[0]}.{self.version[1]}"


_Detector = Callable[[Sequence[str], int, str], bool]

_MATCH = re.compile(r"\s*match\b(?!\s*[=.,)\]:(])")
_CASE = re.compile(r"\s*case\b(?!\s*[=.,)\]:(])")
_EXCEPT_STAR = re.compile(r"\s*except\s*\*")
_STARRED_SUBSCRIPT = re.compile(r"[\w\])]\s*\[[^\]]*?\*\s*[A-Za-z_(]|\*\s*\w+\s*:\s*\*\s*[A-Za-z_]")
_TYPE_ALIAS = re.compile(r"\s*type\s+[A-Za-z_]\w*\s*(?:\[.*\])?\s*=")
_TYPE_PARAMS = re.compile(r"\s*(?:(?:async\s+)?def|class)\s+[A-Za-z_]\w*\s*\[")
_TYPE_PARAM_DEFAULT = re.compile(r"\s*(?:(?:async\s+)?def|class|type)\s+[A-Za-z_]\w*\s*\[[^\]]*=")
_EXCEPT_WITHOUT_PARENTHESES = re.compile(r"\s*except\*?\s+(?!\()[^:#]*,[^:#]*:")
_TEMPLATE_STRING = re.compile(r"""(?<![\w.])(?:[tT][rR]?|[rR][tT])(?:'|")""")
_F_STRING_START = re.compile(r"""(?<![\w.])(?:[fF][rR]?|[rR][fF])('''|\"\"\"|'|")""")


def _match_statement(lines: Sequence[str], index: int, message: str) -> bool:
    for at in range(max(0, index - 1), min(len(lines), index + 2)):
        if _MATCH.match(lines[at]) and lines[at].rstrip().endswith(":"):
            following = next((line for line in lines[at + 1 :] if line.strip()), "")
            if _CASE.match(following):
                return True
    return False


def _near(pattern: re.Pattern[str]) -> _Detector:
    def detect(lines: Sequence[str], index: int, message: str) -> bool:
        return any(pattern.match(line) for line in lines[max(0, index - 1) : index + 2])

    return detect


def _on_line(pattern: re.Pattern[str]) -> _Detector:
    def detect(lines: Sequence[str], index: int, message: str) -> bool:
        return index < len(lines) and pattern.search(lines[index]) is not None

    return detect


def _pep_701(lines: Sequence[str], index: int, message: str) -> bool:
    """An f-string whose replacement field holds its own quote, a backslash or a comment:
    Python 3.12 reads them (PEP 701); older ones say "f-string: ..."."""
    if "f-string" not in message or index >= len(lines):
        return False
    line = lines[index]
    return any(_field_uses_pep_701(line, found.end(), found.group(1)) for found in _F_STRING_START.finditer(line))


def _field_uses_pep_701(line: str, position: int, quote: str) -> bool:
    depth = 0
    while position < len(line):
        char = line[position]
        if depth == 0:
            if line.startswith(quote, position):
                return False  # the f-string ends
            if line.startswith("{{", position) or char == "\\":
                position += 2  # an escaped brace or character of the literal part
                continue
            depth += char == "{"
        elif line.startswith(quote, position) or char in "\\#":
            return True
        elif char in "{}":
            depth += 1 if char == "{" else -1
        position += 1
    return False


# Newest first: a module with several newer features needs the newest of them.
_FEATURES: tuple[tuple[NewerFeature, _Detector], ...] = (
    (NewerFeature("`except A, B:` without parentheses (PEP 758)", (3, 14)), _near(_EXCEPT_WITHOUT_PARENTHESES)),
    (NewerFeature("a template string, t'...' (PEP 750)", (3, 14)), _on_line(_TEMPLATE_STRING)),
    (NewerFeature("a type parameter default (PEP 696)", (3, 13)), _near(_TYPE_PARAM_DEFAULT)),
    (NewerFeature("a type parameter list (PEP 695)", (3, 12)), _near(_TYPE_PARAMS)),
    (NewerFeature("a `type` statement (PEP 695)", (3, 12)), _near(_TYPE_ALIAS)),
    (NewerFeature("an f-string that holds its own quotes, a backslash or a comment (PEP 701)", (3, 12)), _pep_701),
    (NewerFeature("`except*` (PEP 654)", (3, 11)), _near(_EXCEPT_STAR)),
    (
        NewerFeature("a starred expression in a subscript or annotation (PEP 646)", (3, 11)),
        _on_line(_STARRED_SUBSCRIPT),
    ),
    (NewerFeature("a `match` statement (PEP 634)", (3, 10)), _match_statement),
)


def newer_feature(
    text: str, line: int | None, message: str, running: tuple[int, int] = sys.version_info[:2]
) -> NewerFeature | None:
    """The newer feature the module uses where it does not parse (`line`, 1-based, and the
    parser's `message`), if one this interpreter (`running`) does not read explains it."""
    if not line:
        return None
    lines = text.splitlines()
    index = line - 1
    for feature, detect in _FEATURES:
        if feature.version > running and detect(lines, index, message):
            return feature
    return None


def running_python() -> str:
    return ".".join(map(str, sys.version_info[:3]))
