"""The hooks in .pre-commit-hooks.yaml, run by the real pre-commit on a project with a bad file,
as docs/integrations.md configures them, with nothing but the public package index.

pre-commit installs a hook repository from a git revision: the working tree of this checkout
(committed or not) is committed into a throwaway repository first (the `repository` fixture).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest
from wheels import ROOT, git, run

BAD = "import threading\n\n\ndef work():\n    while True: step()\n\n\nthreading.Thread(target=work).start()\n"
UPSTREAM = "https://github.com/unguarded-workers/unguarded-workers"


def _documented_configuration() -> str:
    """The `.pre-commit-config.yaml` block of docs/integrations.md."""
    text = (ROOT / "docs" / "integrations.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(# \.pre-commit-config\.yaml\n.*?)```", text, re.DOTALL)
    assert len(blocks) == 1, "docs/integrations.md shows one .pre-commit-config.yaml"
    return str(blocks[0])


def _project(tmp_path: Path, configuration: str) -> Path:
    project = tmp_path / "project"
    project.mkdir()
    (project / "service.py").write_text(BAD)
    # pre-commit names every file itself: an excluded directory must still be left alone.
    (project / "legacy").mkdir()
    (project / "legacy" / "old.py").write_text(BAD)
    (project / "pyproject.toml").write_text('[tool.unguarded-workers]\nexclude = ["legacy"]\n')
    (project / ".pre-commit-config.yaml").write_text(configuration)
    git(project, "init", "-q")
    git(project, "add", "-A")
    return project


def _pre_commit(project: Path, env: dict[str, str], *args: str) -> str:
    result = run(sys.executable, "-m", "pre_commit", *args, cwd=project, env=env)
    return f"exit {result.returncode}\n{result.stdout}{result.stderr}"


def _check_fails_fix_fixes_then_both_pass(project: Path, env: dict[str, str]) -> None:
    check = _pre_commit(project, env, "run", "unguarded-workers", "--all-files")
    assert check.startswith("exit 1\n"), check
    assert "service.py:8:1: UW101 thread target 'work' has no try/except guard" in check
    assert "legacy" not in check

    fix = _pre_commit(project, env, "run", "unguarded-workers-fix", "--all-files")
    assert fix.startswith("exit 1\n"), fix  # pre-commit fails a hook that modified files
    assert "files were modified by this hook" in fix
    assert "threading.Thread(target=wrap(work)).start()" in (project / "service.py").read_text()
    assert (project / "legacy" / "old.py").read_text() == BAD

    both = _pre_commit(project, env, "run", "--all-files")
    assert both.startswith("exit 0\n"), both
    assert both.count("Passed") == 2


@pytest.fixture
def pre_commit_env(public_index: dict[str, str], tmp_path: Path) -> dict[str, str]:
    return {**public_index, "PRE_COMMIT_HOME": str(tmp_path / "cache")}


def test_the_documented_configuration_pinned_by_autoupdate(
    tmp_path: Path, repository: tuple[Path, str], pre_commit_env: dict[str, str]
) -> None:
    """The docs' block, its `rev:` filled in by `pre-commit autoupdate` as they say: with no
    release tag, the newest commit's SHA. Both hooks, uncommented."""
    path, commit = repository
    documented = _documented_configuration()
    assert f"repo: {UPSTREAM}\n" in documented
    configuration = documented.replace(UPSTREAM, str(path)).replace(
        "# - id: unguarded-workers-fix", "- id: unguarded-workers-fix"
    )
    project = _project(tmp_path, configuration)

    update = _pre_commit(project, pre_commit_env, "autoupdate", "--repo", str(path))
    assert update.startswith("exit 0\n"), update
    assert f'rev: "{commit}"' in (project / ".pre-commit-config.yaml").read_text()

    _check_fails_fix_fixes_then_both_pass(project, pre_commit_env)


def test_the_hooks_with_the_users_own_additional_dependencies(
    tmp_path: Path, repository: tuple[Path, str], pre_commit_env: dict[str, str]
) -> None:
    """A user's `additional_dependencies` replace the manifest's: the hooks need none."""
    path, commit = repository
    hook = "    additional_dependencies: [six]\n"
    configuration = (
        f"repos:\n- repo: {path}\n  rev: {commit}\n  hooks:\n"
        f"  - id: unguarded-workers\n{hook}  - id: unguarded-workers-fix\n{hook}"
    )
    project = _project(tmp_path, configuration)
    _check_fails_fix_fixes_then_both_pass(project, pre_commit_env)
    environments = list((tmp_path / "cache").glob("repo*/py_env-*"))
    assert environments
    assert any(list(env.glob("lib/python*/site-packages/six.py")) for env in environments), environments
