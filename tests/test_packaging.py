"""Installing the tool wherever a Python tool installs, with the real pip.

Built from the repository (a git URL, `pip install .`), the tool bundles the runtime and needs
nothing of ours on an index. A release (scripts/release) is split: the tool pins
unguarded-workers-runtime at its own version, published beside it, and the two share no file.
The install tests see nothing but the public index (PyPI, which holds no unreleased version of
ours) or, for the release, an index holding its two wheels and their public dependencies.
"""

from __future__ import annotations

import shutil
import sys
import tarfile
import zipfile
from pathlib import Path

from conftest import Release
from wheels import (
    ROOT,
    RUNTIME,
    build_wheel,
    fresh_environment,
    installed,
    installed_files,
    run,
    wheel_files,
    wheel_metadata,
)

import unguarded_workers

VERSION = unguarded_workers.__version__
RUNTIME_PIN = f"Requires-Dist: unguarded-workers-runtime=={VERSION}"

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
BAD = "import threading\n\ndef w():\n    while True: step()\n\nthreading.Thread(target=w).start()\n"


def _assert_the_tool_works(bin_dir: Path, project: Path) -> None:
    """`unguarded-workers check`, `flake8 --select=UW` and a service guarded with `wrap`."""
    project.mkdir()
    (project / "service.py").write_text(GUARDED_SERVICE)
    (project / "bad.py").write_text(BAD)
    check = run(bin_dir / "unguarded-workers", "check", "bad.py", "service.py", cwd=project)
    assert check.returncode == 1, check.stderr
    assert check.stdout.startswith("bad.py:6:1: UW101 thread target 'w' has no try/except guard"), check.stdout
    flake8 = run(bin_dir / "flake8", "--select=UW", "bad.py", "service.py", cwd=project)
    assert flake8.returncode == 1, flake8.stderr
    assert flake8.stdout.startswith("bad.py:6:1: UW101 "), flake8.stdout + flake8.stderr
    service = run(bin_dir / "python", project / "service.py", cwd=project)
    assert service.stdout == "service still running\n", service.stderr
    assert "worker __main__.work failed in thread" in service.stderr
    rule = run(bin_dir / "unguarded-workers", "rule", "UW101", cwd=project)  # the page, from the wheel
    assert rule.stdout == (ROOT / "docs" / "rules" / "UW101.md").read_text(encoding="utf-8"), rule.stderr


# What the index shows, and what each build holds.


def test_the_description_is_the_users_readme_with_absolute_links(release: Release) -> None:
    metadata = wheel_metadata(release.tool_wheel)
    description = metadata.partition("\n\n")[2]
    assert description.startswith("# unguarded-workers\n")
    assert "./scripts/test" not in description  # the contributors' part stays in the repository
    assert "](docs/" not in description
    assert "](https://github.com/unguarded-workers/unguarded-workers/blob/main/docs/rules/UW101.md)" in description
    for label in ("Source", "Issues", "Changelog"):
        assert f"Project-URL: {label}, https://" in metadata
    assert "License-Expression: MIT" in metadata


def test_twine_accepts_every_file_of_the_release(release: Release) -> None:
    files = sorted(release.directory.iterdir())
    assert [path.name for path in files] == [
        f"unguarded_workers-{VERSION}-py3-none-any.whl",
        f"unguarded_workers-{VERSION}.tar.gz",
        f"unguarded_workers_runtime-{VERSION}-py3-none-any.whl",
        f"unguarded_workers_runtime-{VERSION}.tar.gz",
    ]
    result = run(sys.executable, "-m", "twine", "check", "--strict", *files)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("PASSED") == 4


def test_the_release_splits_the_tool_from_the_runtime_it_pins(release: Release) -> None:
    runtime, tool = wheel_files(release.runtime_wheel), wheel_files(release.tool_wheel)
    assert not set(runtime) & set(tool)
    assert {"unguarded_workers/__init__.py", "unguarded_workers/py.typed", "unguarded_workers/runtime/guard.py"} <= set(
        runtime
    )
    assert all(
        name.startswith(("unguarded_workers/runtime/", "unguarded_workers/__init__.py", "unguarded_workers/py.typed"))
        for name in runtime
    )
    assert "unguarded_workers/cli/__init__.py" in tool
    assert RUNTIME_PIN in wheel_metadata(release.tool_wheel).splitlines()
    runtime_metadata = wheel_metadata(release.runtime_wheel)
    assert "Requires-Dist" not in runtime_metadata  # the standard library only
    assert f"Version: {VERSION}" in runtime_metadata.splitlines()
    # MIT: each distribution carries the licence (runtime/LICENSE is a copy: a symbolic link
    # would be a dangling one in the runtime's sdist).
    assert (RUNTIME / "LICENSE").read_bytes() == (ROOT / "LICENSE").read_bytes()
    for wheel in (release.tool_wheel, release.runtime_wheel):
        with zipfile.ZipFile(wheel) as archive:
            names = [name for name in archive.namelist() if name.endswith(".dist-info/licenses/LICENSE")]
            assert names, wheel
            assert archive.read(names[0]) == (ROOT / "LICENSE").read_bytes()
    # The tool's sdist holds no runtime file, and its metadata pins the runtime: a wheel built
    # from it (as `build` did for the wheel above) cannot bundle.
    with tarfile.open(release.tool_sdist) as sdist:
        names = sdist.getnames()
        pkg_info = sdist.extractfile(f"unguarded_workers-{VERSION}/PKG-INFO").read().decode()  # type: ignore[union-attr]
    assert not [name for name in names if "/runtime/" in name]
    assert RUNTIME_PIN in pkg_info.splitlines()


def test_a_wheel_built_from_the_release_sdist_is_split_without_the_switch(release: Release, tmp_path: Path) -> None:
    """pip building the tool from its sdist (no wheel for it, or --no-binary) knows nothing of
    the release switch: the sdist's metadata decides."""
    rebuilt = build_wheel(release.tool_sdist, tmp_path)
    assert wheel_files(rebuilt) == wheel_files(release.tool_wheel)
    assert RUNTIME_PIN in wheel_metadata(rebuilt).splitlines()


def test_every_wheel_carries_the_rules_pages(bundled_wheel: Path, release: Release, tmp_path: Path) -> None:
    pages = {
        f"unguarded_workers/rule_pages/{page.name}": page.read_bytes()
        for page in (ROOT / "docs" / "rules").glob("*.md")
    }
    assert len(pages) == 5
    rebuilt = build_wheel(release.tool_sdist, tmp_path)  # from the release's sdist
    for wheel in (bundled_wheel, release.tool_wheel, rebuilt):
        files = wheel_files(wheel)
        assert {name: files.get(name) for name in pages} == pages, wheel.name


def test_a_build_from_the_repository_bundles_the_runtime(bundled_wheel: Path, release: Release) -> None:
    bundled, runtime = wheel_files(bundled_wheel), wheel_files(release.runtime_wheel)
    assert {name: bundled.get(name) for name in runtime} == runtime  # the runtime's files, byte for byte
    assert set(bundled) == set(runtime) | set(wheel_files(release.tool_wheel))
    requirements = [line for line in wheel_metadata(bundled_wheel).splitlines() if line.startswith("Requires-Dist:")]
    assert "Requires-Dist: flake8>=6.0" in requirements
    assert not [line for line in requirements if "unguarded" in line]


# Installing, from nothing but the public index.


def test_a_service_installs_the_runtime_alone(tmp_path: Path, release: Release) -> None:
    """No index at all: the runtime needs nothing but the standard library."""
    bin_dir = fresh_environment(tmp_path / "env")
    install = run(bin_dir / "python", "-m", "pip", "install", "--no-index", release.runtime_wheel)
    assert install.returncode == 0, install.stderr
    (tmp_path / "service.py").write_text(GUARDED_SERVICE)
    service = run(bin_dir / "python", tmp_path / "service.py", cwd=tmp_path)
    assert service.returncode == 0, service.stderr
    assert service.stdout == "service still running\n"
    assert "worker __main__.work failed in thread" in service.stderr
    assert "ValueError: boom" in service.stderr
    assert set(installed(bin_dir)) - {"pip", "setuptools"} == {"unguarded-workers-runtime"}
    assert not (bin_dir / "unguarded-workers").exists()


def test_pip_installs_the_tool_from_its_git_repository_in_one_command(
    tmp_path: Path, repository: tuple[Path, str], public_index: dict[str, str]
) -> None:
    path, commit = repository
    bin_dir = fresh_environment(tmp_path / "env")
    install = run(bin_dir / "python", "-m", "pip", "install", f"git+file://{path}@{commit}", env=public_index)
    assert install.returncode == 0, install.stdout + install.stderr
    versions = installed(bin_dir)
    assert versions["unguarded-workers"] == VERSION
    assert "unguarded-workers-runtime" not in versions  # bundled: nothing of ours came from an index
    _assert_the_tool_works(bin_dir, tmp_path / "project")


def test_pip_installs_the_runtime_alone_from_the_git_repository(
    tmp_path: Path, repository: tuple[Path, str], public_index: dict[str, str]
) -> None:
    path, commit = repository
    bin_dir = fresh_environment(tmp_path / "env")
    install = run(
        bin_dir / "python", "-m", "pip", "install", f"git+file://{path}@{commit}#subdirectory=runtime", env=public_index
    )
    assert install.returncode == 0, install.stdout + install.stderr
    assert set(installed(bin_dir)) - {"pip", "setuptools"} == {"unguarded-workers-runtime"}
    (tmp_path / "service.py").write_text(GUARDED_SERVICE)
    service = run(bin_dir / "python", tmp_path / "service.py", cwd=tmp_path)
    assert service.stdout == "service still running\n", service.stderr


# The release, from an index holding its files and their public dependencies.


def test_the_ci_step_installs_the_release_from_the_index(tmp_path: Path, release_index: Path) -> None:
    """docs/integrations.md's `pip install flake8 unguarded-workers`, the index being the release's."""
    bin_dir = fresh_environment(tmp_path / "env")
    install = run(
        bin_dir / "python",
        "-m",
        "pip",
        "install",
        "--no-index",
        "--find-links",
        release_index,
        "flake8",
        "unguarded-workers",
    )
    assert install.returncode == 0, install.stdout + install.stderr
    versions = installed(bin_dir)
    assert versions["unguarded-workers"] == versions["unguarded-workers-runtime"] == VERSION
    assert run(bin_dir / "python", "-m", "pip", "check").returncode == 0
    tool_files, runtime_files = (
        installed_files(bin_dir, "unguarded-workers"),
        installed_files(bin_dir, "unguarded-workers-runtime"),
    )
    assert "unguarded_workers/__init__.py" in runtime_files
    assert not tool_files & runtime_files
    _assert_the_tool_works(bin_dir, tmp_path / "project")


def test_a_service_with_the_runtime_adds_the_tool_of_the_same_version(tmp_path: Path, release_index: Path) -> None:
    """README: the runtime alone in a service; the tool added later uses that very distribution,
    and removing the tool again leaves the runtime whole (no file of it belonged to the tool)."""
    bin_dir = fresh_environment(tmp_path / "env")
    pip = (bin_dir / "python", "-m", "pip")
    assert (
        run(*pip, "install", "--no-index", "--find-links", release_index, "unguarded-workers-runtime").returncode == 0
    )
    add = run(*pip, "install", "--no-index", "--find-links", release_index, "unguarded-workers")
    assert add.returncode == 0, add.stderr
    assert f"Requirement already satisfied: unguarded-workers-runtime=={VERSION}" in add.stdout
    _assert_the_tool_works(bin_dir, tmp_path / "project")
    remove = run(*pip, "uninstall", "--yes", "unguarded-workers")
    assert remove.returncode == 0, remove.stderr
    assert "unguarded-workers" not in installed(bin_dir)
    service = run(bin_dir / "python", tmp_path / "project" / "service.py")
    assert service.stdout == "service still running\n", service.stderr


def test_a_runtime_of_another_version_is_a_resolver_error_not_a_mix(tmp_path: Path, release_index: Path) -> None:
    """An index (or an environment) whose runtime is not the tool's version: pip refuses, and
    changes nothing, instead of installing the two side by side."""
    other = tmp_path / "runtime"
    shutil.copytree(RUNTIME, other, symlinks=False)
    init = other / "src" / "unguarded_workers" / "__init__.py"
    init.write_text(init.read_text().replace(f'__version__ = "{VERSION}"', '__version__ = "0.0.1"'))
    index = tmp_path / "index"
    shutil.copytree(release_index, index)
    for old in index.glob("unguarded_workers_runtime-*"):
        old.unlink()
    build_wheel(other, index)
    bin_dir = fresh_environment(tmp_path / "env")
    pip = (bin_dir / "python", "-m", "pip")
    assert run(*pip, "install", "--no-index", "--find-links", index, "unguarded-workers-runtime").returncode == 0
    before = installed(bin_dir)
    assert before["unguarded-workers-runtime"] == "0.0.1"
    refused = run(*pip, "install", "--no-index", "--find-links", index, "unguarded-workers")
    assert refused.returncode != 0
    assert f"unguarded-workers-runtime=={VERSION}" in refused.stderr
    assert installed(bin_dir) == before
