"""Running the programs of tests/triage_programs as a production machine would, and triage on
what they wrote."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import run_command

from unguarded_workers.triage.logs import LoggedFailure, ReadStats, read_failures

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "triage_programs"


def interpreter(version: str) -> str:
    """python3.X from pyenv or PATH (sys.executable for "this"); skipped when absent, except
    on CI, which must run every version."""
    if version == "this":
        return sys.executable
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False).stdout.strip()
        for candidate in sorted(Path(root, "versions").glob(f"{version}.*/bin/python{version}")):
            return str(candidate)
    found = shutil.which(f"python{version}")
    if found:
        return found
    if os.environ.get("CI") == "true":
        pytest.fail(f"python{version} is missing: CI must run every version")
    pytest.skip(f"python{version} is not installed")


def deploy(name: str, at: Path) -> Path:
    """A copy of the program at `at` (a production machine's path, not the source tree's)."""
    at.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copy(PROGRAMS / name, at / name))


def spawn_line(name: str, marker: str) -> int:
    """The line of tests/triage_programs/NAME that ends with `# SPAWN-<marker>` (or `# marker`)."""
    for number, line in enumerate((PROGRAMS / name).read_text().splitlines(), start=1):
        if line.endswith((f"# SPAWN-{marker}", f"# {marker}")):
            return number
    raise AssertionError(marker)


def run(
    program: Path, *args: str, python: str = sys.executable, unbuffered: bool = False
) -> subprocess.CompletedProcess[str]:
    """The program, its stderr a pipe (as under systemd or a container runtime), with the
    runtime importable from this checkout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "runtime" / "src")}
    env.pop("PYTHONWARNINGS", None)
    env.pop("PYTHONUNBUFFERED", None)  # Python's default: stderr written a line at a time
    if unbuffered:
        env["PYTHONUNBUFFERED"] = "1"
    return subprocess.run(
        [python, str(program), *args], capture_output=True, text=True, check=False, timeout=120, env=env
    )


def triage(*args: str, cwd: Path) -> tuple[list[dict[str, Any]], str]:
    """`unguarded-workers triage --output-format json ARGS`: its findings and its summary line."""
    result = run_command("triage", "--output-format", "json", *args, cwd=cwd)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout), result.stderr


def read(text: str, sources: dict[tuple[str, int], str] | None = None) -> tuple[list[LoggedFailure], ReadStats]:
    """The failures the reader finds in `text`, and its counts; `sources` holds the lines of
    the source tree, by (file, line)."""
    stats = ReadStats()
    lines = ((number, line) for number, line in enumerate(text.splitlines(), start=1))
    source_lines = (lambda frame: sources.get((frame.file, frame.line))) if sources is not None else None
    return list(read_failures(lines, "log", stats, source_lines)), stats


def sites(finding: dict[str, Any]) -> list[tuple[str, int]]:
    return [(spawn["path"], spawn["line"]) for spawn in finding["spawns"]]
