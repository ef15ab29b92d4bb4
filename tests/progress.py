"""Progress lines for long runs, so that `./scripts/test` never looks stuck.

On when UW_PROGRESS is set (scripts/test sets it):
- to a file path: a line per finished test file (`py39 tests/test_cli.py: 45 passed in 12 s`) is
  appended there, and one after 25 s without a line (the file's count so far, the test at work);
  scripts/test shows that file while tox runs the other interpreters, whose own output it only
  shows at the end;
- to `-`: pytest's own output already shows each file and test; a test still running after 25 s
  gets a line on stderr saying so, and another every 25 s.
"""

from __future__ import annotations

import os
import sys
import threading
import time
from collections import Counter
from typing import IO

import pytest

# Seconds: under the 30 s a silent run may last (UW_PROGRESS_EVERY: for testing this).
HEARTBEAT = float(os.environ.get("UW_PROGRESS_EVERY", "25"))


class Progress:
    def __init__(self, stream: IO[str], label: str, per_file: bool) -> None:
        self._stream = stream
        self._label = label
        self._per_file = per_file
        self._lock = threading.Lock()
        self._file: str | None = None
        self._file_started = 0.0
        self._outcomes: Counter[str] = Counter()
        self._test: str | None = None
        self._test_started = 0.0
        self._last_line = time.monotonic()
        self._stop = threading.Event()
        self._ticker = threading.Thread(target=self._tick, name="uw-progress", daemon=True)
        self._ticker.start()

    def _write(self, text: str, *, fresh_line: bool = False) -> None:
        self._stream.write(f"{chr(10) if fresh_line else ''}{self._label} {text}\n")
        self._stream.flush()
        self._last_line = time.monotonic()

    def _finish_file(self) -> None:
        if self._file is None or not self._per_file:
            return
        counts = ", ".join(f"{count} {outcome}" for outcome, count in sorted(self._outcomes.items())) or "no tests"
        self._write(f"{self._file}: {counts} in {time.monotonic() - self._file_started:.0f} s")

    @pytest.hookimpl
    def pytest_runtest_logstart(self, nodeid: str) -> None:
        file = nodeid.partition("::")[0]
        with self._lock:
            if file != self._file:
                self._finish_file()
                self._file, self._file_started, self._outcomes = file, time.monotonic(), Counter()
            self._test, self._test_started = nodeid, time.monotonic()

    @pytest.hookimpl
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        # A test counts once: by its call, or by the setup or teardown that failed or skipped it.
        if report.when == "call" or report.outcome != "passed":
            outcome = "error" if report.failed and report.when != "call" else report.outcome
            with self._lock:
                self._outcomes[outcome] += 1

    @pytest.hookimpl
    def pytest_runtest_logfinish(self) -> None:
        with self._lock:
            self._test = None

    @pytest.hookimpl
    def pytest_sessionfinish(self) -> None:
        self._stop.set()
        with self._lock:
            self._finish_file()
            self._file = None

    def _tick(self) -> None:
        while not self._stop.wait(min(1.0, HEARTBEAT / 5)):
            with self._lock:
                if self._test is None:
                    continue
                now = time.monotonic()
                running = now - self._test_started
                if self._per_file and now - self._last_line >= HEARTBEAT:
                    done = sum(self._outcomes.values())
                    self._write(f"{self._file}: {done} done so far; now {self._test}, for {running:.0f} s")
                elif not self._per_file and now - max(self._last_line, self._test_started) >= HEARTBEAT:
                    # The first one comes in the middle of pytest's line for the file.
                    first = self._last_line < self._test_started
                    self._write(f"{self._test}: still running after {running:.0f} s", fresh_line=first)


def register(config: pytest.Config) -> None:
    """Called from pytest_configure, when the global output capture is suspended: the standard
    error duplicated then stays the terminal (or log file) while tests capture theirs."""
    target = os.environ.get("UW_PROGRESS", "")
    if not target:
        return
    if target == "-":
        stream: IO[str] = os.fdopen(os.dup(sys.stderr.fileno()), "w", encoding="utf-8", errors="replace")
    else:
        stream = open(target, "a", encoding="utf-8", errors="replace")  # noqa: SIM115 (open for the session)
    config.add_cleanup(stream.close)
    label = os.environ.get("TOX_ENV_NAME") or f"py{sys.version_info[0]}{sys.version_info[1]}"
    config.pluginmanager.register(Progress(stream, label, per_file=target != "-"), "uw-progress")
