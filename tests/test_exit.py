"""supervise() giving up ends the process with status 1, promptly, after the program's own cleanup:
from a daemon thread, with SIGINT ignored or not, under uvicorn and gunicorn's uvicorn worker.

Each program runs for real. A service under systemd's Restart=on-failure is restarted only
after a non-zero status (tests/servers.py's restart loop does as systemd does).
"""

from __future__ import annotations

import http.client
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from servers import PROGRAMS, Program, restart_on_failure, runtime_env, uvicorn

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

GIVE_UP = PROGRAMS / "give_up.py"
ASGI = PROGRAMS / "asgi_service.py"


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@pytest.mark.parametrize("blocked_in", ["sleep", "join", "selector"])
@pytest.mark.parametrize("sigint", ["handled", "ignored"])
def test_a_give_up_from_a_daemon_thread_ends_a_blocked_main_thread_with_status_1(blocked_in: str, sigint: str) -> None:
    """The main thread is blocked for 30 s; the process ends within seconds of the give-up,
    its `finally` and atexit handlers having run. Started with SIGINT ignored (a background
    job of a script), it ends the same way."""
    started = time.monotonic()
    result = subprocess.run(
        [sys.executable, str(GIVE_UP), blocked_in],
        capture_output=True,
        text=True,
        env=runtime_env(),
        timeout=60,
        check=False,
        preexec_fn=_ignore_sigint if sigint == "ignored" else None,
    )
    assert result.returncode == 1, result.stderr
    assert time.monotonic() - started < 20  # not the main thread's 30 s, nor exit_grace's 30
    assert result.stdout == "ready\nmain thread finally ran\natexit ran\n"
    assert "giving up after 2 failures in 60 s (more than restarts=1): ending the process" in result.stderr


def test_a_hung_worker_ends_the_process_with_its_stack() -> None:
    result = subprocess.run(
        [sys.executable, str(GIVE_UP), "hung"],
        capture_output=True,
        text=True,
        env=runtime_env(),
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == "ready\nmain thread finally ran\natexit ran\n"
    assert "WorkerHung: no heartbeat for 0.5 s (hung_after=0.5); a hung thread cannot be stopped: giving up" in (
        result.stderr
    )
    line = next(n for n, t in enumerate(GIVE_UP.read_text().splitlines(), 1) if t.endswith("# HANGS-HERE"))
    assert f'File "{GIVE_UP}", line {line}, in hangs' in result.stderr


@pytest.mark.parametrize(("disposition", "status"), [("--default-sigint", -signal.SIGINT), ("ignored", None)])
def test_the_sigint_stand_in_behaves_as_before_until_a_give_up(disposition: str, status: int | None) -> None:
    """Where SIGINT was the default action or ignored, supervise() puts a stand-in handler in
    place (so that a give-up can interrupt the main thread); until then SIGINT does what it did."""
    args = [sys.executable, str(GIVE_UP), "stand-in"]
    if disposition == "--default-sigint":
        args.insert(2, disposition)
    preexec = _ignore_sigint if disposition == "ignored" else None
    with Program(args, runtime_env(), preexec_fn=preexec) as program:
        program.wait_for("^ready$")
        program.process.send_signal(signal.SIGINT)
        if status is not None:
            assert program.wait() == status  # killed by SIGINT, as the default action does
        else:
            time.sleep(0.5)
            assert program.process.poll() is None  # ignored
            assert program.stop() == -signal.SIGTERM
        assert "not interrupted" not in program.output


# -- uvicorn and gunicorn --------------------------------------------------------------------------


def test_a_uvicorn_service_that_gives_up_is_restarted_by_on_failure() -> None:
    """uvicorn shuts down gracefully (its lifespan's shutdown runs) and the process exits 1:
    the restart loop restarts it every time, where before it exited 0 and stayed down."""
    runs = restart_on_failure(uvicorn(), runtime_env(SERVICE_MODE="gives-up"), starts=3)
    assert [status for status, _ in runs] == [1, 1, 1]
    for _, output in runs:
        assert "giving up after 2 failures in 60 s (more than restarts=1): ending the process" in output
        assert "lifespan shutdown ran" in output
        assert "atexit ran" in output


def test_the_restart_loop_does_not_restart_a_clean_stop() -> None:
    with Program(uvicorn(), runtime_env()) as server:
        server.wait_for(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
        assert server.stop(signal.SIGINT) == 0  # uvicorn exits 0 after a signal: a clean stop
    assert [s for s, _ in restart_on_failure([sys.executable, "-c", "pass"], runtime_env(), starts=3)] == [0]
    killed = restart_on_failure([sys.executable, "-c", "import os; os.kill(os.getpid(), 15)"], runtime_env(), 3)
    assert [s for s, _ in killed] == [-signal.SIGTERM]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup is new in 3.11")
@pytest.mark.parametrize("loop", ["uvloop", "asyncio"])
def test_uvicorns_exception_group_shows_each_childs_spawn_line(loop: str) -> None:
    with Program(uvicorn("--loop", loop), runtime_env()) as server:
        (running,) = server.wait_for(r"Uvicorn running on http://127\.0\.0\.1:(\d+)")
        connection = http.client.HTTPConnection("127.0.0.1", int(running.group(1)), timeout=30)
        connection.request("GET", "/group")
        assert connection.getresponse().status == 500
        server.wait_for("Exception in ASGI application")
        line = next(n for n, t in enumerate(ASGI.read_text().splitlines(), 1) if t.endswith("# SPAWN-group"))
        note = re.escape(f"spawned at {ASGI}:{line} in app (asyncio.TaskGroup.create_task)")
        notes = server.wait_for(note, count=2)
        assert len(notes) == 2  # one for each failed child, under its LookupError
        server.stop(signal.SIGINT)
    assert "LookupError: no price for item 1" in server.output
    assert "LookupError: no price for item 2" in server.output


@pytest.fixture
def gunicorn_home(tmp_path: Path) -> str:
    return str(tmp_path)  # gunicorn 24+ puts a control socket under $HOME


def test_gunicorns_arbiter_replaces_a_uvicorn_worker_that_gives_up(gunicorn_home: str) -> None:
    """The worker process exits 1 after its graceful shutdown; the arbiter (which a status of 3,
    WORKER_BOOT_ERROR, would have stopped) boots a fresh worker."""
    pytest.importorskip("gunicorn")
    command = [
        sys.executable,
        "-m",
        "gunicorn",
        "-k",
        "uvicorn.workers.UvicornWorker",
        "-w",
        "1",
        "-b",
        "127.0.0.1:0",
        "--chdir",
        str(PROGRAMS),
        "asgi_service:app",
    ]
    env = runtime_env(SERVICE_MODE="gives-up", GIVE_UP_AFTER="0.2", HOME=gunicorn_home)
    with Program(command, env) as arbiter:
        exits = arbiter.wait_for(r"Worker \(pid:(\d+)\) exited with code (\d+)", count=2)
        assert [m.group(2) for m in exits] == ["1", "1"]
        arbiter.wait_for(r"Booting worker with pid", count=3)  # each replaced by a fresh one
        assert arbiter.stop() == 0
    output = arbiter.output
    assert output.count("lifespan shutdown ran") >= 2
    assert output.count("atexit ran") >= 2
    assert "was sent SIGINT" not in output  # killed by a signal: what uvicorn's re-raised SIGINT did
    assert "KeyboardInterrupt" not in output
