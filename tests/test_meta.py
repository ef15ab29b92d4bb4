"""Every code, setting and option is documented; every code has fixtures that report it and that do not."""

from __future__ import annotations

import argparse
import ast
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import FIXTURES, Fixture

from unguarded_workers.analysis import check_module
from unguarded_workers.analysis.module import ModuleAnalysis
from unguarded_workers.analysis.spawns import SpawnFinder
from unguarded_workers.cli import build_parser
from unguarded_workers.codes import ALL_CODES, Code, SpawnKind
from unguarded_workers.config import FLAKE8_KEYS, SETTINGS
from unguarded_workers.options import parse_options
from unguarded_workers.violation import Confidence, Evidence

DOCS = Path(__file__).parent.parent / "docs"
SECTIONS = (
    "## What it does",
    "## Why is this bad?",
    "## Example",
    "## Use instead",
    "## When is it reported, and with which confidence?",
    "## Options",
    "## Fix safety",
)


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
        reported = sum(1 for _, c, _ in fixture.expected() if c == code.code)
        positives += reported
        negatives += _spawns_of_kind(fixture, code.kind) - reported
    assert positives > 0, f"no fixture line expects {code.code}"
    assert negatives > 0, f"no {code.kind.value} spawn in {code.code}'s fixtures goes unreported"


@pytest.mark.parametrize("evidence", list(Evidence), ids=lambda e: e.value)
def test_every_signal_is_tested_in_both_directions(evidence: Evidence) -> None:
    """Some fixture line expects a report resting on the signal, and some line of the same file
    expects a report without it: the shape that must not give it."""
    holding: dict[str, int] = {}
    lacking: dict[str, int] = {}
    for path in sorted(FIXTURES.glob("*.py")):
        fixture = Fixture(path, path.read_text(encoding="utf-8"))
        for signals in fixture.expected_evidence().values():
            counts = holding if evidence.value in signals else lacking
            counts[path.name] = counts.get(path.name, 0) + 1
    assert holding, f"no fixture expects a report with evidence {evidence.value!r}"
    assert any(name in lacking for name in holding), f"no file that tests {evidence.value!r} tests its absence"


@pytest.mark.parametrize("confidence", list(Confidence), ids=lambda c: c.label)
def test_every_confidence_is_expected_somewhere(confidence: Confidence) -> None:
    expected = {c for path in FIXTURES.glob("*.py") for _, _, c in Fixture(path, path.read_text()).expected()}
    assert confidence.label in expected


def _spawns_of_kind(fixture: Fixture, kind: SpawnKind) -> int:
    options = fixture.options()
    finder = SpawnFinder(ModuleAnalysis(fixture.tree(), options), options)
    if kind is SpawnKind.THREAD_RUN:
        return sum(1 for _ in finder.thread_classes())
    return sum(1 for spawn in finder.spawns() if spawn.kind is kind)


def test_configuration_page_lists_every_setting() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    for setting in SETTINGS:
        assert f"`{setting}`" in text, setting
    for flake8_key in FLAKE8_KEYS:
        assert f"`{flake8_key}`" in text, flake8_key


def test_every_command_line_option_is_documented() -> None:
    text = "".join(path.read_text(encoding="utf-8") for path in DOCS.glob("*.md"))
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for command in commands.choices.values():
        for action in command._actions:
            for flag in action.option_strings:
                if flag.startswith("--") and flag != "--help":
                    assert f"`{flag}" in text, flag


def test_importing_the_package_loads_no_linter() -> None:
    """Production code imports `wrap`; it must not pay for flake8, libcst or the analysis."""
    script = (
        "import sys, unguarded_workers\n"
        "loaded = [m for m in ('flake8', 'libcst', 'unguarded_workers.analysis') if m in sys.modules]\n"
        "print(','.join(loaded))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == ""


def test_checking_never_loads_libcst(tmp_path: Path) -> None:
    """libcst is for `fix` on files with findings; the plugin and `check` never import it."""
    (tmp_path / "m.py").write_text(
        "import threading\n\ndef w():\n    while True: step()\n\nthreading.Thread(target=w).start()\n"
    )
    script = (
        "import sys\n"
        "import unguarded_workers.flake8_plugin\n"
        "from unguarded_workers.cli import main\n"
        "status = main(['check', '-j', '1', 'm.py'])\n"
        "print(status, 'libcst' in sys.modules)\n"
    )
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=tmp_path)
    assert result.stdout.splitlines()[-1] == "1 False"


def test_every_code_has_its_fix_snapshot_tested() -> None:
    fixed_codes = set()
    for path in (FIXTURES / "fix").glob("*.py"):
        if not path.name.endswith(".fixed.py"):
            source = path.read_text(encoding="utf-8")
            # As the fix test runs it (every confidence): a `# uw-fix:` header may ask for every group child.
            every_child = "--group-children=all" in source.partition("\n")[0]
            options = parse_options(min_confidence="low", group_children="all" if every_child else "serving")
            fixed_codes.update(v.code.code for v in check_module(ast.parse(source), options))
    assert fixed_codes == {code.code for code in ALL_CODES}


RUNTIME_SOURCES = Path(__file__).parent.parent / "runtime" / "src" / "unguarded_workers"


@pytest.mark.skipif(sys.version_info < (3, 10), reason="sys.stdlib_module_names is new in 3.10")
def test_the_runtime_imports_the_standard_library_and_itself_only() -> None:
    """The runtime distribution ships without dependencies, and never loads the linter."""
    files = [RUNTIME_SOURCES / "__init__.py", *sorted((RUNTIME_SOURCES / "runtime").glob("*.py"))]
    assert len(files) > 3
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:  # relative: within the runtime package, or the top level's `.runtime`
                    target = node.module or ",".join(alias.name for alias in node.names)
                    assert path.parent.name == "runtime" or target.partition(".")[0] == "runtime", (path, target)
                    continue
                modules = [node.module or ""]
            else:
                continue
            for module in modules:
                assert module.partition(".")[0] in sys.stdlib_module_names, f"{path.name} imports {module}"
