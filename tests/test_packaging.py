"""The package as the index shows it: metadata twine accepts, project URLs, and the README
without the contributors' part and with links that work away from the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest
from wheels import ROOT, build_wheel

import unguarded_workers


@pytest.fixture(scope="module")
def wheel(runtime_wheelhouse: Path) -> Path:
    """The tool's wheel, built beside the runtime's (so that the directory installs both)."""
    return build_wheel(ROOT, runtime_wheelhouse)


@pytest.fixture(scope="module")
def runtime_wheel(runtime_wheelhouse: Path) -> Path:
    (built,) = runtime_wheelhouse.glob("unguarded_workers_runtime-*.whl")
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


def test_twine_accepts_both_wheels(wheel: Path, runtime_wheel: Path) -> None:
    pytest.importorskip("twine")
    result = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", str(wheel), str(runtime_wheel)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED" in result.stdout


def _files(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as archive:
        return {name for name in archive.namelist() if ".dist-info/" not in name}


def test_the_two_wheels_share_no_file_and_the_tool_pins_the_runtime(wheel: Path, runtime_wheel: Path) -> None:
    runtime, tool = _files(runtime_wheel), _files(wheel)
    assert not runtime & tool
    assert {"unguarded_workers/__init__.py", "unguarded_workers/py.typed"} <= runtime
    assert all(
        name.startswith(("unguarded_workers/runtime/", "unguarded_workers/__init__", "unguarded_workers/py.typed"))
        for name in runtime
    )
    assert "unguarded_workers/cli/__init__.py" in tool
    assert f"Requires-Dist: unguarded-workers-runtime=={unguarded_workers.__version__}" in _metadata(wheel)
    for built in (wheel, runtime_wheel):  # MIT: each distribution carries the licence
        with zipfile.ZipFile(built) as archive:
            assert any(name.endswith(".dist-info/licenses/LICENSE") for name in archive.namelist()), built
    runtime_metadata = _metadata(runtime_wheel)
    assert "Requires-Dist" not in runtime_metadata  # the standard library only
    assert f"Version: {unguarded_workers.__version__}" in runtime_metadata


GUARDED_SERVICE = """\
import logging, threading
from unguarded_workers import wrap

def work():
    raise ValueError("boom")

logging.basicConfig()
thread = threading.Thread(target=wrap(work))
thread.start()
thread.join()
print("service still running")
"""


def _fresh_environment(path: Path) -> Path:
    venv.create(path, with_pip=True)
    return path / ("Scripts" if os.name == "nt" else "bin")


def _run(*command: str | Path, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, check=False, cwd=cwd, timeout=600
    )


def test_a_service_installs_the_runtime_alone(tmp_path: Path, runtime_wheelhouse: Path) -> None:
    """No index: the runtime needs nothing but the standard library."""
    bin_dir = _fresh_environment(tmp_path / "env")
    install = _run(
        bin_dir / "python",
        "-m",
        "pip",
        "install",
        "--no-index",
        "--find-links",
        runtime_wheelhouse,
        "unguarded-workers-runtime",
    )
    assert install.returncode == 0, install.stderr
    (tmp_path / "service.py").write_text(GUARDED_SERVICE)
    service = _run(bin_dir / "python", tmp_path / "service.py", cwd=tmp_path)
    assert service.returncode == 0, service.stderr
    assert service.stdout == "service still running\n"
    assert "worker __main__.work failed in thread" in service.stderr
    assert "ValueError: boom" in service.stderr
    installed = _run(bin_dir / "python", "-m", "pip", "list", "--format=freeze")
    names = {line.partition("==")[0].lower() for line in installed.stdout.splitlines()}
    assert names - {"pip", "setuptools"} == {"unguarded-workers-runtime"}
    assert not (bin_dir / "unguarded-workers").exists()


def test_the_tool_is_one_install_with_the_runtime_inside(tmp_path: Path, wheel: Path, runtime_wheelhouse: Path) -> None:
    """`pip install unguarded-workers` brings the runtime (from the index's wheels: here the built one)."""
    bin_dir = _fresh_environment(tmp_path / "env")
    links = " ".join(filter(None, [os.environ.get("PIP_FIND_LINKS"), str(runtime_wheelhouse)]))
    install = subprocess.run(
        [str(bin_dir / "python"), "-m", "pip", "install", "--quiet", str(wheel)],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={**os.environ, "PIP_FIND_LINKS": links},
    )
    if install.returncode != 0 and "No matching distribution found for flake8" in install.stderr:
        pytest.skip("no package index to install flake8 from")
    assert install.returncode == 0, install.stderr
    (tmp_path / "service.py").write_text(GUARDED_SERVICE)
    (tmp_path / "bad.py").write_text("import threading\n\ndef w():\n    while True: step()\n\nthreading.Thread(target=w).start()\n")
    check = _run(bin_dir / "unguarded-workers", "check", "bad.py", "service.py", cwd=tmp_path)
    assert check.returncode == 1, check.stderr
    assert check.stdout.startswith("bad.py:6:1: UW101 "), check.stdout
    flake8 = _run(bin_dir / "python", "-m", "flake8", "--select=UW", "bad.py", cwd=tmp_path)
    assert flake8.stdout.startswith("bad.py:6:1: UW101 "), flake8.stdout + flake8.stderr
    service = _run(bin_dir / "python", tmp_path / "service.py", cwd=tmp_path)
    assert service.stdout == "service still running\n", service.stderr
