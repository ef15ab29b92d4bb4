"""Building and installing this checkout as users do: from a git repository, from the release
recipe's files, with the real pip, git and pre-commit, and nothing but the public package index."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import venv
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNTIME = ROOT / "runtime"
PYPI = "https://pypi.org/simple/"

# What pip may still take from the environment in a "public index only" run: how to reach the
# network and where to cache, never where packages come from.
_TRANSPORT = {"PIP_CERT", "PIP_CLIENT_CERT", "PIP_PROXY", "PIP_DEFAULT_TIMEOUT", "PIP_RETRIES", "PIP_CACHE_DIR"}


def _without_release_switch() -> dict[str, str]:
    """os.environ as a user's: builds from the repository, not a release's (hatch_build.py)."""
    return {name: value for name, value in os.environ.items() if name != "UNGUARDED_WORKERS_RELEASE"}


def public_index_environment() -> dict[str, str]:
    """os.environ for pip, and the tools that run it (pre-commit, virtualenv, build), seeing the
    public index alone: no configuration file (PIP_CONFIG_FILE=/dev/null reads none), no
    find-links, no extra or local index, no constraints."""
    env = {
        name: value
        for name, value in _without_release_switch().items()
        if not name.startswith("PIP_") or name in _TRANSPORT
    }
    env["PIP_CONFIG_FILE"] = os.devnull
    env["PIP_DISABLE_PIP_VERSION_CHECK"] = "1"
    return env


def run(
    *command: str | Path, cwd: Path | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, check=False, cwd=cwd, env=env, timeout=900
    )


def fresh_environment(path: Path) -> Path:
    """A new virtual environment with its own pip (ensurepip's); its scripts directory."""
    venv.create(path, with_pip=True)
    return path / ("Scripts" if os.name == "nt" else "bin")


def installed(bin_dir: Path) -> dict[str, str]:
    """Distribution name -> version, as the environment's pip lists them."""
    listing = run(bin_dir / "python", "-m", "pip", "list", "--format=json", "--disable-pip-version-check")
    assert listing.returncode == 0, listing.stderr
    return {entry["name"].lower().replace("_", "-"): entry["version"] for entry in json.loads(listing.stdout)}


def installed_files(bin_dir: Path, distribution: str) -> set[str]:
    """The files a distribution installed under site-packages, from its RECORD."""
    script = (
        "import importlib.metadata as m, json, sys\n"
        "files = m.distribution(sys.argv[1]).files or []\n"
        "print(json.dumps([f.as_posix() for f in files if '.dist-info/' not in f.as_posix()]))\n"
    )
    result = run(bin_dir / "python", "-c", script, distribution)
    assert result.returncode == 0, result.stderr
    return set(json.loads(result.stdout))


def build_wheel(project: Path, out: Path) -> Path:
    """`pip wheel` of one distribution or sdist (no dependencies), into `out`, as a user's pip
    would build it; the wheel's path."""
    before = set(out.glob("*.whl"))
    result = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", out, project, env=_without_release_switch()
    )
    if result.returncode != 0:
        pytest.fail(f"building the wheel of {project} failed:\n{result.stderr}")
    (built,) = set(out.glob("*.whl")) - before
    return built


def wheel_files(wheel: Path) -> dict[str, bytes]:
    """The files a wheel installs (its .dist-info aside), with their contents."""
    with zipfile.ZipFile(wheel) as archive:
        return {name: archive.read(name) for name in archive.namelist() if ".dist-info/" not in name}


def wheel_metadata(wheel: Path) -> str:
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return archive.read(name).decode("utf-8")


def git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return result.stdout


def snapshot_repository(target: Path) -> str:
    """This checkout's working tree (committed or not, ignored files left out) as the one commit
    of a new git repository at `target`, which is what pip and pre-commit clone; its SHA."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs git and a git checkout")
    target.mkdir()
    for name in git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").splitlines():
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git(target, "init", "-q")
    git(target, "add", "-A")
    git(target, "commit", "-q", "-m", "snapshot")
    return git(target, "rev-parse", "HEAD").strip()
