"""What the guard analysis records about a def a failure can escape from: the evidence a
report's message and confidence are made of, recorded once, while the def is judged."""

from __future__ import annotations

import ast
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .index import FunctionNode
    from .module import ModuleAnalysis

_MAX_QUOTED = 60


@dataclass(frozen=True)
class Uncovered:
    """A statement (or a compound statement's header) that no guard covers.

    `why` completes "line 41: self._flush(batch) ...": "runs outside any try", "is in a try
    whose handler catches only ConnectionError", ..."""

    stmt: ast.stmt
    header: ast.expr | None  # the header expression, when it is the header that can fail
    why: str

    @property
    def node(self) -> ast.AST:
        return self.header if self.header is not None else self.stmt

    def text(self) -> str:
        """The statement as it reads, on one line: `self._flush(batch)`, `while self._poll()`."""
        if self.header is None:
            return quoted(self.stmt)
        keyword = {ast.If: "if", ast.While: "while", ast.For: "for", ast.AsyncFor: "async for"}
        prefix = keyword.get(type(self.stmt))
        header = quoted(self.header)
        if isinstance(self.stmt, (ast.For, ast.AsyncFor)):
            return f"{prefix} {quoted(self.stmt.target)} in {header}"
        if isinstance(self.stmt, (ast.With, ast.AsyncWith)):
            return f"{'async with' if isinstance(self.stmt, ast.AsyncWith) else 'with'} {header}"
        return f"{prefix} {header}" if prefix else header


@dataclass(frozen=True)
class ForeignCall:
    """A call of code the worker was handed: `handler(event)`, `self._on_message(m)`."""

    call: ast.Call
    module: ModuleAnalysis
    what: str  # "the handed-in callable 'handler'", "the callback self._on_message"
    # The def and parameter the called code comes from, when a def hands its own parameter on
    # to the one that calls it (`transition(func=func)` -> `func(*args)`): the caller of that
    # def decides whose code it is.
    through: tuple[FunctionNode, str] | None = None


@dataclass(frozen=True)
class Exposure:
    """How a def lets a failure out; a guarded def has none.

    `first` is the first uncovered statement of the def's own body, in `module` (a waiter's
    signal must come after it); the flags hold for the def and the unguarded defs its
    uncovered statements call."""

    first: Uncovered
    module: ModuleAnalysis
    has_try: bool  # the def holds a try at all: it is guarded, only not enough
    guards_some: bool  # a broad guard holds some of its work (what escapes is at its edges)
    in_loop: bool  # an uncovered statement is inside an unbounded loop
    foreign: ForeignCall | None  # the first uncovered call of handed-in code
    setup_only: bool  # the def has a guarded unbounded loop and nothing inside it is uncovered
    foreign_focus: Uncovered | None = None  # the statement that runs the foreign call
    loop_focus: Uncovered | None = None  # the first statement a long-lived loop dies of
    io_focus: Uncovered | None = None  # the first that does I/O: likely to fail
    # The foreign calls of later uncovered statements, each with its statement: the next one
    # stands in when the first turns out to run the program's own code.
    later_foreign: tuple[tuple[ForeignCall, Uncovered], ...] = ()
    closes_only: bool = False  # every uncovered statement only closes something (`self.r.close()`)
    displays_only: bool = False  # every uncovered statement only writes to a terminal (`display`)

    @property
    def focus(self) -> Uncovered:
        """The statement a report names: the first that runs foreign code, else the first a
        long-lived loop dies of (one that does I/O first), else the first that does I/O, else
        `first` (the evidence, and the likely, before the order of lines)."""
        return self.foreign_focus or self.loop_focus or self.io_focus or self.first

    def named(self, *, waited_on: bool) -> Uncovered:
        """The statement a report names: the focus; with a waiter, the first (the waiter's
        signal comes only after it, and the message says so)."""
        return self.first if waited_on else self.focus

    def without_foreign(self) -> Exposure:
        """The exposure with its foreign call taken for the program's own code (the spawn hands
        the worker a def of the project): the next foreign call, if any, in its place."""
        if self.later_foreign:
            (foreign, focus), *rest = self.later_foreign
            return replace(self, foreign=foreign, foreign_focus=focus, later_foreign=tuple(rest))
        return replace(self, foreign=None, foreign_focus=None)

    def without_loop(self) -> Exposure:
        """The exposure with its unbounded loop taken for one that lives only as long as a call
        (the spawner joins the worker)."""
        return replace(self, in_loop=False, loop_focus=None)


def quoted(node: ast.AST) -> str:
    """Source-like text of a statement (its first line) or expression, on one line, shortened
    to read in a message."""
    try:
        text = ast.unparse(node)
    except (RecursionError, ValueError):
        return type(node).__name__
    text = " ".join(text.splitlines()[0].split()) if text else ""
    return text if len(text) <= _MAX_QUOTED else text[: _MAX_QUOTED - 3] + "..."
