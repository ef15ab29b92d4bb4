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
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst

from ..codes import UW102
from ..config import GuardRef
from ..positions import SourceLines
from ..violation import Violation
from .names import GuardName, choose_guard_name, is_guard_module

UNSAFE_REASON = "unsafe fix (a guarded child no longer cancels its siblings): enable with --unsafe-fixes"


@dataclass
class FixResult:
    text: str
    fixed: list[Violation] = field(default_factory=list)
    left: list[tuple[Violation, str]] = field(default_factory=list)


@dataclass(frozen=True)
class _Insertion:
    offset: int
    text: str
    # At one offset, closing text goes before opening text; among openers the
    # outer site (the longer span) goes first, among closers the inner one.
    order: tuple[int, int]


def _is_one_expression(segment: str) -> bool:
    try:
        cst.parse_expression(f"({segment})")
    except cst.ParserSyntaxError:
        return False
    return True


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
    if not _is_one_expression(lines.text[start:end]):
        return "the target is not one expression here (please report)"
    span = end - start
    return [_Insertion(start, f"{guard}(", (1, -span)), _Insertion(end, ")", (0, span))]


def _first_decorator_line(tree: ast.Module, line: int, col: int) -> int:
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (node.lineno, node.col_offset) == (line, col):
            return min([line, *(decorator.lineno for decorator in node.decorator_list)])
    return line


def _apply(text: str, insertions: Sequence[_Insertion]) -> str:
    pieces = []
    done = 0
    for insertion in sorted(insertions, key=lambda i: (i.offset, i.order)):
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


def _add_import(text: str, end: int, newline: str, guard: GuardRef, name: GuardName) -> str:
    """Add the guard's import as the last statement of the module's head.

    libcst parses the head alone (docstring, __future__ and other leading imports, or
    the comments before the first statement) and regenerates it with the import
    appended; the rest of the module is not parsed again. `end` is where the head ends.
    """
    if not name.needs_import:
        return text
    head = cst.parse_module(text[:end], config=cst.PartialParserConfig(default_newline=newline))
    alias = f" as {name.asname}" if name.asname else ""
    statement = cst.parse_statement(f"from {guard.module} import {guard.name}{alias}\n", head.config_for_parsing)
    new_head = head.with_changes(body=[*head.body, statement]).code
    if end < len(text) and not new_head.endswith(("\n", "\r")):
        new_head += newline
    return new_head + text[end:]


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
        if not (violation.code.safe_fix or unsafe):
            result.left.append((violation, UNSAFE_REASON))
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
    # Every insertion is after the head, so the head ends at the same offset in the new text.
    fixed_text = _add_import(_apply(text, insertions), head_end, lines.newline, guard, name)
    try:  # a safety net: never write code that does not parse
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(fixed_text, "<fixed>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        result.left.extend((v, f"the fixed code would not parse ({error}; please report)") for v in result.fixed)
        result.fixed = []
        return result
    result.text = fixed_text
    return result
