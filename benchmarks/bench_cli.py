"""The standalone command against flake8 and ruff, over this interpreter's standard library.

In one run, interleaved, each repeated: `flake8 --select=UW` (the plugin inside flake8),
`ruff check --select RUF006` (the nearest peer: asyncio task references), `unguarded-workers
check`, and `unguarded-workers fix --diff` (which writes nothing), all on the same tree.
Prints wall and CPU times and the ratios the targets are stated in.

Targets: `check` faster than `flake8 --select=UW`; `check` within 3x ruff's CPU time;
`fix --diff` within 1.5x of `check` on a tree where few files have findings. A cached
re-run (the results cache filled once, nothing changed) within 1x ruff's CPU time.

    python benchmarks/bench_cli.py [--repeats N] [--jobs N] [--root DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

EXCLUDE = "site-packages"


def commands(root: Path, jobs: int) -> dict[str, list[str]]:
    uw = [sys.executable, "-m", "unguarded_workers"]
    common = ["--isolated", f"--jobs={jobs}", f"--extend-exclude={EXCLUDE}", str(root)]
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    ruff_common = ["--no-cache", "--isolated", "--exit-zero", f"--extend-exclude={EXCLUDE}", str(root)]
    return {
        "flake8 --select=UW": [sys.executable, "-m", "flake8", "--select=UW", "--exit-zero", *common],
        "ruff check --select RUF006": [ruff, "check", "--select", "RUF006", "--preview", *ruff_common],
        "unguarded-workers check": [*uw, "check", "--no-cache", *common],
        "unguarded-workers check (cached)": [*uw, "check", *common],
        "unguarded-workers fix --diff": [*uw, "fix", "--diff", *common],
    }


def measure(command: list[str]) -> tuple[float, float]:
    """Wall time, and CPU time of the command and its worker processes."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def tree_summary(root: Path) -> str:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "unguarded_workers",
            "check",
            "--isolated",
            "--output-format=json",
            f"--extend-exclude={EXCLUDE}",
            str(root),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    records = json.loads(result.stdout)
    files = sum(1 for p in root.rglob("*.py") if EXCLUDE not in p.parts)
    with_findings = len({r["path"] for r in records})
    return f"{files} files, {with_findings} with findings ({with_findings / files:.1%}), {len(records)} findings"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--root", type=Path, default=Path(sysconfig.get_paths()["stdlib"]))
    args = parser.parse_args()

    print(f"Python {sys.version.split()[0]}, {args.root}: {tree_summary(args.root)}; jobs={args.jobs}")
    runs = commands(args.root, args.jobs)
    cache = tempfile.TemporaryDirectory()
    os.chdir(cache.name)  # the results cache goes here, not into the tree measured
    measure(runs["unguarded-workers check (cached)"])  # fills the cache
    walls: dict[str, list[float]] = {name: [] for name in runs}
    cpus: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(args.repeats):
        for name, command in runs.items():  # interleaved, so drift hits all alike
            wall, cpu = measure(command)
            walls[name].append(wall)
            cpus[name].append(cpu)
    for name in runs:
        print(f"  {name:<30} wall {statistics.median(walls[name]):6.2f} s   cpu {statistics.median(cpus[name]):6.2f} s")

    def ratio(a: str, b: str) -> str:
        wall = statistics.median(walls[a]) / statistics.median(walls[b])
        cpu = statistics.median(cpus[a]) / statistics.median(cpus[b])
        return f"wall {wall:.2f}x, cpu {cpu:.2f}x"

    check, flake8, diff = "unguarded-workers check", "flake8 --select=UW", "unguarded-workers fix --diff"
    print(f"check / flake8 --select=UW:  {ratio(check, flake8)}   (target: below 1)")
    print(f"check / ruff RUF006:         {ratio(check, 'ruff check --select RUF006')}   (target: cpu 3x at most)")
    cached = ratio("unguarded-workers check (cached)", "ruff check --select RUF006")
    print(f"cached check / ruff RUF006:  {cached}   (target: cpu 1x at most)")
    print(f"fix --diff / check:          {ratio(diff, check)}   (target: 1.5x at most)")


if __name__ == "__main__":
    main()
