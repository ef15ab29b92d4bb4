"""Insert the guard at each site with libcst, leaving every other byte of the module as it was."""

from __future__ import annotations

import ast
import io
from collections.abc import Sequence
from dataclasses import dataclass, field

import libcst as cst
from libcst.codemod import CodemodContext
from libcst.codemod.visitors import AddImportsVisitor
from libcst.metadata import CodeRange, MetadataWrapper, PositionProvider

from ..codes import UW102
from ..config import GuardRef
from ..violation import SourceRange, Violation
from .names import GuardName, choose_guard_name

UNSAFE_REASON = "unsafe fix (a guarded child no longer cancels its siblings): enable with --unsafe-fixes"


@dataclass
class FixResult:
    text: str
    fixed: list[Violation] = field(default_factory=list)
    left: list[tuple[Violation, str]] = field(default_factory=list)


def _char_range(lines: Sequence[str], target: SourceRange) -> tuple[int, int, int, int]:
    """ast's UTF-8 byte columns as libcst's character columns."""

    def column(line: int, col: int) -> int:
        text = lines[line - 1] if 0 < line <= len(lines) else ""
        return len(text.encode("utf-8")[:col].decode("utf-8", errors="replace"))

    return target.line, column(target.line, target.col), target.end_line, column(target.end_line, target.end_col)


def _key(position: CodeRange) -> tuple[int, int, int, int]:
    return position.start.line, position.start.column, position.end.line, position.end.column


class _InsertGuard(cst.CSTTransformer):
    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, guard: str, expressions: dict[tuple[int, int, int, int], Violation], defs: dict[int, Violation]):
        super().__init__()
        self._guard = guard
        self._expressions = expressions
        self._defs = defs  # UW102: the line of `def run`, as ast gives it
        self.fixed: list[Violation] = []

    def on_leave(self, original_node: cst.CSTNode, updated_node: cst.CSTNode) -> cst.CSTNode:  # type: ignore[override]
        if isinstance(original_node, cst.BaseExpression) and isinstance(updated_node, cst.BaseExpression):
            site = self._expressions.pop(_key(self.get_metadata(PositionProvider, original_node)), None)
            if site is not None:
                self.fixed.append(site)
                return cst.Call(func=cst.Name(self._guard), args=[cst.Arg(updated_node)])
        elif isinstance(original_node, cst.FunctionDef) and isinstance(updated_node, cst.FunctionDef):
            line = self.get_metadata(PositionProvider, original_node.name).start.line
            site = self._defs.pop(line, None)
            if site is not None:
                self.fixed.append(site)
                decorator = cst.Decorator(cst.Name(self._guard))
                return updated_node.with_changes(decorators=[decorator, *updated_node.decorators])
        return updated_node


def fix_module(
    text: str, tree: ast.Module, violations: Sequence[Violation], guard: GuardRef, *, unsafe: bool
) -> FixResult:
    """`text` with the guard inserted at each violation's site (only safe fixes unless `unsafe`)."""
    result = FixResult(text)
    wanted = []
    for violation in violations:
        if violation.code.safe_fix or unsafe:
            wanted.append(violation)
        else:
            result.left.append((violation, UNSAFE_REASON))
    if not wanted:
        return result
    try:
        module = cst.parse_module(text)
    except cst.ParserSyntaxError as error:
        result.left.extend((v, f"libcst cannot parse this file ({error.message})") for v in wanted)
        return result

    name = choose_guard_name(tree, guard)
    lines = io.StringIO(text, newline=None).readlines()  # lines as ast numbers them
    expressions = {_char_range(lines, v.target): v for v in wanted if v.code is not UW102}
    defs = {v.target.line: v for v in wanted if v.code is UW102}
    inserter = _InsertGuard(name.name, expressions, defs)
    rewritten = MetadataWrapper(module, unsafe_skip_copy=True).visit(inserter)
    for violation in [*expressions.values(), *defs.values()]:
        result.left.append((violation, "the site could not be located in the syntax tree (please report)"))
    if not inserter.fixed:
        return result
    rewritten = _add_import(rewritten, guard, name)
    new_text = rewritten.code
    try:
        compile(new_text, "<fixed>", "exec", ast.PyCF_ONLY_AST)
    except (SyntaxError, ValueError) as error:  # a safety net: never write code that does not parse
        result.left.extend((v, f"the fixed code would not parse ({error})") for v in inserter.fixed)
        return result
    result.text = new_text
    result.fixed = sorted(inserter.fixed, key=lambda v: (v.line, v.col))
    return result


def _add_import(module: cst.Module, guard: GuardRef, name: GuardName) -> cst.Module:
    if not name.needs_import:
        return module
    context = CodemodContext()
    AddImportsVisitor.add_needed_import(context, guard.module, guard.name, name.asname)
    return AddImportsVisitor(context).transform_module(module)
