"""scripts/ecosystem.py offline: its pure parts (parsing, diffing, precision), safe extraction,
and the whole command on a project already in its cache (the real tool runs; pip does not)."""

from __future__ import annotations

import importlib.util
import io
import json
import subprocess
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

SCRIPT = Path(__file__).parent.parent / "scripts" / "ecosystem.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("ecosystem_script", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


eco: Any = _load()

HEADER = "project\tpath\tline\tcode\tverdict\tcause\tevidence\n"


def _record(path: str, line: int, code: str = "UW101", message: str = "m", **extra: object) -> dict[str, object]:
    return {"path": path, "line": line, "column": 5, "code": code, "message": message, **extra}


def _report(project: str, path: str, line: int, code: str = "UW101", **kwargs: Any) -> Any:
    return eco.Report(project, path, line, 5, code, kwargs.pop("message", "m"), **kwargs)


def _verdict(key: tuple[str, str, int, str], verdict: str, cause: str = "c") -> Any:
    return eco.Verdict(*key, verdict, cause, "evidence")


def _by_key(*verdicts: Any) -> dict[Any, Any]:
    return {verdict.key: verdict for verdict in verdicts}


# -- parsing ------------------------------------------------------------------------------------


def test_check_output_is_parsed_sorted_with_paths_from_the_root() -> None:
    output = json.dumps([_record("./pkg/b.py", 3), _record("pkg/a.py", 9, "UW301", confidence="low")])
    reports = eco.parse_check_output("proj", output)
    assert [(r.path, r.line, r.code, r.confidence) for r in reports] == [
        ("pkg/a.py", 9, "UW301", "low"),
        ("pkg/b.py", 3, "UW101", None),
    ]
    assert reports[0].text() == "proj pkg/a.py:9:5 UW301 [low] m"
    assert reports[1].text() == "proj pkg/b.py:3:5 UW101 m"
    assert reports[1].key == ("proj", "pkg/b.py", 3, "UW101")


@pytest.mark.parametrize(
    ("output", "problem"),
    [
        ("not json", "printed no JSON report"),
        ('{"path": "a.py"}', "is not a list"),
        ('[{"path": "a.py", "line": 1}]', "lacks path, line, column, code or message"),
        ('[{"path": "a.py", "line": "x", "column": 1, "code": "UW101", "message": "m"}]', "lacks"),
        ("[3]", "lacks"),
    ],
)
def test_bad_check_output_is_a_clear_error(output: str, problem: str) -> None:
    with pytest.raises(eco.EcosystemError, match=problem):
        eco.parse_check_output("proj", output)


def test_a_report_knows_whether_its_worker_was_inspected_and_where_it_is() -> None:
    assert _report("p", "pkg/m.py", 1).inspected
    assert not _report("p", "pkg/m.py", 1, message="target 'f' could not be inspected (a parameter)").inspected
    assert _report("p", "pkg/m.py", 1).location == "library"
    assert _report("p", "examples/chat/client.py", 1).location == "examples"
    assert _report("p", "kafka/benchmarks/load.py", 1).location == "examples"
    assert _report("p", "pkg/examples.py", 1).location == "library"  # a module, not a folder


def test_verdicts_are_parsed_skipping_comments_blank_lines_and_the_header() -> None:
    text = "# a comment\n\n" + HEADER + "p\tpkg/m.py\t12\tUW101\tact\tkills-loop\tfile:line facts\n"
    verdicts = eco.parse_verdicts(text, "verdicts.tsv")
    assert list(verdicts) == [("p", "pkg/m.py", 12, "UW101")]
    assert verdicts["p", "pkg/m.py", 12, "UW101"].cause == "kills-loop"


@pytest.mark.parametrize(
    ("row", "problem"),
    [
        ("p\tm.py\t12\tUW101\tyes\tc\te", r"verdicts.tsv:2: the verdict is one of act/maybe/no, not 'yes'"),
        ("p\tm.py\t12\tUW101\tact\tc", r"verdicts.tsv:2: expected 7 tab-separated columns .* found 6"),
        ("p\tm.py\ttwelve\tUW101\tact\tc\te", r"verdicts.tsv:2: the line must be a positive number, not 'twelve'"),
        ("p\tm.py\t12\tUW101\tact\tc\t ", r"verdicts.tsv:2: a verdict needs its evidence"),
        ("p\t\t12\tUW101\tact\tc\te", r"verdicts.tsv:2: an empty column"),
    ],
)
def test_a_bad_verdict_line_names_the_file_and_line(row: str, problem: str) -> None:
    with pytest.raises(eco.EcosystemError, match=problem):
        eco.parse_verdicts(HEADER + row + "\n", "verdicts.tsv")


def test_a_second_verdict_for_one_report_is_an_error() -> None:
    row = "p\tm.py\t12\tUW101\tact\tc\te\n"
    with pytest.raises(eco.EcosystemError, match=r"verdicts.tsv:3: a second verdict for p m.py:12 UW101"):
        eco.parse_verdicts(HEADER + row + row, "verdicts.tsv")


def test_projects_and_misses_are_parsed() -> None:
    projects = eco.parse_projects("name\tversion\tkind\twhy\nnats-py\t2.16.0\tbroker\tasyncio tasks\n", "p.tsv")
    assert [(p.name, p.pin) for p in projects] == [("nats-py", "nats-py==2.16.0")]
    with pytest.raises(eco.EcosystemError, match="listed twice"):
        eco.parse_projects("a\t1\tk\tw\na\t2\tk\tw\n", "p.tsv")
    misses = eco.parse_misses("p\tpkg/m.py\t51\tUW301\twhy it is one\n", "m.tsv")
    assert [(m.project, m.line, m.kind) for m in misses] == [("p", 51, "UW301")]


def test_projects_are_selected_by_name_in_any_case() -> None:
    projects = eco.parse_projects("a\t1\tk\tw\nB\t2\tk\tw\n", "p.tsv")
    assert [p.name for p in eco.select_projects(projects, None)] == ["a", "B"]
    assert [p.name for p in eco.select_projects(projects, "b, a,b")] == ["B", "a"]
    with pytest.raises(eco.EcosystemError, match=r"unknown project\(s\): c; the projects are: a, B"):
        eco.select_projects(projects, "a,c")


# -- diffing --------------------------------------------------------------------------------------


def test_the_diff_compares_only_the_projects_that_ran() -> None:
    committed = ["a x.py:1:1 UW101 old message", "a y.py:2:1 UW101 kept", "b z.py:3:1 UW101 not run"]
    current = ["a x.py:1:1 UW101 new message", "a y.py:2:1 UW101 kept"]
    diff = eco.diff_reports(committed, current, ["a"])
    assert diff.removed == ["a x.py:1:1 UW101 old message"]
    assert diff.added == ["a x.py:1:1 UW101 new message"]
    # A changed report shows its old and new lines together.
    assert diff.lines() == ["+ a x.py:1:1 UW101 new message", "- a x.py:1:1 UW101 old message"]
    assert eco.diff_reports(committed, committed[:2], ["a"]).lines() == []


def test_an_update_replaces_the_lines_of_the_projects_that_ran_only() -> None:
    committed = ["a x.py:1:1 UW101 old", "b z.py:3:1 UW101 other project"]
    assert eco.updated_lines(committed, ["a w.py:9:1 UW301 new"], ["a"]) == [
        "a w.py:9:1 UW301 new",
        "b z.py:3:1 UW101 other project",
    ]


# -- precision ------------------------------------------------------------------------------------


def test_a_tally_counts_the_judged_reports_only() -> None:
    tally = eco.Tally()
    for verdict in ("act", "maybe", "no", "no", None):
        tally.add(verdict)
    assert (tally.act, tally.maybe, tally.no, tally.unjudged, tally.judged) == (1, 1, 2, 1, 4)
    assert tally.precision() == (0.25, 0.5)
    assert "act  25.0%  act+maybe  50.0%  (1 without a verdict)" in tally.summary()
    assert eco.Tally().precision() is None
    assert "precision n/a" in eco.Tally().summary()


def test_precision_per_project_code_confidence_worker_and_location() -> None:
    reports = [
        _report("a", "m.py", 1, confidence="high"),
        _report("a", "m.py", 2, "UW301", confidence="low", message="'f' could not be inspected"),
        _report("b", "examples/e.py", 3, confidence="low"),
    ]
    verdicts = _by_key(
        _verdict(("a", "m.py", 1, "UW101"), "act"),
        _verdict(("a", "m.py", 2, "UW301"), "maybe"),
        _verdict(("b", "examples/e.py", 3, "UW101"), "no", "example"),
    )
    figures = eco.precision(reports, verdicts)
    assert figures.overall.precision() == (1 / 3, 2 / 3)
    assert figures.by["project"]["a"].precision() == (0.5, 1.0)
    assert figures.by["project"]["b"].precision() == (0.0, 0.0)
    assert figures.by["code"]["UW301"].maybe == 1
    assert figures.by["confidence"]["low"].precision() == (0.0, 0.5)
    assert figures.by["confidence"]["high"].act == 1
    assert figures.by["worker"]["could not be inspected"].judged == 1
    assert figures.by["location"]["examples"].no == 1
    assert eco.no_causes(reports, verdicts) == {"example": 1}


def test_without_confidence_in_the_reports_there_is_no_confidence_axis() -> None:
    figures = eco.precision([_report("a", "m.py", 1)], {})
    assert "confidence" not in figures.by
    assert figures.overall.unjudged == 1


def test_missing_and_stale_verdicts() -> None:
    reports = [_report("a", "m.py", 1), _report("a", "m.py", 5)]
    verdicts = _by_key(
        _verdict(("a", "m.py", 1, "UW101"), "act"),
        _verdict(("a", "gone.py", 7, "UW101"), "no"),
        _verdict(("b", "other.py", 1, "UW101"), "no"),  # b did not run
    )
    assert [r.line for r in eco.missing_verdicts(reports, verdicts)] == [5]
    assert [(v.project, v.path) for v in eco.stale_verdicts(reports, verdicts, ["a"])] == [("a", "gone.py")]


def test_a_miss_the_check_now_reports_is_marked() -> None:
    misses = [
        eco.Miss("a", "m.py", 1, "UW101", "why"),
        eco.Miss("a", "n.py", 2, "UW301", "why"),
        eco.Miss("b", "o.py", 3, "UW101", "w"),
    ]
    lines = eco.miss_lines(misses, [_report("a", "m.py", 1)], ["a"])
    assert lines == ["a m.py:1 UW101: why  [reported now: move it to verdicts.tsv]", "a n.py:2 UW301: why"]


# -- archives -------------------------------------------------------------------------------------


def _tar(path: Path, members: dict[str, bytes], link: str | None = None) -> Path:
    with tarfile.open(path, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        if link is not None:
            info = tarfile.TarInfo(link)
            info.type = tarfile.SYMTYPE
            info.linkname = "/etc/passwd"
            archive.addfile(info)
    return path


def test_an_sdist_is_extracted_without_its_links(tmp_path: Path) -> None:
    archive = _tar(tmp_path / "p-1.tar.gz", {"p-1/pkg/m.py": b"x = 1\n"}, link="p-1/pkg/evil")
    eco.extract(archive, tmp_path / "out")
    assert (tmp_path / "out" / "p-1" / "pkg" / "m.py").read_text() == "x = 1\n"
    assert not (tmp_path / "out" / "p-1" / "pkg" / "evil").exists()


@pytest.mark.parametrize("name", ["../escape.py", "/abs.py", "p-1/../../escape.py"])
def test_an_archive_member_outside_its_folder_is_refused(tmp_path: Path, name: str) -> None:
    archive = _tar(tmp_path / "p-1.tar.gz", {name: b""})
    with pytest.raises(eco.EcosystemError, match="refusing to extract"):
        eco.extract(archive, tmp_path / "out")
    assert not (tmp_path / "escape.py").exists()


# -- the command, offline: the project is already in the cache ------------------------------------

WORKER = """import threading


def poll():
    while True: step()


threading.Thread(target=poll).start()
"""


def _setup(tmp_path: Path) -> tuple[Path, Path]:
    """A data folder naming one project, and a cache that already holds its extracted sdist."""
    data = tmp_path / "data"
    data.mkdir()
    # Not "demo": a directory of that name is example code, which the check skips.
    (data / "projects.tsv").write_text("name\tversion\tkind\twhy\nacme\t1.0\tthreads\ta poller\n")
    root = tmp_path / "cache" / "src" / "acme-1.0" / "acme-1.0"
    (root / "acme").mkdir(parents=True)
    (root / "acme" / "__init__.py").write_text("")
    (root / "acme" / "jobs.py").write_text(WORKER)
    return data, tmp_path / "cache"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args], capture_output=True, text=True, check=False, timeout=300
    )


def test_the_command_checks_a_cached_project_records_and_compares_its_reports(tmp_path: Path) -> None:
    data, cache = _setup(tmp_path)
    options = ("--data", str(data), "--cache", str(cache))
    first = _run(*options)
    assert first.returncode == 1, first.stderr  # no committed reports yet: all of them are new
    line = "acme acme/jobs.py:8:1 UW101 [high] thread target 'poll' has no try/except guard"
    assert f"+ {line}" in first.stdout
    assert "verdicts missing (1)" in first.stdout

    updated = _run(*options, "--update")
    assert (data / "reports.txt").read_text().startswith(line)
    assert updated.returncode == 1  # the report has no verdict yet

    (data / "verdicts.tsv").write_text(HEADER + "acme\tacme/jobs.py\t8\tUW101\tact\tkills-loop\tjobs.py:4 step()\n")
    judged = _run(*options, "--summary")
    assert judged.returncode == 0, judged.stdout + judged.stderr
    assert "(no change)" in judged.stdout
    assert "act 100.0%  act+maybe 100.0%" in judged.stdout
    assert line not in judged.stdout.split("== diff")[0]  # --summary leaves the list out

    # Other settings: the report goes away, its verdict is stale, and the difference is shown.
    quiet = _run(*options, "--check-args", "--ignore UW101")
    assert quiet.returncode == 1
    assert f"- {line}" in quiet.stdout
    assert "stale verdicts: reports no longer made (1)" in quiet.stdout


def test_a_verdict_of_a_report_below_the_default_confidence_is_not_stale(tmp_path: Path) -> None:
    """The verdicts file keeps verdicts of medium and low reports too, to measure each level:
    the default set leaves those reports out, and their verdicts are not stale for that."""
    data, cache = _setup(tmp_path)
    jobs = cache / "src" / "acme-1.0" / "acme-1.0" / "acme" / "jobs.py"
    jobs.write_text(WORKER + "\n\ndef once():\n    step()\n\n\nthreading.Thread(target=once).start()\n")
    (data / "reports.txt").write_text(
        "acme acme/jobs.py:8:1 UW101 [high] thread target 'poll' has no try/except guard: line 5: step() runs "
    )
    verdicts = "acme\tacme/jobs.py\t8\tUW101\tact\tkills-loop\tjobs.py:5 step()\n"
    verdicts += "acme\tacme/jobs.py\t15\tUW101\tno\tone-shot\tjobs.py:12 step() once\n"
    (data / "verdicts.tsv").write_text(HEADER + verdicts)
    result = _run("--data", str(data), "--cache", str(cache), "--update")
    assert "stale verdicts: reports no longer made (0)" in result.stdout, result.stdout + result.stderr
    assert "[medium]" not in (data / "reports.txt").read_text()  # the default set: high only
    assert result.returncode == 0

    # With a level of its own, the run shows what that level reports.
    low = _run("--data", str(data), "--cache", str(cache), "--check-args", "--min-confidence low")
    assert "+ acme acme/jobs.py:15:1 UW101 [medium]" in low.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--jobs", "0"), "--jobs must be at least 1"),
        (("--update", "--check-args", "--unresolved skip"), "--update records the reports of the default settings"),
        (("--check-args", "'unclosed"), "--check-args: No closing quotation"),
        (("--projects", "nope"), "unknown project(s): nope"),
    ],
)
def test_bad_options_are_one_line_errors(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    data, cache = _setup(tmp_path)
    result = _run("--data", str(data), "--cache", str(cache), *args)
    assert result.returncode == 2
    assert result.stderr.startswith("ecosystem: error: ")
    assert message in result.stderr
    assert "Traceback" not in result.stderr
    assert not (data / "reports.txt").exists()


def test_a_bad_verdicts_file_stops_the_run_before_any_download(tmp_path: Path) -> None:
    data, _ = _setup(tmp_path)
    (data / "verdicts.tsv").write_text(HEADER + "acme\tacme/jobs.py\t8\tUW101\tperhaps\tc\te\n")
    result = _run("--data", str(data), "--cache", str(tmp_path / "empty-cache"))
    assert result.returncode == 2
    assert "verdicts.tsv:2: the verdict is one of act/maybe/no, not 'perhaps'" in result.stderr
    assert not (tmp_path / "empty-cache").exists()
