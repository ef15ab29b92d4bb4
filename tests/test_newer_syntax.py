"""A module that uses syntax newer than the running interpreter reads says which Python parsed it,
what it needs and how to get it, with the Python the project targets; the summary counts it."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_helpers import run_cli

from unguarded_workers.syntax import newer_feature, running_python

RUNNING = running_python()
# Each feature's module (each calls a spawner, so that it is parsed) and the Python it needs.
FEATURES = {
    "match": (
        "import threading\n\ndef f(x):\n    match x:\n        case 1:\n            threading.Thread(target=x)\n",
        "3.10",
    ),
    "except star": ("import threading\ntry:\n    threading.Thread(target=f)\nexcept* ValueError:\n    pass\n", "3.11"),
    "type parameters": ("import threading\n\ndef f[T](x: T) -> T:\n    threading.Thread(target=x)\n", "3.12"),
    "type statement": ("import threading\ntype Alias = list[int]\nthreading.Thread(target=f)\n", "3.12"),
    "f-string quotes": ("import threading\nd = {}\nx = f'{d['k']}'\nthreading.Thread(target=f)\n", "3.12"),
    "type parameter default": ("import threading\n\ndef f[T = int](x: T):\n    threading.Thread(target=x)\n", "3.13"),
    "except without parentheses": (
        "import threading\ntry:\n    threading.Thread(target=f)\nexcept ValueError, TypeError:\n    pass\n",
        "3.14",
    ),
    "template string": ("import threading\nname = 1\nx = t'hi {name}'\nthreading.Thread(target=f)\n", "3.14"),
}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _needed(version: str) -> tuple[int, int]:
    major, minor = version.split(".")
    return int(major), int(minor)


@pytest.mark.parametrize(("source", "version"), FEATURES.values(), ids=FEATURES.keys())
def test_newer_syntax_says_which_python_parsed_it_and_which_it_needs(
    workdir: Path, capsys: pytest.CaptureFixture[str], source: str, version: str
) -> None:
    if sys.version_info[:2] >= _needed(version):
        pytest.skip(f"Python {RUNNING} reads it")
    (workdir / "new.py").write_text(source)
    result = run_cli(capsys, "check", "new.py")
    assert result.status == 2
    (line,) = result.notes.splitlines()
    assert line.startswith("error: new.py:")
    assert f": cannot parse with Python {RUNNING}: " in line
    assert line.endswith(
        f" needs Python {version}; run unguarded-workers under Python {version} or newer "
        f"(python{version} -m unguarded_workers)"
    )
    assert result.summary == f"No findings; 1 file needs a newer Python ({version}) to be read."


def test_the_project_target_is_said_and_files_are_counted(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = FEATURES["template string"][0]  # newer than every Python this runs under
    (workdir / "a.py").write_text(source)
    (workdir / "b.py").write_text(FEATURES["except without parentheses"][0])
    (workdir / "broken.py").write_text("import threading\nthreading.Thread(target=f\n")
    (workdir / "pyproject.toml").write_text('[project]\nrequires-python = ">=3.14"\n')
    result = run_cli(capsys, "check", ".")
    errors = result.notes.splitlines()
    assert errors[0].endswith("(the project targets Python >=3.14: requires-python in pyproject.toml)")
    assert "cannot parse: " in errors[2]  # not newer syntax: the parser's own words
    assert result.summary == "No findings; 1 file could not be checked; 2 files need a newer Python (3.14) to be read."
    targeted = run_cli(capsys, "check", "--target-version=py314", "a.py")
    assert targeted.notes.rstrip().endswith("(the project targets Python 3.14: --target-version)")
    bad = run_cli(capsys, "check", "--target-version=3.x", "a.py")
    assert bad.status == 2
    assert "--target-version: '3.x' is not a Python version, like py312 or 3.12" in bad.err


def test_an_ordinary_syntax_error_is_not_called_newer() -> None:
    for source, line, message in [
        ("def f(:\n", 1, "invalid syntax"),
        ("match = 1\nmatch x\n", 2, "invalid syntax"),
        ("x = f'{a b}'\n", 1, "f-string: invalid syntax"),
        ("try:\n    pass\nexcept (A, B) as e, f:\n    pass\n", 3, "invalid syntax"),
    ]:
        assert newer_feature(source, line, message, (3, 9)) is None, source
