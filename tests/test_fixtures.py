"""Every fixture file's reports are exactly the `# error:` comments it holds."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from conftest import FIXTURES as FIXTURE_DIR
from conftest import Fixture, detector_fixtures

from unguarded_workers.analysis import check_module
from unguarded_workers.analysis.discovery import helper_names
from unguarded_workers.analysis.project import project_for

FIXTURES = detector_fixtures()


def _skip_unsupported(fixture: Fixture) -> None:
    if not fixture.supported():
        pytest.skip(f"needs Python {'.'.join(map(str, fixture.min_python()))}")


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_reports_match_expectations(fixture: Fixture) -> None:
    _skip_unsupported(fixture)
    violations = check_module(fixture.tree(), fixture.options(), fixture.source)
    found = {(v.line, v.code.code, v.confidence.label) for v in violations}
    expected = fixture.expected()
    assert sorted(found - expected) == [], "reported but not expected"
    assert sorted(expected - found) == [], "expected but not reported"
    evidence = {(v.line, v.code.code): frozenset(e.value for e in v.evidence) for v in violations}
    for where, wanted in fixture.expected_evidence().items():
        assert evidence[where] == wanted, f"line {where[0]}: the evidence of {where[1]}"


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_prefilter_never_hides_a_report(fixture: Fixture) -> None:
    _skip_unsupported(fixture)
    with_prefilter = check_module(fixture.tree(), fixture.options(), fixture.source)
    without = check_module(fixture.tree(), fixture.options())
    assert with_prefilter == without


@pytest.mark.parametrize("fixture", FIXTURES, ids=lambda f: f.name)
def test_target_ranges_locate_the_worker(fixture: Fixture) -> None:
    """The range the autofix edits is the worker expression (or `def run`), as written."""
    _skip_unsupported(fixture)
    lines = fixture.source.encode("utf-8").splitlines(keepends=True)
    for violation in check_module(fixture.tree(), fixture.options(), fixture.source):
        r = violation.target
        if r.line == r.end_line:
            text = lines[r.line - 1][r.col : r.end_col]
        else:
            text = (
                lines[r.line - 1][r.col :]
                + b"".join(lines[r.line : r.end_line - 1])
                + lines[r.end_line - 1][: r.end_col]
            )
        snippet = text.decode("utf-8")
        if violation.code.code == "UW102":
            assert snippet.lstrip().startswith(("def run", "async def run")), snippet
        else:
            ast.parse(snippet.strip(), mode="eval")  # a whole expression, nothing cut off


PROJECT = FIXTURE_DIR / "project"
PROJECT_FILES = sorted(PROJECT.rglob("*.py"))


@pytest.mark.parametrize("path", PROJECT_FILES, ids=lambda p: str(p.relative_to(PROJECT)))
def test_project_imports_are_followed(path: Path) -> None:
    """Targets, thread base classes and spawn helpers imported from the project's other modules
    are checked there (the helpers found first, as the command and the flake8 plugin find them)."""
    fixture = Fixture(path, path.read_text(encoding="utf-8"))
    options = fixture.options()
    project_for(options).helper_names = helper_names(map(str, PROJECT_FILES), options)
    violations = check_module(fixture.tree(), options, fixture.source, path=str(path))
    assert {(v.line, v.code.code, v.confidence.label) for v in violations} == fixture.expected()


def test_without_a_path_imports_are_not_followed() -> None:
    path = PROJECT / "myapp" / "watch" / "observers.py"
    fixture = Fixture(path, path.read_text(encoding="utf-8"))
    found = {v.line for v in check_module(fixture.tree(), fixture.options(), fixture.source)}
    observer_run = next(n for n, line in enumerate(fixture.source.splitlines(), 1) if "class Observer" in line) + 1
    assert observer_run not in found  # its base cannot be known to be a thread
