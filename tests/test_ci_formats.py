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
    assert results[0]["properties"]["evidence"] == ["waiter", "one-shot"]
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
