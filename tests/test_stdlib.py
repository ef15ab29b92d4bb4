"""Crash-freedom: the analysis runs over the whole standard library of this interpreter."""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import sysconfig
import warnings
from pathlib import Path

from cli_helpers import run_command

from unguarded_workers.analysis import check_module, might_spawn
from unguarded_workers.analysis.discovery import helpers_in_text
from unguarded_workers.analysis.module import ModuleAnalysis
from unguarded_workers.analysis.spawns import SpawnFinder
from unguarded_workers.options import parse_options


def stdlib_files() -> list[Path]:
    root = Path(sysconfig.get_paths()["stdlib"])
    return sorted(p for p in root.rglob("*.py") if "site-packages" not in p.parts)


def test_analysis_never_raises_on_the_standard_library() -> None:
    """And the text prefilter never passes over a module that starts a worker: each module is
    analysed whole, every report kept, and a module with any report, any spawn or any thread
    class is one the prefilter keeps. The spawn helpers found before a check (from the parse
    alone, for most modules) are those the whole analysis finds."""
    files = stdlib_files()
    everything = parse_options(min_confidence="low", group_children="all")
    assert len(files) > 500, "the standard library was not found"
    analysed = reported = found_helpers = spawning = 0
    for path in files:
        try:
            source = path.read_text(encoding="utf-8")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(source, filename=str(path))
        except (SyntaxError, UnicodeDecodeError, ValueError, RecursionError):
            continue  # flake8 reports these as E902/E999; no plugin runs on them
        # Without the text prefilter, so every file goes through the whole analysis.
        violations = check_module(tree, everything)
        module = ModuleAnalysis(tree, everything)
        starts = [f"{spawn.spawner} on line {spawn.call.lineno}" for _, _, spawn in module.primitive_spawns if spawn]
        starts += [f"{cls.node.name}.run" for cls in SpawnFinder(module, everything).thread_classes()]
        if violations or starts:
            what = violations[0] if violations else starts[0]
            assert might_spawn(source, everything), f"{path}: the prefilter would hide {what}"
        spawning += bool(starts)
        helpers = module.helpers.names  # the text tests' answer, exactly
        assert helpers_in_text(source, everything) == helpers, path
        found_helpers += bool(helpers)
        analysed += 1
        reported += len(violations)
        for violation in violations:
            assert violation.code.code.startswith("UW")
            assert 1 <= violation.line <= source.count("\n") + 1
    assert analysed > 500
    assert found_helpers > 3  # the comparison of helpers compared some
    assert spawning > 100  # and the prefilter was asked about that many modules that spawn
    assert reported > 0  # the stdlib does spawn unguarded workers (e.g. in its tests)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.py"))}


def test_fix_over_a_copy_of_the_standard_library(tmp_path: Path) -> None:
    root = tmp_path / "stdlib"
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    for path in stdlib_files():
        copy = root / path.relative_to(stdlib)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    before = _snapshot(root)

    check = run_command("check", "--output-format=json", ".", cwd=root)
    with_findings = {os.path.normpath(record["path"]) for record in json.loads(check.stdout)}
    assert with_findings, check.stderr

    fix = run_command("fix", "--unsafe-fixes", ".", cwd=root)
    assert "Traceback" not in fix.stderr
    assert re.search(r"fixed \d+ sites in \d+ files; 0 left", fix.stderr), fix.stderr
    after = _snapshot(root)
    changed = {path for path in before if after[path] != before[path]}
    assert changed == with_findings  # and every file without findings is byte-identical
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the stdlib's own escape-sequence warnings
        for path in changed:
            compile(after[path], path, "exec", flags=ast.PyCF_ONLY_AST, dont_inherit=True)

    again = run_command("fix", "--unsafe-fixes", ".", cwd=root)
    assert "fixed 0 sites in 0 files; 0 left" in again.stderr
    assert _snapshot(root) == after
    assert json.loads(run_command("check", "--output-format=json", ".", cwd=root).stdout) == []
