"""Writing fixed files: owner and group kept, read-only files left, no temporary file left
behind by an interrupted run, and two writers never losing an edit."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from cli_helpers import run_cli

from unguarded_workers.fix.write import WriteError, write_atomically

BAD = textwrap.dedent(
    """\
    import threading


    def work():
        while True: step()


    threading.Thread(target=work).start()
    """
)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root to own another user's file")
def test_root_keeps_the_owner_and_group_of_another_users_file(
    workdir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = workdir / "theirs.py"
    path.write_text(BAD)
    os.chown(path, 65534, 65534)
    run_cli(capsys, "fix", "theirs.py")
    assert "target=wrap(work)" in path.read_text()
    assert (path.stat().st_uid, path.stat().st_gid) == (65534, 65534)


def test_a_read_only_file_is_left_with_the_reason(workdir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = workdir / "frozen.py"
    path.write_text(BAD)
    path.chmod(0o444)
    result = run_cli(capsys, "fix", "frozen.py")
    assert path.read_text() == BAD
    assert "frozen.py: read-only file; not rewritten" in result.err
    assert "UW101 left: the file was not written" in result.err
    assert result.status == 2


FIXED = BAD.replace("target=work", "target=wrap(work)").replace(
    "import threading\n", "import threading\n\nfrom unguarded_workers import wrap\n"
)


def _fixed_files(workdir: Path) -> int:
    return sum(path.read_text() == FIXED for path in workdir.glob("*.py"))


def test_an_interrupted_fix_leaves_whole_files_and_no_temporary_file(workdir: Path) -> None:
    """... and its summary counts every file it wrote, those in hand when it stopped too."""
    for number in range(300):
        (workdir / f"m{number:03}.py").write_text(BAD)
    fixed = FIXED
    for delay in (0.3, 0.6, 0.9, 1.2):
        before = _fixed_files(workdir)
        process = subprocess.Popen(
            [sys.executable, "-m", "unguarded_workers", "fix", "-j", "2", "."],
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,  # Ctrl-C reaches the whole process group, as in a terminal
        )
        time.sleep(delay)
        os.killpg(process.pid, signal.SIGINT)
        _, err = process.communicate(timeout=60)
        assert b"Traceback" not in err, err.decode()
        assert not list(workdir.glob(".*.tmp")), f"temporary files left after {delay} s"
        for path in workdir.glob("*.py"):
            assert path.read_text() in (BAD, fixed), path
        written = _fixed_files(workdir) - before
        summary = re.search(rb"fixed (\d+) sites? in (\d+) files?", err)
        if summary is not None:  # else interrupted before the files were reached
            assert (int(summary[1]), int(summary[2])) == (written, written), err.decode()
        else:
            assert written == 0, err.decode()


def test_a_writer_waits_for_another_and_never_loses_its_edit(workdir: Path) -> None:
    """While one run holds the directory, a second writer waits; an edit made meanwhile
    makes the second writer refuse instead of overwriting it."""
    fcntl = pytest.importorskip("fcntl")
    path = workdir / "m.py"
    path.write_text(BAD)
    script = (
        "import sys\n"
        "from pathlib import Path\n"
        "from unguarded_workers.fix.write import WriteError, write_atomically\n"
        "try:\n"
        f"    write_atomically(Path({str(path)!r}), {BAD.encode()!r}, b'second writer\\n')\n"
        "except WriteError as error:\n"
        "    print(error)\n"
    )
    descriptor = os.open(workdir, os.O_RDONLY)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX)  # the first run, between its read and its rename
        writer = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
        time.sleep(0.5)
        assert writer.poll() is None, "the second writer did not wait"
        path.write_text("first run's edit\n")
    finally:
        os.close(descriptor)
    out, _ = writer.communicate(timeout=60)
    assert path.read_text() == "first run's edit\n"
    assert "changed on disk since it was read" in out


def test_a_changed_file_is_not_overwritten(workdir: Path) -> None:
    path = workdir / "m.py"
    path.write_bytes(b"edited by someone else\n")
    with pytest.raises(WriteError, match="changed on disk since it was read"):
        write_atomically(path, b"what fix read\n", b"what fix wrote\n")


def _checked_one(cache: Path) -> bool:
    for entry in cache.glob("*/*.json"):
        with contextlib.suppress(OSError):
            if '"violations"' in entry.read_text():
                return True
    return False


@pytest.mark.parametrize(("jobs", "output_format"), [("1", "text"), ("2", "text"), ("2", "json")])
def test_an_interrupted_check_prints_what_it_found_and_exits_130(workdir: Path, jobs: str, output_format: str) -> None:
    count = 4000 if output_format == "text" else 12000  # a document shows no progress: a longer run
    for number in range(count):
        (workdir / f"m{number:05}.py").write_text(BAD)
    process = subprocess.Popen(
        [sys.executable, "-m", "unguarded_workers", "check", "-j", jobs, f"--output-format={output_format}", "."],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    assert process.stdout is not None
    assert process.stderr is not None
    first = ""
    if output_format == "text":
        first = process.stdout.readline()  # the first finding is out: the run is under way
    else:
        # A document shows no progress: wait for the first file checked (its results entry;
        # the entries of the helpers found before come first).
        deadline = time.monotonic() + 60
        while not _checked_one(workdir / ".unguarded-workers-cache") and time.monotonic() < deadline:
            time.sleep(0.05)
    os.killpg(process.pid, signal.SIGINT)
    out = first + process.stdout.read()  # through the same buffer the first line came from
    err = process.stderr.read()
    process.wait(timeout=120)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    assert err.rstrip().endswith("unguarded-workers: interrupted")
    if output_format == "json":
        import json

        found = len(json.loads(out))
    else:
        lines = out.splitlines()
        assert all(": UW101 " in line for line in lines), [line for line in lines if ": UW101 " not in line][:3]
        found = len(lines)
    assert 0 < found < count, "the run was not interrupted midway (or printed nothing)"


def test_an_edit_before_the_last_compare_is_not_overwritten(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """An editor saves while the fixed file is being written (here: while it is synced)."""
    path = workdir / "m.py"
    path.write_text(BAD)
    real_fsync = os.fsync

    def fsync_and_edit(descriptor: int) -> None:
        real_fsync(descriptor)
        path.write_text(BAD + "# the user's edit\n")

    monkeypatch.setattr(os, "fsync", fsync_and_edit)
    result = run_cli(capsys, "fix", "m.py")
    assert path.read_text() == BAD + "# the user's edit\n"
    assert "error: m.py: changed on disk since it was read; not overwritten" in result.err
    assert result.status == 2
    assert not list(workdir.glob(".*.tmp"))


@pytest.mark.skipif(os.name == "nt", reason="the late-write check holds the old file open")
@pytest.mark.parametrize("links", [True, False], ids=["hard link", "no hard links"])
def test_an_edit_landing_between_the_last_compare_and_the_rename_is_put_back(
    workdir: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, links: bool
) -> None:
    """The narrowest window: the file was compared, then an editor writes it in place, then the
    rename. The write is seen after the rename and the user's file put back, nothing lost."""
    path = workdir / "m.py"
    path.write_text(BAD)
    edited = BAD + "# the user's edit\n"
    real_replace = os.replace

    def edit_then_replace(source: str, target: str | Path) -> None:
        if Path(target) == path.resolve() and path.read_text() == BAD:
            with open(path, "r+") as file:  # in place: the same inode, as `cat > m.py` writes
                file.write(edited)
        real_replace(source, target)

    monkeypatch.setattr(os, "replace", edit_then_replace)
    if not links:

        def no_links(*args: object, **kwargs: object) -> None:
            raise OSError(1, "Operation not permitted")

        monkeypatch.setattr(os, "link", no_links)
    inode = path.stat().st_ino
    result = run_cli(capsys, "fix", "m.py")
    assert path.read_text() == edited
    assert "error: m.py: changed while being fixed; your edit was kept, not fixed" in result.err
    assert result.status == 2
    assert not list(workdir.glob(".*.tmp"))
    if links:
        assert path.stat().st_ino == inode  # the very file the editor wrote to


def test_two_concurrent_fix_runs_fix_each_file_once_and_agree(workdir: Path) -> None:
    """Each run finds the files the other fixed meanwhile already fixed: not an error."""
    for package in ("a", "b"):
        (workdir / package).mkdir()
        for number in range(150):
            (workdir / package / f"m{number:03}.py").write_text(BAD)
    command = [sys.executable, "-m", "unguarded_workers", "fix", "-j", "2", "."]
    runs = [subprocess.Popen(command, cwd=workdir, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    errors = [run.communicate(timeout=300)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], errors
    assert not any("changed on disk" in err for err in errors), errors
    counts = [re.search(r"fixed (\d+) sites? in (\d+) files?; 0 left", err) for err in errors]
    assert all(counts), errors
    assert sum(int(count[2]) for count in counts if count) == 300  # each file written by one run
    for path in workdir.glob("*/*.py"):
        assert path.read_text() == FIXED, path  # guarded once, and it parses
        compile(path.read_text(), str(path), "exec")
    assert not list(workdir.glob("*/.*.tmp"))
