"""Reports for CI consumers: SARIF fingerprints, help and levels; JUnit XML; GitLab Code
Quality; each checked against what its consumer reads."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from xml.etree import ElementTree

import pytest
from cli_helpers import run_cli

SOURCE = textwrap.dedent(
    """\
    import asyncio
    import threading


    def work():
        while True: step()


    threading.Thread(target=work).start()
    threading.Thread(target=work).start()


    async def run():
        asyncio.create_task(work())
    """
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.py").write_text(SOURCE)
    (tmp_path / "broken.py").write_text("from threading import Thread\ndef f(:\n    Thread(target=f).start()\n")
    return tmp_path


def _sarif(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, object]:
    result = run_cli(capsys, "check", "--output-format=sarif", *args, "m.py")
    document = json.loads(result.out)
    assert isinstance(document, dict)
    return document


def _fingerprints(document: dict[str, object]) -> list[str]:
    (run,) = document["runs"]  # type: ignore[misc]
    return [r["partialFingerprints"]["unguardedWorkers/v1"] for r in run["results"]]  # type: ignore[index]


def test_sarif_fingerprints_survive_unrelated_edits(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = _fingerprints(_sarif(capsys))
    assert len(before) == len(set(before)) == 3  # the two equal spawns are told apart
    (workdir / "m.py").write_text('"""A docstring moves every line."""\n\n\n' + SOURCE.replace("step()", "step(1)"))
    assert _fingerprints(_sarif(capsys)) == before
    other = "\n\nasync def other():\n    while True: await step()\n"
    (workdir / "m.py").write_text(SOURCE.replace("create_task(work())", "create_task(other())") + other)
    assert _fingerprints(_sarif(capsys))[2] != before[2]  # a different target is a different finding


CONFIDENCES = textwrap.dedent(
    """    import threading
    from elsewhere import imported


    def once():
        step()


    class Client:
        def _run(self):
            self._flush()
            self._exited.set()

        def _flush(self):
            send()

        def start(self):
            threading.Thread(target=self._run).start()
            threading.Thread(target=once).start()
            threading.Thread(target=imported).start()

        def stop(self):
            self._exited.wait()
    """
)


def test_sarif_levels_ranks_precision_and_related_locations_follow_the_evidence(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "m.py").write_text(CONFIDENCES)
    (run,) = _sarif(capsys, "--min-confidence=low")["runs"]  # type: ignore[misc]
    results = run["results"]  # type: ignore[index]
    summary = [(r["properties"]["precision"], r["level"], r["rank"]) for r in results]
    assert summary == [("high", "error", 90.0), ("medium", "warning", 50.0), ("low", "note", 10.0)]
    assert results[0]["properties"]["evidence"] == ["waiter", "printed"]
    related = [
        (loc["physicalLocation"]["region"]["startLine"], loc["message"]["text"])
        for loc in results[0]["relatedLocations"]
    ]
    assert related == [
        (11, "self._flush() runs outside any try"),
        (23, "stop() waits on self._exited here"),
        (12, "self._exited is set only here"),
    ]
    assert [loc["id"] for loc in results[0]["relatedLocations"]] == [1, 2, 3]
    assert "relatedLocations" not in results[2]  # nothing to point at: it could not be inspected
    (lowered,) = _sarif(capsys, "--min-confidence=low", "--sarif-level=warning")["runs"]  # type: ignore[misc]
    assert [r["level"] for r in lowered["results"]] == ["warning", "note", "note"]  # type: ignore[index]


def test_github_annotation_levels_follow_the_confidence(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "m.py").write_text(CONFIDENCES)
    lines = run_cli(capsys, "check", "--output-format=github", "--min-confidence=low", "m.py").out.splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == ["::error", "::warning", "::notice"]
    default = run_cli(capsys, "check", "--output-format=github", "m.py").out.splitlines()
    assert [line.split(" ", 1)[0] for line in default] == ["::error"]


def test_sarif_rules_have_markdown_help_tags_and_the_chosen_level(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = _sarif(capsys, "--sarif-level=warning")
    (run,) = document["runs"]  # type: ignore[misc]
    rules = run["tool"]["driver"]["rules"]  # type: ignore[index]
    assert all(rule["help"]["markdown"].startswith(f"**{rule['id']} ") for rule in rules)
    assert all(rule["defaultConfiguration"]["level"] == "warning" for rule in rules)
    assert rules[0]["properties"]["tags"] == ["reliability", "concurrency", "threading"]
    assert {result["level"] for result in run["results"]} == {"warning"}  # type: ignore[index]


def test_junit_xml(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "clean.py").write_text("x = 1\n")
    result = run_cli(capsys, "check", "--output-format=junit", "m.py", "clean.py", "broken.py")
    assert result.status == 2
    root = ElementTree.fromstring(result.out)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["m.py", "clean.py", "broken.py"]
    for suite in suites:  # the counts a CI server reads match the cases
        cases = suite.findall("testcase")
        assert int(suite.get("tests", "-1")) == len(cases)
        assert int(suite.get("failures", "-1")) == sum(len(c.findall("failure")) for c in cases)
        assert int(suite.get("errors", "-1")) == sum(len(c.findall("error")) for c in cases)
    assert (root.get("tests"), root.get("failures"), root.get("errors")) == ("5", "3", "1")
    failure = suites[0].find("testcase/failure")
    assert failure is not None
    assert failure.get("type") == "UW101"
    assert failure.text is not None
    assert failure.text.startswith("m.py:9:1: UW101 thread target 'work'")
    assert suites[1].find("testcase/failure") is None  # a clean file is a passing case


def test_gitlab_code_quality(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "check", "--output-format=gitlab", "m.py")
    issues = json.loads(result.out)
    assert len(issues) == 3
    for issue in issues:  # the fields GitLab requires, with the types it requires
        assert isinstance(issue["description"], str)
        assert issue["description"].startswith(issue["check_name"])
        assert issue["check_name"] in {"UW101", "UW301"}
        assert isinstance(issue["fingerprint"], str)
        assert len(issue["fingerprint"]) == 32
        assert issue["severity"] in {"info", "minor", "major", "critical", "blocker"}
        assert issue["location"]["path"] == "m.py"
        assert isinstance(issue["location"]["lines"]["begin"], int)
    assert len({issue["fingerprint"] for issue in issues}) == 3


def test_github_paths_as_given_without_dot_slash_and_errors_at_their_line(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    lines = run_cli(capsys, "check", "--output-format=github", ".").out.splitlines()
    # GitHub's workflow commands: file, line, endLine, and col/endColumn on one line only.
    assert (
        lines[0]
        == "::error file=broken.py,line=2,col=7,title=unguarded-workers::broken.py:2:7: cannot parse: invalid syntax"
    )
    assert lines[1].startswith("::error file=m.py,line=9,endLine=9,col=1,endColumn=30,title=UW101 ")
    multiline = (
        "import threading\ndef work():\n    while True: step()\nthreading.Thread(\n    target=work,\n).start()\n"
    )
    (workdir / "m.py").write_text(multiline)
    (annotation,) = run_cli(capsys, "check", "--output-format=github", "./m.py").out.splitlines()
    assert annotation.startswith("::error file=m.py,line=4,endLine=6,title=UW101 ")  # no columns across lines


def test_gitlab_reports_files_that_could_not_be_checked(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "m.py").write_text(CONFIDENCES)
    issues = json.loads(run_cli(capsys, "check", "--output-format=gitlab", "--min-confidence=low", ".").out)
    error, *findings = issues
    assert (error["check_name"], error["severity"]) == ("input-error", "critical")
    assert error["location"] == {"path": "broken.py", "lines": {"begin": 2}}
    assert error["description"] == "broken.py:2:7: cannot parse: invalid syntax"
    assert len(error["fingerprint"]) == 32
    assert [issue["severity"] for issue in findings] == ["major", "minor", "info"]  # by confidence
    assert all(issue["location"]["path"] == "m.py" for issue in findings)  # no ./
    for issue in issues:  # the fields GitLab requires
        assert {"description", "check_name", "fingerprint", "severity", "location"} <= set(issue)
        assert isinstance(issue["location"]["lines"]["begin"], int)
    assert len({issue["fingerprint"] for issue in issues}) == len(issues)


def test_sarif_end_positions_snippets_and_the_errors_place(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = SOURCE.replace(
        "threading.Thread(target=work).start()\nthreading.Thread(target=work).start()",
        "x = threading.Thread(target=work)\nthreading.Thread(target=work)",
    )
    (workdir / "m.py").write_text(source)
    result = run_cli(capsys, "check", "--output-format=sarif", "m.py", "broken.py")
    (run,) = json.loads(result.out)["runs"]
    physical = run["results"][0]["locations"][0]["physicalLocation"]
    assert physical["region"] == {
        "startLine": 9,
        "startColumn": 5,
        "endLine": 9,
        "endColumn": 34,
        "snippet": {"text": "threading.Thread(target=work)"},
    }
    # The whole line, around the region (a proper superset of it, as SARIF requires).
    assert physical["contextRegion"] == {
        "startLine": 9,
        "endLine": 9,
        "snippet": {"text": "x = threading.Thread(target=work)"},
    }
    second = run["results"][1]["locations"][0]["physicalLocation"]
    assert second["region"]["snippet"] == {"text": "threading.Thread(target=work)"}
    assert "contextRegion" not in second  # the region is its whole line: nothing around it
    (notification,) = run["invocations"][0]["toolExecutionNotifications"]
    assert notification["descriptor"]["id"] == "syntax-error"
    assert notification["locations"][0]["physicalLocation"]["region"] == {"startLine": 2, "startColumn": 7}


def test_junit_counts_files_not_read_as_errors_and_skipped_ones_as_skipped(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "latin.py").write_bytes(b"import threading\nthreading.Thread(target=f)  # caf\xe9\nx = '\xe9'\n")
    (workdir / "big.py").write_text(SOURCE + "#" * 2000 + "\n")
    result = run_cli(
        capsys, "check", "--output-format=junit", "--max-file-size=1K", "m.py", "broken.py", "latin.py", "big.py"
    )
    root = ElementTree.fromstring(result.out)
    suites = {suite.get("name"): suite for suite in root.findall("testsuite")}
    for name in ("broken.py", "latin.py"):
        assert suites[name].get("errors") == "1"
        (case,) = suites[name].findall("testcase")
        assert case.find("error") is not None
    assert suites["broken.py"].find("testcase").get("line") == "2"
    assert suites["big.py"].get("skipped") == "1"
    assert suites["big.py"].find("testcase/skipped") is not None
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("6", "3", "2", "1")
