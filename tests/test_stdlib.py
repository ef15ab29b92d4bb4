"""Crash-freedom: the analysis runs over the whole standard library of this interpreter."""

from __future__ import annotations

import ast
import sysconfig
import warnings
from pathlib import Path

from unguarded_workers.analysis import check_module


def stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)


def test_analysis_never_raises_on_the_standard_library() -> None:
    files = stdlib_files()
    assert len(files) > 500, "the standard library was not found"
    analysed = reported = 0
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(source, filename=str(path))
        except (SyntaxError, UnicodeDecodeError, ValueError, RecursionError):
            continue  # flake8 reports these as E902/E999; no plugin runs on them
        # Without the text prefilter, so every file goes through the whole analysis.
        violations = check_module(tree)
        analysed += 1
        reported += len(violations)
        for violation in violations:
            assert violation.code.code.startswith("UW")
            assert 1 <= violation.line <= source.count("\n") + 1
    assert analysed > 500
    assert reported > 0  # the stdlib does spawn unguarded workers (e.g. in its tests)
