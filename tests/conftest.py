"""Shared helpers: reading fixture files and their expectations; the distributions built once
per session for the packaging tests; progress lines and the Ctrl-C set-up of a run."""

from __future__ import annotations

import ast
import os
import re
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

import progress
import pytest
from wheels import PYPI, ROOT, build_wheel, public_index_environment, run, snapshot_repository

from unguarded_workers.options import Options, parse_options

FIXTURES = Path(__file__).parent / "fixtures"

# `# error: UW101 high` (or several: `# error: UW101 high, UW201 low`) on the line the report
# belongs to: the code and the confidence it is reported with; `# error: UW101 high [waiter,
# printed]` also says the evidence it rests on, all of it, in any order.
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


def pytest_configure(config: pytest.Config) -> None:
    # Started with SIGINT ignored (`nohup ./scripts/test &`, or `&` in a script), Python installs
    # no KeyboardInterrupt handler and every child inherits the ignored signal: the tests of what
    # Ctrl-C does would see nothing happen. They get the disposition a terminal gives.
    if signal.getsignal(signal.SIGINT) == signal.SIG_IGN:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    progress.register(config)


@dataclass(frozen=True)
class Release:
    """What scripts/release builds: the files a release publishes."""

    directory: Path

    def file(self, pattern: str) -> Path:
        (found,) = self.directory.glob(pattern)
        return found

    @property
    def tool_wheel(self) -> Path:
        return self.file("unguarded_workers-*.whl")

    @property
    def runtime_wheel(self) -> Path:
        return self.file("unguarded_workers_runtime-*.whl")

    @property
    def tool_sdist(self) -> Path:
        return self.file("unguarded_workers-*.tar.gz")


@pytest.fixture(scope="session")
def release(tmp_path_factory: pytest.TempPathFactory) -> Release:
    """The release recipe run once, with this interpreter (its build dependencies come from
    wherever this machine's pip takes them)."""
    out = tmp_path_factory.mktemp("release") / "dist"
    result = run(ROOT / "scripts" / "release", out, env={**os.environ, "UW_PYTHON": sys.executable})
    assert result.returncode == 0, result.stdout + result.stderr
    return Release(out)


@pytest.fixture(scope="session")
def bundled_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tool's wheel as a build from the repository makes it (`pip wheel .`)."""
    return build_wheel(ROOT, tmp_path_factory.mktemp("bundled"))


@pytest.fixture(scope="session")
def repository(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """This working tree committed into a throwaway git repository: its path and the commit."""
    path = tmp_path_factory.mktemp("repository") / "unguarded-workers"
    return path, snapshot_repository(path)


@pytest.fixture(scope="session")
def public_index(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment for installing with nothing but the public index, once it answers. Without
    it the test is skipped, unless the run must reach it (CI=true or UW_REQUIRE_PYPI=1, as .ci/run
    sets), where that is a failure."""
    env = public_index_environment()
    probe = run(
        sys.executable,
        "-m",
        "pip",
        "download",
        "--no-deps",
        "--dest",
        tmp_path_factory.mktemp("probe"),
        "flake8",
        env=env,
    )
    if probe.returncode != 0:
        reason = f"the public package index ({PYPI}) is not reachable: {probe.stderr.strip().splitlines()[-1:]}"
        if os.environ.get("CI") == "true" or os.environ.get("UW_REQUIRE_PYPI") == "1":
            pytest.fail(reason)
        pytest.skip(reason)
    return env


@pytest.fixture(scope="session")
def release_index(release: Release, public_index: dict[str, str], tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index holding the release's two wheels and the public dependencies they need (fetched
    from the public index by pip's resolver), and nothing else: a directory pip reads with
    `--no-index --find-links`, as the package index once the release is published."""
    index = tmp_path_factory.mktemp("index")
    fetch = run(
        sys.executable, "-m", "pip", "download", "--dest", index,
        release.tool_wheel, release.runtime_wheel, "flake8",
        env=public_index,
    )  # fmt: skip
    assert fetch.returncode == 0, fetch.stderr
    ours = sorted(path.name for path in index.glob("unguarded_workers*"))
    assert ours == sorted([release.runtime_wheel.name, release.tool_wheel.name])
    return index
