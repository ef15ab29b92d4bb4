"""The worker processes of a real `check --jobs N` run: never more than the machine can use,
and never outliving the main process, however it ends (SIGTERM, SIGHUP, SIGKILL): a reader of
the command's output gets end-of-file, and no process of the run is left."""

from __future__ import annotations

import os
import selectors
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from unguarded_workers.cli.runner import worker_limit

pytestmark = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="counts processes through /proc")

# Each file starts its worker through the package's helper: the files are checked in the run's
# second pass, once the helper is known, so that a report is out while most of the work is left
# (a file that spawns by itself is done in the first pass, before the first report).
HELPER = "import threading\n\n\ndef in_background(target):\n    threading.Thread(target=target).start()\n"
BAD = "from app.helpers import in_background\n\n\ndef work():\n    while True: step()\n\n\nin_background(work)\n"
COMMAND = [sys.executable, "-m", "unguarded_workers", "check", "--no-cache"]


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tree")
    package = root / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(HELPER)
    for number in range(3000):
        (package / f"m{number:04}.py").write_text(BAD)
    return root


def group(leader: int) -> list[int]:
    """The live processes of the process group `leader` started (zombies are dead)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as file:
                fields = file.read().rsplit(")", 1)[1].split()
        except OSError:
            continue  # gone meanwhile
        if int(fields[2]) == leader and fields[0] != "Z":
            found.append(int(name))
    return found


def start(tree: Path, *args: str) -> tuple[subprocess.Popen[bytes], bytes]:
    """The run, in a process group of its own, once its first report is out."""
    process = subprocess.Popen(
        [*COMMAND, *args, "."],
        cwd=tree,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
        bufsize=0,  # unbuffered: the rest is read from the descriptor itself
    )
    assert process.stdout is not None
    return process, process.stdout.readline()


def read_to_end(process: subprocess.Popen[bytes], timeout: float, counts: list[int] | None = None) -> bytes:
    """The rest of the run's output, up to end-of-file; fails after `timeout` seconds.
    `counts` gets the number of the run's processes, every 20 ms meanwhile."""
    assert process.stdout is not None
    deadline = time.monotonic() + timeout
    chunks = []
    with selectors.DefaultSelector() as selector:
        selector.register(process.stdout, selectors.EVENT_READ)
        while True:
            left = deadline - time.monotonic()
            assert left > 0, "no end-of-file: a process still holds the output open"
            if counts is not None:
                counts.append(len(group(process.pid)))
            if selector.select(min(left, 0.02)):
                chunk = os.read(process.stdout.fileno(), 1 << 16)
                if not chunk:
                    return b"".join(chunks)
                chunks.append(chunk)


def wait_until_gone(leader: int, timeout: float) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := group(leader)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return left


def test_a_huge_jobs_value_is_capped_and_said_once(tree: Path) -> None:
    process, first = start(tree, "--jobs", "100000")
    counts: list[int] = []
    out = first + read_to_end(process, 120, counts)
    assert process.stderr is not None
    err = process.stderr.read().decode()
    assert process.wait(timeout=30) == 1
    most = max(counts) - 1  # the main process is not a worker
    assert len(out.splitlines()) == 3000
    assert err.count("--jobs 100000 is more than this machine can use") == 1, err
    assert f"using {worker_limit()} (2 per core)" in err
    assert 2 <= most <= worker_limit()


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGHUP], ids=["SIGTERM", "SIGHUP"])
def test_a_stop_signal_to_the_main_process_ends_the_run_like_ctrl_c(tree: Path, signum: int) -> None:
    """As `docker stop`, a CI runner's timeout or a closed terminal send it: to the main
    process alone. The run stops, prints what it found, and exits 128 + the signal."""
    process, first = start(tree, "--jobs", "2")
    assert len(group(process.pid)) == 3  # the main process and two workers
    os.kill(process.pid, signum)
    out = first + read_to_end(process, 30)
    assert process.stderr is not None
    err = process.stderr.read().decode()
    assert process.wait(timeout=30) == 128 + signum
    assert err.endswith(f"unguarded-workers: interrupted ({signal.Signals(signum).name})\n"), err
    assert "Traceback" not in err
    lines = out.decode().splitlines()
    assert 0 < len(lines) < 3000, "the run was not stopped midway"
    assert all(": UW101 " in line for line in lines)
    assert wait_until_gone(process.pid, 5) == []


def test_a_ctrl_c_while_the_command_is_still_imported_ends_without_a_traceback() -> None:
    """A Ctrl-C lands in the command's imports when it comes early (CI caught one at 0.3 s on a
    loaded machine): the console script's entry point ends as a later one does."""
    program = (
        "import builtins, sys\n"
        "real = builtins.__import__\n"
        "def interrupted(name, *args, **kwargs):\n"
        "    if name == 'cli':  # `from .cli import main`: the command's own modules\n"
        "        raise KeyboardInterrupt\n"
        "    return real(name, *args, **kwargs)\n"
        "builtins.__import__ = interrupted\n"
        "from unguarded_workers.command import main\n"
        "sys.exit(main())\n"
    )
    result = subprocess.run([sys.executable, "-c", program], check=False, capture_output=True, text=True, timeout=60)
    assert (result.returncode, result.stderr) == (130, "unguarded-workers: interrupted\n")


def test_a_killed_main_process_takes_its_workers_with_it(tree: Path) -> None:
    """SIGKILL (or the OOM killer) gives the main process no chance to stop its workers:
    they see it gone and exit, and never held the output, so a reader is not left waiting."""
    process, _ = start(tree, "--jobs", "2")
    workers = [pid for pid in group(process.pid) if pid != process.pid]
    assert len(workers) == 2
    os.kill(process.pid, signal.SIGKILL)
    read_to_end(process, 10)  # end-of-file: nothing else holds the output
    assert process.wait(timeout=10) == -signal.SIGKILL
    assert wait_until_gone(process.pid, 5) == []
