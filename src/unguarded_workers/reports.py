"""What `check` reports for one module, shared by the command and the language server:
the analysis, less the codes the settings leave out and the lines `# noqa` silences."""

from __future__ import annotations

import ast

from .analysis import check_module
from .config import Settings
from .noqa import NoqaFilter
from .sources import Source
from .violation import Violation


def reported(source: Source, tree: ast.Module, settings: Settings, *, disable_noqa: bool = False) -> list[Violation]:
    path = str(source.path) if source.path is not None else None
    found = check_module(tree, settings.options, source.text, path)
    violations = [v for v in found if settings.reports(v.code.code, source.display)]
    if violations and not disable_noqa:
        noqa = NoqaFilter(source.text)
        violations = [v for v in violations if not noqa.silenced(v.code.code, v.line)]
    return violations
