"""The command-line habits of ruff and flake8, and turning the check on in a legacy
codebase on day one: --add-noqa, --exit-zero, --statistics, -o, -q, --extend-select,
check --fix, --config pyproject.toml, no abbreviated options."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from cli_helpers import run_cli

LEGACY = textwrap.dedent(
    '''\
    import asyncio
    import threading


    def work():
        while True: step()


    async def child():
        while True: await step()  # long-lived: reported by default


    def main(pool):
        threading.Thread(target=work).start()  # start the poller
        threading.Thread(target=work).start()  # noqa: E501
        pool.submit(work); threading.Timer(5, work).start()
        threading.Thread(target=work, name="""a
    b""").start()


    async def run():
        asyncio.create_task(child())
    '''
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "legacy.py").write_text(LEGACY)
    return tmp_path


def test_add_noqa_silences_every_report_once(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    before = run_cli(capsys, "check", "legacy.py")
    assert len(before.out.splitlines()) == 6
    first = run_cli(capsys, "check", "--add-noqa", "legacy.py")
    assert first.status == 0
    assert first.err == "unguarded-workers: added 4 noqa directives in 1 file\n"
    text = (workdir / "legacy.py").read_text()
    assert "threading.Thread(target=work).start()  # start the poller  # noqa: UW101\n" in text
    assert "threading.Thread(target=work).start()  # noqa: E501,UW101\n" in text
    assert "pool.submit(work); threading.Timer(5, work).start()  # noqa: UW101,UW201\n" in text
    assert "asyncio.create_task(child())  # noqa: UW301\n" in text
    assert 'name="""a\nb""").start()\n' in text  # a line ending inside a string takes no comment

    second = run_cli(capsys, "check", "--add-noqa", "legacy.py")
    assert second.err == "unguarded-workers: added 0 noqa directives in 0 files\n"
    assert (workdir / "legacy.py").read_text() == text
    after = run_cli(capsys, "check", "legacy.py")
    assert [line.split()[1] for line in after.out.splitlines()] == ["UW101"]  # the multi-line string's


def test_exit_zero_statistics_output_file_and_quiet(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "check", "--exit-zero", "--statistics", "-o", "report.txt", "legacy.py")
    assert (result.status, result.out) == (0, "")
    report = (workdir / "report.txt").read_text().splitlines()
    assert report == [  # the counts, not each finding, as ruff's --statistics
        "4     UW101 unguarded-thread-target",
        "1     UW201 unguarded-executor-submission",
        "1     UW301 unguarded-task",
    ]
    (workdir / "pyproject.toml").write_text("[tool.black\n")  # another tool's broken file: a warning
    loud = run_cli(capsys, "check", "legacy.py")
    assert loud.err.startswith("warning: ")
    quiet = run_cli(capsys, "check", "-q", "legacy.py")
    assert (quiet.status, quiet.err, len(quiet.out.splitlines())) == (1, "", 6)


def test_extend_select_adds_to_the_configured_select(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "pyproject.toml").write_text('[tool.unguarded-workers]\nselect = ["UW3"]\n')
    configured = run_cli(capsys, "check", "legacy.py")
    assert {line.split()[1] for line in configured.out.splitlines()} == {"UW301"}
    extended = run_cli(capsys, "check", "--extend-select=UW2", "legacy.py")
    assert {line.split()[1] for line in extended.out.splitlines()} == {"UW201", "UW301"}


def test_check_fix_fixes_the_safe_sites_and_reports_the_rest(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # A target that cannot be inspected is a low-confidence report, and its fix is unsafe.
    (workdir / "jobs.py").write_text(
        "import threading\n\nfrom tasks import task\n\n\ndef work():\n    while True: step()\n\n\ndef main(pool):\n"
        "    threading.Thread(target=work).start()\n    pool.submit(task)\n"
    )
    result = run_cli(capsys, "check", "--min-confidence=low", "--fix", "jobs.py")  # never read as --fix-guard
    assert "threading.Thread(target=wrap(work))" in (workdir / "jobs.py").read_text()
    assert result.out.startswith("jobs.py:13:5: UW201 [low]")  # the unsafe one, where it is now (import above)
    assert "fixed 1 site in 1 file; 1 left" in result.err
    assert result.status == 1
    unsafe = run_cli(capsys, "check", "--min-confidence=low", "--fix", "--unsafe-fixes", "jobs.py")
    assert (unsafe.status, unsafe.out) == (0, "")
    assert "pool.submit(wrap(task))" in (workdir / "jobs.py").read_text()


def test_long_options_are_never_abbreviated(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    result = run_cli(capsys, "check", "--fix-g=myapp:safe", "legacy.py")
    assert result.status == 2
    assert "unrecognized arguments: --fix-g=myapp:safe" in result.err


def test_config_accepts_a_pyproject_toml(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "ci.toml").write_text('[tool.unguarded-workers]\nignore = ["UW1"]\n')
    (workdir / "setup.cfg").write_text("[flake8]\nuw-unresolved = bogus\n")  # not read with --config
    result = run_cli(capsys, "check", "--config=ci.toml", "legacy.py")
    assert {line.split()[1] for line in result.out.splitlines()} == {"UW201", "UW301"}
    (workdir / "other.toml").write_text("[tool.black]\n")
    missing = run_cli(capsys, "check", "--config=other.toml", "legacy.py")
    assert missing.status == 2
    assert "other.toml: has no [tool.unguarded-workers] table" in missing.err


def test_walking_respects_gitignore(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / "legacy.py").unlink()
    (workdir / ".git" / "info").mkdir(parents=True)
    (workdir / ".git" / "info" / "exclude").write_text("scratch.py\n")
    (workdir / ".gitignore").write_text("build/\n*_gen.py\n!keep_gen.py\n")
    (workdir / "pkg").mkdir()
    (workdir / "pkg" / ".gitignore").write_text("local.py\n")
    for name in ["app.py", "scratch.py", "build/out.py", "api_gen.py", "keep_gen.py", "pkg/local.py", "pkg/m.py"]:
        (workdir / name).parent.mkdir(parents=True, exist_ok=True)
        (workdir / name).write_text(LEGACY)

    def files(*args: str) -> set[str]:
        out = run_cli(capsys, "check", *args).out
        return {line.split(":")[0] for line in out.splitlines()}

    assert files(".") == {"app.py", "keep_gen.py", "pkg/m.py"}
    assert files("api_gen.py") == {"api_gen.py"}  # a file named explicitly is checked
    assert files("build") == {"build/out.py"}  # so is a directory git ignores, named explicitly
    everything = {"app.py", "scratch.py", "build/out.py", "api_gen.py", "keep_gen.py", "pkg/local.py", "pkg/m.py"}
    assert files("--no-respect-gitignore", ".") == everything
    (workdir / "pyproject.toml").write_text("[tool.unguarded-workers]\nrespect-gitignore = false\n")
    assert files(".") == everything
    (workdir / "pyproject.toml").write_text('[tool.unguarded-workers]\nrespect-gitignore = "no"\n')
    assert "respect-gitignore must be true or false" in run_cli(capsys, "check", ".").err


def test_gitignore_applies_only_inside_a_repository(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (workdir / ".gitignore").write_text("legacy.py\n")  # no .git: not a repository
    assert run_cli(capsys, "check", ".").out.startswith("legacy.py:")
