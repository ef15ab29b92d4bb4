"""The report formats: text (as flake8 prints it), json, sarif (2.1.0) and github annotations."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import quote

from .. import __version__
from ..codes import ALL_CODES, HOMEPAGE, Code
from .engine import FileOutcome, Finding

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def text(outcomes: Sequence[FileOutcome]) -> str:
    # flake8's default format; its column is ast's (UTF-8 bytes) plus one.
    return "".join(
        f"{o.display}:{f.violation.line}:{f.violation.col + 1}: {f.violation.flake8_text()}\n"
        for o in outcomes
        for f in o.findings
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
    return {"uri": quote(path.as_posix()), "uriBaseId": "%SRCROOT%"}


def _rule(code: Code) -> dict[str, object]:
    return {
        "id": code.code,
        "name": code.name,
        "shortDescription": {"text": f"Unguarded {code.what}: {code.consequence}"},
        "fullDescription": {"text": f"A {code.what} with no try/except guard and no channel back: {code.consequence}."},
        "helpUri": code.docs_url,
        "help": {"text": f"Guard it at the spawn line with unguarded_workers.wrap. See {code.docs_url}"},
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": ["reliability", "concurrency"]},
    }


def sarif(outcomes: Sequence[FileOutcome]) -> str:
    index = {code.code: number for number, code in enumerate(ALL_CODES)}
    results = []
    for outcome in outcomes:
        for finding in outcome.findings:
            violation = finding.violation
            results.append(
                {
                    "ruleId": violation.code.code,
                    "ruleIndex": index[violation.code.code],
                    "level": "error",
                    "message": {"text": violation.message},
                    "locations": [
                        {
                            "physicalLocation": {
                                "artifactLocation": _artifact_uri(outcome.display),
                                "region": {"startLine": violation.line, "startColumn": finding.column},
                            }
                        }
                    ],
                }
            )
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
                "rules": [_rule(code) for code in ALL_CODES],
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
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _escape_property(value: str) -> str:
    return _escape_data(value).replace(":", "%3A").replace(",", "%2C")


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
            lines.append(f"::error file={path},line={violation.line},col={finding.column},title={title}::{message}\n")
    return "".join(lines)


def statistics(outcomes: Sequence[FileOutcome]) -> str:
    """The findings per code, most first, as flake8's and ruff's --statistics count them."""
    counts: dict[Code, int] = {}
    for outcome in outcomes:
        for finding in outcome.findings:
            counts[finding.violation.code] = counts.get(finding.violation.code, 0) + 1
    ordered = sorted(counts.items(), key=lambda item: (-item[1], item[0].code))
    return "".join(f"{count:<6}{code.code} {code.name}\n" for code, count in ordered)


# Formats written file by file as the run goes (a line per finding); the others are one
# document, written at the end.
STREAMED_FORMATS = frozenset({"text", "github"})

FORMATS: dict[str, Callable[[Sequence[FileOutcome]], str]] = {
    "text": text,
    "json": json_report,
    "sarif": sarif,
    "github": github,
}
