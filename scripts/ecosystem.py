#!/usr/bin/env python3
"""The ecosystem check: run `unguarded-workers check` on a pinned set of real projects.

Downloads each project of ecosystem/projects.tsv as its source distribution from PyPI (once:
kept in a cache outside the checkout), runs the check with the tool's default settings from
the project's root, and prints the reports, their diff against the committed
ecosystem/reports.txt, and the precision measured with the committed verdicts
(ecosystem/verdicts.tsv): act / all and act+maybe / all, per project, code, confidence and
whether the worker could be inspected. Also lists the verdicts still missing, the stale ones
(of reports no longer made at any confidence: the check runs at `low`, and the default set is
its `high` reports) and the misses (ecosystem/misses.tsv). See docs/ecosystem.md.

Run it with the checkout's interpreter, which has the tool: `.venv/bin/python scripts/ecosystem.py`.
Exit status: 0 the reports are the committed ones, 1 they differ (or verdicts are missing or
stale), 2 an error (a download, a check or a data file failed).

Standard library only: the pure parts (parsing, diffing, precision) are tested offline in
tests/test_ecosystem_script.py; the rest is the thin layer that runs pip and the tool.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "ecosystem"
DEFAULT_CACHE = Path.home() / ".cache" / "unguarded-workers-ecosystem"
VERDICTS = ("act", "maybe", "no")
UNRESOLVED_MARK = "could not be inspected"
# Folders of an sdist that hold programs to read or run, not the library: a report there is
# counted apart ("examples") so that the library's precision shows on its own.
EXAMPLE_FOLDERS = frozenset({"examples", "example", "demo", "demos", "benchmarks", "benchmark", "docs", "doc"})
# Our defaults, nothing of the project's: its setup.cfg, tox.ini or pyproject.toml could hold
# flake8 `exclude`/`ignore` entries (or, one day, our table) that would change what is checked.
# No cache: the tool is installed in editable mode, so its version does not change with its source.
CHECK_ARGS = ("check", "--isolated", "--no-cache", "--exit-zero", "--quiet", "--output-format", "json")


class EcosystemError(Exception):
    """Bad input (a data file, an option) or a failed step: one line for the user."""


# -- the pure part: data files, reports, diff, precision ---------------------------------------


@dataclass(frozen=True)
class Project:
    name: str
    version: str
    kind: str
    why: str

    @property
    def pin(self) -> str:
        return f"{self.name}=={self.version}"


Key = tuple[str, str, int, str]  # project, path, line, code


@dataclass(frozen=True, order=True)
class Report:
    project: str
    path: str
    line: int
    column: int
    code: str
    message: str
    confidence: str | None = None

    @property
    def key(self) -> Key:
        return (self.project, self.path, self.line, self.code)

    @property
    def inspected(self) -> bool:
        """False for a worker defined outside the project (`--unresolved skip` drops it)."""
        return UNRESOLVED_MARK not in self.message

    @property
    def location(self) -> str:
        folders = PurePosixPath(self.path).parts[:-1]
        return "examples" if any(part.lower() in EXAMPLE_FOLDERS for part in folders) else "library"

    def text(self) -> str:
        level = f" [{self.confidence}]" if self.confidence else ""
        return f"{self.project} {self.path}:{self.line}:{self.column} {self.code}{level} {self.message}"


@dataclass(frozen=True)
class Verdict:
    project: str
    path: str
    line: int
    code: str
    verdict: str
    cause: str
    evidence: str

    @property
    def key(self) -> Key:
        return (self.project, self.path, self.line, self.code)


@dataclass(frozen=True)
class Miss:
    project: str
    path: str
    line: int
    kind: str
    evidence: str


def _rows(text: str, source: str, columns: Sequence[str]) -> Iterable[tuple[int, list[str]]]:
    """The data rows of a tab-separated file: `#` comments, blank lines and the header skipped."""
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip() or raw.startswith("#"):
            continue
        cells = raw.split("\t")
        if cells == list(columns):
            continue
        if len(cells) != len(columns):
            raise EcosystemError(
                f"{source}:{number}: expected {len(columns)} tab-separated columns "
                f"({', '.join(columns)}), found {len(cells)}"
            )
        if any(not cell.strip() for cell in cells[:-1]):
            raise EcosystemError(f"{source}:{number}: an empty column")
        yield number, cells


def _line_number(cell: str, source: str, number: int) -> int:
    if not cell.isdigit() or int(cell) < 1:
        raise EcosystemError(f"{source}:{number}: the line must be a positive number, not {cell!r}")
    return int(cell)


def parse_projects(text: str, source: str) -> list[Project]:
    projects: list[Project] = []
    for number, (name, version, kind, why) in _rows(text, source, ("name", "version", "kind", "why")):
        if any(p.name == name for p in projects):
            raise EcosystemError(f"{source}:{number}: {name} is listed twice")
        projects.append(Project(name, version, kind, why))
    return projects


VERDICT_COLUMNS = ("project", "path", "line", "code", "verdict", "cause", "evidence")


def parse_verdicts(text: str, source: str) -> dict[Key, Verdict]:
    verdicts: dict[Key, Verdict] = {}
    for number, (project, path, line, code, verdict, cause, evidence) in _rows(text, source, VERDICT_COLUMNS):
        if verdict not in VERDICTS:
            raise EcosystemError(f"{source}:{number}: the verdict is one of {'/'.join(VERDICTS)}, not {verdict!r}")
        if not evidence.strip():
            raise EcosystemError(f"{source}:{number}: a verdict needs its evidence")
        entry = Verdict(project, path, _line_number(line, source, number), code, verdict, cause, evidence)
        if entry.key in verdicts:
            raise EcosystemError(f"{source}:{number}: a second verdict for {project} {path}:{line} {code}")
        verdicts[entry.key] = entry
    return verdicts


MISS_COLUMNS = ("project", "path", "line", "kind", "evidence")


def parse_misses(text: str, source: str) -> list[Miss]:
    return [
        Miss(project, path, _line_number(line, source, number), kind, evidence)
        for number, (project, path, line, kind, evidence) in _rows(text, source, MISS_COLUMNS)
    ]


def _normal_path(path: str) -> str:
    """A report's path as the project's root sees it: `./pkg/m.py` and `pkg/m.py` are one."""
    return str(PurePosixPath(path.replace("\\", "/")))


def parse_check_output(project: str, output: str) -> list[Report]:
    """The reports of `check --output-format json` (a list of objects) run in the project's root."""
    try:
        records = json.loads(output)
    except json.JSONDecodeError as error:
        raise EcosystemError(f"{project}: the check printed no JSON report ({error})") from None
    if not isinstance(records, list):
        raise EcosystemError(f"{project}: the check's JSON report is not a list")
    reports = []
    for record in records:
        try:
            confidence = record.get("confidence")
            reports.append(
                Report(
                    project,
                    _normal_path(str(record["path"])),
                    int(record["line"]),
                    int(record["column"]),
                    str(record["code"]),
                    str(record["message"]),
                    str(confidence) if confidence is not None else None,
                )
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            raise EcosystemError(
                f"{project}: a report of the check lacks path, line, column, code or message"
            ) from None
    return sorted(reports)


def report_lines(reports: Iterable[Report]) -> list[str]:
    return [report.text() for report in sorted(reports)]


def line_project(line: str) -> str:
    return line.partition(" ")[0]


@dataclass(frozen=True)
class Diff:
    added: list[str]
    removed: list[str]

    def lines(self) -> list[str]:
        # Interleaved by report, so that a changed message shows its - and + lines together.
        marked = [(line, "-") for line in self.removed] + [(line, "+") for line in self.added]
        return [f"{mark} {line}" for line, mark in sorted(marked)]


def diff_reports(committed: Sequence[str], current: Sequence[str], projects: Iterable[str]) -> Diff:
    """The change from the committed report lines to the current ones, for the projects that ran."""
    ran = set(projects)
    old = {line for line in committed if line_project(line) in ran}
    new = set(current)
    return Diff(added=sorted(new - old), removed=sorted(old - new))


def updated_lines(committed: Sequence[str], current: Sequence[str], projects: Iterable[str]) -> list[str]:
    """The committed lines with those of the projects that ran replaced by the current ones."""
    ran = set(projects)
    return sorted([line for line in committed if line_project(line) not in ran] + list(current))


@dataclass
class Tally:
    act: int = 0
    maybe: int = 0
    no: int = 0
    unjudged: int = 0

    @property
    def judged(self) -> int:
        return self.act + self.maybe + self.no

    def add(self, verdict: str | None) -> None:
        if verdict == "act":
            self.act += 1
        elif verdict == "maybe":
            self.maybe += 1
        elif verdict == "no":
            self.no += 1
        else:
            self.unjudged += 1

    def precision(self) -> tuple[float, float] | None:
        """act / judged and (act + maybe) / judged; None when nothing is judged."""
        if not self.judged:
            return None
        return self.act / self.judged, (self.act + self.maybe) / self.judged

    def summary(self) -> str:
        figures = self.precision()
        shares = "precision n/a" if figures is None else f"act {figures[0]:6.1%}  act+maybe {figures[1]:6.1%}"
        unjudged = f"  ({self.unjudged} without a verdict)" if self.unjudged else ""
        counts = f"{self.judged + self.unjudged:4d} reports: {self.act:3d} act {self.maybe:3d} maybe {self.no:3d} no"
        return f"{counts}   {shares}{unjudged}"


@dataclass
class Precision:
    overall: Tally = field(default_factory=Tally)
    by: dict[str, dict[str, Tally]] = field(default_factory=dict)

    def tally(self, axis: str, value: str) -> Tally:
        return self.by.setdefault(axis, {}).setdefault(value, Tally())


def precision(reports: Iterable[Report], verdicts: Mapping[Key, Verdict]) -> Precision:
    """The verdicts' shares over the reports, overall and per project, code, confidence, whether
    the worker could be inspected and where it is (confidence only when the reports carry it)."""
    result = Precision()
    for report in reports:
        found = verdicts.get(report.key)
        verdict = found.verdict if found else None
        result.overall.add(verdict)
        result.tally("project", report.project).add(verdict)
        result.tally("code", report.code).add(verdict)
        result.tally("worker", "inspected" if report.inspected else "could not be inspected").add(verdict)
        result.tally("location", report.location).add(verdict)
        if report.confidence is not None:
            result.tally("confidence", report.confidence).add(verdict)
    return result


def no_causes(reports: Iterable[Report], verdicts: Mapping[Key, Verdict]) -> dict[str, int]:
    """How many `no` verdicts each cause has, among the current reports, most first."""
    counts: dict[str, int] = {}
    for report in reports:
        found = verdicts.get(report.key)
        if found and found.verdict == "no":
            counts[found.cause] = counts.get(found.cause, 0) + 1
    return dict(sorted(counts.items(), key=lambda item: (-item[1], item[0])))


def missing_verdicts(reports: Iterable[Report], verdicts: Mapping[Key, Verdict]) -> list[Report]:
    return sorted(report for report in reports if report.key not in verdicts)


def stale_verdicts(
    reports: Iterable[Report], verdicts: Mapping[Key, Verdict], projects: Iterable[str]
) -> list[Verdict]:
    """Verdicts of the projects that ran for reports this run did not make."""
    made = {report.key for report in reports}
    ran = set(projects)
    return sorted(
        (v for v in verdicts.values() if v.project in ran and v.key not in made), key=lambda v: (v.key, v.verdict)
    )


def miss_lines(misses: Iterable[Miss], reports: Iterable[Report], projects: Iterable[str]) -> list[str]:
    """The recorded misses of the projects that ran; one the check reports now is marked so."""
    made = {(r.project, r.path, r.line) for r in reports}
    ran = set(projects)
    return [
        f"{m.project} {m.path}:{m.line} {m.kind}: {m.evidence}"
        + ("  [reported now: move it to verdicts.tsv]" if (m.project, m.path, m.line) in made else "")
        for m in misses
        if m.project in ran
    ]


def select_projects(projects: Sequence[Project], names: str | None) -> list[Project]:
    if not names:
        return list(projects)
    known = {p.name.lower(): p for p in projects}
    wanted = [name.strip().lower() for name in names.split(",") if name.strip()]
    unknown = [name for name in wanted if name not in known]
    if unknown:
        raise EcosystemError(
            f"unknown project(s): {', '.join(unknown)}; the projects are: {', '.join(p.name for p in projects)}"
        )
    return [known[name] for name in dict.fromkeys(wanted)]


# -- the adapters: pip, archives, the tool ------------------------------------------------------


def _safe_members(names: Iterable[str], archive: Path) -> None:
    for name in names:
        parts = PurePosixPath(name.replace("\\", "/")).parts
        if not parts or name.startswith(("/", "\\")) or ".." in parts or ":" in parts[0]:
            raise EcosystemError(f"{archive.name}: refusing to extract {name!r} (outside the archive's folder)")


def extract(archive: Path, destination: Path) -> None:
    """Regular files and folders only (no links, no devices), none outside `destination`."""
    if archive.name.endswith(".zip"):
        with zipfile.ZipFile(archive) as zipped:
            _safe_members(zipped.namelist(), archive)
            zipped.extractall(destination)
        return
    with tarfile.open(archive) as tarred:
        members = [m for m in tarred.getmembers() if m.isfile() or m.isdir()]
        _safe_members((m.name for m in members), archive)
        for member in members:
            target = destination / member.name
            if member.isdir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            source = tarred.extractfile(member)
            if source is None:
                continue
            with source, open(target, "wb") as out:
                shutil.copyfileobj(source, out)


def _download(project: Project, folder: Path) -> Path:
    # `--no-binary NAME`, not `:all:`: pip would then build the sdist's build backend (setuptools,
    # hatchling, ...) from source too, to read its metadata, and that fails for most of them.
    command = [sys.executable, "-m", "pip", "download", "--quiet", "--no-deps", "--no-binary", project.name]
    command += ["--dest", str(folder), project.pin]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    sdists = [p for p in folder.iterdir() if p.name.endswith((".tar.gz", ".zip", ".tar.bz2", ".tgz"))]
    if result.returncode != 0 or len(sdists) != 1:
        last = (result.stderr.strip().splitlines() or ["no sdist saved"])[-1]
        raise EcosystemError(f"{project.name}: pip download {project.pin} failed: {last}")
    return sdists[0]


def source_root(project: Project, cache: Path) -> Path:
    """The project's extracted sdist in the cache, downloaded and extracted on first use."""
    folder = cache / "src" / f"{project.name}-{project.version}"
    if not folder.is_dir():
        cache.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=cache, prefix=f".{project.name}-") as scratch:
            downloads = Path(scratch) / "sdist"
            downloads.mkdir()
            archive = _download(project, downloads)
            unpacked = Path(scratch) / "unpacked"
            extract(archive, unpacked)
            folder.parent.mkdir(parents=True, exist_ok=True)
            try:
                os.replace(unpacked, folder)  # whole or not at all: a later run never sees half of it
            except OSError:
                if not folder.is_dir():  # another run put it there first
                    raise
    entries = [p for p in folder.iterdir() if not p.name.startswith(".")]
    # An sdist holds one folder, NAME-VERSION/: its root.
    return entries[0] if len(entries) == 1 and entries[0].is_dir() else folder


@dataclass(frozen=True)
class Outcome:
    project: Project
    reports: list[Report]
    notes: list[str]  # the files the check could not check (its stderr), one per line


def sets_own_level(extra: Sequence[str]) -> bool:
    """Whether the extra check arguments choose the lowest confidence reported themselves."""
    flags = ("--min-confidence", "--unresolved")
    return any(arg == flag or arg.startswith(flag + "=") for arg in extra for flag in flags)


def shown(reports: Iterable[Report], extra: Sequence[str]) -> list[Report]:
    """The reports of the settings run: those of every confidence when the extra arguments
    chose the level; otherwise the default's (high), the check having run at low (`run_check`)
    so that a verdict of a medium or low report is not taken for a stale one."""
    if sets_own_level(extra):
        return list(reports)
    return [report for report in reports if report.confidence in (None, "high")]


def run_check(project: Project, root: Path, extra: Sequence[str]) -> Outcome:
    level = () if sets_own_level(extra) else ("--min-confidence", "low")
    command = [sys.executable, "-m", "unguarded_workers", *CHECK_ARGS, *level, "--jobs", "1", *extra, "."]
    result = subprocess.run(command, cwd=root, capture_output=True, text=True, check=False)
    if result.returncode not in (0, 2) or not result.stdout.strip():
        last = (result.stderr.strip().splitlines() or [f"exit status {result.returncode}"])[-1]
        raise EcosystemError(f"{project.name}: the check failed: {last}")
    notes = [f"{project.name}: {line}" for line in result.stderr.splitlines() if line.strip()]
    return Outcome(project, parse_check_output(project.name, result.stdout), notes)


def check_project(project: Project, cache: Path, extra: Sequence[str]) -> Outcome:
    return run_check(project, source_root(project, cache), extra)


# -- the command ----------------------------------------------------------------------------------


def _read(path: Path, missing_ok: bool) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        if missing_ok:
            return ""
        raise EcosystemError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as error:
        raise EcosystemError(f"{path}: cannot be read ({error})") from None


def _section(title: str, lines: Sequence[str], empty: str = "(none)") -> None:
    print(f"\n== {title} ==")
    print("\n".join(lines) if lines else empty)


def _tally_lines(by: Mapping[str, Tally]) -> list[str]:
    width = max((len(name) for name in by), default=0)
    return [f"  {name:<{width}}  {tally.summary()}" for name, tally in sorted(by.items())]


def print_figures(reports: Sequence[Report], verdicts: Mapping[Key, Verdict]) -> None:
    figures = precision(reports, verdicts)
    lines = [f"overall  {figures.overall.summary()}"]
    for axis in ("project", "code", "confidence", "worker", "location"):
        if axis in figures.by:
            lines += [f"per {axis}:", *_tally_lines(figures.by[axis])]
    _section("precision (verdicts in ecosystem/verdicts.tsv)", lines)
    causes = no_causes(reports, verdicts)
    _section("'no' verdicts by cause", [f"  {count:4d}  {cause}" for cause, count in causes.items()])


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ecosystem.py",
        description="Run unguarded-workers check on a pinned set of real projects and measure its precision.",
    )
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"download cache (default: {DEFAULT_CACHE})")
    parser.add_argument("--projects", metavar="NAMES", help="a comma-separated subset of ecosystem/projects.tsv")
    parser.add_argument(
        "--check-args", default="", metavar="ARGS", help='more arguments for check, e.g. "--unresolved skip"'
    )
    parser.add_argument("-j", "--jobs", type=int, default=2, metavar="N", help="projects checked at once (2)")
    parser.add_argument("--update", action="store_true", help="rewrite ecosystem/reports.txt with this run's reports")
    parser.add_argument("--summary", action="store_true", help="print the diff and the figures, not every report")
    parser.add_argument("--data", type=Path, default=DATA, help=argparse.SUPPRESS)  # the tests' own files
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return _run(args)
    except EcosystemError as error:
        print(f"ecosystem: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _check_all(
    chosen: Sequence[Project], cache: Path, jobs: int, extra: Sequence[str]
) -> tuple[list[Outcome], list[str]]:
    """Each project's outcome, and one line per project that could not be downloaded or checked."""
    outcomes: list[Outcome] = []
    failures: list[str] = []
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        futures = [(p, pool.submit(check_project, p, cache, extra)) for p in chosen]
        for project, future in futures:
            try:
                outcomes.append(future.result())
            except EcosystemError as failure:
                failures.append(str(failure))
            except OSError as failure:
                failures.append(f"{project.name}: {failure}")
    return outcomes, failures


def _write(path: Path, lines: Sequence[str]) -> None:
    """Whole or not at all: the committed file is never left half-written."""
    scratch = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    scratch.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    os.replace(scratch, path)


def _run(args: argparse.Namespace) -> int:
    data: Path = args.data
    if args.jobs < 1:
        raise EcosystemError("--jobs must be at least 1")
    try:
        extra = shlex.split(args.check_args)
    except ValueError as problem:
        raise EcosystemError(f"--check-args: {problem}") from None
    if args.update and extra:
        raise EcosystemError("--update records the reports of the default settings: drop --check-args")
    projects_file = data / "projects.tsv"
    chosen = select_projects(parse_projects(_read(projects_file, False), str(projects_file)), args.projects)
    verdicts = parse_verdicts(_read(data / "verdicts.tsv", True), str(data / "verdicts.tsv"))
    misses = parse_misses(_read(data / "misses.tsv", True), str(data / "misses.tsv"))
    reports_file = data / "reports.txt"
    committed = [line for line in _read(reports_file, True).splitlines() if line.strip()]

    outcomes, failures = _check_all(chosen, args.cache, args.jobs, extra)
    ran = [o.project.name for o in outcomes]
    made = sorted(r for o in outcomes for r in o.reports)  # at every confidence
    reports = shown(made, extra)
    current = report_lines(reports)
    if not args.summary:
        _section(f"reports ({len(current)})", current)
    _section("files the check could not check", [n for o in outcomes for n in o.notes])
    diff = diff_reports(committed, current, ran)
    settings = f" (run with --check-args {shlex.join(extra)})" if extra else ""
    _section(f"diff against ecosystem/reports.txt{settings}", diff.lines(), "(no change)")
    per_project = {o.project.pin: len(shown(o.reports, extra)) for o in outcomes}
    _section("reports per project", [f"  {pin:<32} {count:4d}" for pin, count in per_project.items()])
    print_figures(reports, verdicts)
    missing = missing_verdicts(reports, verdicts)
    _section(f"verdicts missing ({len(missing)})", [r.text() for r in missing])
    stale = stale_verdicts(made, verdicts, ran)
    stale_lines = [f"{v.project} {v.path}:{v.line} {v.code} {v.verdict}" for v in stale]
    _section(f"stale verdicts: reports no longer made ({len(stale)})", stale_lines)
    found = miss_lines(misses, reports, ran)
    _section(f"misses: unguarded workers the check does not report ({len(found)})", found)
    for failure in failures:
        print(f"ecosystem: error: {failure}", file=sys.stderr)
    if failures:
        if args.update:
            print("ecosystem: reports.txt left as it was: some projects failed", file=sys.stderr)
        return 2
    if args.update:
        _write(reports_file, updated_lines(committed, current, ran))
        print(f"\necosystem: wrote {reports_file} ({len(current)} reports of {len(ran)} projects)")
        return 1 if missing or stale else 0
    return 1 if diff.added or diff.removed or missing or stale else 0


if __name__ == "__main__":
    raise SystemExit(main())
