"""Real programs for the runtime's tests: a server run in the background, and a restart loop.

`Program` runs a command with its output read as it comes (a server never ends on its own);
`restart_on_failure` runs one to its end again and again as systemd's `Restart=on-failure`
does: it restarts after a non-zero exit status or an unclean signal, not after status 0 or
SIGHUP, SIGINT, SIGTERM or SIGPIPE (systemd.service(5)).
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
PROGRAMS = ROOT / "tests" / "programs"
CLEAN_SIGNALS = frozenset({signal.SIGHUP, signal.SIGINT, signal.SIGTERM, signal.SIGPIPE})


def runtime_env(**extra: str) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT / "runtime" / "src"), str(PROGRAMS)])}
    env.pop("PYTHONWARNINGS", None)
    env.update(extra)
    return env


def uvicorn(*args: str) -> list[str]:
    return [sys.executable, "-m", "uvicorn", "asgi_service:app", "--app-dir", str(PROGRAMS), "--port", "0", *args]


class Program:
    """A program running in the background; its output lines collected as they come."""

    def __init__(self, command: list[str], env: dict[str, str], **popen: Any) -> None:
        self.process = subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, **popen
        )
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._readers = [
            threading.Thread(target=self._read, args=(stream,), daemon=True)
            for stream in (self.process.stdout, self.process.stderr)
        ]
        for reader in self._readers:
            reader.start()

    def _read(self, stream: Any) -> None:
        for line in stream:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()

    def wait_for(self, pattern: str, count: int = 1, timeout: float = 60) -> list[re.Match[str]]:
        """The first `count` matches of `pattern` in the output, once there are that many."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                matches = [m for m in map(re.compile(pattern).search, self.lines) if m]
                if len(matches) >= count:
                    return matches[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {count} x {pattern!r} in:\n" + "\n".join(self.lines))
                self._changed.wait(left)

    def wait(self, timeout: float = 60) -> int:
        status = self.process.wait(timeout)
        for reader in self._readers:  # to the end of the output
            reader.join(timeout)
        return status

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.process.poll() is None:
            self.process.send_signal(sig)
        return self.wait()

    def __enter__(self) -> Program:
        return self

    def __exit__(self, *exc: object) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    @property
    def output(self) -> str:
        with self._changed:
            return "\n".join(self.lines)


def restart_on_failure(command: list[str], env: dict[str, str], starts: int, timeout: float = 60) -> list[Any]:
    """Each run's (status, output) while systemd's Restart=on-failure would restart it, at most `starts`."""
    runs: list[Any] = []
    for _ in range(starts):
        result = subprocess.run(command, capture_output=True, text=True, env=env, timeout=timeout, check=False)
        runs.append((result.returncode, result.stdout + result.stderr))
        status = result.returncode
        if status == 0 or (status < 0 and -status in CLEAN_SIGNALS):
            break
    return runs
