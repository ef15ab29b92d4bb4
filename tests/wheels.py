"""Building this checkout's two distributions, for tests that install them as users would."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = ROOT / "runtime"


def build_wheel(project: Path, out: Path) -> Path:
    """`pip wheel` of one distribution (no dependencies), into `out`; the wheel's path."""
    before = set(out.glob("*.whl"))
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(project)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if result.returncode != 0:
        pytest.fail(f"building the wheel of {project} failed:\n{result.stderr}")
    (built,) = set(out.glob("*.whl")) - before
    return built
