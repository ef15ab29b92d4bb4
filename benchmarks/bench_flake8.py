"""The plugin's share of a flake8 run over this interpreter's standard library.

In one run, interleaved: flake8 with its default checkers (pyflakes, pycodestyle) alone,
and with unguarded-workers added, over the same tree found through `sysconfig`. The
difference of two flake8 runs is a few percent of a noisy figure; so the plugin's own work is
also timed directly, in this process, as flake8 asks it: its options parsed (which finds the
project's spawn helpers) and its check run on every file, flake8 having parsed it. That time
over flake8's CPU time is the plugin's share.

Target: the plugin adds under 2% to flake8's own time, following imports into the project's
other modules and skipping test code as it does by default.

    python benchmarks/bench_flake8.py [--repeats N] [--jobs N] [--root DIR]
"""

from __future__ import annotations

import argparse
import ast
import resource
import subprocess
import sys
import sysconfig
import time
import warnings
from pathlib import Path

_CHILD = "--flake8-child"


def stdlib_root() -> Path:
    return Path(sysconfig.get_paths()["stdlib"])


def run_flake8_child(with_plugin: bool, argv: list[str]) -> None:
    """Run flake8 in this process, without the UW plugin unless asked."""
    from flake8.main.cli import main
    from flake8.plugins import finder

    if not with_plugin:
        find_plugins = finder.find_plugins

        def without_uw(*args: object, **kwargs: object) -> list[finder.Plugin]:
            return [p for p in find_plugins(*args, **kwargs) if p.entry_point.name != "UW"]  # type: ignore[arg-type]

        finder.find_plugins = without_uw  # type: ignore[assignment]
    raise SystemExit(main(argv))


def time_flake8(with_plugin: bool, root: Path, jobs: int) -> tuple[float, float]:
    """Wall time, and CPU time of flake8 and its worker processes."""
    args = ["--isolated", f"--jobs={jobs}", "--exit-zero", "--select=E,W,F,UW", "--quiet"]
    args += ["--extend-exclude=site-packages", str(root)]
    command = [sys.executable, __file__, _CHILD, "with" if with_plugin else "without", *args]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def time_plugin(root: Path) -> float:
    """The plugin's own work, CPU seconds: `parse_options` (which finds the spawn helpers of the
    files flake8 will check) and `run()` on each file, given its tree as flake8 gives it. Each
    file is parsed just before its check and dropped after it, as in flake8."""
    from unguarded_workers.analysis.project import _PROJECTS
    from unguarded_workers.flake8_plugin import UnguardedWorkersChecker

    options = argparse.Namespace(
        filenames=[str(root)], exclude=[], extend_exclude=["site-packages"], filename=["*.py"], isolated=True
    )
    for name in ("guards", "spawners", "harmless_calls", "min_confidence", "unresolved", "coroutine_functions"):
        setattr(options, f"uw_{name}", None)
    for name in ("group_children", "tests", "examples", "fix_guard"):
        setattr(options, f"uw_{name}", None)
    _PROJECTS.clear()
    saved, sys.argv = sys.argv, ["flake8", "--isolated"]
    try:
        start = time.process_time()
        UnguardedWorkersChecker.parse_options(options)
        total = time.process_time() - start
    finally:
        sys.argv = saved
    files = reports = 0
    for path in sorted(root.rglob("*.py")):
        if "site-packages" in path.parts:
            continue
        try:
            source = path.read_text(encoding="utf-8")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(source)
        except (SyntaxError, UnicodeDecodeError, ValueError, RecursionError):
            continue
        lines = source.splitlines(keepends=True)
        start = time.process_time()
        reports += sum(1 for _ in UnguardedWorkersChecker(tree, lines, str(path)).run())
        total += time.process_time() - start
        files += 1
    print(f"the plugin's own work: {total:.2f} s CPU over {files} files ({reports} reports)")
    return total


def main() -> None:
    if len(sys.argv) > 2 and sys.argv[1] == _CHILD:
        run_flake8_child(sys.argv[2] == "with", sys.argv[3:])
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=2, help="flake8 runs of each kind (default 2)")
    parser.add_argument("--jobs", type=int, default=2, help="flake8 --jobs (default 2)")
    parser.add_argument("--root", type=Path, default=None, help="tree to check (default: the stdlib)")
    args = parser.parse_args()
    root = args.root or stdlib_root()
    print(f"tree: {root}")

    plugin = time_plugin(root)
    best = {False: (float("inf"), float("inf")), True: (float("inf"), float("inf"))}
    for _ in range(args.repeats):
        for with_plugin in (False, True):  # interleaved, so drift hits both alike
            wall, cpu = time_flake8(with_plugin, root, args.jobs)
            best[with_plugin] = (min(best[with_plugin][0], wall), min(best[with_plugin][1], cpu))
    (wall_without, cpu_without), (wall_with, cpu_with) = best[False], best[True]
    print(f"\nflake8 --jobs={args.jobs}, best of {args.repeats}     wall      CPU")
    print(f"  pyflakes + pycodestyle:      {wall_without:7.2f} s {cpu_without:7.2f} s")
    print(f"  ... + unguarded-workers:     {wall_with:7.2f} s {cpu_with:7.2f} s")
    print(
        f"  plugin's share:              {(wall_with - wall_without) / wall_without:+7.1%}   "
        f"{(cpu_with - cpu_without) / cpu_without:+7.1%}   (two runs' difference: noisy)"
    )
    print(f"  plugin's own work / flake8 CPU: {plugin / cpu_without:7.1%}   (target < 2%)")


if __name__ == "__main__":
    main()
