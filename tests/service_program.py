"""Running tests/programs/workers.py, a service whose workers fail, as a real program."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROGRAM = ROOT / "tests" / "programs" / "workers.py"


def spawn_line(scenario: str, marker: str = "SPAWN") -> int:
    """The line of the program marked `# SPAWN-<scenario>` (the spawn the linter sees), or
    `# STARTED-<scenario>` (the `start()` of a thread made on another line)."""
    for number, line in enumerate(PROGRAM.read_text().splitlines(), start=1):
        if line.rstrip().endswith(f"# {marker}-{scenario}"):
            return number
    raise AssertionError(scenario)


def run_service(*args: str, python: str = sys.executable, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """The program under `python`, with the runtime importable from this checkout (it is
    the standard library only, so any interpreter runs it)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "runtime" / "src"), "PYTHONDONTWRITEBYTECODE": "1"}
    env.pop("PYTHONWARNINGS", None)
    return subprocess.run(
        [python, str(PROGRAM), *args], capture_output=True, text=True, check=False, timeout=timeout, env=env
    )
