"""Files as they come: reached through symlinks or by several paths (checked and fixed once),
named with control characters or bytes that are not text (shown escaped, every format still
valid), holding bytes that are not UTF-8 in comments (read as Python reads them, fixed byte
for byte), or too large to check (skipped with a note)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest
from cli_helpers import run_cli

BAD = "import threading\n\n\ndef work():\n    while True: step()\n\n\nthreading.Thread(target=work).start()\n"
FIXED = BAD.replace("target=work", "target=wrap(work)").replace(
    "import threading\n", "import threading\n\nfrom unguarded_workers import wrap\n"
)
UW = [sys.executable, "-m", "unguarded_workers"]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


# -- several paths to one file ---------------------------------------------------------


def test_a_symlinked_module_is_checked_and_fixed_once(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "service.py").write_text(BAD)
    (workdir / "alias.py").symlink_to("service.py")  # met first: "alias" sorts before "service"
    checked = run_cli(capsys, "check", ".")
    assert [line.split(":")[0] for line in checked.out.splitlines()] == ["service.py"]
    diff = run_cli(capsys, "fix", "--diff", ".")
    assert diff.out.count("+++ ") == 1
    assert "would fix 1 site in 1 file" in diff.err
    fixed = run_cli(capsys, "fix", ".")
    assert (fixed.status, fixed.err) == (0, "unguarded-workers: fixed 1 site in 1 file; 0 left\n")
    assert (workdir / "service.py").read_text() == FIXED
    assert (workdir / "alias.py").is_symlink()


def test_a_directory_given_twice_or_through_a_symlink_is_checked_once(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "pkg").mkdir()
    (workdir / "pkg" / "service.py").write_text(BAD)
    (workdir / "linked").symlink_to("pkg", target_is_directory=True)
    result = run_cli(capsys, "check", "pkg", "linked", "./pkg/service.py", "linked/../pkg/service.py")
    assert [line.split(":")[0] for line in result.out.splitlines()] == [os.path.join("pkg", "service.py")]


# -- names with control characters -----------------------------------------------------

NAMES = {"newline": "a\nb.py", "tab": "tab\t.py", "escape": "esc\x1b[31m.py", "quote": 'say "hi".py'}
SHOWN = {"newline": '"a\\nb.py"', "tab": '"tab\\t.py"', "escape": '"esc\\033[31m.py"', "quote": '"say \\"hi\\".py"'}


@pytest.mark.parametrize("kind", NAMES)
def test_a_name_with_a_control_character_is_escaped_in_every_format(
    kind: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = NAMES[kind]
    (workdir / name).write_text(BAD)
    text = run_cli(capsys, "check", name)
    assert text.out.startswith(f"{SHOWN[kind]}:8:1: UW101 ")
    assert text.out.count("\n") == 1
    github = run_cli(capsys, "check", "--output-format=github", name).out
    assert github.count("\n") == 1
    assert not any(char in github[:-1] for char in "\n\r\t\x1b")
    records = json.loads(run_cli(capsys, "check", "--output-format=json", name).out)
    assert [record["path"] for record in records] == [name]  # the name itself: JSON escapes it
    for output_format in ("sarif", "gitlab"):
        json.loads(run_cli(capsys, "check", f"--output-format={output_format}", name).out)
    ElementTree.fromstring(run_cli(capsys, "check", "--output-format=junit", name).out)
    diff = run_cli(capsys, "fix", "--diff", name).out
    assert diff.startswith(f"--- {SHOWN[kind]}\n+++ {SHOWN[kind]}\n@@ ")
    (workdir / name).write_text("from threading import Thread\ndef f(:\n    Thread(target=f).start()\n")
    error = run_cli(capsys, "check", name)
    assert error.status == 2
    assert error.notes.count("\n") == 1
    assert error.summary == "No findings; 1 file could not be checked."
    assert "\x1b" not in error.err


def test_newline_names_in_github_annotations_are_the_files_themselves(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "a\nb.py").write_text(BAD)
    out = run_cli(capsys, "check", "--output-format=github", "a\nb.py").out
    assert out.startswith("::error file=a%0Ab.py,line=8,endLine=8,col=1,")  # GitHub decodes %0A


@pytest.mark.skipif(sys.platform in ("darwin", "win32"), reason="needs a file system that takes any byte")
def test_a_name_that_is_not_text_is_shown_by_its_bytes(workdir: Path) -> None:
    os.close(os.open(b"caf\xe9.py", os.O_WRONLY | os.O_CREAT))
    Path(os.fsdecode(b"caf\xe9.py")).write_text(BAD)
    for output_format, expected in (("text", b'"caf\\351.py":8:1: UW101 '), ("json", b'"path": "caf\\udce9.py"')):
        result = subprocess.run(
            [*UW, "check", f"--output-format={output_format}", "."], cwd=workdir, capture_output=True, check=False
        )
        assert result.returncode == 1, result.stderr
        assert expected in result.stdout
    sarif = subprocess.run([*UW, "check", "--output-format=sarif", "."], cwd=workdir, capture_output=True, check=False)
    assert b'"uri": "caf%E9.py"' in sarif.stdout


# -- bytes that are not UTF-8 ----------------------------------------------------------

STRAY = (
    b"# A header comment by Ren\xe9\nimport threading\n\n\ndef work():  # caf\xe9\n    while True: step()\n\n\n"
    b"s = 'caf\xc3\xa9'; threading.Thread(target=work).start()  # \xff\xfe\n"
)


def test_stray_bytes_in_comments_are_read_as_python_reads_them(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """ast.parse(bytes) takes them (3.9-3.13 alike): a comment is not decoded by the parser."""
    import ast

    ast.parse(STRAY)  # Python's own verdict, on this interpreter
    (workdir / "m.py").write_bytes(STRAY)
    records = json.loads(run_cli(capsys, "check", "--output-format=json", "m.py").out)
    assert [(r["line"], r["column"], r["code"]) for r in records] == [(9, 13, "UW101")]  # "é" is one character
    text = run_cli(capsys, "check", "m.py").out
    assert text.startswith("m.py:9:14: UW101 ")  # and two bytes


def test_fix_keeps_every_byte_it_does_not_change(workdir: Path) -> None:
    (workdir / "m.py").write_bytes(STRAY)
    diff = subprocess.run([*UW, "fix", "--diff", "m.py"], cwd=workdir, capture_output=True, check=False)
    assert diff.returncode == 1, diff.stderr
    assert b" def work():  # caf\xe9\n" in diff.stdout  # a context line, byte for byte
    assert b"+s = 'caf\xc3\xa9'; threading.Thread(target=wrap(work)).start()  # \xff\xfe\n" in diff.stdout
    fixed = subprocess.run([*UW, "fix", "m.py"], cwd=workdir, capture_output=True, check=False)
    assert (fixed.returncode, fixed.stderr) == (0, b"unguarded-workers: fixed 1 site in 1 file; 0 left\n")
    expected = STRAY.replace(b"target=work", b"target=wrap(work)").replace(
        b"import threading\n", b"import threading\n\nfrom unguarded_workers import wrap\n"
    )
    assert (workdir / "m.py").read_bytes() == expected
    patched = subprocess.run(["patch", "--dry-run", "-R", "m.py"], cwd=workdir, input=diff.stdout, check=False)
    assert patched.returncode == 0  # the diff applies (backwards, to the fixed file)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"import threading\nx = 'caf\xe9'\nthreading.Thread(target=print)\n", "m.py:2:9: not valid utf-8"),
        (b"import threading\nx = f'{1}\xe9'  # \xff\nthreading.Thread(target=print)\n", "m.py:2:10: not valid utf-8"),
        (b"# -*- coding: cp1252 -*-\nimport threading  # \x81\n", "m.py:2:21: not valid cp1252"),
    ],
    ids=["in a string", "in an f-string, with another in a comment", "a declared encoding"],
)
def test_stray_bytes_elsewhere_are_still_an_error(
    data: bytes, message: str, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "m.py").write_bytes(data)
    result = run_cli(capsys, "check", "m.py")
    assert result.status == 2
    assert result.err.startswith(f"error: {message}"), result.err


# -- the size limit --------------------------------------------------------------------


def test_a_file_over_the_size_limit_is_skipped_with_a_note(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "big.py").write_text(BAD + "# padding\n" * 20)
    (workdir / "small.py").write_text(BAD)
    result = run_cli(capsys, "check", "--max-file-size=150", ".")
    assert result.status == 1  # the findings of small.py: a skipped file is no error
    assert [line.split(":")[0] for line in result.out.splitlines()] == ["small.py"]
    assert (
        result.notes
        == f"note: big.py: {(workdir / 'big.py').stat().st_size} bytes, over max-file-size (150); not checked\n"
    )
    assert result.summary == (
        "Found 1 finding in 1 file (1 fixable with `unguarded-workers fix`); 1 file over max-file-size skipped."
    )
    assert run_cli(capsys, "check", "-q", "--max-file-size=150", ".").err == ""
    assert run_cli(capsys, "check", "--max-file-size=0", ".").out.count("UW101") == 2  # 0: no limit
    before = (workdir / "big.py").read_bytes()
    fixed = run_cli(capsys, "fix", "--max-file-size=150", ".")
    assert (workdir / "big.py").read_bytes() == before
    assert "note: big.py:" in fixed.err
    assert "fixed 1 site in 1 file" in fixed.err


def test_the_default_limit_skips_a_generated_module(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "generated.py").write_text(BAD + "TABLE = [\n" + "    (1, 2, 3),\n" * 200_000 + "]\n")
    result = run_cli(capsys, "check", "generated.py")
    assert (result.status, result.out) == (0, "")
    assert "over max-file-size (2,097,152); not checked" in result.err


@pytest.mark.parametrize(
    ("where", "content", "value"),
    [
        ("pyproject.toml", "[tool.unguarded-workers]\nmax-file-size = 150\n", 150),
        ("pyproject.toml", '[tool.unguarded-workers]\nmax-file-size = "1K"\n', 1024),
        ("setup.cfg", "[flake8]\nuw-max-file-size = 2 MiB\n", 2 << 20),
    ],
)
def test_the_limit_is_a_setting(
    where: str, content: str, value: int, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / where).write_text(content)
    (workdir / "m.py").write_text(BAD + "#" * 500 + "\n")
    result = run_cli(capsys, "check", "m.py")
    if value < 500:
        assert f"over max-file-size ({value:,})" in result.err
    else:
        assert result.out.startswith("m.py:8:1: UW101")


def test_a_bad_limit_is_a_usage_error(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "pyproject.toml").write_text('[tool.unguarded-workers]\nmax-file-size = "lots"\n')
    result = run_cli(capsys, "check", ".")
    assert result.status == 2
    assert "max-file-size: 'lots' is not a size, like 2M, 512K or 1000000 (0: no limit)" in result.err


def test_stdin_over_the_limit_comes_back_unchanged_from_fix(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "fix", "--max-file-size=10", "--stdin-filename=m.py", "-", stdin=BAD.encode())
    assert result.out == BAD  # an editor replaces its buffer with this
    assert result.err.startswith("note: m.py: ")
