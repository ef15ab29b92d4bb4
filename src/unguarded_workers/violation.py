"""What the analysis reports: enough for flake8, the CLI and the autofix alike."""

from __future__ import annotations

from dataclasses import dataclass

from .codes import Code


@dataclass(frozen=True, order=True)
class SourceRange:
    """A span as :mod:`ast` gives it: 1-based lines, 0-based UTF-8 byte columns."""

    line: int
    col: int
    end_line: int
    end_col: int


@dataclass(frozen=True)
class Violation:
    """One unguarded spawn.

    ``line``/``col`` locate the report (the spawn call, or ``def run``) the way
    flake8 expects them from a plugin: 1-based line, 0-based column.
    ``target`` is the expression the autofix wraps in a guard, or for UW102 the
    ``def run`` statement it decorates; ``target_fingerprint`` is that expression's
    structural fingerprint, for the autofix to confirm the text at the range is it.
    """

    code: Code
    line: int
    col: int
    message: str
    spawner: str  # what started the worker, e.g. "threading.Thread" or ".submit"
    target: SourceRange
    target_fingerprint: str | None = None
    # Why guarding this site could change what working code does; None for a safe fix.
    unsafe_fix: str | None = None

    def flake8_text(self) -> str:
        return f"{self.code.code} {self.message}"
