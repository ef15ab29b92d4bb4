"""The benchmarks run and print their table (their figures are read by people, not asserted)."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).parent.parent / "benchmarks"


def _benchmark(script: str, *args: str) -> str:
    """The benchmark's output, run small."""
    result = subprocess.run(
        [sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True, check=False, timeout=300
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_the_safety_net_benchmark_prints_each_spawn_with_and_without() -> None:
    rows = _benchmark("bench_safety_net.py", "--spawns", "20", "--rounds", "1", "--requests", "0").splitlines()[2:]
    kinds = ["thread start+join", "create_task+await", "submit+result"]
    if importlib.util.find_spec("uvloop") is not None:
        kinds.append("uvloop task+await")
    assert [row.split("  ")[0] for row in rows] == kinds
    assert all(row.endswith("x") for row in rows)


def test_the_wrap_benchmark_prints_each_ratio() -> None:
    output = _benchmark("bench_wrap.py", "--calls", "2000", "--repeats", "1")
    assert output.count("wrap() / hand closure = ") == 4
    assert "task spawned and awaited" in output
    assert "wrap(f, deliver=q) at the spawn line: " in output


def test_the_triage_benchmark_prints_throughput_and_memory() -> None:
    output = _benchmark("bench_triage.py", "--lines", "2000", "--repeats", "1")
    assert "MB/s" in output
    assert "peak memory:" in output


SMALL_TREE = Path(__file__).parent / "fixtures" / "project"


def test_the_cli_benchmark_prints_each_ratio() -> None:
    output = _benchmark("bench_cli.py", "--root", str(SMALL_TREE), "--repeats", "1")
    for ratio in ("check / ruff RUF006:", "cached check / ruff RUF006:", "fix --diff / check:", "check / flake8"):
        assert ratio in output
    assert output.count("cpu ") >= 5 + 4  # a row per command, a cpu figure per ratio


def test_the_flake8_benchmark_prints_the_plugins_share() -> None:
    output = _benchmark("bench_flake8.py", "--root", str(SMALL_TREE), "--repeats", "1")
    assert "the plugin's own work: " in output
    assert "plugin's own work / flake8 CPU:" in output


@pytest.mark.skipif(importlib.util.find_spec("pytest_lsp") is None, reason="needs pytest-lsp (3.10+)")
def test_the_server_benchmark_prints_each_ratio() -> None:
    output = _benchmark("bench_server.py", "--changes", "1")
    rows = [line for line in output.splitlines() if line.startswith(("small", "large"))]
    assert len(rows) == 2
    assert all(row.count("ms") == 3 for row in rows)
