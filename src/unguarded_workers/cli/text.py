"""The formats for people: `text` (flake8's), `concise`, `grouped`, `full` (ruff's) and
`pylint`. Each is written file by file as the run goes, coloured on a terminal.

    text      m.py:9:1: UW101 thread target 'work' has no try/except guard: ...
    concise   m.py:9:1: UW101 [*] thread target 'work' has no try/except guard: ...
    grouped   m.py:
                9:1  UW101 [*] thread target 'work' has no try/except guard: ...
    full      the concise line, then the code it points at and the places it names
    pylint    m.py:9: [UW101] thread target 'work' has no try/except guard: ...

`[*]`: `unguarded-workers fix` guards it (a safe fix). Columns count characters, except in
`text`, which counts UTF-8 bytes as flake8 does. Below the default confidence each line says
its own (`UW101 [medium] ...`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..codes import Code
from ..quoting import escaped, quoted
from .colour import PLAIN, Palette
from .engine import FileOutcome, Finding

# The most lines of code `full` shows of one report (a long call is cut in the middle).
_SHOWN_LINES = 6


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


@dataclass(frozen=True)
class TextStyle:
    show_confidence: bool = False  # a setting below high: each line says its confidence
    palette: Palette = PLAIN


def _where(outcome: FileOutcome, palette: Palette, *numbers: int) -> str:
    colon = palette.separator()
    return colon.join([palette.path(quoted(outcome.display)), *map(str, numbers)]) + colon


def _head(finding: Finding, style: TextStyle, *, fixable: bool = True) -> str:
    """`UW101 [medium] [*]`: the code, the confidence when shown, whether `fix` guards it."""
    violation, palette = finding.violation, style.palette
    parts = [palette.code(violation.code.code)]
    if style.show_confidence:
        parts.append(palette.confidence(violation.confidence.label))
    if fixable and finding.fixable:
        parts.append(palette.fixable())
    return " ".join(parts)


def text(outcomes: Sequence[FileOutcome], style: TextStyle = TextStyle()) -> str:
    """flake8's default format; its column is ast's (UTF-8 bytes) plus one. A name with a control
    character is quoted, so that each report stays one line."""
    return "".join(
        f"{_where(o, style.palette, f.violation.line, f.violation.col + 1)} "
        f"{_head(f, style, fixable=False)} {escaped(f.violation.message)}\n"
        for o in outcomes
        for f in o.findings
    )


def concise(outcomes: Sequence[FileOutcome], style: TextStyle = TextStyle()) -> str:
    return "".join(_concise_line(o, f, style) for o in outcomes for f in o.findings)


def _concise_line(outcome: FileOutcome, finding: Finding, style: TextStyle) -> str:
    where = _where(outcome, style.palette, finding.violation.line, finding.column)
    return f"{where} {_head(finding, style)} {escaped(finding.violation.message)}\n"


def grouped(outcomes: Sequence[FileOutcome], style: TextStyle = TextStyle()) -> str:
    """Each file's name once, then its reports, `line:column` aligned; a blank line after each file."""
    blocks = []
    palette = style.palette
    for outcome in outcomes:
        if not outcome.findings:
            continue
        places = [f"{f.violation.line}:{f.column}" for f in outcome.findings]
        width = max(map(len, places))
        lines = [f"{palette.path(quoted(outcome.display))}{palette.separator()}\n"]
        for place, finding in zip(places, outcome.findings):
            head = _head(finding, style)
            lines.append(f"  {place.ljust(width)}  {head} {escaped(finding.violation.message)}\n")
        blocks.append("".join(lines) + "\n")
    return "".join(blocks)


def full(outcomes: Sequence[FileOutcome], style: TextStyle = TextStyle()) -> str:
    """The concise line, then the code it points at, underlined, and the places its message
    names (the statement the guard does not cover, the waiter), one `= note:` each."""
    blocks = []
    for outcome in outcomes:
        for finding in outcome.findings:
            blocks.append(_concise_line(outcome, finding, style) + _snippet(finding, style.palette) + "\n")
    return "".join(blocks)


def _snippet(finding: Finding, palette: Palette) -> str:
    first = finding.violation.line
    numbers = list(range(first, first + len(finding.lines)))
    shown = list(zip(numbers, finding.lines))
    if len(shown) > _SHOWN_LINES:
        shown = [*shown[: _SHOWN_LINES - 2], (0, "..."), shown[-1]]
    width = len(str(numbers[-1])) if numbers else 1
    gutter = palette.separator(" " * width + " |")
    lines = [gutter + "\n"]
    for number, line in shown:
        label = str(number).rjust(width) if number else " " * width
        lines.append(f"{palette.separator(label + ' |')} {escaped(line.expandtabs(4))}\n")
        if number == first:
            start = finding.column - 1
            end = finding.end_column - 1 if finding.end_line == first else len(line)
            marks = palette.paint("^" * max(1, end - start), "bold", "red")
            lines.append(f"{gutter} {' ' * len(line[:start].expandtabs(4))}{marks}\n")
    for place in finding.related:
        where = f"{quoted(place.path)}:{place.line}:{place.column}"
        lines.append(f"{' ' * width} {palette.separator('=')} note: {where}: {escaped(place.message)}\n")
    return "".join(lines)


def pylint(outcomes: Sequence[FileOutcome], style: TextStyle = TextStyle()) -> str:
    """pylint's parseable format, as ruff writes it: `path:line: [CODE] message`."""
    palette = style.palette
    return "".join(
        f"{_where(o, palette, f.violation.line)} [{palette.code(f.violation.code.code)}] "
        f"{escaped(f.violation.message)}\n"
        for o in outcomes
        for f in o.findings
    )


def statistics(outcomes: Sequence[FileOutcome]) -> str:
    """The findings per code, most first, as flake8's and ruff's --statistics count them."""
    counts: dict[Code, int] = {}
    for outcome in outcomes:
        for finding in outcome.findings:
            counts[finding.violation.code] = counts.get(finding.violation.code, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0].code))
    return "".join(f"{count:<6}{code.code} {code.name}\n" for code, count in ordered)


TextFormat = Callable[[Sequence[FileOutcome], TextStyle], str]
TEXT_FORMATS: dict[str, TextFormat] = {
    "text": text,
    "concise": concise,
    "grouped": grouped,
    "full": full,
    "pylint": pylint,
}
