"""The report formats: text (as flake8 prints it), json, sarif (2.1.0), github annotations,
junit (JUnit XML) and gitlab (GitLab Code Quality)."""

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

__all__ = ["FORMATS", "SARIF_LEVELS", "STREAMED_FORMATS", "escaped", "plural", "quoted", "sarif", "statistics"]

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def text(outcomes: Sequence[FileOutcome], *, show_confidence: bool = False) -> str:
    """flake8's default format; its column is ast's (UTF-8 bytes) plus one. A name with a control
    character is quoted, so that each report stays one line. With a setting below high, each
    line says its confidence: `UW101 [medium] ...`."""
    return "".join(
        f"{quoted(o.display)}:{v.line}:{v.col + 1}: {escaped(v.flake8_text(show_confidence=show_confidence))}\n"
        for o in outcomes
        for v in (f.violation for f in o.findings)
    )


def _record(display: str, finding: Finding) -> dict[str, object]:
    violation = finding.violation
    return {
        "path": display,
        "line": violation.line,
        "column": finding.column,
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


def sarif(outcomes: Sequence[FileOutcome], level: str = "error") -> str:
    index = {code.code: number for number, code in enumerate(ALL_CODES)}
    results = []
    for outcome in outcomes:
        for finding, fingerprint in zip(outcome.findings, fingerprints(outcome)):
            violation = finding.violation
            confidence = violation.confidence
            result: dict[str, object] = {
                "ruleId": violation.code.code,
                "ruleIndex": index[violation.code.code],
                "level": _sarif_level(confidence, level),
                "rank": _RANKS[confidence],
                "message": {"text": violation.message},
                "partialFingerprints": {"unguardedWorkers/v1": fingerprint},
                "locations": [
                    {
                        "physicalLocation": {
                            "artifactLocation": _artifact_uri(outcome.display),
                            "region": {"startLine": violation.line, "startColumn": finding.column},
                        }
                    }
                ],
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
    notifications = [
        {"level": "error", "message": {"text": outcome.error}, "descriptor": {"id": "input-error"}}
        for outcome in outcomes
        if outcome.error is not None
    ]
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


def github(outcomes: Sequence[FileOutcome]) -> str:
    """GitHub Actions workflow commands: each finding becomes an annotation on the diff."""
    lines = []
    for outcome in outcomes:
        path = _escape_property(outcome.display.replace(os.sep, "/"))
        if outcome.error is not None:  # a file that could not be checked fails the run: show it too
            lines.append(f"::error file={path},title=unguarded-workers::{_escape_data(outcome.error)}\n")
        for finding in outcome.findings:
            violation = finding.violation
            title = _escape_property(f"{violation.code.code} {violation.code.name}")
            message = _escape_data(f"{violation.code.code} {violation.message}")
            level = _GITHUB_LEVELS[violation.confidence]
            lines.append(f"::{level} file={path},line={violation.line},col={finding.column},title={title}::{message}\n")
    return "".join(lines)


def statistics(outcomes: Sequence[FileOutcome]) -> str:
    """The findings per code, most first, as flake8's and ruff's --statistics count them."""
    counts: dict[Code, int] = {}
    for outcome in outcomes:
        for finding in outcome.findings:
            counts[finding.violation.code] = counts.get(finding.violation.code, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0].code))
    return "".join(f"{count:<6}{code.code} {code.name}\n" for code, count in ordered)


def junit(outcomes: Sequence[FileOutcome]) -> str:
    """JUnit XML, as CI servers read it: a test suite per file, a failing test case per
    finding, an error case for a file that could not be checked."""
    root = ElementTree.Element("testsuites", name="unguarded-workers")
    total = failures = errors = 0
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
            case = ElementTree.SubElement(suite, "testcase", name="check", classname=name)
            ElementTree.SubElement(case, "error", message=escaped(outcome.error), type="input-error")
            errors += 1
            cases += 1
        if not cases:
            ElementTree.SubElement(suite, "testcase", name="unguarded-workers", classname=name)
            cases = 1
        suite.set("tests", str(cases))
        suite.set("failures", str(len(outcome.findings)))
        suite.set("errors", "1" if outcome.error is not None else "0")
        total += cases
        failures += len(outcome.findings)
    root.set("tests", str(total))
    root.set("failures", str(failures))
    root.set("errors", str(errors))
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ElementTree.tostring(root, encoding="unicode") + "\n"


def gitlab(outcomes: Sequence[FileOutcome]) -> str:
    """GitLab Code Quality (a Code Climate subset): what merge requests show as findings."""
    issues: list[dict[str, object]] = []
    for outcome in outcomes:
        path = Path(outcome.display)
        if path.is_absolute():
            with contextlib.suppress(ValueError):
                path = path.relative_to(Path.cwd())
        for finding, fingerprint in zip(outcome.findings, fingerprints(outcome)):
            violation = finding.violation
            issues.append(
                {
                    "type": "issue",
                    "check_name": violation.code.code,
                    "description": f"{violation.code.code} {violation.message}",
                    "categories": ["Bug Risk"],
                    "severity": "major",
                    "fingerprint": fingerprint,
                    "location": {"path": path.as_posix(), "lines": {"begin": violation.line}},
                }
            )
    return json.dumps(issues, indent=2) + "\n"


# Formats written file by file as the run goes (a line per finding); the others are one
# document, written at the end.
STREAMED_FORMATS = frozenset({"text", "github"})

FORMATS: dict[str, Callable[[Sequence[FileOutcome]], str]] = {
    "text": text,
    "json": json_report,
    "sarif": sarif,
    "github": github,
    "junit": junit,
    "gitlab": gitlab,
}
