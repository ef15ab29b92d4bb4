"""The plugin's share of a flake8 run over this interpreter's standard library.

In one run, interleaved: flake8 with its default checkers (pyflakes, pycodestyle) alone,
and with unguarded-workers added, over the same tree found through `sysconfig`. Also
times the analysis directly on every file, to show the cost per file and what the text
prefilter saves on files that spawn nothing.

Target: the plugin adds under 3% to flake8's own time, following imports into the project's
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

from unguarded_workers.analysis import check_module, might_spawn
from unguarded_workers.config import Settings

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


def time_analysis(root: Path) -> float:
    """The analysis alone, file by file, on trees parsed beforehand (as flake8 hands them),
    with the file's path (project imports followed) and test code skipped, as the plugin does."""
    settings = Settings()
    parsed = []
    for path in sorted(root.rglob("*.py")):
        if "site-packages" in path.parts or not settings.checks(str(path)):
            continue
        try:
            source = path.read_text(encoding="utf-8")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed.append((str(path), source, ast.parse(source)))
        except (SyntaxError, UnicodeDecodeError, ValueError, RecursionError):
            continue
    candidates = [(s, t) for _, s, t in parsed if might_spawn(s)]
    others = [(s, t) for _, s, t in parsed if not might_spawn(s)]

    start = time.perf_counter()
    reports = sum(len(check_module(tree, source=source, path=path)) for path, source, tree in parsed)
    total = time.perf_counter() - start
    start = time.perf_counter()
    for source, tree in others:
        check_module(tree, source=source)
    skipped = time.perf_counter() - start
    start = time.perf_counter()
    for _, tree in others:
        check_module(tree)  # what those files would cost without the prefilter
    unfiltered = time.perf_counter() - start

    print(f"analysis alone: {total:.2f} s over {len(parsed)} files ({reports} reports)")
    print(f"  {len(candidates)} files hold a spawn word and are analysed")
    print(
        f"  {len(others)} files are skipped by the prefilter: {skipped * 1e6 / max(len(others), 1):.0f} us each "
        f"(analysing them anyway: {unfiltered * 1e6 / max(len(others), 1):.0f} us each)"
    )
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

    analysis = time_analysis(root)
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
        f"{(cpu_with - cpu_without) / cpu_without:+7.1%}   (target < 3%)"
    )
    print(f"  analysis alone / flake8 CPU: {analysis / cpu_without:7.1%}")


if __name__ == "__main__":
    main()
