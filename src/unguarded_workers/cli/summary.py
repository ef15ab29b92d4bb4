"""The line at the end of a `check` for people: what was found, what `fix` would guard, and
what could not be checked, as ruff ends its report ("Found 3 errors. [*] 2 fixable")."""

from __future__ import annotations

from collections.abc import Sequence

from .colour import PLAIN, Palette
from .engine import FileOutcome
from .text import plural


def summary_line(outcomes: Sequence[FileOutcome], palette: Palette = PLAIN) -> str:
    """`Found 3 findings in 2 files (2 fixable with `unguarded-workers fix`, 1 more with
    --unsafe-fixes); 1 file could not be checked (it does not parse, or cannot be read); 1 file needs
    a newer Python (3.12) to be read.`"""
    findings = [finding for outcome in outcomes for finding in outcome.findings]
    files = sum(1 for outcome in outcomes if outcome.findings)
    newer = [outcome.newer_python for outcome in outcomes if outcome.newer_python is not None]
    unreadable = sum(1 for outcome in outcomes if outcome.error is not None) - len(newer)
    skipped = sum(1 for outcome in outcomes if outcome.skipped is not None)
    if findings:
        safe = sum(1 for finding in findings if finding.fixable)
        unsafe = len(findings) - safe
        if safe:
            fixable = [f"{safe} fixable with `unguarded-workers fix`"]
            fixable += [f"{unsafe} more with --unsafe-fixes"] if unsafe else []
        else:
            fixable = [f"{unsafe} fixable with `unguarded-workers fix --unsafe-fixes`"]
        line = f"Found {plural(len(findings), 'finding')} in {plural(files, 'file')} ({', '.join(fixable)})"
    elif unreadable or newer:
        line = "No findings"
    else:
        line = "All checks passed"
    parts = [palette.heading(line)]
    if unreadable:
        parts.append(f"{plural(unreadable, 'file')} could not be checked")
    if newer:
        versions = sorted(set(newer), key=lambda version: tuple(map(int, version.split("."))))
        needs = "needs" if len(newer) == 1 else "need"
        parts.append(f"{plural(len(newer), 'file')} {needs} a newer Python ({', '.join(versions)}) to be read")
    if skipped:
        parts.append(f"{plural(skipped, 'file')} over max-file-size skipped")
    return "; ".join(parts) + ".\n"
