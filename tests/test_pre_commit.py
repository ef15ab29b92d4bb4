"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit on a project with a bad file.

pre-commit installs hooks from a git revision, so the working tree of this
repository (committed or not) is first snapshotted into a throwaway git repository.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BAD = "import threading\n\n\ndef work():\n    while True: step()\n\n\nthreading.Thread(target=work).start()\n"

pytestmark = pytest.mark.skipif(shutil.which("git") is None, reason="pre-commit needs git")


def _git(cwd: Path, *args: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "test",
        "GIT_AUTHOR_EMAIL": "test@example.com",
        "GIT_COMMITTER_NAME": "test",
        "GIT_COMMITTER_EMAIL": "test@example.com",
    }
    result = subprocess.run(["git", *args], cwd=cwd, env=env, capture_output=True, text=True, check=True)
    return result.stdout


def _snapshot_of_this_repository(target: Path) -> str:
    files = _git(ROOT, "ls-files", "--cached", "--others", "--exclude-standard").splitlines()
    for name in files:
        source = ROOT / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    _git(target, "init", "-q")
    _git(target, "add", "-A")
    _git(target, "commit", "-q", "-m", "snapshot")
    return _git(target, "rev-parse", "HEAD").strip()


def test_check_hook_fails_fix_hook_fixes_then_both_pass(tmp_path: Path, runtime_wheelhouse: Path) -> None:
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    hooks = tmp_path / "hooks"
    hooks.mkdir()
    revision = _snapshot_of_this_repository(hooks)
    project = tmp_path / "project"
    project.mkdir()
    (project / "service.py").write_text(BAD)
    # pre-commit names every file itself: an excluded directory must still be left alone.
    (project / "legacy").mkdir()
    (project / "legacy" / "old.py").write_text(BAD)
    (project / "pyproject.toml").write_text('[tool.unguarded-workers]\nexclude = ["legacy"]\n')
    (project / ".pre-commit-config.yaml").write_text(
        f"repos:\n- repo: {hooks}\n  rev: {revision}\n"
        "  hooks:\n  - id: unguarded-workers\n  - id: unguarded-workers-fix\n"
    )
    _git(project, "init", "-q")
    _git(project, "add", "-A")

    def pre_commit(*args: str) -> subprocess.CompletedProcess[str]:
        # pre-commit pip-installs the hook repository, whose runtime dependency is not released yet.
        links = " ".join(filter(None, [os.environ.get("PIP_FIND_LINKS"), str(runtime_wheelhouse)]))
        env = {**os.environ, "PRE_COMMIT_HOME": str(tmp_path / "cache"), "PIP_FIND_LINKS": links}
        command = [sys.executable, "-m", "pre_commit", "run", *args, "--all-files"]
        return subprocess.run(command, cwd=project, env=env, capture_output=True, text=True, check=False)

    check = pre_commit("unguarded-workers")
    assert check.returncode == 1, check.stdout + check.stderr
    assert "service.py:8:1: UW101 thread target 'work' has no try/except guard" in check.stdout
    assert "legacy" not in check.stdout

    fix = pre_commit("unguarded-workers-fix")
    assert fix.returncode == 1, fix.stdout + fix.stderr  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in fix.stdout
    assert "threading.Thread(target=wrap(work)).start()" in (project / "service.py").read_text()
    assert (project / "legacy" / "old.py").read_text() == BAD

    both = pre_commit()
    assert both.returncode == 0, both.stdout + both.stderr
    assert both.stdout.count("Passed") == 2
