"""The habits of ruff, through the real command: `rule`, the summary line, colour, the settings
and files a run uses, `check --diff`, the text formats, and mistakes answered with what was meant."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_helpers import run_cli, run_command

from unguarded_workers.codes import ALL_CODES

DOCS = Path(__file__).parent.parent / "docs"

SOURCE = textwrap.dedent(
    """\
    import threading
    from elsewhere import imported


    def work():
        while True: step()


    threading.Thread(target=work).start()
    threading.Thread(
        target=work,
    ).start()
    threading.Thread(target=imported).start()
    """
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name in ("NO_COLOR", "FORCE_COLOR"):
        monkeypatch.delenv(name, raising=False)
    (tmp_path / "m.py").write_text(SOURCE)
    return tmp_path


# -- rule ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ALL_CODES, ids=lambda code: code.code)
def test_rule_prints_the_rules_page(workdir: Path, capsys: pytest.CaptureFixture[str], code: object) -> None:
    name = code.code  # type: ignore[attr-defined]
    result = run_cli(capsys, "rule", name.lower())
    assert result.status == 0
    assert result.out == (DOCS / "rules" / f"{name}.md").read_text(encoding="utf-8")


def test_rule_all_json_and_mistakes(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    every = run_cli(capsys, "rule", "--all")
    assert [line for line in every.out.splitlines() if line.startswith("# UW")] == [
        f"# {code.code} {code.name}" for code in ALL_CODES
    ]
    record = run_cli(capsys, "rule", "UW401", "--output-format=json").json()
    assert isinstance(record, dict)
    assert (record["code"], record["fix"]) == ("UW401", "unsafe")
    assert str(record["explanation"]).startswith("# UW401 unguarded-group-child\n")
    unknown = run_cli(capsys, "rule", "UW1O1")
    assert unknown.status == 2
    assert unknown.err.startswith("error: UW1O1: no such rule; did you mean UW101?")
    neither = run_cli(capsys, "rule")
    assert neither.status == 2
    assert "usage: unguarded-workers rule" in neither.err


# -- the summary --------------------------------------------------------------------------


def test_the_summary_counts_findings_fixes_and_files_not_read(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "broken.py").write_text("import threading\nthreading.Thread(target=f\n")
    result = run_cli(capsys, "check", "--min-confidence=low", ".")
    assert result.summary == (
        "Found 3 findings in 1 file (2 fixable with `unguarded-workers fix`, 1 more with --unsafe-fixes); "
        "1 file could not be checked."
    )
    assert result.status == 2
    for quiet in (("-q",), ("--output-format=json",), ("--output-format=sarif",)):
        assert run_cli(capsys, "check", *quiet, ".").summary is None
    assert run_cli(capsys, "check", "--output-format=grouped", "m.py").summary == (
        "Found 2 findings in 1 file (2 fixable with `unguarded-workers fix`)."
    )
    (workdir / "m.py").write_text("x = 1\n")
    (workdir / "broken.py").unlink()
    assert run_cli(capsys, "check", ".").err == "All checks passed.\n"


# -- colour -------------------------------------------------------------------------------


def _on_a_terminal(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """What the command prints when its stdout and stderr are a terminal."""
    controller, terminal = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-m", "unguarded_workers", *args], stdout=terminal, stderr=terminal, cwd=cwd, env=env
    )
    os.close(terminal)
    chunks = []
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the command is done
            break
        if not chunk:
            break
        chunks.append(chunk)
    process.wait(timeout=120)
    os.close(controller)
    return b"".join(chunks).decode()


@pytest.mark.skipif(sys.platform == "win32", reason="needs a pseudo-terminal")
def test_colour_on_a_terminal_honours_no_color(workdir: Path) -> None:
    env = {name: value for name, value in os.environ.items() if name not in ("NO_COLOR", "FORCE_COLOR", "TERM")}
    coloured = _on_a_terminal(["check", "m.py"], workdir, env)
    assert "\x1b[1;31mUW101\x1b[0m" in coloured
    assert "\x1b[1mFound 2 findings" in coloured
    assert "\x1b[" not in _on_a_terminal(["check", "m.py"], workdir, {**env, "NO_COLOR": "1"})
    assert "\x1b[" not in _on_a_terminal(["check", "m.py"], workdir, {**env, "TERM": "dumb"})


def test_force_color_colours_a_pipe_and_no_color_wins(workdir: Path) -> None:
    piped = run_command("check", "m.py", cwd=workdir)
    assert "\x1b[" not in piped.stdout + piped.stderr
    env = {**os.environ, "FORCE_COLOR": "1"}
    env.pop("NO_COLOR", None)
    forced = subprocess.run(
        [sys.executable, "-m", "unguarded_workers", "check", "m.py"],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=env,
        check=False,
    )
    assert forced.stdout.startswith("\x1b[1mm.py\x1b[0m\x1b[36m:\x1b[0m9\x1b[36m:\x1b[0m1")
    both = {**env, "NO_COLOR": "1"}
    plain = subprocess.run(
        [sys.executable, "-m", "unguarded_workers", "check", "m.py"],
        capture_output=True,
        text=True,
        cwd=workdir,
        env=both,
        check=False,
    )
    assert "\x1b[" not in plain.stdout + plain.stderr
    to_file = subprocess.run(
        [sys.executable, "-m", "unguarded_workers", "check", "-o", "out.txt", "m.py"], cwd=workdir, env=env, check=False
    )
    assert to_file.returncode == 1
    assert "\x1b[" not in (workdir / "out.txt").read_text()  # a file is never coloured


# -- settings and files -------------------------------------------------------------------


def test_show_settings_says_where_each_setting_came_from(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "pyproject.toml").write_text(
        '[project]\nrequires-python = ">=3.10"\n\n[tool.unguarded-workers]\nguards = ["app.safe"]\n'
        'per-file-ignores = {"m.py" = ["UW101"]}\n'
    )
    (workdir / "setup.cfg").write_text("[flake8]\nuw-min-confidence = medium\n")
    result = run_cli(capsys, "check", "--show-settings", "--group-children=all", "m.py")
    assert result.status == 0
    lines = result.out.splitlines()
    assert lines[:3] == [
        "# Settings for m.py",
        "# checked; codes reported: UW102, UW201, UW301, UW401",
        "# not reported here: UW101 (select, ignore, per-file-ignores)",
    ]
    settings = {line.split(" = ")[0].strip(): line.split(" = ", 1)[1] for line in lines if " = " in line}
    assert settings["guards"] == '["app.safe"]  # pyproject.toml [tool.unguarded-workers] guards'
    assert settings["min-confidence"] == '"medium"  # setup.cfg [flake8] uw-min-confidence'
    assert settings["group-children"] == '"all"  # --group-children'
    assert settings["tests"] == '"skip"  # default'
    assert (
        settings["per-file-ignores"]
        == '{"m.py": ["UW101"]}  # pyproject.toml [tool.unguarded-workers] per-file-ignores'
    )
    assert lines[-1] == "# the project targets Python >=3.10: requires-python in pyproject.toml"
    (workdir / "tests").mkdir()
    (workdir / "tests" / "t.py").write_text(SOURCE)
    assert run_cli(capsys, "check", "--show-settings", "tests/t.py").out.splitlines()[1] == (
        '# not checked: test code (tests = "skip")'
    )


def test_show_files_lists_what_a_run_checks(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "pkg").mkdir()
    (workdir / "pkg" / "a.py").write_text("")
    (workdir / "pkg" / "test_a.py").write_text("")
    (workdir / "skipped").mkdir()
    (workdir / "skipped" / "b.py").write_text("")
    result = run_cli(capsys, "check", "--show-files", "--extend-exclude=skipped", ".")
    assert (result.status, result.out) == (0, "m.py\npkg/a.py\n")
    assert result.err == 'note: 2 files checked; not checked: 1 of test code (tests = "skip")\n'


# -- check --diff, per-file ignores, formats -------------------------------------------------


def test_check_diff_is_fix_diff(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = (workdir / "m.py").read_text()
    checked = run_cli(capsys, "check", "--diff", "m.py")
    fixed = run_cli(capsys, "fix", "--diff", "m.py")
    assert checked.status == fixed.status == 1
    assert checked.out == fixed.out
    assert checked.out.startswith("--- m.py\n+++ m.py\n")
    assert "+threading.Thread(target=wrap(work)).start()" in checked.out
    assert checked.err == "unguarded-workers: would fix 2 sites in 1 file; 0 left\n"
    assert (workdir / "m.py").read_text() == before
    unsafe = run_cli(capsys, "check", "--diff", "--unsafe-fixes", "--min-confidence=low", "m.py")
    assert "+threading.Thread(target=wrap(imported)).start()" in unsafe.out
    assert run_cli(capsys, "check", "--diff", "--fix", "m.py").status == 2


def test_extend_per_file_ignores_adds_to_the_configured_ones(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "n.py").write_text(SOURCE)
    (workdir / "o.py").write_text(SOURCE)
    (workdir / "pyproject.toml").write_text(
        '[tool.unguarded-workers]\nper-file-ignores = {"m.py" = ["UW101"]}\n'
        'extend-per-file-ignores = {"n.py" = ["UW1"]}\n'
    )
    reported = {line.split(":")[0] for line in run_cli(capsys, "check", "m.py", "n.py", "o.py").out.splitlines()}
    assert reported == {"o.py"}
    extended = run_cli(capsys, "check", "--extend-per-file-ignores=o.py:UW101", "m.py", "n.py", "o.py")
    assert (extended.status, extended.out) == (0, "")
    replaced = run_cli(capsys, "check", "--per-file-ignores=o.py:UW101", "m.py", "n.py", "o.py")
    assert {line.split(":")[0] for line in replaced.out.splitlines()} == {"m.py"}  # n.py: still extended


def test_text_formats(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "é.py").write_text('s = "héllo"; import threading; threading.Thread(target=lambda: boom()).start()\n')
    text = run_cli(capsys, "check", "--min-confidence=low", "é.py").out
    concise = run_cli(capsys, "check", "--min-confidence=low", "--output-format=concise", "é.py").out
    assert text.startswith("é.py:1:33: UW101 [")  # UTF-8 bytes, as flake8
    assert concise.startswith("é.py:1:32: UW101 [")  # characters
    grouped = run_cli(capsys, "check", "--output-format=grouped", "m.py").out.splitlines()
    assert grouped[0] == "m.py:"
    assert grouped[1].startswith("  9:1   UW101 [*] thread target 'work' has no try/except guard")
    assert grouped[2].startswith("  10:1  UW101 [*] ")
    assert grouped[3] == ""
    full = run_cli(capsys, "check", "--output-format=full", "m.py").out.splitlines()
    assert full[1:5] == [
        "  |",
        "9 | threading.Thread(target=work).start()",
        "  | " + "^" * 29,
        "  = note: m.py:6:17: step() runs outside any try",
    ]
    assert full[8:11] == ["10 | threading.Thread(", "   | " + "^" * 17, "11 |     target=work,"]
    pylint = run_cli(capsys, "check", "--output-format=pylint", "m.py").out.splitlines()
    assert pylint[0].startswith("m.py:9: [UW101] thread target 'work'")


# -- mistakes ------------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["check", "fix", "triage"])
def test_an_unknown_option_gets_the_commands_usage_and_the_close_match(
    workdir: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    result = run_cli(capsys, command, "--extend-exlude=x", "m.py")
    assert result.status == 2
    assert result.err.startswith(f"usage: unguarded-workers {command} ")
    assert len(result.err.splitlines()) <= 3 or command == "triage"  # a line of usage, not a screenful
    assert (
        result.err.endswith(
            f"unguarded-workers {command}: error: unrecognized arguments: --extend-exlude=x"
            f" (did you mean --extend-exclude?)\n(`unguarded-workers {command} --help` lists every option)\n"
        )
        or command == "triage"
    )


def test_codes_that_are_not_ours_are_warnings_naming_the_close_one(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    result = run_cli(capsys, "check", "--ignore=UW1O1,FOO", "--extend-select=UW99", "m.py")
    assert result.status == 1  # accepted: they select or ignore nothing
    assert result.notes.splitlines() == [
        "warning: --ignore: UW1O1 names none of this tool's codes (UW101, UW102, UW201, UW301, UW401); "
        "did you mean UW101?",
        "warning: --ignore: FOO names none of this tool's codes (UW101, UW102, UW201, UW301, UW401)",
        "warning: --extend-select: UW99 names none of this tool's codes (UW101, UW102, UW201, UW301, UW401); "
        "did you mean UW?",
    ]
    (workdir / "setup.cfg").write_text("[flake8]\nextend-ignore = E203, UW1O2\n")
    from_flake8 = run_cli(capsys, "check", "m.py")
    assert "setup.cfg [flake8]: extend-ignore: UW1O2 names none of this tool's codes" in from_flake8.notes
    assert "E203" not in from_flake8.notes  # another plugin's


def test_a_misspelt_flake8_key_is_a_warning_for_the_command_and_the_plugin(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "setup.cfg").write_text("[flake8]\nuw-gaurds = app.safe\nmax-line-length = 100\n")
    expected = "setup.cfg: [flake8]: uw-gaurds is not a setting of unguarded-workers; did you mean uw-guards?"
    result = run_cli(capsys, "check", "m.py")
    assert result.notes == f"warning: {workdir / expected}\n"
    flake8 = subprocess.run(
        [sys.executable, "-m", "flake8", "--select=UW", "m.py"],
        capture_output=True,
        text=True,
        cwd=workdir,
        check=False,
    )
    assert flake8.stdout.startswith("m.py:9:1: UW101")
    assert f"unguarded-workers: warning: {workdir / expected}" in flake8.stderr
    isolated = run_cli(capsys, "check", "--isolated", "m.py")
    assert isolated.notes == ""


# -- the two passes of a run ----------------------------------------------------------------

PROJECT = Path(__file__).parent / "fixtures" / "project"


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_every_way_through_a_run_reports_the_same(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], jobs: str
) -> None:
    """Checked in the first pass (no cache) or after the helpers are found (cache, cold and
    warm), on one process or a pool: the same reports, the helpers of other modules included."""
    import shutil

    shutil.copytree(PROJECT, tmp_path / "project")
    (tmp_path / "project" / "myapp" / "mixed.py").write_text(
        "import threading\nfrom myapp.background import in_background\n\n\ndef work():\n    while True:\n"
        "        step()\n\n\nthreading.Thread(target=work).start()\nin_background(work)\n"
    )
    for number in range(60):  # enough files for a pool
        (tmp_path / "project" / "myapp" / f"filler{number}.py").write_text(f"VALUE = {number}\n")
    monkeypatch.chdir(tmp_path / "project")
    args = ("check", "--min-confidence=low", "-j", jobs, ".")
    first = run_cli(capsys, args[0], "--no-cache", *args[1:])
    cold = run_cli(capsys, *args)
    warm = run_cli(capsys, *args)
    assert first.out == cold.out == warm.out
    assert first.status == cold.status == warm.status == 1
    # service.py names no spawner: its reports are calls of background.py's helpers.
    assert "myapp/service.py:16:9: UW101 [high] " in first.out
    assert "myapp/service.py:18:9: UW101 [medium] " in first.out
    # mixed.py spawns by itself (checked in the first pass) and calls a helper of background.py.
    assert "myapp/mixed.py:10:1: UW101 [high] " in first.out
    assert "myapp/mixed.py:11:1: UW101 [high] " in first.out
