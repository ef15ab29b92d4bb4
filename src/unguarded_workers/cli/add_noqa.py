"""`check --add-noqa`: silence every current report on its line, to adopt the check on a
legacy tree today and fix the sites over time (ruff's `--add-noqa`).

Each reported line gets `# noqa: CODE` (its existing `# noqa:` list is extended; other
comments and formatting stay); only text is inserted, spliced into the file's bytes, and
written as `fix` writes. A second run changes nothing, and `check` is clean afterwards.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Sequence
from pathlib import Path

from ..fix.write import WriteError, write_atomically
from ..noqa import NoqaFilter, noqa_insertion
from ..positions import SourceLines
from ..sources import SourceError, read_source
from .engine import FileOutcome, Item, Job, run


def add_noqa(items: Sequence[Item], job: Job, jobs: int | None, *, quiet: bool) -> int:
    added = files = 0
    failed = False
    for outcome in run(list(items), job, jobs):
        if outcome.error:
            print(f"error: {outcome.error}", file=sys.stderr)
            failed = True
        path = _path_of(items, outcome)
        if not outcome.findings or path is None:
            continue
        try:
            count = _add_to_file(path, outcome)
        except (SourceError, WriteError) as error:
            print(f"error: {outcome.display}: {error}", file=sys.stderr)
            failed = True
            continue
        added += count
        files += 1 if count else 0
    if not quiet:
        directives = f"{added} noqa directive{'' if added == 1 else 's'}"
        print(f"unguarded-workers: added {directives} in {files} file{'' if files == 1 else 's'}", file=sys.stderr)
    return 2 if failed else 0


def _path_of(items: Sequence[Item], outcome: FileOutcome) -> Path | None:
    for item in items:
        if item.display == outcome.display and item.path is not None:
            return Path(item.path)
    return None  # stdin: nothing to write to


def _add_to_file(path: Path, outcome: FileOutcome) -> int:
    source = read_source(path, outcome.display)
    lines = SourceLines(source.text)
    codes: dict[int, list[str]] = {}
    for finding in outcome.findings:
        listed = codes.setdefault(finding.violation.line, [])
        if finding.violation.code.code not in listed:
            listed.append(finding.violation.code.code)
    insertions = []
    for line, line_codes in sorted(codes.items()):
        insertion = noqa_insertion(source.text, lines.line_start(line), lines.line_text(line), sorted(line_codes))
        if _silences(source.text, insertion, line, line_codes):
            insertions.append(insertion)
    if insertions:
        write_atomically(path, source.data, source.splice(insertions))
    return len(insertions)


def _silences(text: str, insertion: tuple[int, str], line: int, codes: Sequence[str]) -> bool:
    """Whether the comment lands where flake8 reads it, without changing the code (a line
    that ends inside a multi-line string cannot take one)."""
    offset, inserted = insertion
    new_text = text[:offset] + inserted + text[offset:]
    try:
        if ast.dump(ast.parse(new_text)) != ast.dump(ast.parse(text)):
            return False
    except (SyntaxError, ValueError, RecursionError):
        return False
    noqa = NoqaFilter(new_text)
    return all(noqa.silenced(code, line) for code in codes)
