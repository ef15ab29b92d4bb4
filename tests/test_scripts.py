"""The README's commands. scripts/check installs only when the project's metadata changed, says
so when it does, and passes any command line to the tool (a stand-in environment records how
python and the tool are called); scripts/test's progress lines; a run started with SIGINT
ignored; scripts/release's refusal to mix a release with older files."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent

# Stands in for $VENV/bin/python: records its arguments, fakes `-m pip`, runs the rest.
FAKE_PYTHON = """#!/bin/sh
echo "$*" >> "{log}"
if [ "$1" = "-m" ] && [ "$2" = "pip" ]; then exit 0; fi
exec "{python}" "$@"
"""
FAKE_TOOL = """#!/bin/sh
echo "unguarded-workers (stand-in) $*"
"""


@pytest.fixture
def venv(tmp_path: Path) -> Path:
    if shutil.which("cksum") is None or sys.platform == "win32":
        pytest.skip("needs a POSIX shell and cksum")
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name, text in (("python", FAKE_PYTHON), ("unguarded-workers", FAKE_TOOL)):
        script = bin_dir / name
        script.write_text(text.format(log=tmp_path / "calls.log", python=sys.executable))
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return tmp_path / "venv"


def _check(venv: Path, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(ROOT / "scripts" / "check"), *args],
        capture_output=True,
        text=True,
        env={**os.environ, "UW_VENV": str(venv)},
        check=False,
        timeout=120,
        cwd=cwd,
    )


def _pip_calls(venv: Path) -> list[str]:
    log = venv.parent / "calls.log"
    return [line for line in log.read_text().splitlines() if line.startswith("-m pip")] if log.exists() else []


def test_check_installs_once_then_only_when_pyproject_changes(venv: Path) -> None:
    first = _check(venv, "--version")
    assert first.returncode == 0, first.stderr
    assert len(_pip_calls(venv)) == 1  # no stamp yet: install

    second = _check(venv, "--version")
    assert second.returncode == 0
    assert second.stdout == "unguarded-workers (stand-in) --version\n"
    assert second.stderr == ""
    assert len(_pip_calls(venv)) == 1  # nothing changed: no pip

    (venv / ".uw-installed").write_text("an older pyproject.toml\n")
    third = _check(venv, "--version")
    assert "pyproject.toml or hatch_build.py changed: updating" in third.stderr
    assert len(_pip_calls(venv)) == 2


@pytest.mark.parametrize(
    ("args", "tool_sees"),
    [
        ((), "check ."),
        (("src",), "check src"),
        (("src", "README.md"), "check src README.md"),
        (("check", "--diff", "src"), "check --diff src"),
        (("fix", "--diff", "src"), "fix --diff src"),
        (("server",), "server"),
        (("triage", "--root", ".", "app.log"), "triage --root . app.log"),
        (("rule", "UW101"), "rule UW101"),  # a command the tool may add: any word that is not a path
        (("--version",), "--version"),
        (("-h",), "-h"),
    ],
)
def test_check_passes_any_command_line_to_the_tool(
    venv: Path, tmp_path: Path, args: tuple[str, ...], tool_sees: str
) -> None:
    project = tmp_path / "project"
    (project / "src").mkdir(parents=True)
    (project / "README.md").write_text("")
    assert _check(venv, "--version").returncode == 0  # the first call installs
    result = _check(venv, *args, cwd=project)
    assert result.returncode == 0, result.stderr
    assert result.stdout == f"unguarded-workers (stand-in) {tool_sees}\n"


def test_check_takes_an_existing_path_named_like_a_command_as_the_path(venv: Path, tmp_path: Path) -> None:
    (tmp_path / "server").mkdir()
    result = _check(venv, "server", cwd=tmp_path)
    assert result.stdout == "unguarded-workers (stand-in) check server\n"


SLOW_TESTS = """\
import time


def test_slow():
    time.sleep(2.5)


def test_fast():
    pass
"""
OTHER_TESTS = "def test_one():\n    pass\n\n\ndef test_two():\n    assert False\n"


def _pytest_with_progress(tmp_path: Path, progress: str) -> subprocess.CompletedProcess[str]:
    """The real pytest with tests/progress.py, as tests/conftest.py registers it, on two files."""
    (tmp_path / "test_slow.py").write_text(SLOW_TESTS)
    (tmp_path / "test_other.py").write_text(OTHER_TESTS)
    (tmp_path / "conftest.py").write_text(
        "import progress\n\n\ndef pytest_configure(config):\n    progress.register(config)\n"
    )
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT / "tests"),
        "UW_PROGRESS": progress,
        "UW_PROGRESS_EVERY": "1",
        "TOX_ENV_NAME": "py3x",
    }
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(tmp_path)]
    return subprocess.run(
        [*command, "test_slow.py", "test_other.py"], cwd=tmp_path, env=env, capture_output=True, text=True, check=False
    )


def test_progress_lines_for_each_file_and_for_a_test_still_running(tmp_path: Path) -> None:
    log = tmp_path / "progress.log"
    result = _pytest_with_progress(tmp_path, str(log))
    assert result.returncode == 1, result.stdout
    lines = log.read_text().splitlines()
    assert lines[0].startswith("py3x test_slow.py: 0 done so far; now test_slow.py::test_slow, for "), lines
    # A tick may fall between the slow test's end and the fast one's, on a loaded machine.
    still = re.compile(
        r"py3x test_slow\.py: (0 done so far; now test_slow\.py::test_slow|1 done so far; now test_slow\.py::test_fast)"
    )
    assert all(still.match(line) for line in lines[:-2]), lines
    assert re.fullmatch(r"py3x test_slow\.py: 2 passed in [23] s", lines[-2]), lines
    assert re.fullmatch(r"py3x test_other\.py: 1 failed, 1 passed in 0 s", lines[-1]), lines


def test_progress_on_the_terminal_is_the_heartbeat_on_lines_of_its_own(tmp_path: Path) -> None:
    """With `-`, pytest's own output shows each file; a test still at work gets lines on stderr
    (whose descriptor the tests' output capture does not take over)."""
    result = _pytest_with_progress(tmp_path, "-")
    heartbeats = [line for line in result.stderr.splitlines() if line.startswith("py3x ")]
    assert heartbeats, result.stderr
    assert all(line.startswith("py3x test_slow.py::test_slow: still running after ") for line in heartbeats)
    # The first starts a line of its own (pytest's line of dots is on stdout), the next follow it.
    assert f"\n{heartbeats[0]}\n{heartbeats[1]}\n" in result.stderr
    assert "test_slow.py .." in result.stdout


def test_the_suite_passes_when_started_with_sigint_ignored(tmp_path: Path) -> None:
    """`nohup ./scripts/test &` starts Python with SIGINT ignored; the tests of Ctrl-C (here the
    ones that failed so) still see what a terminal's Ctrl-C does."""
    tests = [
        "tests/test_write.py::test_an_interrupted_check_prints_what_it_found_and_exits_130[1-text]",
        "tests/test_supervise.py::test_a_worker_that_always_fails_ends_the_process_non_zero_after_the_main_threads_shutdown",
    ]
    ignoring = (
        "import os, signal, sys; signal.signal(signal.SIGINT, signal.SIG_IGN); os.execv(sys.argv[1], sys.argv[1:])"
    )
    result = subprocess.run(
        [sys.executable, "-c", ignoring, sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *tests],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env={key: value for key, value in os.environ.items() if key != "UW_PROGRESS"},
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "2 passed" in result.stdout


def test_release_refuses_a_directory_that_holds_files(tmp_path: Path) -> None:
    (tmp_path / "unguarded_workers-0.0.9-py3-none-any.whl").write_text("an older release")
    result = subprocess.run(
        [str(ROOT / "scripts" / "release"), str(tmp_path)],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "UW_PYTHON": sys.executable},
        timeout=120,
    )
    assert result.returncode == 2
    assert "is not empty" in result.stderr
    assert [path.name for path in tmp_path.iterdir()] == ["unguarded_workers-0.0.9-py3-none-any.whl"]


# Stand-ins for scripts/test's tools: tox writes one interpreter's progress lines slowly, as the
# test environments' pytest does (tests/progress.py), and fails if told to.
FAKE_TOX = """#!/bin/sh
envs=$(echo "$*" | sed 's/.*-e \\([^ ]*\\).*/\\1/')
first=${envs%%,*}
echo "$first tests/test_a.py: 3 passed in 1 s" >> "$UW_PROGRESS"
sleep 2.5
echo "$first tests/test_b.py: 1 failed in 2 s" >> "$UW_PROGRESS"
echo "tox run: $envs"
exit ${FAKE_TOX_EXIT:-0}
"""
FAKE_PYTEST = """#!/bin/sh
echo "pytest $* (UW_PROGRESS=$UW_PROGRESS)"
"""


def _test_script(venv: Path, **env: str) -> subprocess.CompletedProcess[str]:
    for name, text in (("ruff", "#!/bin/sh\n"), ("mypy", "#!/bin/sh\n"), ("tox", FAKE_TOX), ("pytest", FAKE_PYTEST)):
        script = venv / "bin" / name
        script.write_text(text)
        script.chmod(script.stat().st_mode | stat.S_IXUSR)
    environment = {key: value for key, value in os.environ.items() if key not in ("UW_PROGRESS", "UW_MATRIX", "CI")}
    return subprocess.run(
        [str(ROOT / "scripts" / "test")],
        capture_output=True,
        text=True,
        env={**environment, "UW_VENV": str(venv), "UW_TICK": "1", **env},
        check=False,
        timeout=120,
    )


def test_test_shows_the_other_interpreters_progress_while_tox_runs(venv: Path) -> None:
    result = _test_script(venv)
    assert result.returncode == 0, result.stderr
    current = f"py{sys.version_info[0]}{sys.version_info[1]}"
    others = [env for env in ("py39", "py310", "py311", "py312", "py313") if env != current]
    err = result.stderr
    assert f"{others[0]} tests/test_a.py: 3 passed in 1 s\n" in err
    assert f"{others[0]} tests/test_b.py: 1 failed in 2 s\n" in err
    # A second without a new line: the ticker says so, and which interpreters have no result yet.
    waiting = " ".join(others[1:])
    assert re.search(rf"^scripts/test: tox: still at work after \d+ s \(no test file done yet: {waiting}\)$", err, re.M)
    assert f"tox run: {','.join(others)}\n" in result.stdout
    assert result.stdout.endswith("pytest  (UW_PROGRESS=-)\n")
    assert err.index("tests/test_b.py") < err.index("the other interpreters passed")


def test_test_stops_when_an_interpreter_fails(venv: Path) -> None:
    result = _test_script(venv, FAKE_TOX_EXIT="1")
    assert result.returncode == 1
    assert "pytest" not in result.stdout
