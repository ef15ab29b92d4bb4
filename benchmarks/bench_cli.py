"""The standalone command against flake8 and ruff, on this interpreter's standard library and on
the source distributions of real threaded/asyncio projects.

In one run, interleaved, each repeated: `ruff check --select RUF006` (the nearest peer: asyncio
task references), `unguarded-workers check` cold (`--no-cache`) and cached, `unguarded-workers
fix --diff` (which writes nothing), and on the standard library `flake8 --select=UW` (the
plugin inside flake8), all on the same tree. Prints wall and CPU times (the command's and its
worker processes') and the ratios the targets are stated in.

The real projects are those of the ecosystem check (ecosystem/projects.tsv: 26 threaded and
asyncio projects the analysis was not tuned on), their sdists downloaded once into
~/.cache/unguarded-workers-ecosystem by scripts/ecosystem.py's own code.

The tool's bytecode is written first, as an installation writes it, so that no run measured
compiles the tool's own modules (a checkout under PYTHONDONTWRITEBYTECODE would).

Targets: `check` within 3x ruff's CPU time, on both trees; `check` faster than `flake8
--select=UW`; `fix --diff` within 1.5x of `check` where few files have findings; a cached
re-run within 1x ruff's CPU time.

    python benchmarks/bench_cli.py [--repeats N] [--jobs N] [--trees stdlib,projects] [--cache DIR]
"""

from __future__ import annotations

import argparse
import importlib.util
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

ROOT = Path(__file__).resolve().parent.parent
EXCLUDE = "site-packages"
RUFF = "ruff check --select RUF006"
CHECK, CACHED, DIFF, FLAKE8 = (
    "unguarded-workers check",
    "unguarded-workers check (cached)",
    "unguarded-workers fix --diff",
    "flake8 --select=UW",
)


UW = [sys.executable, "-m", "unguarded_workers"]


def commands(root: Path, jobs: int, *, with_flake8: bool) -> dict[str, list[str]]:
    uw = UW
    common = ["--isolated", f"--jobs={jobs}", f"--extend-exclude={EXCLUDE}", str(root)]
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    ruff_common = ["--no-cache", "--isolated", "--exit-zero", f"--extend-exclude={EXCLUDE}", str(root)]
    runs = {
        RUFF: [ruff, "check", "--select", "RUF006", "--preview", *ruff_common],
        CHECK: [*uw, "check", "--no-cache", *common],
        CACHED: [*uw, "check", *common],
        DIFF: [*uw, "fix", "--diff", *common],
    }
    if with_flake8:
        runs[FLAKE8] = [sys.executable, "-m", "flake8", "--select=UW", "--exit-zero", *common]
    return runs


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
        [*UW, "check", "--isolated", "--no-cache", "--output-format=json", f"--extend-exclude={EXCLUDE}", str(root)],
        capture_output=True,
        text=True,
        check=False,
    )
    records = json.loads(result.stdout)
    files = [p for p in root.rglob("*.py") if EXCLUDE not in p.parts]
    lines = sum(p.read_bytes().count(b"\n") for p in files)
    with_findings = len({r["path"] for r in records})
    return f"{len(files)} files, {lines:,} lines, {with_findings} with findings, {len(records)} findings"


def real_projects(cache: Path) -> Path:
    """The ecosystem check's projects, downloaded (once) and extracted: the folder that holds them."""
    spec = importlib.util.spec_from_file_location("ecosystem", ROOT / "scripts" / "ecosystem.py")
    assert spec is not None
    assert spec.loader is not None
    ecosystem = importlib.util.module_from_spec(spec)
    sys.modules["ecosystem"] = ecosystem  # its dataclasses look themselves up there
    spec.loader.exec_module(ecosystem)
    source = ROOT / "ecosystem" / "projects.tsv"
    for project in ecosystem.parse_projects(source.read_text(encoding="utf-8"), str(source)):
        ecosystem.source_root(project, cache)
    return cache / "src"


def bench_tree(name: str, root: Path, args: argparse.Namespace, *, with_flake8: bool) -> None:
    print(f"\n== {name}: {root}\n   {tree_summary(root)}; jobs={args.jobs}, median of {args.repeats}")
    runs = commands(root, args.jobs, with_flake8=with_flake8)
    with tempfile.TemporaryDirectory() as cache:
        os.chdir(cache)  # the results cache goes here, not into the tree measured
        measure(runs[CACHED])  # fills the cache
        walls: dict[str, list[float]] = {name: [] for name in runs}
        cpus: dict[str, list[float]] = {name: [] for name in runs}
        for _ in range(args.repeats):
            for label, command in runs.items():  # interleaved, so drift hits all alike
                wall, cpu = measure(command)
                walls[label].append(wall)
                cpus[label].append(cpu)
        os.chdir(ROOT)
    for label in runs:
        wall, cpu = statistics.median(walls[label]), statistics.median(cpus[label])
        print(f"   {label:<34} wall {wall:6.2f} s   cpu {cpu:6.2f} s")

    def ratio(a: str, b: str) -> str:
        wall = statistics.median(walls[a]) / statistics.median(walls[b])
        cpu = statistics.median(cpus[a]) / statistics.median(cpus[b])
        return f"wall {wall:.2f}x, cpu {cpu:.2f}x"

    print(f"   check / ruff RUF006:         {ratio(CHECK, RUFF)}   (target: cpu 3x at most)")
    print(f"   cached check / ruff RUF006:  {ratio(CACHED, RUFF)}   (target: cpu 1x at most)")
    print(f"   fix --diff / check:          {ratio(DIFF, CHECK)}   (target: 1.5x at most)")
    if with_flake8:
        print(f"   check / flake8 --select=UW:  {ratio(CHECK, FLAKE8)}   (target: below 1)")


def compile_the_tool() -> None:
    """Write the tool's bytecode, as its installation does (pip compiles what it installs): with
    PYTHONDONTWRITEBYTECODE set, a checkout would compile its modules on every run measured."""
    import compileall

    import unguarded_workers

    for directory in unguarded_workers.__path__:  # the linter's folder and the runtime's
        compileall.compile_dir(directory, quiet=1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--trees", default="stdlib,projects", help="stdlib, projects or both (default)")
    parser.add_argument("--root", type=Path, default=None, help="another tree instead (flake8 included)")
    parser.add_argument(
        "--cache", type=Path, default=Path.home() / ".cache" / "unguarded-workers-ecosystem", help="sdists' cache"
    )
    args = parser.parse_args()
    print(f"Python {sys.version.split()[0]}")
    compile_the_tool()
    if args.root is not None:
        bench_tree("tree", args.root.resolve(), args, with_flake8=True)
        return
    trees = {tree.strip() for tree in args.trees.split(",")}
    if "stdlib" in trees:
        bench_tree("standard library", Path(sysconfig.get_paths()["stdlib"]), args, with_flake8=True)
    if "projects" in trees:
        bench_tree("real projects (ecosystem/projects.tsv)", real_projects(args.cache), args, with_flake8=False)


if __name__ == "__main__":
    main()
