"""Configuration never silently disables the tool, and never breaks flake8 for reasons
that are not this tool's: through the real command and the real flake8."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_helpers import run_cli

BAD = textwrap.dedent(
    """\
    import threading


    def work():
        while True: step()


    threading.Thread(target=work).start()
    """
)
BROKEN_TOML = "[tool.black\nline-length = 88\n"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.py").write_text(BAD)
    return tmp_path


def _flake8(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--select=UW", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


def test_another_tools_broken_pyproject_is_a_warning(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "pyproject.toml").write_text(BROKEN_TOML)
    result = run_cli(capsys, "check", "m.py")
    assert result.status == 1
    assert result.out.startswith("m.py:8:1: UW101")
    (warning,) = result.notes.splitlines()
    assert warning.startswith("warning: ")
    assert "pyproject.toml: cannot read" in warning
    assert warning.endswith("it sets nothing for unguarded-workers, so it is passed over")

    flake8 = _flake8(workdir, "m.py")
    assert flake8.stdout.startswith("m.py:8:1: UW101"), flake8.stderr
    assert "unguarded-workers: warning:" in flake8.stderr


def test_a_broken_pyproject_that_configures_this_tool_is_an_error(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "pyproject.toml").write_text('[tool.unguarded-workers\nunresolved = "skip"\n')
    result = run_cli(capsys, "check", "m.py")
    assert result.status == 2
    assert "pyproject.toml: cannot read" in result.err


@pytest.mark.parametrize("where", ["command line", "pyproject"])
def test_a_select_that_matches_nothing_is_an_error(
    workdir: Path, capsys: pytest.CaptureFixture[str], where: str
) -> None:
    if where == "pyproject":
        (workdir / "pyproject.toml").write_text('[tool.unguarded-workers]\nselect = ["XX9"]\n')
        result = run_cli(capsys, "check", "m.py")
        assert "[tool.unguarded-workers]: select: XX9 selects none of this tool's codes" in result.err
    else:
        result = run_cli(capsys, "check", "--select", "XX", "m.py")
        assert "error: --select: XX selects none of this tool's codes (UW101, UW102" in result.err
    assert result.status == 2
    assert result.out == ""


def test_command_line_errors_name_the_option(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "check", "--fix-guard=nocolon", "m.py")
    assert result.err == "error: --fix-guard: 'nocolon' is not MODULE:NAME, like 'myapp.concurrency:safe'\n"
    assert result.status == 2


def test_flake8_config_errors_name_the_file_and_its_key(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "setup.cfg").write_text("[flake8]\nuw_group_children = some\n")
    result = run_cli(capsys, "check", "m.py")
    assert "setup.cfg: [flake8]: uw-group-children: 'some' is not one of serving, all" in result.err
    assert result.status == 2


def test_a_duplicate_key_in_setup_cfg_is_an_error_as_in_flake8(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "setup.cfg").write_text("[flake8]\nuw-unresolved = skip\nuw-unresolved = report\n")
    result = run_cli(capsys, "check", "m.py")
    assert result.status == 2
    assert "setup.cfg: cannot read" in result.err
    assert "uw-unresolved" in result.err
    assert _flake8(workdir, "m.py").returncode != 0  # flake8 stops on it as well


def test_legacy_api_isolated_reads_no_pyproject(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from flake8.api import legacy

    (workdir / "pyproject.toml").write_text('[tool.unguarded-workers]\nignore = ["UW1"]\n')
    configured = legacy.get_style_guide(select=["UW"]).check_files(["m.py"])
    assert configured.total_errors == 0  # pyproject's ignore applies
    isolated = legacy.get_style_guide(select=["UW"], isolated=True).check_files(["m.py"])
    assert isolated.total_errors == 1
    capsys.readouterr()


def test_the_readme_ci_command_fails_on_an_unparsable_file(workdir: Path) -> None:
    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert "flake8 --select=UW,E9" in readme
    (workdir / "m.py").write_text("def broken(:\n")
    result = _flake8(workdir, "--select=UW,E9", "m.py")
    assert result.returncode == 1
    assert "E999 SyntaxError" in result.stdout
