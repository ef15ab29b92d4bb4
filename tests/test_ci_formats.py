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
    (tmp_path / "broken.py").write_text("from threading import Thread\ndef f(:\n")
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
    (workdir / "m.py").write_text(SOURCE.replace("create_task(work())", "create_task(other())"))
    assert _fingerprints(_sarif(capsys))[2] != before[2]  # a different target is a different finding


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
