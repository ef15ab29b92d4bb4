"""The benchmarks run and print their table (their figures are read by people, not asserted)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def test_the_safety_net_benchmark_prints_each_spawn_with_and_without() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_safety_net.py"), "--spawns", "20", "--rounds", "1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    rows = result.stdout.splitlines()[2:]
    assert [row.split("  ")[0] for row in rows] == ["thread start+join", "create_task+await", "submit+result"]
    assert all(row.endswith("x") for row in rows)


def test_the_triage_benchmark_prints_throughput_and_memory() -> None:
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / "bench_triage.py"), "--lines", "2000", "--repeats", "1"],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "MB/s" in result.stdout
    assert "peak memory:" in result.stdout
