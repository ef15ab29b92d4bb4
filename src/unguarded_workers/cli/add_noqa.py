"""`check --add-noqa`: silence every current report on its line, to adopt the check on a
legacy tree today and fix the sites over time (ruff's `--add-noqa`).

Each reported line gets `# noqa: CODE` (its existing `# noqa:` list is extended; other
comments and formatting stay); only text is inserted, spliced into the file's bytes, and
written as `fix` writes. A second run changes nothing, and `check` is clean afterwards.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from ..fix.write import WriteError, write_atomically
from ..noqa import noqa_insertion
from ..positions import SourceLines
from ..sources import SourceError, read_source
from .engine import FileOutcome, Item, Job
from .runner import run
from .text import plural


def add_noqa(items: Sequence[Item], job: Job, jobs: int | None, *, quiet: bool) -> int:
    added = files = 0
    failed = False
    for item, outcome in zip(items, run(list(items), job, jobs)):  # outcomes come in the items' order
        if outcome.error:
            print(f"error: {outcome.error}", file=sys.stderr)
            failed = True
        if not outcome.findings or item.path is None:  # stdin: nothing to write to
            continue
        try:
            count = _add_to_file(Path(item.path), outcome)
        except (SourceError, WriteError) as error:
            print(f"error: {outcome.display}: {error}", file=sys.stderr)
            failed = True
            continue
        added += count
        files += 1 if count else 0
    if not quiet:
        print(f"unguarded-workers: added {plural(added, 'noqa directive')} in {plural(files, 'file')}", file=sys.stderr)
    return 2 if failed else 0


def _add_to_file(path: Path, outcome: FileOutcome) -> int:
    source = read_source(path, outcome.display)
    lines = SourceLines(source.text)
    codes: dict[int, list[str]] = {}
    for finding in outcome.findings:
        listed = codes.setdefault(finding.violation.line, [])
        if finding.violation.code.code not in listed:
            listed.append(finding.violation.code.code)
    insertions = [
        insertion
        for line, line_codes in sorted(codes.items())
        if (insertion := noqa_insertion(lines, line, sorted(line_codes))) is not None
    ]
    if insertions:
        write_atomically(path, source.data, source.splice(insertions))
    return len(insertions)
