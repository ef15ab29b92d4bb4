"""No input stops or hangs a run: deep but valid code, FIFOs named *.py, and a bug of the
check itself on one file, through the real command and the real flake8."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest
from cli_helpers import fail_on_trigger, run_cli

from unguarded_workers.analysis import check_module
from unguarded_workers.options import parse_options

WORKER_CALL = "import threading\n"
# Deep code must be analysed all the same: every report counts here, whatever its confidence.
EVERYTHING = ("--min-confidence=low",)
FLAKE8_EVERYTHING = ("--uw-min-confidence=low",)


def _elif_chain() -> str:
    lines = ["import threading", "", "", "def worker(x):", "    if x == 0:", "        step(0)"]
    for branch in range(1, 250):
        lines += [f"    elif x == {branch}:", f"        step({branch})"]
    return "\n".join([*lines, "", "", "threading.Thread(target=worker, args=(1,)).start()", ""])


def _elif_chain_in_a_try(branches: int = 250) -> str:
    """A try whose body cannot fail, an `elif` chain as deep as it is long: its handler never runs."""
    lines = ["import threading", "", "", "def worker(x):", "    try:", "        if x == 0:", "            pass"]
    for branch in range(1, branches):
        lines += [f"        elif x == {branch}:", "            pass"]
    lines += ["    except OSError:", "        raise", "    step()"]
    return "\n".join([*lines, "", "", "threading.Thread(target=worker, args=(1,)).start()", ""])


def _call_chain() -> str:
    lines = ["import threading"]
    for number in range(100):
        lines += ["", "", f"def f{number}():", f"    f{number + 1}()"]
    lines += ["", "", "def f100():", "    step()", "", "", "threading.Thread(target=f0).start()", ""]
    return "\n".join(lines)


def _long_expression() -> str:
    terms = " + ".join(f"w{number}" for number in range(330))
    return f"import threading\n\nthreading.Thread(target=({terms})).start()\n"


def _chained_assignments() -> str:
    lines = ["import asyncio", "", "", "async def w():", "    await step()", "", "", "async def main():"]
    lines.append("    t0 = asyncio.create_task(w())")
    lines += [f"    t{number} = t{number - 1}" for number in range(1, 300)]
    return "\n".join([*lines, "    t299.cancel()", ""])


def _subscripts() -> str:
    return (
        "import asyncio\n\n\nasync def w():\n    await step()\n\n\n"
        f"async def main():\n    x = [asyncio.create_task(w())]{'[0]' * 2000}\n"
    )


DEEP = {
    "elif_chain.py": (_elif_chain, "UW101"),
    "elif_chain_in_a_try.py": (_elif_chain_in_a_try, "UW101"),
    "call_chain.py": (_call_chain, "UW101"),
    "long_expression.py": (_long_expression, "UW101"),
    "chained_assignments.py": (_chained_assignments, "UW301"),
    "subscripts.py": (_subscripts, "UW301"),
}


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _compiles(source: str) -> bool:
    try:
        compile(source, "<deep>", "exec", ast.PyCF_ONLY_AST, dont_inherit=True)
    except (SyntaxError, RecursionError, MemoryError):
        return False
    return True


@pytest.mark.parametrize("name", DEEP)
def test_deep_but_valid_code_is_analysed(name: str, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    make, code = DEEP[name]
    source = make()
    if not _compiles(source):
        pytest.skip("this interpreter does not compile it either")
    (workdir / name).write_text(source)
    result = run_cli(capsys, "check", *EVERYTHING, name)
    assert result.notes == ""
    assert [line.split()[1] for line in result.out.splitlines()] == [code]
    fixed = run_cli(capsys, "fix", *EVERYTHING, "--unsafe-fixes", name)
    assert "internal error" not in fixed.err
    assert "fixed 1 site" in fixed.err, fixed.err
    assert run_cli(capsys, "check", *EVERYTHING, name).out == ""


def test_a_long_elif_chain_is_judged_without_recursion() -> None:
    """Deeper than flake8's own plugins go: the analysis walks it on a stack of its own."""
    source = _elif_chain_in_a_try(branches=700)
    if not _compiles(source):
        pytest.skip("this interpreter does not compile it either")
    violations = check_module(ast.parse(source), parse_options(min_confidence="low"), source)
    assert [v.code.code for v in violations] == ["UW101"]


def test_a_huge_constant_conversion_is_not_tried() -> None:
    """`int()` of a long digit string takes quadratic time before Python 3.11: no conversion of
    a long constant is tried, it is judged as one that can fail (a short one is tried)."""
    digits = "1" * 200_000
    for constant, reported in ((digits, ["UW101"]), ("inf", [])):
        source = f'import threading\n\ndef work():\n    return float("{constant}")\n\nthreading.Thread(target=work)\n'
        violations = check_module(ast.parse(source), parse_options(min_confidence="low"), source)
        assert [v.code.code for v in violations] == reported


def test_deep_code_through_flake8(workdir: Path) -> None:
    for name, (make, _) in DEEP.items():
        source = make()
        # flake8's own pyflakes checker recurses on these two and aborts the run before this
        # plugin is asked ('"pyflakes[F]" failed during execution due to RecursionError').
        if _compiles(source) and name not in ("long_expression.py", "subscripts.py"):
            (workdir / name).write_text(source)
    result = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select=UW", "--uw-min-confidence=low", "."],
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=300,
        check=False,
    )
    assert "Traceback" not in result.stderr
    assert "UW900" not in result.stdout
    assert len(result.stdout.splitlines()) == len(list(workdir.glob("*.py")))


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_named_py_never_hangs_a_run(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "pkg").mkdir()
    os.mkfifo(workdir / "pkg" / "pipe.py")
    (workdir / "pkg" / "app.py").write_text(_call_chain())
    walked = run_cli(capsys, "check", *EVERYTHING, ".")
    assert (walked.status, walked.notes) == (1, "")
    assert walked.out.startswith("pkg/app.py:")
    for command in ("check", "fix"):
        named = run_cli(capsys, command, "pkg/pipe.py")
        assert named.status == 2
        assert "error: pkg/pipe.py: not a regular file" in named.err

    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select=UW", *FLAKE8_EVERYTHING, ".", "pkg/pipe.py"],
        capture_output=True,
        text=True,
        cwd=workdir,
        timeout=60,
        check=False,
    )
    assert flake8.stdout.startswith("./pkg/app.py:")
    assert "pkg/pipe.py: not a regular file; flake8 will not read it" in flake8.stderr


def test_a_bug_on_one_file_does_not_take_flake8_down(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from flake8.api import legacy

    from unguarded_workers import flake8_plugin

    fail_on_trigger(flake8_plugin, monkeypatch)
    (workdir / "a.py").write_text("import threading\ntrigger = 1\nthreading.Thread(target=trigger)\n")
    (workdir / "b.py").write_text(_call_chain())
    (workdir / "pyproject.toml").write_text('[tool.unguarded-workers]\nmin-confidence = "low"\n')
    style = legacy.get_style_guide(select=["UW"])
    report = style.check_files(["a.py", "b.py"])
    out = capsys.readouterr().out.splitlines()
    assert report.total_errors == 2
    assert out[0].startswith("a.py:1:1: UW900 unguarded-workers could not check this file (internal error")
    assert out[0].endswith("AssertionError: a bug")
    assert out[1].startswith("b.py:")
