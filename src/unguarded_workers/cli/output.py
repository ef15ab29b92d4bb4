"""The report formats for machines: json, sarif (2.1.0), github annotations, junit (JUnit XML)
and gitlab (GitLab Code Quality), each with the fields its consumer documents; the formats
for people are in `text`."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote
from xml.etree import ElementTree

from .. import __version__
from ..codes import ALL_CODES, HOMEPAGE, Code, SpawnKind
from ..quoting import escaped, quoted
from ..violation import Confidence
from .engine import FileOutcome, Finding, Place

__all__ = ["FORMATS", "SARIF_LEVELS", "escaped", "quoted", "sarif"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _record(display: str, finding: Finding) -> dict[str, object]:
    violation = finding.violation
    return {
        "path": display,
        "line": violation.line,
        "column": finding.column,
        "end_line": finding.end_line,
        "end_column": finding.end_column,
        "code": violation.code.code,
        "name": violation.code.name,
        "message": violation.message,
        "confidence": violation.confidence.label,
        "evidence": [evidence.value for evidence in violation.evidence],
        "related": [
            {
                "path": place.path,
                "line": place.line,
                "column": place.column,
                "end_line": place.end_line,
                "end_column": place.end_column,
                "message": place.message,
            }
            for place in finding.related
        ],
        "spawner": violation.spawner,
        "fix_safe": violation.unsafe_fix is None,
        "url": violation.code.docs_url,
    }


def json_report(outcomes: Sequence[FileOutcome]) -> str:
    records = [_record(o.display, f) for o in outcomes for f in o.findings]
    return json.dumps(records, indent=2) + "\n"


def _artifact_uri(display: str) -> dict[str, str]:
    path = Path(display)
    if path.is_absolute():
        try:
            path = path.relative_to(Path.cwd())
        except ValueError:
            return {"uri": path.as_uri()}
    return {"uri": quote(path.as_posix(), errors="surrogateescape"), "uriBaseId": "%SRCROOT%"}


_KIND_TAGS = {
    SpawnKind.THREAD: "threading",
    SpawnKind.THREAD_RUN: "threading",
    SpawnKind.EXECUTOR: "futures",
    SpawnKind.TASK: "asyncio",
    SpawnKind.GROUP: "structured-concurrency",
}
SARIF_LEVELS = ("error", "warning", "note")


def _rule(code: Code, level: str) -> dict[str, object]:
    help_text = f"Guard it at the spawn line with unguarded_workers.wrap. See {code.docs_url}"
    return {
        "id": code.code,
        "name": code.name,
        "shortDescription": {"text": f"Unguarded {code.what}: {code.consequence}"},
        "fullDescription": {"text": f"A {code.what} with no try/except guard and no channel back: {code.consequence}."},
        "helpUri": code.docs_url,
        "help": {"text": help_text, "markdown": _help_markdown(code)},
        "defaultConfiguration": {"level": level},
        "properties": {"tags": ["reliability", "concurrency", _KIND_TAGS[code.kind]]},
    }


def _help_markdown(code: Code) -> str:
    fix = "a safe fix" if code.safe_fix else "an unsafe fix (it changes what a failure does to the group)"
    return (
        f"**{code.code} {code.name}**: a {code.what} whose failure escapes every guard: {code.consequence}.\n\n"
        "Put the guard at the spawn line, where the failure can be caught, reported and contained:\n\n"
        "```python\nfrom unguarded_workers import wrap\n\n"
        "threading.Thread(target=wrap(worker)).start()\nasyncio.create_task(wrap(consume(queue)))\n```\n\n"
        f"`unguarded-workers fix` inserts it ({fix}). [The rule's page]({code.docs_url}) has the exact rule, "
        "examples and options."
    )


def fingerprints(outcome: FileOutcome) -> list[str]:
    """A fingerprint per finding that survives unrelated edits: the code, the file, the spawner
    and the target's structure (no line numbers), and which of the file's equal ones it is."""
    seen: dict[str, int] = {}
    found = []
    for finding in outcome.findings:
        violation = finding.violation
        key = "|".join(
            (
                violation.code.code,
                Path(outcome.display).as_posix(),
                violation.spawner,
                violation.target_fingerprint or "",
            )
        )
        seen[key] = seen.get(key, 0) + 1
        found.append(hashlib.sha256(f"{key}|{seen[key]}".encode("utf-8", "surrogateescape")).hexdigest()[:32])
    return found


# A result's rank (SARIF's 0-100 priority) by confidence, as code scanning orders alerts.
_RANKS = {Confidence.HIGH: 90.0, Confidence.MEDIUM: 50.0, Confidence.LOW: 10.0}


def _sarif_level(confidence: Confidence, level: str) -> str:
    """`level` (--sarif-level) for high confidence, one step lower for each step below."""
    steps = SARIF_LEVELS.index(level) + (Confidence.HIGH - confidence)
    return SARIF_LEVELS[min(steps, len(SARIF_LEVELS) - 1)]


def _related_location(number: int, place: Place) -> dict[str, object]:
    region = {
        "startLine": place.line,
        "startColumn": place.column,
        "endLine": place.end_line,
        "endColumn": place.end_column,
    }
    return {
        "id": number,
        "physicalLocation": {"artifactLocation": _artifact_uri(place.path), "region": region},
        "message": {"text": place.message},
    }


def _region(finding: Finding) -> dict[str, object]:
    """Where the finding is, with its text (`snippet`); columns count characters, the end one
    exclusive, as SARIF's `unicodeCodePoints` counts them."""
    violation = finding.violation
    region: dict[str, object] = {
        "startLine": violation.line,
        "startColumn": finding.column,
        "endLine": finding.end_line,
        "endColumn": finding.end_column,
    }
    if finding.lines:
        pieces = list(finding.lines)
        if len(pieces) == 1:
            pieces[0] = pieces[0][finding.column - 1 : finding.end_column - 1]
        else:
            pieces[0] = pieces[0][finding.column - 1 :]
            pieces[-1] = pieces[-1][: finding.end_column - 1]
        region["snippet"] = {"text": "\n".join(pieces)}
    return region


def _context_region(finding: Finding) -> dict[str, object]:
    """The whole lines the finding is on: what a viewer shows around it (a proper superset of
    the region, as SARIF requires, unless the finding is its lines)."""
    return {
        "startLine": finding.violation.line,
        "endLine": finding.end_line,
        "snippet": {"text": "\n".join(finding.lines)},
    }


def _notification(outcome: FileOutcome) -> dict[str, object]:
    """A file that could not be checked: an error of the run, at its place in the file when known."""
    assert outcome.error is not None
    notification: dict[str, object] = {
        "level": "error",
        "message": {"text": outcome.error},
        "descriptor": {
            "id": "syntax-error" if outcome.error_line and "cannot parse" in outcome.error else "input-error"
        },
    }
    location: dict[str, object] = {"artifactLocation": _artifact_uri(outcome.display)}
    if outcome.error_line:
        location["region"] = {"startLine": outcome.error_line, "startColumn": outcome.error_column or 1}
    notification["locations"] = [{"physicalLocation": location}]
    return notification


def sarif(outcomes: Sequence[FileOutcome], level: str = "error") -> str:
    index = {code.code: number for number, code in enumerate(ALL_CODES)}
    results = []
    for outcome in outcomes:
        for finding, fingerprint in zip(outcome.findings, fingerprints(outcome)):
            violation = finding.violation
            confidence = violation.confidence
            location: dict[str, object] = {
                "artifactLocation": _artifact_uri(outcome.display),
                "region": _region(finding),
            }
            if finding.lines and (finding.column > 1 or finding.end_column <= len(finding.lines[-1])):
                location["contextRegion"] = _context_region(finding)
            result: dict[str, object] = {
                "ruleId": violation.code.code,
                "ruleIndex": index[violation.code.code],
                "level": _sarif_level(confidence, level),
                "rank": _RANKS[confidence],
                "message": {"text": violation.message},
                "partialFingerprints": {"unguardedWorkers/v1": fingerprint},
                "locations": [{"physicalLocation": location}],
                "properties": {
                    "precision": confidence.label,
                    "evidence": [evidence.value for evidence in violation.evidence],
                },
            }
            if finding.related:
                result["relatedLocations"] = [
                    _related_location(number, place) for number, place in enumerate(finding.related, start=1)
                ]
            results.append(result)
    notifications = [_notification(outcome) for outcome in outcomes if outcome.error is not None]
    run: dict[str, object] = {
        "tool": {
            "driver": {
                "name": "unguarded-workers",
                "version": __version__,
                "informationUri": HOMEPAGE,
                "rules": [_rule(code, level) for code in ALL_CODES],
            }
        },
        "columnKind": "unicodeCodePoints",
        "originalUriBaseIds": {"%SRCROOT%": {"uri": Path.cwd().as_uri() + "/"}},
        "invocations": [{"executionSuccessful": not notifications, "toolExecutionNotifications": notifications}],
        "results": results,
    }
    document = {"$schema": SARIF_SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(document, indent=2) + "\n"


def _escape_data(value: str) -> str:
    # GitHub decodes %25, %0D and %0A; other control characters are shown escaped.
    return escaped(value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A"))


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


_GITHUB_LEVELS = {Confidence.HIGH: "error", Confidence.MEDIUM: "warning", Confidence.LOW: "notice"}


def _given_path(display: str) -> str:
    """A path as the user gave it, with `/` and without a leading `./` (`check .` walks `./m.py`):
    GitHub matches an annotation's file against the repository's paths."""
    path = display.replace(os.sep, "/")
    while path.startswith("./"):
        path = path[2:].lstrip("/")
    return path


def github(outcomes: Sequence[FileOutcome]) -> str:
    """GitHub Actions workflow commands: each finding becomes an annotation on the diff, at its
    lines and, on one line, its columns (GitHub takes no columns across lines)."""
    lines = []
    for outcome in outcomes:
        path = _escape_property(_given_path(outcome.display))
        if outcome.error is not None:  # a file that could not be checked fails the run: show it too
            where = f",line={outcome.error_line}" if outcome.error_line else ""
            if outcome.error_line and outcome.error_column:
                where += f",col={outcome.error_column}"
            lines.append(f"::error file={path}{where},title=unguarded-workers::{_escape_data(outcome.error)}\n")
        for finding in outcome.findings:
            violation = finding.violation
            title = _escape_property(f"{violation.code.code} {violation.code.name}")
            message = _escape_data(f"{violation.code.code} {violation.message}")
            level = _GITHUB_LEVELS[violation.confidence]
            where = f"line={violation.line},endLine={finding.end_line}"
            if finding.end_line == violation.line:
                where += f",col={finding.column},endColumn={finding.end_column}"
            lines.append(f"::{level} file={path},{where},title={title}::{message}\n")
    return "".join(lines)


def junit(outcomes: Sequence[FileOutcome]) -> str:
    """JUnit XML, as CI servers read it: a test suite per file, a failing test case per
    finding, an error case for a file that could not be checked (unreadable, not parsable),
    a skipped case for one over max-file-size."""
    root = ElementTree.Element("testsuites", name="unguarded-workers")
    total = failures = errors = skipped = 0
    for outcome in outcomes:
        name = escaped(outcome.display)  # XML holds no control characters
        suite = ElementTree.SubElement(root, "testsuite", name=name)
        cases = 0
        for finding in outcome.findings:
            violation = finding.violation
            message = escaped(violation.message)
            case = ElementTree.SubElement(
                suite,
                "testcase",
                name=f"{violation.code.code} {violation.code.name}",
                classname=name,
                file=name,
                line=str(violation.line),
            )
            failure = ElementTree.SubElement(case, "failure", message=message, type=violation.code.code)
            failure.text = f"{name}:{violation.line}:{finding.column}: {violation.code.code} {message}"
            cases += 1
        if outcome.error is not None:
            case = ElementTree.SubElement(suite, "testcase", name="check", classname=name, file=name)
            if outcome.error_line:
                case.set("line", str(outcome.error_line))
            ElementTree.SubElement(case, "error", message=escaped(outcome.error), type="input-error")
            errors += 1
            cases += 1
        if outcome.skipped is not None:
            case = ElementTree.SubElement(suite, "testcase", name="check", classname=name, file=name)
            ElementTree.SubElement(case, "skipped", message=escaped(outcome.skipped))
            skipped += 1
            cases += 1
        if not cases:
            ElementTree.SubElement(suite, "testcase", name="unguarded-workers", classname=name)
            cases = 1
        suite.set("tests", str(cases))
        suite.set("failures", str(len(outcome.findings)))
        suite.set("errors", "1" if outcome.error is not None else "0")
        suite.set("skipped", "1" if outcome.skipped is not None else "0")
        total += cases
        failures += len(outcome.findings)
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    root.set("skipped", str(skipped))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


# GitLab's severities by confidence: what the merge request widget ranks by.
_GITLAB_SEVERITIES = {Confidence.HIGH: "major", Confidence.MEDIUM: "minor", Confidence.LOW: "info"}


def _gitlab_path(display: str) -> str:
    path = Path(display)
    if path.is_absolute():
        with contextlib.suppress(ValueError):
            path = path.relative_to(Path.cwd())
    return _given_path(path.as_posix())


def gitlab(outcomes: Sequence[FileOutcome]) -> str:
    """GitLab Code Quality (a Code Climate subset): what merge requests show as findings. A
    file that could not be checked is an issue too (`check_name` input-error, severity
    critical), at its line when known: a report of `[]` would say the file is clean."""
    issues: list[dict[str, object]] = []
    for outcome in outcomes:
        path = _gitlab_path(outcome.display)
        if outcome.error is not None:
            digest = hashlib.sha256(f"input-error|{path}|{outcome.error}".encode("utf-8", "surrogateescape"))
            issues.append(
                {
                    "type": "issue",
                    "check_name": "input-error",
                    "description": outcome.error,
                    "categories": ["Bug Risk"],
                    "severity": "critical",
                    "fingerprint": digest.hexdigest()[:32],
                    "location": {"path": path, "lines": {"begin": outcome.error_line or 1}},
                }
            )
        for finding, fingerprint in zip(outcome.findings, fingerprints(outcome)):
            violation = finding.violation
            issues.append(
                {
                    "type": "issue",
                    "check_name": violation.code.code,
                    "description": f"{violation.code.code} {violation.message}",
                    "categories": ["Bug Risk"],
                    "severity": _GITLAB_SEVERITIES[violation.confidence],
                    "fingerprint": fingerprint,
                    "location": {"path": path, "lines": {"begin": violation.line, "end": finding.end_line}},
                }
            )
    return json.dumps(issues, indent=2) + "\n"


# The machine formats, written whole at the end (github line by line, as the run goes).
FORMATS: dict[str, Callable[[Sequence[FileOutcome]], str]] = {
    "json": json_report,
    "sarif": sarif,
    "github": github,
    "junit": junit,
    "gitlab": gitlab,
}
STREAMED_FORMATS = frozenset({"github"})
