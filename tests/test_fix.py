"""`unguarded-workers fix` on the fixture files in tests/fixtures/fix.

Each NAME.py is fixed and compared byte for byte with NAME.fixed.py beside it; the
fixed file must compile, a second run must change nothing, and `check` must report
nothing but the sites the fix left (and said so). A `# uw-fix: ARGS` header line
gives the fix run extra arguments. The snapshots are about what a fix writes, so they
run with every report (`--min-confidence=low`); what `fix` takes on by default is
tested at the end.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from cli_helpers import run_cli
from conftest import FIXTURES

FIX_FIXTURES = sorted(p for p in (FIXTURES / "fix").glob("*.py") if not p.name.endswith(".fixed.py"))
_ARGS = re.compile(rb"^# uw-fix: (.*)$", re.MULTILINE)
_LEFT = re.compile(r"^  \S+:(\d+):\d+: (UW\d+) left: ", re.MULTILINE)


def _expected(path: Path) -> bytes:
    return path.with_name(path.stem + ".fixed.py").read_bytes()


def _args(source: bytes) -> list[str]:
    match = _ARGS.search(source)
    return ["--min-confidence=low", *(match.group(1).decode().split() if match else [])]


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # no configuration file of this repository applies
    return tmp_path


@pytest.mark.parametrize("fixture", FIX_FIXTURES, ids=lambda p: p.stem)
def test_fix_gives_expected_output(fixture: Path, workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    original = fixture.read_bytes()
    target = workdir / fixture.name
    shutil.copyfile(fixture, target)
    args = _args(original)

    first = run_cli(capsys, "fix", *args, target.name)
    assert first.err.startswith("unguarded-workers: fixed")
    assert target.read_bytes() == _expected(fixture), first.err
    compile(target.read_bytes(), target.name, "exec", dont_inherit=True)

    second = run_cli(capsys, "fix", *args, target.name)
    assert target.read_bytes() == _expected(fixture), "a second fix changed the file"
    assert "fixed 0 sites" in second.err

    left = sorted((int(line), code) for line, code in _LEFT.findall(first.err))
    check = run_cli(capsys, "check", "--output-format=json", *_check_args(args), target.name)
    reported = sorted((record["line"], record["code"]) for record in check.json())  # type: ignore[attr-defined, index]
    assert reported == left
    assert check.status == (1 if left else 0)
    assert first.status == (1 if left else 0)


def _check_args(fix_args: list[str]) -> list[str]:
    return [arg for arg in fix_args if arg != "--unsafe-fixes"]


@pytest.mark.parametrize("fixture", FIX_FIXTURES, ids=lambda p: p.stem)
def test_diff_writes_nothing_and_shows_the_change(
    fixture: Path, workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    original = fixture.read_bytes()
    target = workdir / fixture.name
    shutil.copyfile(fixture, target)

    result = run_cli(capsys, "fix", "--diff", *_args(original), target.name)

    assert target.read_bytes() == original
    changes = _expected(fixture) != original
    assert bool(result.out) == changes
    if changes:
        assert result.out.startswith(f"--- {target.name}\n+++ {target.name}\n")
        added = [line[1:] for line in result.out.splitlines() if line.startswith("+") and not line.startswith("+++")]
        expected_lines = _expected(fixture).decode().splitlines()
        assert all(line.rstrip("\r") in [e.rstrip("\r") for e in expected_lines] for line in added)
    assert result.status == (1 if changes or "left:" in result.err else 0)
    assert result.err.startswith("unguarded-workers: would fix")


def test_unsafe_fix_is_reported_as_left_with_its_reason(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    shutil.copyfile(FIXTURES / "fix" / "spawn_kinds.py", workdir / "kinds.py")
    result = run_cli(capsys, "fix", "--min-confidence=low", "--group-children=all", "kinds.py")
    assert "1 left" in result.err
    assert re.search(r"kinds\.py:\d+:\d+: UW401 left: unsafe fix .* --unsafe-fixes", result.err)


def test_fix_takes_on_what_check_reports_at_the_same_confidence(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A one-shot thread is a medium-confidence report: left alone by default, fixed when asked."""
    source = (
        "import threading\n\n\ndef once():\n    step()\n\n\ndef loop():\n    while True:\n        step()\n\n\n"
        "threading.Thread(target=once).start()\nthreading.Thread(target=loop).start()\n"
    )
    (workdir / "m.py").write_text(source)
    default = run_cli(capsys, "fix", "m.py")
    fixed = (workdir / "m.py").read_text()
    assert "threading.Thread(target=wrap(loop))" in fixed
    assert "threading.Thread(target=once)" in fixed
    assert "fixed 1 site" in default.err
    assert run_cli(capsys, "check", "m.py").status == 0
    medium = run_cli(capsys, "fix", "--min-confidence=medium", "m.py")
    assert "threading.Thread(target=wrap(once))" in (workdir / "m.py").read_text()
    assert "fixed 1 site" in medium.err


def test_a_site_whose_waiter_would_hang_is_left_for_deliver(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """wrap() alone would silence the report and leave the waiter waiting: the fix is not applied."""
    source = (
        "import queue\nimport threading\n\n\ndef price(item, out):\n    out.put(quote(item))\n\n\n"
        "def total(items):\n    results = queue.Queue()\n"
        "    threading.Thread(target=price, args=(items[0], results)).start()\n    return results.get()\n"
    )
    (workdir / "m.py").write_text(source)
    result = run_cli(capsys, "fix", "m.py")
    assert (workdir / "m.py").read_text() == source
    assert "m.py:11:5: UW101 left: unsafe fix (wrap() alone would leave total() waiting on results" in result.err
    assert result.status == 1
