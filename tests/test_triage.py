"""`unguarded-workers triage`: logs written by real programs (CPython 3.9 and 3.13, and this
interpreter) mapped back to the spawn lines, and the reader's edge cases on written text."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import run_command
from service_program import PROGRAM, run_service, spawn_line

from unguarded_workers.triage.logs import MAX_LINE, ReadStats, read_failures

PROGRAMS = PROGRAM.parent
SCENARIOS = ["thread", "subclass", "task", "future", "callback"]


def _interpreter(version: str) -> str | None:
    """python3.X from pyenv or PATH; None when absent (CI must have it: see scripts/test)."""
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False).stdout.strip()
        for candidate in sorted(Path(root, "versions").glob(f"{version}.*/bin/python{version}")):
            return str(candidate)
    return shutil.which(f"python{version}")


def _write_service_log(python: str, log: Path, production: Path) -> None:
    """Run the service from a copy at another path (a production machine's) into one log."""
    production.mkdir(parents=True, exist_ok=True)
    program = production / "workers.py"
    shutil.copy(PROGRAM, program)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent / "runtime" / "src")}
    runs = [[s] for s in SCENARIOS] + [["--install", "thread", "task", "future", "wrapped", "supervised"]]
    for scenario in runs:
        result = subprocess.run(
            [python, str(program), "--log", str(log), *scenario],
            capture_output=True,
            text=True,
            env=env,
            timeout=60,
            check=False,
        )
        assert result.returncode == 0, result.stderr


def _triage(*args: str, cwd: Path = PROGRAMS) -> tuple[int, list[dict[str, Any]], str]:
    result = run_command("triage", "--output-format", "json", *args, cwd=cwd)
    return result.returncode, json.loads(result.stdout) if result.stdout else [], result.stderr


def _spawns(findings: list[dict[str, Any]], kind: str, worker: str) -> list[tuple[int, str, int]]:
    return [
        (s["line"], s["code"], f["count"])
        for f in findings
        if f["kind"] == kind and f["worker"] == worker
        for s in f["spawns"]
    ]


@pytest.mark.parametrize("version", ["3.9", "3.13", "this"])
def test_logs_written_by_real_programs_map_to_their_spawn_lines(version: str, tmp_path: Path) -> None:
    python = sys.executable if version == "this" else _interpreter(version)
    if python is None:
        if os.environ.get("CI") == "true":
            pytest.fail(f"python{version} is missing: CI must run every version")
        pytest.skip(f"python{version} is not installed")
    log = tmp_path / "service.log"
    _write_service_log(python, log, tmp_path / "srv" / "app")
    status, findings, summary = _triage(str(log), "--root", str(PROGRAMS))
    assert status == 0, summary
    assert "10 failures in 9 groups" in summary, summary  # the discarded future is lost without install()
    assert "; 0 could not be read" in summary

    # Python's own reports of failures that escaped: the spawn the linter reports.
    assert _spawns(findings, "thread", "poll_queue") == [(spawn_line("thread"), "UW101", 1)]
    (subclass,) = [f for f in findings if f["kind"] == "thread" and f["worker"] == "run"]
    assert [(s["line"], s["code"]) for s in subclass["spawns"]] == [(34, "UW102")]
    assert _spawns(findings, "task", "consume()") == [(spawn_line("task"), "UW301", 1)]
    (callback,) = [f for f in findings if f["kind"] == "callback"]
    assert callback["spawns"] == []
    assert callback["raised_at"]["function"] == "on_resized"

    # install()'s records, with their logged spawn site: the thread's start() maps to its spawn.
    assert _spawns(findings, "guard", "__main__.poll_queue") == [
        (spawn_line("thread"), "UW101", 1),
        (spawn_line("wrapped"), "UW101", 1),
    ]
    assert _spawns(findings, "guard", "__main__.consume()") == [(spawn_line("task"), "UW301", 1)]
    assert _spawns(findings, "guard", "__main__.resize") == [(spawn_line("future"), "UW201", 1)]
    # supervise()'s two restarts: one group, at its (guarded) spawn.
    (flaky,) = [f for f in findings if f["worker"] == "__main__.flaky"]
    assert (flaky["count"], flaky["escaped"], flaky["exception_type"]) == (2, False, "TimeoutError")
    assert [(s["line"], s["guarded"]) for s in flaky["spawns"]] == [(spawn_line("supervised"), True)]
    assert all(f["first_seen"]["log"] == str(log) for f in findings)


def test_the_text_report_names_the_spawn_code_count_and_exception(tmp_path: Path) -> None:
    log = tmp_path / "service.log"
    result = run_service("--log", str(log), "thread")
    assert result.returncode == 0
    out = run_command("triage", str(log), "--root", str(PROGRAMS), cwd=PROGRAMS)
    assert out.returncode == 0
    assert out.stdout.startswith(
        f"workers.py:{spawn_line('thread')}:14: UW101 1 failure of poll_queue (a thread died): KeyError: 'order-17', "
        f"raised at {PROGRAM}:26 in process; first at {log}:1 [reported by check]\n"
    ), out.stdout


# -- reading ---------------------------------------------------------------------------------

THREAD_DIED = """\
Exception in thread Thread-3 (poll_queue):
Traceback (most recent call last):
  File "/usr/lib/python3.12/threading.py", line 1073, in _bootstrap_inner
    self.run()
  File "/usr/lib/python3.12/threading.py", line 1010, in run
    self._target(*self._args, **self._kwargs)
  File "/srv/app/workers.py", line 30, in poll_queue
    Handler().process("order-17")
    ~~~~~~~~~~~~~~~~~^^^^^^^^^^^^
  File "/srv/app/workers.py", line 26, in process
    raise KeyError(item)
KeyError: 'order-17'
"""


def _read(text: str) -> tuple[list[Any], ReadStats]:
    stats = ReadStats()
    lines = ((n, line) for n, line in enumerate(text.splitlines(), start=1))
    return list(read_failures(lines, "log", stats)), stats


def test_a_prefix_on_every_line_is_stripped_digits_and_all() -> None:
    journal = "".join(
        f"Nov 30 12:00:{i:02d} host app[4{i}1]: {line}\n" for i, line in enumerate(THREAD_DIED.splitlines())
    )
    (failure,), stats = _read("noise\n" + journal + "Nov 30 12:01:00 host app[401]: ready\n")
    assert failure.thread == "Thread-3 (poll_queue)"
    assert failure.exception == "KeyError: 'order-17'"
    assert [f.function for f in failure.frames] == ["_bootstrap_inner", "run", "poll_queue", "process"]
    assert (stats.failures, stats.unreadable, stats.lines) == (1, 0, 14)


def test_chained_exceptions_keep_the_one_that_escaped() -> None:
    text = (
        "Exception in thread worker:\nTraceback (most recent call last):\n"
        '  File "/srv/app/a.py", line 3, in fetch\n    raise OSError("down")\nOSError: down\n\n'
        "During handling of the above exception, another exception occurred:\n\n"
        'Traceback (most recent call last):\n  File "/srv/app/a.py", line 9, in work\n'
        '    raise RuntimeError("gave up")\n'
        "RuntimeError: gave up\nnext line of the log\n"
    )
    (failure,), _ = _read(text)
    assert failure.exception == "RuntimeError: gave up"
    assert [(f.line, f.function) for f in failure.frames] == [(9, "work")]


def test_a_group_member_never_raised_has_its_groups_traceback() -> None:
    """A member with no traceback of its own was built into the group where the group was raised."""
    text = (
        "Exception in thread Thread-1 (serve):\n"
        "  + Exception Group Traceback (most recent call last):\n"
        '  |   File "/srv/app/s.py", line 12, in serve\n'
        '  |     raise ExceptionGroup("handlers", [ValueError(1)])\n'
        "  | ExceptionGroup: handlers (1 sub-exception)\n"
        "  +-+---------------- 1 ----------------\n"
        "    | ValueError: 1\n"
        "    +------------------------------------\n"
        "after\n"
    )
    (failure,), stats = _read(text)
    assert (failure.exception, failure.group) == ("ValueError: 1", "ExceptionGroup: handlers (1 sub-exception)")
    assert [(f.line, f.function) for f in failure.frames] == [(12, "serve")]
    assert (failure.kind, failure.thread) == ("thread", "Thread-1 (serve)")
    assert stats.unreadable == 0


def test_unreadable_lines_and_cut_tracebacks_are_counted_and_skipped(tmp_path: Path) -> None:
    log = tmp_path / "bad.log"
    cut = 'Exception in thread t:\nTraceback (most recent call last):\n  File "/x.py", line 1, in f\n'
    log.write_bytes(
        b"\xff\xfe not utf-8\n"
        + b"x" * (MAX_LINE + 10)
        + b"\n"
        + THREAD_DIED.replace("/srv/app/", "/elsewhere/").encode()
        + b"Exception in thread orphan:\nthis is not a traceback\n"
        + cut.encode()
    )
    status, findings, summary = _triage(str(log), "--root", str(tmp_path), cwd=tmp_path)
    assert status == 0
    assert [f["count"] for f in findings] == [1]
    assert findings[0]["spawns"] == []  # no such project under --root
    assert "1 failure in 1 group from 19 lines; 4 could not be read" in summary, summary


def test_gzip_logs_stdin_and_several_files(tmp_path: Path) -> None:
    (tmp_path / "a.log.gz").write_bytes(gzip.compress(THREAD_DIED.encode()))
    (tmp_path / "b.log").write_text(THREAD_DIED)
    result = run_command("triage", "a.log.gz", "b.log", "-", "--output-format", "json", cwd=tmp_path, stdin=THREAD_DIED)
    assert result.returncode == 0, result.stderr
    (finding,) = json.loads(result.stdout)
    assert finding["count"] == 3


def test_errors_are_one_line_and_exit_2(tmp_path: Path) -> None:
    missing = run_command("triage", "nope.log", cwd=tmp_path)
    assert (missing.returncode, missing.stderr) == (2, "error: nope.log: no such file\n")
    (tmp_path / "x.log").write_text("")
    not_root = run_command("triage", "x.log", "--root", "nowhere", cwd=tmp_path)
    assert (not_root.returncode, not_root.stderr) == (2, "error: --root nowhere: not a directory\n")
    truncated = tmp_path / "cut.log.gz"
    truncated.write_bytes(gzip.compress(THREAD_DIED.encode() * 50)[:60])
    cut = run_command("triage", str(truncated), cwd=tmp_path)
    assert cut.returncode == 2
    assert cut.stderr.startswith(f"error: {truncated}: cannot read: ")
    assert "Traceback" not in cut.stderr


def test_a_huge_log_is_read_in_bounded_memory() -> None:
    """Memory does not grow with the log: the same failures 8x over peak at about the same."""

    def lines(repeats: int) -> Iterator[tuple[int, str]]:
        number = 0
        for i in range(repeats):
            for line in f"2026-11-30 INFO request {i} served\n{THREAD_DIED}".splitlines():
                number += 1
                yield number, line

    def peak(repeats: int) -> int:
        from unguarded_workers.triage.findings import group

        stats = ReadStats()
        tracemalloc.start()
        try:
            groups = group(read_failures(lines(repeats), "log", stats))
            _, top = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert stats.failures == repeats
        assert len(groups) == 1
        return top

    small, large = peak(2_000), peak(16_000)
    assert large < small * 1.5, (small, large)


def test_a_supervisor_held_in_a_variable_maps_to_the_thread_it_runs_in(tmp_path: Path) -> None:
    """`worker = supervise(broken, ...)` on one line, `Thread(target=worker)` on the next: the
    logged site is the supervise() line, the spawn is the Thread's, found through the variable.
    The restarts and the give-up that ended the process are two findings."""
    log = tmp_path / "service.log"
    assert run_service("--log", str(log), "gives-up").returncode == 1
    status, findings, _ = _triage(str(log), "--root", str(PROGRAMS))
    assert status == 0
    restarted, ended = sorted((f for f in findings if f["worker"] == "__main__.broken"), key=lambda f: -f["count"])
    assert (restarted["count"], restarted["outcome"], restarted["escaped"]) == (2, "restarted", False)
    assert (ended["count"], ended["outcome"], ended["escaped"]) == (1, "ended the process", False)
    for finding in (restarted, ended):
        assert finding["logged_spawn_site"]["line"] == spawn_line("gives-up")
        assert [(s["line"], s["code"], s["guarded"]) for s in finding["spawns"]] == [
            (spawn_line("gives-up", "THREAD"), "UW101", True)
        ]


def test_a_record_whose_message_quotes_a_spawn_site_keeps_its_own() -> None:
    text = (
        "2026-11-30 ERROR [unguarded_workers] worker app.f failed in thread 'x' "
        "(spawned at /srv/app/b.py:12 in main): ValueError: bad input (spawned at /evil.py:1 in x): boom\n"
        "worker app.g() failed in task 'T' in thread 'M' (spawn site unknown): "
        "KeyError: 'k (spawned at /e.py:2 in y): z'\n"
    )
    (first, second), stats = _read(text)
    assert first.spawn_site is not None
    assert (first.spawn_site.file, first.spawn_site.line, first.spawn_site.function) == ("/srv/app/b.py", 12, "main")
    assert first.exception == "ValueError: bad input (spawned at /evil.py:1 in x): boom"
    assert (second.spawn_site, second.task, second.thread) == (None, "T", "M")
    assert stats.failures == 2


def test_lines_built_to_make_a_pattern_backtrack_are_read_as_text() -> None:
    """Logs hold anyone's text (exception messages): header lookalikes are not failures, and
    the reader uses string searches where a pattern took seconds per line (not timed here)."""
    hostile = [
        "worker a failed in " + " (spawned at " * 5000,
        "worker a failed in t (spawned at " + "a:1 in " * 8000,
        "worker " * 9000,
        "Exception in thread " + ":" * 60000 + "x",
        '  File "' + '", line 1, in ' * 4000,
        "exception calling callback for <" * 2000 + "x",
        "Exception in thread " * 3000 + "x",
        # What the reader of formats, groups, notes and interleaved tracebacks looks for.
        "Exception in thread " * 3000 + ":",
        "    | " * 10000,
        "  +-+" * 10000,
        "spawned at " + "x in " * 10000 + ")",
        "[" * 60000,
        '{"a":' * 20000,
        '{"log": "' + "a" * 60000,
        "Traceback (most recent call last):" * 1500,
        "x" * 60000 + "Traceback (most recent call last):",
        "\x1b[" * 20000 + "Exception",
        "future: <" * 7000,
        "<Greenlet at 0x" * 3000 + "> failed with ",
        "A." * 30000 + "B: x",
        "source_traceback: " * 3000 + "(most recent call last):",
    ]
    failures, stats = _read("\n".join(hostile * 20) + "\n" + THREAD_DIED)
    assert [f.exception for f in failures] == ["KeyError: 'order-17'"]
    assert stats.lines == len(hostile) * 20 + 12


@pytest.mark.parametrize(
    ("python", "site"),
    [
        ("/usr/lib/python3.11/threading.py", "/srv/venv/site-packages/observers.py"),
        (r"C:\Python311\Lib\threading.py", r"C:\srv\venv\Lib\site-packages\observers.py"),
    ],
    ids=["posix", "windows"],
)
def test_a_frame_maps_to_the_def_whose_body_holds_its_line(tmp_path: Path, python: str, site: str) -> None:
    """Two `run` methods in one file (watchdog's emitter and dispatcher threads): the traceback's
    line says which one died, whatever the system that wrote the log."""
    (tmp_path / "observers.py").write_text(
        "import threading\n"  # 1
        "\n"
        "class Emitter(threading.Thread):\n"  # 3
        "    def run(self):\n"  # 4
        "        self.read_events()\n"  # 5
        "\n"
        "class Dispatcher(threading.Thread):\n"  # 7
        "    def run(self):\n"  # 8
        "        while True:\n"  # 9
        "            self.dispatch()\n"  # 10
    )
    log = tmp_path / "app.log"
    log.write_text(
        "Exception in thread Thread-2:\nTraceback (most recent call last):\n"
        f'  File "{python}", line 1045, in _bootstrap_inner\n    self.run()\n'
        f'  File "{site}", line 10, in run\n    self.dispatch()\n'
        "ValueError: handler failed\n"
    )
    status, findings, _ = _triage(str(log), "--root", str(tmp_path), cwd=tmp_path)
    assert status == 0
    (finding,) = findings
    assert [(s["path"], s["line"], s["code"]) for s in finding["spawns"]] == [("observers.py", 8, "UW102")]


def test_a_logged_path_two_project_files_could_be_maps_to_neither(tmp_path: Path) -> None:
    from unguarded_workers.options import parse_options
    from unguarded_workers.triage.findings import ProjectSpawns

    files = ["a/jobs/utils.py", "b/jobs/utils.py", "b/other.py"]
    for name in files:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("")
    project = ProjectSpawns(str(tmp_path), [str(tmp_path / f) for f in files], parse_options())
    assert project.match("/srv/app/b/jobs/utils.py") == str(tmp_path / "b/jobs/utils.py")
    assert project.match("/srv/app/jobs/utils.py") is None  # a/jobs or b/jobs: unknown
    assert project.match("/srv/app/other.py") == str(tmp_path / "b/other.py")
    assert project.match("/srv/app/missing.py") is None
