"""`unguarded-workers check|fix` as users run it: files, directories, stdin, formats, exit codes."""

from __future__ import annotations

import dataclasses
import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_helpers import Result, fail_on_trigger, run_cli

from unguarded_workers.cli.engine import FileOutcome
from unguarded_workers.cli.output import FORMATS, STREAMED_FORMATS
from unguarded_workers.cli.run import _silent
from unguarded_workers.cli.text import TEXT_FORMATS, TextStyle
from unguarded_workers.codes import ALL_CODES
from unguarded_workers.fix.write import WriteError, write_atomically

BAD = textwrap.dedent(
    """\
    import asyncio
    import threading


    def work():
        while True: step()


    def main():
        threading.Thread(target=work).start()
        threading.Thread(target=work).start()  # noqa: UW101
        threading.Thread(target=work).start()  # noqa:UW1
        threading.Thread(target=work).start()  # noqa: E501
        threading.Thread(target=work).start()  # NOQA
        s = "héllo"; t = threading.Thread(target=work)
        return s, t


    async def run():
        asyncio.create_task(work())
    """
)
CLEAN = "import threading\n\nthreading.Thread(target=print).start()\n"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _locations(result: Result) -> list[tuple[str, int, int, str]]:
    found = []
    for line in result.out.splitlines():
        path, row, col, rest = line.split(":", 3)
        found.append((path, int(row), int(col), rest.split()[0]))
    return found


def test_text_output_is_what_flake8_prints(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "service.py").write_text(BAD, encoding="utf-8")
    result = run_cli(capsys, "check", "service.py")
    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select=UW", "service.py"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.out == flake8.stdout
    # Suppression comments as flake8 reads them: by code, by prefix, in any case; one
    # naming another code does not count. Columns count UTF-8 bytes as flake8's do ("é" is two).
    assert [(row, col, code) for _, row, col, code in _locations(result)] == [
        (10, 5, "UW101"),
        (13, 5, "UW101"),
        (15, 23, "UW101"),
        (20, 5, "UW301"),
    ]
    assert result.status == 1


def test_noqa_for_the_whole_file_and_disable_noqa(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "service.py").write_text(BAD, encoding="utf-8")
    (workdir / "skipped.py").write_text("# flake8: noqa\n" + BAD, encoding="utf-8")
    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--isolated", "--select=UW", "--disable-noqa", "service.py", "skipped.py"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert run_cli(capsys, "check", "skipped.py").out == ""
    every = run_cli(capsys, "check", "--disable-noqa", "service.py", "skipped.py")
    assert every.out == flake8.stdout
    assert len(_locations(every)) == 2 * 7


def test_clean_tree_exits_zero(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "ok.py").write_text(CLEAN)
    result = run_cli(capsys, "check")
    assert (result.status, result.out, result.err) == (0, "", "All checks passed.\n")
    assert run_cli(capsys, "check", "-q").err == ""


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("missing.py", None, "error: missing.py: no such file or directory"),
        ("latin.py", b"x = '\xe9'\n", "error: latin.py:1:6: not valid utf-8: invalid continuation byte"),
        # Only a file that could start a worker is parsed (the text prefilter comes first).
        (
            "broken.py",
            b"from threading import Thread\ndef f(:\n    Thread(target=f).start()\n",
            "error: broken.py:2:7: cannot parse: invalid syntax",
        ),
        ("nul.py", b"import threading\nthreading.Thread(target=f)\x00\n", "error: nul.py"),
    ],
)
def test_input_errors_name_the_file_and_the_rest_is_checked(
    workdir: Path, capsys: pytest.CaptureFixture[str], name: str, content: bytes | None, message: str
) -> None:
    if content is not None:
        (workdir / name).write_bytes(content)
    (workdir / "service.py").write_text(BAD, encoding="utf-8")
    result = run_cli(capsys, "check", name, "service.py")
    assert result.status == 2
    errors = result.notes.splitlines()
    assert len(errors) == 1
    assert errors[0].startswith(message)
    assert len(_locations(result)) == 4  # the good file was still checked


def test_a_declared_encoding_is_honoured(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "latin.py").write_bytes(b"# -*- coding: latin-1 -*-\n" + BAD.replace("é", "\xe9").encode("latin-1"))
    assert _locations(run_cli(capsys, "check", "latin.py"))[0][1:] == (11, 5, "UW101")


def test_stdin_with_a_display_name(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "check", "--stdin-filename=app/service.py", "-", stdin=BAD.encode())
    assert [loc[0] for loc in _locations(result)] == ["app/service.py"] * 4
    assert result.status == 1


def test_select_and_ignore_take_prefixes(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "service.py").write_text(BAD, encoding="utf-8")
    only_tasks = run_cli(capsys, "check", "--select=UW3", "service.py")
    assert [loc[3] for loc in _locations(only_tasks)] == ["UW301"]
    no_threads = run_cli(capsys, "check", "--ignore=UW1", "service.py")
    assert [loc[3] for loc in _locations(no_threads)] == ["UW301"]
    # The longer prefix wins, as in flake8.
    narrowed = run_cli(capsys, "check", "--ignore=UW", "--select=UW301", "service.py")
    assert [loc[3] for loc in _locations(narrowed)] == ["UW301"]


def test_directories_are_walked_skipping_vcs_venvs_caches_builds_and_excludes(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for relative in [
        "pkg/a.py",
        "pkg/sub/b.py",
        "pkg/generated/c.py",
        ".git/d.py",
        "env/lib/e.py",
        "conda/lib/g.py",
        "pkg/__pycache__/f.py",
        "pkg/notes.txt",
        "lib/venv/__init__.py",  # the standard library's venv package: a package, not an environment
        "build/lib/pkg/a.py",  # setuptools' copies of the package
        "build/lib.linux-x86_64-3.11/pkg/a.py",
        "build/bdist.linux-x86_64/pkg/a.py",
        "src/build/__init__.py",  # a package named build (pypa's own): walked
    ]:
        (workdir / relative).parent.mkdir(parents=True, exist_ok=True)
        (workdir / relative).write_text(BAD)
    (workdir / "env" / "pyvenv.cfg").write_text("home = /usr\n")
    (workdir / "conda" / "conda-meta").mkdir()
    result = run_cli(capsys, "check", "--extend-exclude=generated", ".")
    files = sorted({loc[0] for loc in _locations(result)})
    expected = [
        ("lib", "venv", "__init__.py"),
        ("pkg", "a.py"),
        ("pkg", "sub", "b.py"),
        ("src", "build", "__init__.py"),
    ]
    assert files == [os.path.join(*parts) for parts in expected]  # under ".", as typed from here


def test_exclude_from_pyproject_and_explicit_files(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "pyproject.toml").write_text('[tool.unguarded-workers]\nexclude = ["legacy/*.py", "old_*.py"]\n')
    for name in ["legacy/x.py", "old_y.py", "new.py"]:
        (workdir / name).parent.mkdir(exist_ok=True)
        (workdir / name).write_text(BAD)
    walked = run_cli(capsys, "check", ".")
    assert {loc[0] for loc in _locations(walked)} == {"new.py"}
    named = run_cli(capsys, "check", "old_y.py", "new.py")  # patterns apply to named files too, as in flake8
    assert {loc[0] for loc in _locations(named)} == {"new.py"}


def test_settings_precedence(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # Targets made by a call cannot be inspected: low-confidence reports, all shown here.
    (workdir / "m.py").write_text(
        "import threading\nfrom myapp import fire, safe, shield\n\n"
        "async def job():\n    await step()\n\n"
        "threading.Thread(target=safe(job))\n"
        "threading.Thread(target=shield(job))\n"
        "fire(job())\n"
    )
    (workdir / "pyproject.toml").write_text(
        '[tool.unguarded-workers]\nguards = ["myapp.safe"]\nspawners = ["myapp.fire:task"]\n'
    )
    from_pyproject = run_cli(capsys, "check", "--min-confidence=low", "m.py")
    assert [(loc[1], loc[3]) for loc in _locations(from_pyproject)] == [(8, "UW101"), (9, "UW301")]

    (workdir / "setup.cfg").write_text("[flake8]\nuw-guards = myapp.shield\n")  # wins over pyproject, per key
    with_flake8 = run_cli(capsys, "check", "--min-confidence=low", "m.py")
    assert [(loc[1], loc[3]) for loc in _locations(with_flake8)] == [(7, "UW101"), (9, "UW301")]

    (workdir / "pyproject.toml").write_text(
        '[tool.unguarded-workers]\nguards = ["myapp.safe"]\nspawners = ["myapp.fire:task"]\nignore = ["UW3"]\n'
    )
    (workdir / "setup.cfg").write_text("[flake8]\nuw-guards = myapp.shield\nextend-ignore = E203\n")
    not_shadowed = run_cli(
        capsys, "check", "--min-confidence=low", "m.py"
    )  # flake8's ignore names no UW code: pyproject's holds
    assert [(loc[1], loc[3]) for loc in _locations(not_shadowed)] == [(7, "UW101")]

    command_line = run_cli(
        capsys, "check", "--min-confidence=low", "--ignore=", "--guards=myapp.safe,myapp.shield", "m.py"
    )
    assert [(loc[1], loc[3]) for loc in _locations(command_line)] == [(9, "UW301")]
    isolated = run_cli(capsys, "check", "--min-confidence=low", "--isolated", "m.py")
    assert [loc[3] for loc in _locations(isolated)] == ["UW101", "UW101"]


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ("[tool.unguarded-workers]\nguard = []\n", "unknown setting 'guard'"),
        ("[tool.unguarded-workers]\nguards = 'a.b'\n", "guards must be a list of strings"),
        (
            "[tool.unguarded-workers]\nspawners = ['x']\n",
            "pyproject.toml: [tool.unguarded-workers]: spawners: 'x' is not NAME:KIND",
        ),
        (
            "[tool.unguarded-workers]\nharmless_calls = ['a-b']\n",
            "[tool.unguarded-workers]: harmless_calls: 'a-b' is not a dotted name",
        ),
        ("[tool.unguarded-workers]\nunresolved = 'never'\n", "]: unresolved: 'never' is not one of report, skip"),
        ("[tool.unguarded-workers]\nselect = ['XX9']\n", "]: select: XX9 selects none of this tool's codes"),
        ("[tool.unguarded-workers]\ntests = 'maybe'\n", "]: tests: 'maybe' is not one of skip, check"),
        ("[tool.unguarded-workers]\nfix-guard = 'myapp.safe'\n", "fix-guard: 'myapp.safe' is not MODULE:NAME"),
        ("[tool.unguarded-workers\n", "pyproject.toml: cannot read"),
    ],
)
def test_bad_configuration_is_a_usage_error(
    workdir: Path, capsys: pytest.CaptureFixture[str], config: str, message: str
) -> None:
    (workdir / "pyproject.toml").write_text(config)
    (workdir / "ok.py").write_text(CLEAN)
    result = run_cli(capsys, "check", "ok.py")
    assert result.status == 2
    assert message in result.err
    assert result.err.count("\n") == 1


def test_usage_errors_exit_two(workdir: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "unguarded_workers", "check", "--output-format=xml"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 2
    assert "invalid choice: 'xml'" in result.stderr


def test_json_output(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "service.py").write_text(BAD, encoding="utf-8")
    records = run_cli(capsys, "check", "--output-format=json", "service.py").json()
    assert isinstance(records, list)
    assert records[2] == {
        "path": "service.py",
        "line": 15,
        "column": 22,  # characters here: "é" is one
        "end_line": 15,
        "end_column": 51,
        "code": "UW101",
        "name": "unguarded-thread-target",
        "message": records[2]["message"],
        "confidence": "high",
        "evidence": ["long-lived-loop", "printed"],
        "related": [  # the statement no guard covers: `step()` of `    while True: step()`
            {
                "path": "service.py",
                "line": 6,
                "column": 17,
                "end_line": 6,
                "end_column": 23,
                "message": "step() runs outside any try",
            }
        ],
        "spawner": "threading.Thread",
        "fix_safe": True,
        "url": "https://github.com/unguarded-workers/unguarded-workers/blob/main/docs/rules/UW101.md",
    }
    assert records[2]["message"].startswith("thread target 'work' has no try/except guard: line 6: step()")


def test_sarif_output_has_what_the_2_1_0_schema_requires(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "pkg").mkdir()
    (workdir / "pkg" / "service.py").write_text(BAD, encoding="utf-8")
    (workdir / "broken.py").write_text("from threading import Thread\ndef f(:\n    Thread(target=f).start()\n")
    result = run_cli(capsys, "check", "--output-format=sarif", ".")
    log = json.loads(result.out)
    # Required by the schema: sarifLog {version, runs}; run {tool}; tool {driver};
    # toolComponent {name}; reportingDescriptor {id}; result {message}; message {text|id};
    # invocation {executionSuccessful}; notification {message}.
    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-2.1.0.json")
    (run,) = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "unguarded-workers"
    assert [rule["id"] for rule in driver["rules"]] == [code.code for code in ALL_CODES]
    for rule in driver["rules"]:
        assert rule["helpUri"].startswith("https://")
        assert rule["helpUri"].endswith(f"docs/rules/{rule['id']}.md")
        assert rule["shortDescription"]["text"]
    assert len(run["results"]) == 4
    for sarif_result in run["results"]:
        assert sarif_result["message"]["text"]
        assert driver["rules"][sarif_result["ruleIndex"]]["id"] == sarif_result["ruleId"]
        (location,) = sarif_result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"] == {"uri": "pkg/service.py", "uriBaseId": "%SRCROOT%"}
        assert physical["region"]["startLine"] >= 1
        assert physical["region"]["startColumn"] >= 1
    (invocation,) = run["invocations"]
    assert invocation["executionSuccessful"] is False
    assert "broken.py" in invocation["toolExecutionNotifications"][0]["message"]["text"]
    assert result.status == 2


def test_github_annotations(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "a,b%.py").write_text(BAD, encoding="utf-8")
    lines = run_cli(capsys, "check", "--output-format=github", "a,b%.py").out.splitlines()
    assert len(lines) == 4
    # Properties escape "%", "," and ":"; the message escapes "%" and line breaks only.
    assert lines[0] == (
        "::error file=a%2Cb%25.py,line=10,endLine=10,col=5,endColumn=34,title=UW101 unguarded-thread-target::"
        "UW101 thread target 'work' "
        "has no try/except guard: line 6: step() runs outside any try; a failure ends its long-lived loop; "
        "the thread dies (its traceback goes to stderr): nothing in the program learns of it and its work stops; "
        "wrap it: threading.Thread(target=wrap(work)), or to keep it running: threading.Thread(target=supervise(work))"
    )
    assert lines[2].startswith("::error file=a%2Cb%25.py,line=15,endLine=15,col=22,endColumn=51,")  # characters
    (workdir / "broken.py").write_text("from threading import Thread\ndef f(:\n    Thread(target=f).start()\n")
    with_error = run_cli(capsys, "check", "--output-format=github", "broken.py")
    assert with_error.out == (
        "::error file=broken.py,line=2,col=7,title=unguarded-workers::broken.py:2:7: cannot parse: invalid syntax\n"
    )


def test_the_pool_gives_the_same_output_in_the_same_order(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for number in range(80):
        (workdir / f"m{number:02}.py").write_text(BAD if number % 3 else CLEAN)
    serial = run_cli(capsys, "check", "-j", "1", ".")
    pooled = run_cli(capsys, "check", "-j", "2", ".")
    assert pooled.out == serial.out
    assert len(_locations(serial)) == 4 * len([n for n in range(80) if n % 3])


def test_fix_keeps_encoding_bom_line_endings_and_permissions(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bom = workdir / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + BAD.replace("\n", "\r\n").encode())
    bom.chmod(0o750)
    latin = workdir / "latin.py"
    latin.write_bytes(b"# -*- coding: latin-1 -*-\n" + BAD.replace("é", "\xe9").encode("latin-1"))
    run_cli(capsys, "fix", "bom.py", "latin.py")
    fixed = bom.read_bytes()
    assert fixed.startswith(b"\xef\xbb\xbf")
    assert b"target=wrap(work)" in fixed
    assert fixed.count(b"\r\n") == fixed.count(b"\n")
    assert stat.S_IMODE(bom.stat().st_mode) == 0o750
    assert 's = "h\xe9llo"; t = threading.Thread(target=wrap(work))'.encode("latin-1") in latin.read_bytes()
    assert not list(workdir.glob(".*.tmp"))  # no temporary file left behind


def test_fix_follows_a_symlink(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    real = workdir / "real.py"
    real.write_text(BAD)
    link = workdir / "link.py"
    link.symlink_to(real)
    run_cli(capsys, "fix", "link.py")
    assert link.is_symlink()
    assert "target=wrap(work)" in real.read_text()


def test_a_file_changed_since_it_was_read_is_not_overwritten(workdir: Path) -> None:
    path = workdir / "m.py"
    path.write_bytes(b"edited by someone else\n")
    with pytest.raises(WriteError, match="changed on disk since it was read"):
        write_atomically(path, b"what fix read\n", b"what fix wrote\n")
    assert path.read_bytes() == b"edited by someone else\n"


def test_fix_on_stdin_prints_the_whole_module(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fixed = run_cli(capsys, "fix", "-", stdin=BAD.encode())
    assert fixed.out.startswith("import asyncio\nimport threading\n\nfrom unguarded_workers import wrap\n")
    assert "asyncio.create_task(wrap(work()))" in fixed.out
    clean = run_cli(capsys, "fix", "-", stdin=CLEAN.encode())
    assert clean.out == CLEAN
    assert clean.status == 0


def test_entry_points(workdir: Path) -> None:
    script = Path(sys.executable).with_name("unguarded-workers")
    for command in ([str(script)], [sys.executable, "-m", "unguarded_workers"]):
        result = subprocess.run([*command, "--version"], capture_output=True, text=True, check=False)
        assert result.returncode == 0
        assert result.stdout.startswith("unguarded-workers ")


def test_a_bug_on_one_file_is_reported_against_it_and_the_run_goes_on(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from unguarded_workers import reports

    fail_on_trigger(reports, monkeypatch)
    (workdir / "a.py").write_text("import threading\nthreading.Thread(target=trigger)\n")
    (workdir / "b.py").write_text(BAD)
    result = run_cli(capsys, "check", "-j", "1", "a.py", "b.py")
    assert result.status == 2
    assert result.notes == (
        "error: a.py: unguarded-workers could not check this file (internal error, please report): "
        "AssertionError: a bug\n"
    )
    assert (
        result.summary
        == "Found 4 findings in 1 file (4 fixable with `unguarded-workers fix`); 1 file could not be checked."
    )
    assert len(_locations(result)) == 4


def test_the_modules_own_syntax_warnings_are_not_printed(workdir: Path) -> None:
    (workdir / "m.py").write_text('import re\n\nPATTERN = re.compile("\\d+")\n')
    result = subprocess.run(
        [sys.executable, "-W", "default", "-m", "unguarded_workers", "check", "m.py"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "All checks passed.\n")


@pytest.mark.parametrize(
    ("content", "message"), [(None, "error: nowhere.cfg: no such file"), ("[tool]\n", "has no [flake8] section")]
)
def test_a_named_config_file_must_exist_and_have_a_flake8_section(
    workdir: Path, capsys: pytest.CaptureFixture[str], content: str | None, message: str
) -> None:
    if content is not None:
        (workdir / "nowhere.cfg").write_text(content)
    (workdir / "ok.py").write_text(CLEAN)
    result = run_cli(capsys, "check", "--config=nowhere.cfg", "ok.py")
    assert result.status == 2
    assert message in result.err


def test_per_file_ignores_from_each_place(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "jobs").mkdir()
    for name in ["jobs/job_a.py", "jobs/b.py", "app.py"]:
        (workdir / name).write_text(BAD, encoding="utf-8")

    def reported() -> dict[str, set[str]]:
        found: dict[str, set[str]] = {}
        for path, _, _, code in _locations(run_cli(capsys, "check", ".")):
            found.setdefault(os.path.relpath(path), set()).add(code)
        return found

    everything = {"UW101", "UW301"}
    (workdir / "pyproject.toml").write_text('[tool.unguarded-workers.per-file-ignores]\n"jobs/*" = ["UW1"]\n')
    assert reported() == {"app.py": everything, "jobs/job_a.py": {"UW301"}, "jobs/b.py": {"UW301"}}
    (workdir / "setup.cfg").write_text("[flake8]\nper-file-ignores =\n    job_*.py: UW3, E501\n")
    assert reported() == {"app.py": everything, "jobs/job_a.py": {"UW101"}, "jobs/b.py": everything}
    command_line = run_cli(capsys, "check", "--per-file-ignores=app.py:UW", ".")
    assert {os.path.relpath(loc[0]) for loc in _locations(command_line)} == {"jobs/job_a.py", "jobs/b.py"}
    bad = run_cli(capsys, "check", "--per-file-ignores=UW101", ".")
    assert bad.status == 2
    assert "per-file-ignores" in bad.err


def test_fix_leaves_the_guards_own_module_alone(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "myapp").mkdir()
    module = workdir / "myapp" / "concurrency.py"
    module.write_text(
        "import threading\n\n\ndef safe(f):\n    return f\n\n\ndef loop():\n    while True: step()\n\n\n"
        "threading.Thread(target=loop).start()\n"
    )
    before = module.read_bytes()
    result = run_cli(capsys, "fix", "--fix-guard=myapp.concurrency:safe", str(module))
    assert module.read_bytes() == before
    assert "UW101 left: this file is myapp.concurrency, which defines the guard" in result.err
    assert result.status == 1


def test_character_columns_on_a_file_with_old_mac_line_ends(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "cr.py").write_bytes(BAD.replace("\n", "\r").encode())
    records = run_cli(capsys, "check", "--output-format=json", "cr.py").json()
    assert isinstance(records, list)
    assert [(r["line"], r["column"]) for r in records][2] == (15, 22)  # as on the "\n" file


def test_a_file_that_cannot_spawn_is_not_parsed(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The text prefilter runs before the parse: a file with no spawn call costs no parse,
    so its syntax errors are flake8's E9 (or the compiler's) to report, not this tool's. A
    spawner's name that is not called with a worker (an import, `t.start()`, a docstring)
    is no spawn call."""
    (workdir / "notes.py").write_text("def f(:\n")
    (workdir / "imports.py").write_text(
        '"""A Thread, a Timer() in words"""\nfrom threading import Thread\nt.start()\ndef f(:\n'
    )
    result = run_cli(capsys, "check", "notes.py", "imports.py")
    assert (result.status, result.out, result.err) == (0, "", "All checks passed.\n")


def test_named_files_under_an_excluded_directory_are_skipped(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "pyproject.toml").write_text('[tool.unguarded-workers]\nexclude = ["legacy"]\n')
    (workdir / "legacy" / "deep").mkdir(parents=True)
    for name in ("legacy/deep/x.py", "app.py"):
        (workdir / name).write_text(BAD)
    named = run_cli(capsys, "check", "legacy/deep/x.py", "app.py")  # as pre-commit passes files
    assert {loc[0] for loc in _locations(named)} == {"app.py"}


@pytest.mark.parametrize("name", sorted({*TEXT_FORMATS, *STREAMED_FORMATS}))
def test_a_file_passed_over_as_silent_is_one_no_format_writes_anything_for(name: str) -> None:
    # The run writes nothing (no flush, no signals held) for an outcome it judges silent:
    # every format written file by file must agree that such a file has nothing to show.
    clean = FileOutcome("m.py")
    assert _silent(clean)
    written = TEXT_FORMATS[name]([clean], TextStyle()) if name in TEXT_FORMATS else FORMATS[name]([clean])
    assert written == ""


@pytest.mark.parametrize(
    "change",
    [
        {"error": "cannot read"},
        {"write_error": "cannot write"},
        {"skipped": "over the size limit"},
        {"diff": b""},
        {"fixed_data": b"x = 1\n"},
    ],
)
def test_an_outcome_with_anything_to_say_is_not_silent(change: dict[str, object]) -> None:
    assert not _silent(dataclasses.replace(FileOutcome("m.py"), **change))  # type: ignore[arg-type]


def test_every_finding_of_a_run_is_shown_among_silent_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    for number in range(30):
        (tmp_path / f"quiet{number:02}.py").write_text("x = 1\n")
    (tmp_path / "quiet15.py").write_text(BAD)
    result = run_cli(capsys, "check", "--isolated", "--no-cache", "--output-format", "concise", str(tmp_path))
    alone = run_cli(
        capsys, "check", "--isolated", "--no-cache", "--output-format", "concise", str(tmp_path / "quiet15.py")
    )
    assert result.status == alone.status == 1
    assert result.out == alone.out
