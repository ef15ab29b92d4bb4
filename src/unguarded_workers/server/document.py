"""One open buffer: its reports as LSP diagnostics, and the code actions that answer them.

Everything here is a pure function of the buffer's text, its path, the settings and the
client's position encoding, so it is tested without a client; `app` wires it to pygls.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from lsprotocol import types

from ..analysis.project import project_for
from ..codes import UW102
from ..config import Settings, path_matches
from ..noqa import noqa_insertion
from ..positions import SourceLines
from ..reports import reported
from ..sources import Source, SourceError, parse, read_source
from ..violation import Confidence, Violation

if TYPE_CHECKING:
    from ..fix.transform import FixResult

SOURCE = "unguarded-workers"
FIX_ALL_KIND = "source.fixAll.unguarded-workers"


@dataclass(frozen=True)
class Checked:
    """A buffer as the check sees it: its reports, or why it has none."""

    source: Source
    tree: ast.Module | None  # None when the buffer does not parse (mid-typing)
    violations: tuple[Violation, ...]


def check_buffer(text: str, path: Path | None, settings: Settings, helpers: frozenset[str] = frozenset()) -> Checked:
    """What `check` reports for the buffer, as it would for the file at `path`, in a project
    whose spawn helpers are `helpers`."""
    project_for(settings.options).helper_names = helpers
    display = str(path) if path is not None else "untitled"
    source = Source(display, path, text.encode("utf-8", "surrogatepass"), text, "utf-8")
    if path is not None and (path_matches(str(path), settings.exclude) or not settings.checks(str(path))):
        return Checked(source, None, ())
    try:
        tree = parse(source)
    except SourceError:
        return Checked(source, None, ())  # mid-typing: nothing, rather than stale ranges
    return Checked(source, tree, tuple(reported(source, tree, settings)))


class Positions:
    """Offsets of the text as LSP positions, in the encoding the client negotiated."""

    def __init__(self, text: str, units: Callable[[str], int]) -> None:
        self.lines = SourceLines(text)
        self.units = units  # how many code units a string is for the client

    def at_offset(self, offset: int) -> types.Position:
        line = bisect.bisect_right(self.lines.starts, offset) - 1
        start = self.lines.starts[line]
        return types.Position(line=line, character=self.units(self.lines.text[start:offset]))

    def at_ast(self, line: int, byte_col: int) -> types.Position:
        return self.at_offset(self.lines.offset(line, byte_col))


def diagnostic_range(violation: Violation, positions: Positions) -> types.Range:
    """What `fix` would wrap: the target expression; for UW102 the `def run` header."""
    target = violation.target
    start = positions.at_ast(target.line, target.col)
    if violation.code is UW102:
        line = positions.lines.line_text(target.line)
        begin = positions.lines.offset(target.line, target.col) - positions.lines.line_start(target.line)
        header = re.match(r"(?:async\s+)?def\s+run\b", line[begin:])
        length = header.end() if header else 0
        return types.Range(
            start=start, end=positions.at_offset(positions.lines.line_start(target.line) + begin + length)
        )
    return types.Range(start=start, end=positions.at_ast(target.end_line, target.end_col))


# An editor shows every confidence without nagging: high as a warning, the rest quieter.
SEVERITIES = {
    Confidence.HIGH: types.DiagnosticSeverity.Warning,
    Confidence.MEDIUM: types.DiagnosticSeverity.Information,
    Confidence.LOW: types.DiagnosticSeverity.Hint,
}


def diagnostics(checked: Checked, positions: Positions, uri: str = "") -> list[types.Diagnostic]:
    """The buffer's reports; `uri` is the buffer's, for related places in it."""
    others: dict[str, Positions | None] = {}
    return [
        types.Diagnostic(
            range=diagnostic_range(v, positions),
            message=v.message,
            severity=SEVERITIES[v.confidence],
            code=v.code.code,
            code_description=types.CodeDescription(href=v.code.docs_url),
            source=SOURCE,
            related_information=_related_information(v, positions, uri, others) or None,
            data={"line": v.line, "col": v.col, "code": v.code.code, "confidence": v.confidence.label},
        )
        for v in checked.violations
    ]


def _related_information(
    violation: Violation, positions: Positions, uri: str, others: dict[str, Positions | None]
) -> list[types.DiagnosticRelatedInformation]:
    """The uncovered statement, the waiter: in this buffer, or in another file of the project."""
    found = []
    for related in violation.related:
        where: Positions | None = positions
        target = uri
        if related.path is not None:
            if related.path not in others:
                others[related.path] = _file_positions(related.path, positions)
            where, target = others[related.path], Path(related.path).resolve().as_uri()
        if where is None or not target:
            continue
        r = related.range
        span = types.Range(start=where.at_ast(r.line, r.col), end=where.at_ast(r.end_line, r.end_col))
        found.append(
            types.DiagnosticRelatedInformation(location=types.Location(uri=target, range=span), message=related.message)
        )
    return found


def _file_positions(path: str, like: Positions) -> Positions | None:
    try:
        return Positions(read_source(Path(path)).text, like.units)
    except SourceError:
        return None


# -- code actions -------------------------------------------------------------------------


@dataclass(frozen=True)
class Buffer:
    """A checked buffer with what its code actions need: where edits go, and as what."""

    checked: Checked
    positions: Positions
    uri: str
    version: int | None
    settings: Settings

    def code_actions(self, wanted: types.Range, only: Sequence[str] | None) -> list[types.CodeAction]:
        """For each report in `wanted`: guard it, ignore it on its line; and fix-all."""
        if self.checked.tree is None:
            return []
        actions: list[types.CodeAction] = []
        if _wants(only, types.CodeActionKind.QuickFix):
            for violation in self.checked.violations:
                where = diagnostic_range(violation, self.positions)
                if not _overlaps(where, wanted):
                    continue
                diagnostic = types.Diagnostic(
                    range=where, message=violation.message, code=violation.code.code, source=SOURCE
                )
                for action in (self._guard_action(violation), self._ignore_action(violation)):
                    if action is not None:
                        action.diagnostics = [diagnostic]
                        actions.append(action)
        if _wants(only, FIX_ALL_KIND):
            fix_all = self._fix_all_action()
            if fix_all is not None:
                actions.append(fix_all)
        return actions

    def _edit(self, insertions: Sequence[tuple[int, str]]) -> types.WorkspaceEdit:
        edits: list[types.TextEdit | types.AnnotatedTextEdit | types.SnippetTextEdit] = []
        for offset, text in insertions:
            at = self.positions.at_offset(offset)
            edits.append(types.TextEdit(range=types.Range(start=at, end=at), new_text=text))
        document = types.OptionalVersionedTextDocumentIdentifier(uri=self.uri, version=self.version)
        return types.WorkspaceEdit(document_changes=[types.TextDocumentEdit(text_document=document, edits=edits)])

    def _fix(self, violations: Sequence[Violation], *, unsafe: bool) -> FixResult:
        from ..fix.transform import fix_module  # libcst: only when a fix is asked for

        checked = self.checked
        assert checked.tree is not None
        path = str(checked.source.path) if checked.source.path is not None else None
        guard = self.settings.fix_guard
        return fix_module(checked.source.text, checked.tree, violations, guard, unsafe=unsafe, path=path)

    def _guard_action(self, violation: Violation) -> types.CodeAction | None:
        """Exactly what `fix` writes for this site (with `--unsafe-fixes` for an unsafe one)."""
        result = self._fix([violation], unsafe=True)
        guard = self.settings.fix_guard.name
        if violation.code is UW102:
            title = f"Guard run() with @{guard}"
        else:
            title = f"Guard '{self._target_text(violation)}' with {guard}()"
        if not result.insertions:
            reason = result.left[0][1] if result.left else "nothing to insert"
            return types.CodeAction(
                title=title, kind=types.CodeActionKind.QuickFix, disabled=types.CodeActionDisabled(reason=reason)
            )
        if violation.unsafe_fix is not None:
            title += f" (unsafe: {violation.unsafe_fix})"
        return types.CodeAction(
            title=title,
            kind=types.CodeActionKind.QuickFix,
            is_preferred=violation.unsafe_fix is None,
            edit=self._edit(result.insertions),
        )

    def _target_text(self, violation: Violation) -> str:
        lines, target = self.positions.lines, violation.target
        start = lines.offset(target.line, target.col)
        end = lines.offset(target.end_line, target.end_col)
        name = " ".join(lines.text[start:end].split())
        return name if len(name) <= 40 else name[:37] + "..."

    def _ignore_action(self, violation: Violation) -> types.CodeAction | None:
        """Add the code to the line's `# noqa:` list, or add one, as `check --add-noqa` does;
        offered only where such a comment can go."""
        code = violation.code.code
        insertion = noqa_insertion(self.positions.lines, violation.line, [code])
        if insertion is None:
            return None
        edit = self._edit([insertion])
        return types.CodeAction(title=f"Ignore {code} on this line", kind=types.CodeActionKind.QuickFix, edit=edit)

    def _fix_all_action(self) -> types.CodeAction | None:
        """Every safe fix of the buffer in one edit, as `fix` (without --unsafe-fixes) writes it."""
        if not self.checked.violations:
            return None
        result = self._fix(self.checked.violations, unsafe=False)
        if not result.insertions:
            return None
        return types.CodeAction(
            title=f"Guard every unguarded worker with {self.settings.fix_guard.name}() (safe fixes)",
            kind=FIX_ALL_KIND,
            edit=self._edit(result.insertions),
        )


def _wants(only: Sequence[str] | None, kind: str) -> bool:
    """LSP's `only` filter: a kind is wanted when it is, or starts with, a listed kind."""
    return not only or any(kind == wanted or kind.startswith(wanted + ".") for wanted in only)


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return p.line, p.character

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)
