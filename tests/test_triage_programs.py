"""`unguarded-workers triage` on what real programs wrote: threads dying at once, chained causes,
task groups, asyncio's debug mode, supervise() giving up, JSON loggers, uvicorn, gevent.

Each program (tests/triage_programs) runs from a copy at another path, as on a production
machine, its stderr a pipe; triage reads its log with the source tree as --root."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest
from cli_helpers import run_command
from triage_helpers import PROGRAMS, deploy, interpreter, run, sites, spawn_line, triage

THREADS = "threads_at_once.py"


def _interleaved(log: str) -> bool:
    """Whether threads' tracebacks ran into each other: a traceback began before another's
    exception line ended it."""
    begun = ended = 0
    for line in log.splitlines():
        begun += line.count("Traceback (most recent call last):")
        ended += line.startswith(("ValueError: ", "KeyError: "))
        if begun - ended > 1:
            return True
    return False


def _died_together(tmp_path: Path, python: str, unbuffered: bool = False) -> Path:
    program = deploy(THREADS, tmp_path / "srv" / "app")
    log = tmp_path / "threads.log"
    for _ in range(3):  # 40 threads at a barrier: their lines interleave (checked, not assumed)
        result = run(program, python=python, unbuffered=unbuffered)
        log.write_text(result.stderr)
        if _interleaved(result.stderr) and (
            not unbuffered or "Exception in thread Exception in thread" in result.stderr
        ):
            return log
    pytest.fail("the threads' tracebacks did not interleave in three runs")


def _assert_all_forty_mapped(findings: list[dict[str, object]], summary: str, log: Path) -> None:
    """Each of the forty failures mapped; on a failure, the log triage read is shown whole: the
    interleaving that broke the reader is gone with the test's directory otherwise."""
    try:
        _all_forty(findings, summary)
    except AssertionError as error:
        raise AssertionError(f"{error}\n--- the log triage read ---\n{log.read_text()}") from error


def _all_forty(findings: list[dict[str, object]], summary: str) -> None:
    assert "40 failures in 2 groups" in summary, summary
    assert "; 0 could not be read" in summary, summary
    by_worker = {f["worker"]: f for f in findings}
    assert set(by_worker) == {"import_records", "refresh_cache"}
    imported, refreshed = by_worker["import_records"], by_worker["refresh_cache"]
    assert (imported["count"], imported["exception_type"], imported["raised_at"]["function"]) == (
        20,
        "ValueError",
        "parse",
    )
    assert sites(imported) == [(THREADS, spawn_line(THREADS, "import"))]
    assert (refreshed["count"], refreshed["exception_type"], refreshed["raised_at"]["function"]) == (
        20,
        "KeyError",
        "refresh_cache",
    )
    assert sites(refreshed) == [(THREADS, spawn_line(THREADS, "refresh"))]


@pytest.mark.parametrize("version", ["3.9", "3.13", "this"])
def test_forty_threads_dying_at_once_are_all_mapped(version: str, tmp_path: Path) -> None:
    """Forty tracebacks written line by line into one stderr, in turn: each frame and exception
    line goes to its own traceback (told by the source tree's lines: which calls which, which
    raises what); no stray line makes a group of its own."""
    log = _died_together(tmp_path, interpreter(version))
    findings, summary = triage(str(log), "--root", str(PROGRAMS), cwd=tmp_path)
    _assert_all_forty_mapped(findings, summary, log)


def test_threads_whose_headers_ran_together_on_an_unbuffered_stderr_are_all_mapped(tmp_path: Path) -> None:
    """PYTHONUNBUFFERED=1 (as many container images set): 3.13 writes `Exception in thread `, the
    name and `:` apart, so the headers of threads dying together run into each other."""
    log = _died_together(tmp_path, interpreter("3.13"), unbuffered=True)
    findings, summary = triage(str(log), "--root", str(PROGRAMS), cwd=tmp_path)
    _assert_all_forty_mapped(findings, summary, log)


def test_chained_causes_make_groups_of_their_own(tmp_path: Path) -> None:
    program = deploy("chained.py", tmp_path / "srv")
    log = tmp_path / "chained.log"
    log.write_text(run(program).stderr)
    findings, summary = triage(str(log), "--root", str(PROGRAMS), cwd=tmp_path)
    assert "3 failures in 2 groups" in summary, summary
    causes = {f["caused_by"][0]["exception"]: f for f in findings}
    assert set(causes) == {"OSError: read failed", "TimeoutError: no answer"}
    for cause, count in (("OSError: read failed", 2), ("TimeoutError: no answer", 1)):
        finding = causes[cause]
        assert (finding["count"], finding["exception_type"], finding["kind"]) == (count, "SyncError", "thread")
        assert finding["caused_by"][0]["raised_at"]["function"] == "fetch"
        assert sites(finding) == [("chained.py", spawn_line("chained.py", "sync"))]


def test_asyncio_debug_mode_names_the_line_that_created_the_task(tmp_path: Path) -> None:
    """Two create_task of the same coroutine function: its `defined at` alone gives both; the
    debug-mode creation stack (its last frame outside asyncio) gives the one."""
    program = deploy("debug_tasks.py", tmp_path / "srv")
    log = tmp_path / "debug.log"
    log.write_text(run(program).stderr)
    assert "source_traceback: Object created at (most recent call last):" in log.read_text()
    (finding,), _ = triage(str(log), "--root", str(PROGRAMS), cwd=tmp_path)
    orders = spawn_line("debug_tasks.py", "orders")
    assert (finding["kind"], finding["worker"], finding["count"]) == ("task", "consume()", 1)
    assert finding["logged_spawn_site"]["line"] == orders
    assert finding["logged_spawn_site"]["function"] == "start_consumers"
    assert sites(finding) == [("debug_tasks.py", orders)]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="asyncio.TaskGroup and notes are 3.11's")
@pytest.mark.parametrize("notes", [False, True], ids=["by-worker", "by-note"])
def test_task_group_children_are_failures_of_their_own(notes: bool, tmp_path: Path) -> None:
    """The group's two members, each its own finding: by its worker (the two spawns running it),
    or by the runtime's note `spawned at FILE:LINE in FUNCTION (HOW)` (the one)."""
    program = deploy("task_group.py", tmp_path / "srv")
    log = tmp_path / "group.log"
    log.write_text(run(program, *(["--notes"] if notes else [])).stderr)
    assert ("spawned at " in log.read_text()) == notes
    findings, summary = triage(str(log), "--root", str(PROGRAMS), cwd=tmp_path)
    assert "2 failures in 2 groups" in summary, summary
    by_type = {f["exception_type"]: f for f in findings}
    assert set(by_type) == {"ValueError", "LookupError"}
    for exception, child in (("ValueError", "price"), ("LookupError", "stock")):
        finding = by_type[exception]
        assert finding["kind"] == "thread"
        assert finding["exception_group"] == "ExceptionGroup: unhandled errors in a TaskGroup (2 sub-exceptions)"
        line = spawn_line("task_group.py", child)
        if notes:
            assert finding["logged_spawn_site"] == {"file": str(program), "line": line, "function": "quote"}
            assert sites(finding) == [("task_group.py", line)]
        else:
            assert sites(finding) == [
                ("task_group.py", line),
                ("task_group.py", spawn_line("task_group.py", f"prefetch-{child}")),
            ]
    assert by_type["LookupError"]["caused_by"] == [
        {
            "exception": "KeyError: 'anvil'",
            "raised_at": {
                "file": str(program),
                "line": spawn_line("task_group.py", "MISSING"),
                "function": "fetch_stock",
            },
        }
    ]


def test_a_give_up_that_ended_the_process_reads_as_such_at_its_one_spawn(tmp_path: Path) -> None:
    """`worker = supervise(reindex, ...)` on the line above `Thread(target=worker)`: the records
    name the supervise() line, which maps to that one spawn of three running reindex."""
    program = deploy("gives_up.py", tmp_path / "srv")
    log = tmp_path / "service.log"
    result = run(program)
    assert result.returncode == 1, result.stderr
    log.write_text(result.stderr)
    findings, summary = triage(str(log), "--root", str(PROGRAMS), cwd=tmp_path)
    assert "3 failures in 2 groups" in summary, summary
    outcomes = {f["outcome"]: f for f in findings}
    assert (outcomes["restarted"]["count"], outcomes["ended the process"]["count"]) == (2, 1)
    for finding in findings:
        assert finding["logged_spawn_site"]["line"] == spawn_line("gives_up.py", "SUPERVISE")
        assert sites(finding) == [("gives_up.py", spawn_line("gives_up.py", "supervised"))]
        assert finding["escaped"] is False
    text = run_command("triage", str(log), "--root", str(PROGRAMS), cwd=tmp_path).stdout
    assert "1 failure of __main__.reindex (supervise() gave up: it ended the process): ValueError" in text
    assert "2 failures of __main__.reindex (contained by supervise(), which restarted it)" in text


@pytest.mark.parametrize("logging", ["python-json-logger", "structlog", "structlog-dict"])
def test_json_logs_written_by_python_json_logger_and_structlog(logging: str, tmp_path: Path) -> None:
    """install()'s and wrap()'s records as JSON events: the message, then the traceback in its own
    field (`exc_info`; structlog's `exception`, as text or as `dict_tracebacks`)."""
    program = deploy("json_logging.py", tmp_path / "srv")
    log = tmp_path / "service.log"
    log.write_text(run(program, logging, "--install").stderr)
    assert all(line.startswith("{") for line in log.read_text().splitlines())
    findings, summary = triage(str(log), "--root", str(PROGRAMS), cwd=tmp_path)
    assert "3 failures in 3 groups" in summary, summary
    found = {(f["worker"], f["exception_type"], f["outcome"]): sites(f) for f in findings}
    assert found == {
        ("__main__.poll_feed", "ConnectionError", "escaped"): [
            ("json_logging.py", spawn_line("json_logging.py", "thread"))
        ],
        ("__main__.refresh()", "TimeoutError", "escaped"): [("json_logging.py", spawn_line("json_logging.py", "task"))],
        ("__main__.send_digest", "PermissionError", "contained"): [
            ("json_logging.py", spawn_line("json_logging.py", "wrapped"))
        ],
    }


def test_json_records_and_pythons_own_text_in_one_log(tmp_path: Path) -> None:
    """Without install(): asyncio's `Task exception was never retrieved` as a JSON event (its
    `future:` line inside the message), the dead thread's traceback as text, between JSON lines."""
    program = deploy("json_logging.py", tmp_path / "srv")
    log = tmp_path / "service.log"
    log.write_text(run(program, "python-json-logger").stderr)
    findings, summary = triage(str(log), "--root", str(PROGRAMS), cwd=tmp_path)
    assert "3 failures in 3 groups" in summary, summary
    kinds = {f["kind"]: f for f in findings}
    assert sites(kinds["thread"]) == [("json_logging.py", spawn_line("json_logging.py", "thread"))]
    assert (kinds["task"]["worker"], sites(kinds["task"])) == (
        "refresh()",
        [("json_logging.py", spawn_line("json_logging.py", "task"))],
    )


def test_uvicorns_exception_in_asgi_application(tmp_path: Path) -> None:
    """uvicorn's `Exception in ASGI application`: on 3.11+ a task group's two children failed,
    each mapped to its create_task."""
    pytest.importorskip("uvicorn")
    program = deploy("asgi_app.py", tmp_path / "srv")
    log = tmp_path / "uvicorn.log"
    result = run(program, str(tmp_path / "app.sock"))
    assert result.returncode == 0, result.stderr
    log.write_text(result.stderr)
    assert "Exception in ASGI application" in result.stderr
    findings, _ = triage(str(log), "--root", str(PROGRAMS), cwd=tmp_path)
    assert {f["kind"] for f in findings} == {"request"}
    found = {f["exception_type"]: sites(f) for f in findings}
    if sys.version_info >= (3, 11):
        assert found == {
            "ConnectionError": [("asgi_app.py", spawn_line("asgi_app.py", "rates"))],
            "ArithmeticError": [("asgi_app.py", spawn_line("asgi_app.py", "fees"))],
        }
    else:
        assert found == {"ConnectionError": []}  # awaited: no spawn ran it
        assert findings[0]["raised_at"]["function"] == "fetch_rates"


def test_gevents_greenlets_that_died(tmp_path: Path) -> None:
    """gevent's hub prints the traceback first, then `<Greenlet at 0x..: crawl(...)> failed
    with ValueError`; gevent.spawn is a spawn where the project says so."""
    pytest.importorskip("gevent")
    app = tmp_path / "app"
    program = deploy("greenlets.py", app)
    (app / "pyproject.toml").write_text('[tool.unguarded-workers]\nspawners = ["gevent.spawn:thread"]\n')
    log = tmp_path / "crawler.log"
    log.write_text(run(program).stderr)
    (finding,), summary = triage(str(log), "--root", str(app), cwd=tmp_path)
    assert "2 failures in 1 group" in summary, summary
    assert (finding["kind"], finding["worker"], finding["exception_type"]) == ("greenlet", "crawl", "ValueError")
    assert [(s["line"], s["code"]) for s in finding["spawns"]] == [
        (spawn_line("greenlets.py", "crawl"), "UW101"),
        (spawn_line("greenlets.py", "crawl-again"), "UW101"),
    ]
