"""What the analysis reports: enough for flake8, the CLI, the editor server and the autofix alike."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from .codes import Code


class Confidence(enum.IntEnum):
    """How sure the analysis is that a senior engineer on the project would act on a report,
    from the evidence it found (see the rule pages' "with which confidence?")."""

    LOW = 1
    MEDIUM = 2
    HIGH = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, value: str) -> Confidence:
        """`high`, `medium` or `low`; raises ValueError for anything else."""
        try:
            return cls[value.strip().upper()]
        except KeyError:
            raise ValueError(value) from None


CONFIDENCE_CHOICES = tuple(level.label for level in sorted(Confidence, reverse=True))


class Evidence(enum.Enum):
    """What the analysis found that a report's confidence rests on; JSON and SARIF list them."""

    WAITER = "waiter"  # someone waits for a signal the worker gives only after the failing line
    FOREIGN = "foreign-code"  # the failing line runs code the worker was handed (a callback, a hook)
    LOOP = "long-lived-loop"  # the failing line is inside the worker's unbounded loop
    LOST = "lost"  # nothing will ever read or print the failure (an executor's discarded future)
    SETUP = "setup-only"  # only statements outside a guarded loop can fail: at start-up
    CLOSING = "closes-only"  # only closing something can fail (a fire-and-forget close)
    DISPLAY = "display-only"  # only writing to a terminal can fail (a spinner's frame)
    # A thread or process: its traceback reaches stderr; a dropped asyncio task or future: its
    # failure reaches asyncio's log. Either way the program learns nothing.
    PRINTED = "printed"
    HELD = "held"  # a task held but never read: logged only when its holder lets it go
    GROUP = "group-child"  # a task-group child: its failure cancels its siblings, by design
    UNINSPECTED = "uninspected"  # the target could not be inspected


@dataclass(frozen=True, order=True)
class SourceRange:
    """A span as :mod:`ast` gives it: 1-based lines, 0-based UTF-8 byte columns."""

    line: int
    col: int
    end_line: int
    end_col: int


@dataclass(frozen=True)
class Related:
    """A place that explains a report: the statement the guard does not cover, the waiter.

    `path` is None for the reported module itself, else the file that holds it (a worker
    imported from another module of the project)."""

    range: SourceRange
    message: str
    path: str | None = None


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
    confidence: Confidence = Confidence.HIGH
    evidence: tuple[Evidence, ...] = ()
    related: tuple[Related, ...] = ()
    # Where the reported code ends (the spawn call's closing parenthesis), as ast gives it:
    # for the end positions of SARIF, GitHub and the editor. None for UW102, whose report
    # covers the `def run` header (reports find its end in the line's text).
    end_line: int | None = None
    end_col: int | None = None

    def flake8_text(self, *, show_confidence: bool = False) -> str:
        """`UW101 message`, with `[medium]` after the code when asked (a setting below high)."""
        shown = f" [{self.confidence.label}]" if show_confidence else ""
        return f"{self.code.code}{shown} {self.message}"
