"""Running the command line in-process, the way a shell would, and reading its answer; or as a
real process (`run_command`), where the test needs what only a process shows."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from unguarded_workers.cli import main


@dataclass(frozen=True)
class Result:
    status: int
    out: str
    err: str

    def json(self) -> object:
        return json.loads(self.out)

    @property
    def notes(self) -> str:
        """stderr without the summary line `check` ends a report for people with."""
        return without_summary(self.err)

    @property
    def summary(self) -> str | None:
        """The summary line, if stderr ends with one."""
        last = self.err.splitlines()[-1:] if self.err else []
        return last[0] if last and SUMMARY.match(last[0]) else None


# The line `check` ends a report for people with (cli/summary.py).
SUMMARY = re.compile(r"(All checks passed|No findings|Found \d+ findings?)[ ;.(]")


def without_summary(err: str) -> str:
    lines = err.splitlines(keepends=True)
    if lines and SUMMARY.match(lines[-1]):
        lines.pop()
    return "".join(lines)


def run_cli(capsys: pytest.CaptureFixture[str], *args: str, stdin: bytes | None = None) -> Result:
    """Run `unguarded-workers ARGS` in this process (cwd as the test set it)."""
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.TextIOWrapper(io.BytesIO(stdin))
    try:
        status = main(list(args))
    except SystemExit as exit_:  # argparse's usage errors
        status = exit_.code if isinstance(exit_.code, int) else 2
    finally:
        sys.stdin = saved
    captured = capsys.readouterr()
    return Result(status, captured.out, captured.err)


def fail_on_trigger(module: object, monkeypatch: pytest.MonkeyPatch) -> None:
    """Make `module.check_module` raise for any module that reads a name `trigger`: a bug
    of the check, on one file, for the tests of how a run survives one."""
    import ast

    real = module.check_module  # type: ignore[attr-defined]

    def failing(tree: ast.Module, *args: object, **kwargs: object) -> object:
        if any(isinstance(node, ast.Name) and node.id == "trigger" for node in ast.walk(tree)):
            raise AssertionError("a bug")
        return real(tree, *args, **kwargs)

    monkeypatch.setattr(module, "check_module", failing)


def run_command(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m unguarded_workers ARGS` in a subprocess, text in and out."""
    return subprocess.run(
        [sys.executable, "-m", "unguarded_workers", *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=600,
    )
