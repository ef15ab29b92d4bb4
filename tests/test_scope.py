"""What the check covers by default: test code is left alone (`tests`), project imports are
followed; through the real command and the real flake8."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_helpers import run_cli

from unguarded_workers.skipped import is_example_code, is_test_code

WORKER = textwrap.dedent(
    """\
    import threading


    def work():
        while True: step()


    threading.Thread(target=work).start()
    """
)
TEST_FILES = [
    "test_api.py",
    "api_test.py",
    "pkg/_keyboard_tests.py",
    "app/tests.py",
    "conftest.py",
    "tests/helpers.py",
    "pkg/testing/server.py",
    "_tests/x.py",
    "t/integration/common.py",
    "t/unit/x.py",
]
OTHER_FILES = [
    "app.py",
    "testing.py",
    "contests.py",
    "pkg/tests_common.py",
    "contest.py",
    "attestation/x.py",
    "pkg/test_utils/x.py",
    "latest/x.py",
    "t/x.py",
    "t/api/x.py",
]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in TEST_FILES + OTHER_FILES:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(WORKER)
    return tmp_path


@pytest.mark.parametrize("name", TEST_FILES)
def test_test_code_is_recognised(name: str) -> None:
    assert is_test_code(name)


@pytest.mark.parametrize("name", OTHER_FILES)
def test_other_code_is_not_test_code(name: str) -> None:
    assert not is_test_code(name)


EXAMPLE_FILES = [
    "examples/chat.py",
    "docs/conf.py",
    "docs_src/tutorial.py",
    "demo/app.py",
    "samples/x.py",
    "benchmarks/bench_x.py",
    "bench/x.py",
    "experiments/y.py",
    "caproto/ioc_examples/io_interrupt.py",  # a directory of examples of something
    "pkg/usage_demos/x.py",
    "example_server.py",
    "chat_example.py",
    "demo_client.py",
    "bench_io.py",
]
NOT_EXAMPLE_FILES = ["src/pkg/examples.py", "sample.py", "counterexamples/x.py", "pkg/examples_of/x.py", "app.py"]


@pytest.mark.parametrize("name", EXAMPLE_FILES)
def test_example_code_is_recognised(name: str) -> None:
    assert is_example_code(name)


@pytest.mark.parametrize("name", NOT_EXAMPLE_FILES)
def test_other_code_is_not_example_code(name: str) -> None:
    assert not is_example_code(name)


def test_directories_count_from_the_root_down(tmp_path: Path) -> None:
    checkout = tmp_path / "tests" / "project"
    assert not is_test_code(str(checkout / "app.py"), root=str(checkout))
    assert is_test_code(str(checkout / "tests" / "app.py"), root=str(checkout))
    assert is_test_code(str(checkout / "app.py"), root=str(tmp_path / "elsewhere"))  # not under the root


def _reported_files(output: str) -> set[str]:
    return {os.path.normpath(line.split(":", 1)[0]) for line in output.splitlines()}


def test_command_skips_test_code_by_default(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    walked = run_cli(capsys, "check", ".")
    assert _reported_files(walked.out) == set(OTHER_FILES)
    named = run_cli(capsys, "check", *TEST_FILES)  # as pre-commit passes them
    assert (named.status, named.out) == (0, "")


def test_command_checks_test_code_when_asked(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "check", "--tests=check", ".")
    assert _reported_files(result.out) == set(TEST_FILES + OTHER_FILES)
    (workdir / "pyproject.toml").write_text('[tool.unguarded-workers]\ntests = "check"\n')
    assert _reported_files(run_cli(capsys, "check", ".").out) == set(TEST_FILES + OTHER_FILES)
    bad = run_cli(capsys, "check", "--tests=maybe", ".")
    assert bad.status == 2


def test_stdin_takes_its_name_from_stdin_filename(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    as_test = run_cli(capsys, "check", "--stdin-filename=tests/test_x.py", "-", stdin=WORKER.encode())
    assert (as_test.status, as_test.out) == (0, "")
    fixed = run_cli(capsys, "fix", "--stdin-filename=tests/test_x.py", "-", stdin=WORKER.encode())
    assert fixed.out == WORKER  # an editor's buffer comes back as it was
    as_app = run_cli(capsys, "check", "--stdin-filename=app.py", "-", stdin=WORKER.encode())
    assert as_app.status == 1


def _flake8(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "flake8", "--select=UW", *args], capture_output=True, text=True, cwd=cwd, check=False
    )


def test_flake8_skips_test_code_by_default(workdir: Path) -> None:
    result = _flake8(workdir, ".")
    assert _reported_files(result.stdout) == set(OTHER_FILES), result.stderr
    asked = _flake8(workdir, "--uw-tests=check", *TEST_FILES)
    assert _reported_files(asked.stdout) == set(TEST_FILES), asked.stderr
    (workdir / "setup.cfg").write_text("[flake8]\nuw-tests = check\n")
    configured = _flake8(workdir, *TEST_FILES)
    assert _reported_files(configured.stdout) == set(TEST_FILES), configured.stderr


PROJECT = {
    "app/__init__.py": "",
    "app/base.py": "import threading\n\n\nclass BaseThread(threading.Thread):\n    pass\n",
    "app/observer.py": textwrap.dedent(
        """\
        from .base import BaseThread
        from .jobs import poll


        class Observer(BaseThread):
            def run(self):
                self.callback()


        def start(executor):
            executor.submit(poll)
        """
    ),
    "app/jobs.py": "def poll():\n    while True:\n        step()\n",  # a long-lived loop: high
}


def _rows(output: str) -> set[tuple[str, str, str]]:
    rows = set()
    for line in output.splitlines():
        path, row, _ = line.split(":", 2)
        rows.add((os.path.normpath(path), row, line.split()[1]))
    return rows


def test_project_imports_are_followed_by_both_tools(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for name, text in PROJECT.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    expected = {("app/observer.py", "6", "UW102"), ("app/observer.py", "11", "UW201")}
    command = run_cli(capsys, "check", ".")
    assert _rows(command.out) == expected
    flake8 = _flake8(tmp_path, "app")
    assert _rows(flake8.stdout) == expected, flake8.stderr
    assert "has no try/except guard" in command.out  # poll was inspected, not "could not be inspected"


@pytest.mark.parametrize("namespace", ["acme", "acme/cloud"])
def test_absolute_imports_inside_a_namespace_package_are_followed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], namespace: str
) -> None:
    """A PEP 420 namespace package (no `__init__.py` in acme/, nor in acme/cloud/) imported by
    its absolute name from inside itself: the modules it names are the project's own."""
    dotted = namespace.replace("/", ".")
    project = {
        f"{namespace}/app/__init__.py": "",
        f"{namespace}/app/base.py": PROJECT["app/base.py"],
        f"{namespace}/app/jobs.py": PROJECT["app/jobs.py"],
        f"{namespace}/app/observer.py": PROJECT["app/observer.py"]
        .replace("from .base", f"from {dotted}.app.base")
        .replace("from .jobs", f"from {dotted}.app.jobs"),
    }
    for name, text in project.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    monkeypatch.chdir(tmp_path)
    observer = f"{namespace}/app/observer.py"
    expected = {(observer, "6", "UW102"), (observer, "11", "UW201")}
    command = run_cli(capsys, "check", ".")
    assert _rows(command.out) == expected
    assert "has no try/except guard" in command.out  # poll was found in acme/app/jobs.py
    flake8 = _flake8(tmp_path, namespace)
    assert _rows(flake8.stdout) == expected, flake8.stderr
