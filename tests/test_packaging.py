"""The package as the index shows it: metadata twine accepts, project URLs, and the README
without the contributors' part and with links that work away from the repository."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(ROOT)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    if result.returncode != 0:
        pytest.fail(f"building the wheel failed:\n{result.stderr}")
    (built,) = out.glob("unguarded_workers-*.whl")
    return built


def _metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name).decode("utf-8")


def test_the_description_is_the_users_readme_with_absolute_links(wheel: Path) -> None:
    metadata = _metadata(wheel)
    description = metadata.partition("\n\n")[2]
    assert description.startswith("# unguarded-workers\n")
    assert "./scripts/test" not in description  # the contributors' part stays in the repository
    assert "](docs/" not in description
    assert "](https://github.com/unguarded-workers/unguarded-workers/blob/main/docs/rules/UW101.md)" in description
    for label in ("Source", "Issues", "Changelog"):
        assert f"Project-URL: {label}, https://" in metadata
    assert "License-Expression: MIT" in metadata


def test_twine_accepts_the_wheel(wheel: Path) -> None:
    pytest.importorskip("twine")
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(wheel)], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout
