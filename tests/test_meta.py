"""Every code is documented and has fixtures that report it and fixtures that do not."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, Fixture

from unguarded_workers.analysis.index import ModuleIndex
from unguarded_workers.analysis.resolve import Resolver
from unguarded_workers.analysis.spawns import SpawnFinder
from unguarded_workers.codes import ALL_CODES, Code, SpawnKind

DOCS = Path(__file__).parent.parent / "docs"
SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Options", "## Fix safety")


@pytest.mark.parametrize("code", ALL_CODES, ids=lambda c: c.code)
def test_every_code_has_a_docs_page(code: Code) -> None:
    page = DOCS.parent / code.docs_path
    assert page.is_file(), f"{page} is missing"
    text = page.read_text(encoding="utf-8")
    assert text.startswith(f"# {code.code} {code.name}\n")
    for section in SECTIONS:
        assert section in text, f"{page.name} lacks {section!r}"


@pytest.mark.parametrize("code", ALL_CODES, ids=lambda c: c.code)
def test_every_code_has_positive_and_negative_fixtures(code: Code) -> None:
    files = sorted(FIXTURES.glob(f"{code.code}_*.py"))
    assert files, f"no tests/fixtures/{code.code}_*.py"
    positives = negatives = 0
    for path in files:
        fixture = Fixture(path, path.read_text(encoding="utf-8"))
        reported = sum(1 for _, c in fixture.expected() if c == code.code)
        positives += reported
        negatives += _spawns_of_kind(fixture, code.kind) - reported
    assert positives > 0, f"no fixture line expects {code.code}"
    assert negatives > 0, f"no {code.kind.value} spawn in {code.code}'s fixtures goes unreported"


def _spawns_of_kind(fixture: Fixture, kind: SpawnKind) -> int:
    index = ModuleIndex(fixture.tree())
    options = fixture.options()
    finder = SpawnFinder(index, Resolver(index, options), options)
    if kind is SpawnKind.THREAD_RUN:
        return sum(1 for _ in finder.thread_classes())
    return sum(1 for spawn in finder.spawns() if spawn.kind is kind)


def test_configuration_page_lists_every_option() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for option in ("uw-guards", "uw-spawners", "uw-harmless-calls", "uw-unresolved"):
        assert f"`{option}`" in text


def test_importing_the_package_loads_no_linter() -> None:
    """Production code imports `wrap`; it must not pay for flake8, libcst or the analysis."""
    script = (
        "import sys, unguarded_workers\n"
        "loaded = [m for m in ('flake8', 'libcst', 'unguarded_workers.analysis') if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""
