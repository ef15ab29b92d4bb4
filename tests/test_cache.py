"""The results cache: an unchanged tree re-checks from it, any change that matters (the
file, a project module its analysis read, the settings) is seen, and it is safe to share."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cli_helpers import run_cli

PROJECT = {
    "app/__init__.py": "",
    "app/jobs.py": "def poll():\n    step()\n",
    "app/service.py": textwrap.dedent(
        """\
        import threading

        from .jobs import poll


        def work():
            step()


        threading.Thread(target=work).start()
        threading.Thread(target=poll).start()
        """
    ),
}
CACHE = ".unguarded-workers-cache"


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    for name, text in PROJECT.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    return tmp_path


def _lines(capsys: pytest.CaptureFixture[str], *args: str) -> list[str]:
    return run_cli(capsys, "check", *args, ".").out.splitlines()


def test_an_unchanged_tree_is_answered_from_the_cache(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    first = _lines(capsys)
    assert len(first) == 2
    assert (workdir / CACHE / ".gitignore").read_text().endswith("*\n")
    assert (workdir / CACHE / "CACHEDIR.TAG").read_text().startswith("Signature: 8a477f597d28d172789f06886806bc55")
    entries = list((workdir / CACHE).glob("*/*.json"))
    assert len(entries) == 1  # the one file that could spawn
    # The second run reads the entry: doctored, it shows through.
    record = json.loads(entries[0].read_text())
    record["violations"][0]["message"] = "from the cache"
    entries[0].write_text(json.dumps(record))
    assert "UW101 from the cache" in _lines(capsys)[0]
    assert _lines(capsys, "--no-cache") == first


def test_changes_that_matter_are_seen(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert len(_lines(capsys)) == 2
    # A project module the analysis read: poll gets its guard, its spawn is no longer reported.
    guarded = "def poll():\n    try:\n        step()\n    except Exception:\n        logging.exception('x')\n"
    (workdir / "app" / "jobs.py").write_text("import logging\n\n\n" + guarded)
    assert len(_lines(capsys)) == 1
    (workdir / "app" / "service.py").write_text(PROJECT["app/service.py"].replace("start()\n", "start()  # noqa\n", 1))
    assert len(_lines(capsys)) == 0
    assert len(_lines(capsys, "--disable-noqa")) == 1  # other settings, other entries


def test_no_cache_writes_nothing(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _lines(capsys, "--no-cache")
    assert not (workdir / CACHE).exists()


def test_two_concurrent_runs_share_it_safely(workdir: Path) -> None:
    for number in range(200):
        (workdir / "app" / f"m{number}.py").write_text(PROJECT["app/service.py"])
    command = [sys.executable, "-m", "unguarded_workers", "check", "-j", "2", "."]
    runs = [subprocess.Popen(command, cwd=workdir, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    assert outputs[0] == outputs[1]
    assert len(outputs[0].splitlines()) == 2 * 201
    assert not list((workdir / CACHE).glob("*/*.tmp"))
    again = subprocess.run(command, cwd=workdir, capture_output=True, text=True, check=False, timeout=300)
    assert again.stdout == outputs[0]
