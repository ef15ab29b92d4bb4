"""Shared helpers: reading fixture files and their expectations."""

from __future__ import annotations

import ast
import re
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from wheels import RUNTIME, build_wheel

from unguarded_workers.options import Options, parse_options

FIXTURES = Path(__file__).parent / "fixtures"

# `# error: UW101 high` (or several: `# error: UW101 high, UW201 low`) on the line the report
# belongs to: the code and the confidence it is reported with; `# error: UW101 high [waiter,
# one-shot]` also says the evidence it rests on, all of it, in any order.
_ONE = r"UW\d{3}\s+\w+(?:\s*\[[\w\s,-]*\])?"
_EXPECTATION = re.compile(rf"#.*?\berror:\s*({_ONE}(?:\s*,\s*{_ONE})*)")
_ITEM = re.compile(r"(UW\d{3})\s+(\w+)(?:\s*\[([\w\s,-]*)\])?")
# `# uw-option: guards=a.b,c.d` in a fixture's header sets an option for that file.
_OPTION = re.compile(r"^# uw-option: ([a-z-]+)=(.*)$", re.MULTILINE)
# `# uw-python: 3.11` marks syntax older interpreters cannot parse.
_PYTHON = re.compile(r"^# uw-python: (\d+)\.(\d+)$", re.MULTILINE)


@dataclass(frozen=True)
class Fixture:
    path: Path
    source: str

    @property
    def name(self) -> str:
        return self.path.stem

    def expected(self) -> set[tuple[int, str, str]]:
        """(line, code, confidence) of every report the file expects."""
        found = set()
        for number, line in enumerate(self.source.splitlines(), start=1):
            match = _EXPECTATION.search(line)
            if match:
                for code, confidence, _ in _ITEM.findall(match.group(1)):
                    found.add((number, code, confidence))
            elif "error:" in line and "UW" in line:
                raise ValueError(f"{self.path}:{number}: an expectation needs a confidence: # error: UW101 high")
        return found

    def options(self) -> Options:
        raw: dict[str, list[str]] = {}
        for key, value in _OPTION.findall(self.source):
            raw.setdefault(key.replace("-", "_"), []).extend(v.strip() for v in value.split(","))
        # Fixtures show every report, whatever its confidence, unless they say otherwise.
        unresolved = raw.pop("unresolved", [None])[0]
        min_confidence = raw.pop("min_confidence", [None if unresolved else "low"])[0]
        group_children = raw.pop("group_children", ["serving"])[0]
        return parse_options(min_confidence=min_confidence, unresolved=unresolved, group_children=group_children, **raw)

    def expected_evidence(self) -> dict[tuple[int, str], frozenset[str]]:
        """(line, code) -> the evidence a report is expected to rest on, where a line says it."""
        found = {}
        for number, line in enumerate(self.source.splitlines(), start=1):
            match = _EXPECTATION.search(line)
            if match:
                for code, _, evidence in _ITEM.findall(match.group(1)):
                    if evidence:
                        found[(number, code)] = frozenset(e.strip() for e in evidence.split(",") if e.strip())
        return found

    def min_python(self) -> tuple[int, int]:
        match = _PYTHON.search(self.source)
        return (int(match.group(1)), int(match.group(2))) if match else (3, 9)

    def supported(self) -> bool:
        return sys.version_info[:2] >= self.min_python()

    def tree(self) -> ast.Module:
        return ast.parse(self.source, filename=str(self.path))


def detector_fixtures() -> list[Fixture]:
    return [Fixture(path, path.read_text(encoding="utf-8")) for path in sorted(FIXTURES.glob("*.py"))]


@pytest.fixture(scope="session")
def runtime_wheelhouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A directory holding the runtime distribution's wheel, as the package index will once it is
    released: pip installs of the tool find it there (`--find-links`)."""
    out = tmp_path_factory.mktemp("wheelhouse")
    build_wheel(RUNTIME, out)
    return out
