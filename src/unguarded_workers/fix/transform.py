"""Insert the guard at each site, leaving every other byte of the module as it was.

A fix only ever inserts text: ``wrap(`` and ``)`` around a target expression, an
``@wrap`` line above a ``def run``, and the import. The sites are located with the
ast positions the check already computed, so the module is not parsed again as a
whole: libcst confirms each target is one expression and adds the import to the
module's head, both on small slices of the file. (Running libcst over whole modules,
with its AddImportsVisitor, cost 16x a check on the standard library.)
"""

from __future__ import annotations

import ast
import bisect
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

from ..codes import UW102
from ..config import GuardRef
from ..fingerprint import fingerprint
from ..positions import SourceLines
from ..violation import Violation
from .imports import add_to_existing, place_import
from .names import GuardName, choose_guard_name, is_guard_module

MISPLACED_TARGET = (
    "the text at the target's position is not the target (Python 3.9 misplaces expressions in multi-line f-strings)"
)


def unsafe_reason(violation: Violation) -> str:
    return f"unsafe fix ({violation.unsafe_fix}): enable with --unsafe-fixes"


@dataclass
class FixResult:
    text: str
    fixed: list[Violation] = field(default_factory=list)
    left: list[tuple[Violation, str]] = field(default_factory=list)
    # (offset in the original text, text inserted there), in order: the whole change.
    insertions: list[tuple[int, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Insertion:
    offset: int
    text: str
    # At one offset, closing text goes before opening text; among openers the
    # outer site (the longer span) goes first, among closers the inner one.
    order: tuple[int, int]


def _is_the_target(segment: str, target_fingerprint: str | None) -> bool:
    """Whether the text at the target's range is that very expression.

    Python 3.9's ast gives wrong columns inside multi-line f-strings: the range can land
    on other text of the literal, which wrapping would corrupt.
    """
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = ast.parse(f"({segment})", mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return target_fingerprint is None or fingerprint(parsed) == target_fingerprint


def _site_insertions(lines: SourceLines, violation: Violation, guard: str, tree: ast.Module) -> list[_Insertion] | str:
    """The text to insert for one site, or why it cannot be fixed."""
    target = violation.target
    if violation.code is UW102:
        line = lines.line_text(target.line)
        indent = line[: len(line) - len(line.lstrip(" \t"))]
        # Above the decorators already there: the guard is the outermost wrapper.
        first_line = _first_decorator_line(tree, target.line, target.col)
        return [_Insertion(lines.line_start(first_line), f"{indent}@{guard}{lines.newline}", (1, 0))]
    start = lines.offset(target.line, target.col)
    end = lines.offset(target.end_line, target.end_col)
    if not _is_the_target(lines.text[start:end], violation.target_fingerprint):
        return MISPLACED_TARGET
    span = end - start
    return [_Insertion(start, f"{guard}(", (1, -span)), _Insertion(end, ")", (0, span))]


def _first_decorator_line(tree: ast.Module, line: int, col: int) -> int:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (node.lineno, node.col_offset) == (line, col):
            return min([line, *(decorator.lineno for decorator in node.decorator_list)])
    return line


def _apply(text: str, insertions: Sequence[_Insertion]) -> str:
    """`text` with the insertions, given in order, in place."""
    pieces = []
    done = 0
    for insertion in insertions:
        pieces.append(text[done : insertion.offset])
        pieces.append(insertion.text)
        done = insertion.offset
    pieces.append(text[done:])
    return "".join(pieces)


def _leading_statements_end(tree: ast.Module, lines: SourceLines) -> int:
    """Where the module's head ends: after its docstring, __future__ and other imports
    at the top (whole lines), or before its first statement if it has none of these."""
    head: list[ast.stmt] = []
    for index, node in enumerate(tree.body):
        docstring = index == 0 and isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
        if not (docstring or isinstance(node, (ast.Import, ast.ImportFrom))):
            break
        head.append(node)
    rest = tree.body[len(head) :]
    # The head must end at a line end: drop statements sharing a line with what follows.
    while head and rest and _first_line(rest[0]) <= (head[-1].end_lineno or head[-1].lineno):
        rest.insert(0, head.pop())
    if head:
        end_line = head[-1].end_lineno or head[-1].lineno
        return lines.line_start(end_line + 1)
    return lines.line_start(_first_line(rest[0])) if rest else len(lines.text)


def _first_line(node: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", [])
    return min([node.lineno, *(decorator.lineno for decorator in decorators)])


def _import_insertion(
    text: str, tree: ast.Module, *, lines: SourceLines, end: int, guard: GuardRef, name: GuardName, path: str | None
) -> _Insertion | None:
    """The guard's import: among the module's leading imports where isort would sort it,
    or as the last statement of the module's head.

    For the head's end, libcst parses the head alone (docstring, __future__ and other
    leading imports, or the comments before the first statement) and regenerates it with the
    import appended; the rest of the module is not parsed again. `end` is where the head ends.
    libcst gives a parsed head back byte for byte, so the import is what follows it.
    """
    alias = f" as {name.asname}" if name.asname else ""
    line = f"from {guard.module} import {guard.name}{alias}"
    head = [node for node in tree.body if (node.end_lineno or node.lineno) <= _line_of(lines, end)]
    starts = [*lines.starts, len(text)]
    if name.asname is None:
        joined = add_to_existing(head, text, starts, guard.module, guard.name, newline=lines.newline)
        if joined is not None:  # `from M import a` becomes `from M import a, wrap`, as isort merges them
            return _Insertion(*joined, (-1, 0))
    placed = place_import(head, starts, lines.newline, guard.module, path)
    if placed is not None:
        text_inserted = f"{placed.before}{line}{lines.newline}{placed.after}"
        return _Insertion(placed.offset, text_inserted, (-1, 0))  # before a site's text at the same offset
    head_text = text[:end]
    module = cst.parse_module(head_text, config=cst.PartialParserConfig(default_newline=lines.newline))
    statement = cst.parse_statement(f"{line}\n", module.config_for_parsing)
    new_head = module.with_changes(body=[*module.body, statement]).code
    if end < len(text) and not new_head.endswith(("\n", "\r")):
        new_head += lines.newline
    if not new_head.startswith(head_text):
        return None
    return _Insertion(end, new_head[len(head_text) :], (-1, 0))


def _line_of(lines: SourceLines, offset: int) -> int:
    """The number of the last whole line before `offset`."""
    return bisect.bisect_right(lines.starts, offset) - 1


def fix_module(
    text: str,
    tree: ast.Module,
    violations: Sequence[Violation],
    guard: GuardRef,
    *,
    unsafe: bool,
    path: str | None = None,
) -> FixResult:
    """`text` with the guard inserted at each violation's site (only safe fixes unless `unsafe`).

    `tree` is `text` parsed by :mod:`ast`, the violations are the check's for it, and
    `path` is the file's (None for stdin).
    """
    result = FixResult(text)
    if is_guard_module(path, guard):
        # Importing the guard here would be circular, and the check cannot tell a local
        # def from the configured guard: a second run would report the fixed sites.
        reason = f"this file is {guard.module}, which defines the guard: guard these by hand"
        result.left.extend((violation, reason) for violation in violations)
        return result
    name = choose_guard_name(tree, guard, text)
    lines = SourceLines(text)
    insertions: list[_Insertion] = []
    for violation in violations:
        if violation.unsafe_fix is not None and not unsafe:
            result.left.append((violation, unsafe_reason(violation)))
            continue
        site = _site_insertions(lines, violation, name.name, tree)
        if isinstance(site, str):
            result.left.append((violation, site))
        else:
            insertions.extend(site)
            result.fixed.append(violation)
    head_end = _leading_statements_end(tree, lines)
    if any(insertion.offset < head_end for insertion in insertions):  # a spawn among the imports?
        result.left.extend((v, "the site is inside the module's import block (please report)") for v in result.fixed)
        result.fixed = []
        return result
    if not insertions:
        return result
    if name.needs_import:
        imported = _import_insertion(text, tree, lines=lines, end=head_end, guard=guard, name=name, path=path)
        if imported is None:
            result.left.extend((v, "the import could not be placed (please report)") for v in result.fixed)
            result.fixed = []
            return result
        insertions.append(imported)
    ordered = sorted(insertions, key=lambda i: (i.offset, i.order))
    fixed_text = _apply(text, ordered)
    try:  # a safety net: never write code that does not parse
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(fixed_text, "<fixed>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        result.left.extend((v, f"the fixed code would not parse ({error}; please report)") for v in result.fixed)
        result.fixed = []
        return result
    result.text = fixed_text
    result.insertions = [(insertion.offset, insertion.text) for insertion in ordered]
    return result
