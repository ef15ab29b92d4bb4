"""The README's commands: scripts/check installs only when the project's metadata changed,
and says what it does when it does. A stand-in environment records how python is called."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

# Stands in for $VENV/bin/python: records its arguments, fakes `-m pip`, runs the rest.
FAKE_PYTHON = """#!/bin/sh
echo "$*" >> "{log}"
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then exit 0; fi
exec "{python}" "$@"
"""
FAKE_TOOL = """#!/bin/sh
echo "unguarded-workers (stand-in) $*"
"""


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    if shutil.which("cksum") is None or sys.platform == "win32":
        pytest.skip("needs a POSIX shell and cksum")
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, text in (("python", FAKE_PYTHON), ("unguarded-workers", FAKE_TOOL)):
        script = bin_dir / name
        script.write_text(text.format(log=tmp_path / "calls.log", python=sys.executable))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return tmp_path / "venv"


def _check(venv: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "check"), "--version"],
        capture_output=True,
        text=True,
        env={**os.environ, "UW_VENV": str(venv)},
        check=False,
        timeout=120,
    )


def _pip_calls(venv: Path) -> list[str]:
    log = venv.parent / "calls.log"
    return [line for line in log.read_text().splitlines() if line.startswith("-m pip")] if log.exists() else []


def test_check_installs_once_then_only_when_pyproject_changes(venv: Path) -> None:
    first = _check(venv)
    assert first.returncode == 0, first.stderr
    assert len(_pip_calls(venv)) == 1  # no stamp yet: install

    second = _check(venv)
    assert second.returncode == 0
    assert second.stdout == "unguarded-workers (stand-in) --version\n"
    assert second.stderr == ""
    assert len(_pip_calls(venv)) == 1  # nothing changed: no pip

    (venv / ".uw-installed").write_text("an older pyproject.toml\n")
    third = _check(venv)
    assert "pyproject.toml changed: updating" in third.stderr
    assert len(_pip_calls(venv)) == 2
