"""What wraps the text Python printed: docker's json-file, a container runtime's, journald's and
docker compose's per-line prefixes, JSON events (structlog's dict tracebacks included),
terminal colours.

The end-to-end tests wrap the real stderr (and stdout) of tests/programs/workers.py the way
each of these writes its log, and run the real command on it."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from service_program import PROGRAM, run_service, spawn_line
from triage_helpers import read, triage

PROGRAMS = PROGRAM.parent


def _service() -> tuple[list[str], list[str]]:
    """The service's stderr and stdout lines: a thread that died (Python's own traceback) and a
    task whose exception was never retrieved (asyncio's log record and its `future:` line)."""
    result = run_service("thread", "task")
    assert result.returncode == 0, result.stderr
    return result.stderr.splitlines(), [f"GET /health 200 ({n} ms)" for n in range(12)] + result.stdout.splitlines()


def _interleave(errors: list[str], outputs: list[str]) -> list[tuple[str, str]]:
    """(stream, line) as a runtime sees two streams written at once: an stdout line every third."""
    lines: list[tuple[str, str]] = []
    pending = list(outputs)
    for number, line in enumerate(errors):
        lines.append(("stderr", line))
        if number % 3 == 2 and pending:
            lines.append(("stdout", pending.pop(0)))
    return lines + [("stdout", line) for line in pending]


def _assert_service_mapped(findings: list[dict[str, object]], summary: str) -> None:
    assert "2 failures in 2 groups" in summary, summary
    assert "; 0 could not be read" in summary, summary
    found = {(f["kind"], f["worker"]): [(s["line"], s["code"]) for s in f["spawns"]] for f in findings}  # type: ignore[union-attr]
    assert found == {
        ("thread", "poll_queue"): [(spawn_line("thread"), "UW101")],
        ("task", "consume()"): [(spawn_line("task"), "UW301")],
    }


def _docker(lines: list[tuple[str, str]]) -> str:
    """docker's json-file driver: a JSON object per line written, its newline kept."""
    return "".join(
        json.dumps({"log": text + "\n", "stream": stream, "time": f"2024-01-01T00:00:{n // 10:02d}.{n:09d}Z"}) + "\n"
        for n, (stream, text) in enumerate(lines)
    )


def _cri(lines: list[tuple[str, str]]) -> str:
    """containerd's and CRI-O's (kubelet's /var/log/pods): `TIME STREAM F LINE`."""
    return "".join(
        f"2024-01-01T00:00:{n // 10:02d}.{n * 7919:09d}Z {stream} F {text}\n" for n, (stream, text) in enumerate(lines)
    )


def _journal(lines: list[tuple[str, str]]) -> str:
    """journalctl's default (short) output of a service's stdout and stderr."""
    return "".join(
        f"Jan  1 00:{n // 60:02d}:{n % 60:02d} web01 workers.py[4{n % 3}21]: {text}\n"
        for n, (_, text) in enumerate(lines)
    )


def _kubectl(lines: list[tuple[str, str]]) -> str:
    """`kubectl logs --timestamps --prefix`."""
    return "".join(
        f"[pod/web-7d4b9c-x2x9q/app] 2024-01-01T00:00:00.{n:09d}Z {text}\n" for n, (_, text) in enumerate(lines)
    )


@pytest.mark.parametrize(
    "wrap", [_docker, _cri, _journal, _kubectl], ids=["docker-json-file", "cri", "journald", "kubectl"]
)
def test_a_service_log_as_a_runtime_wrote_it(wrap: object, tmp_path: Path) -> None:
    errors, outputs = _service()
    log = tmp_path / "service.log"
    log.write_text(wrap(_interleave(errors, outputs)))  # type: ignore[operator]
    findings, summary = triage(str(log), "--root", str(PROGRAMS), cwd=tmp_path)
    _assert_service_mapped(findings, summary)


def test_docker_compose_services_written_into_one_log(tmp_path: Path) -> None:
    """`docker compose logs`: two services' lines interleaved, each behind its own padded prefix."""
    web = run_service("thread").stderr.splitlines()
    worker = run_service("task").stderr.splitlines()
    lines = []
    for n in range(max(len(web), len(worker))):
        lines += [f"web-1     | {web[n]}"] if n < len(web) else []
        lines += [f"worker-1  | {worker[n]}"] if n < len(worker) else []
    log = tmp_path / "compose.log"
    log.write_text("\n".join(lines) + "\n")
    findings, summary = triage(str(log), "--root", str(PROGRAMS), cwd=tmp_path)
    _assert_service_mapped(findings, summary)


def test_a_docker_line_split_past_16_kib_is_joined() -> None:
    """docker writes a line longer than 16 KiB as several records, all but the last without
    their newline; another stream's records may come between."""
    message = "x" * 40_000
    traceback = ["Exception in thread worker:", "Traceback (most recent call last):"]
    traceback += [
        '  File "/srv/app/jobs.py", line 3, in run',
        "    raise ValueError(message)",
        f"ValueError: {message}",
    ]
    records = []
    for line in traceback:
        text = line + "\n"
        parts = [text[i : i + 16384] for i in range(0, len(text), 16384)]
        for part in parts:
            records.append({"log": part, "stream": "stderr", "time": "2024-01-01T00:00:00Z"})
            records.append({"log": "GET /health 200\n", "stream": "stdout", "time": "2024-01-01T00:00:00Z"})
    (failure,), stats = read("\n".join(json.dumps(r) for r in records))
    assert failure.exception == f"ValueError: {message}"
    assert (failure.thread, [f.function for f in failure.frames]) == ("worker", ["run"])
    assert stats.unreadable == 0


def test_journald_json_export() -> None:
    """`journalctl -o json`: a record per line, the line in MESSAGE."""
    text = (
        "Exception in thread Thread-2 (sync):\nTraceback (most recent call last):\n"
        '  File "/srv/app/sync.py", line 8, in sync\n    raise OSError("down")\nOSError: down\n'
    )
    records = [{"__CURSOR": f"s={n}", "_PID": "812", "MESSAGE": line} for n, line in enumerate(text.splitlines())]
    records.insert(2, {"__CURSOR": "s=x", "_PID": "900", "MESSAGE": "another process's line"})
    (failure,), _ = read("\n".join(json.dumps(r) for r in records))
    assert (failure.thread, failure.exception, failure.innermost) == (
        "Thread-2 (sync)",
        "OSError: down",
        failure.frames[0],
    )


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception groups and notes are 3.11's")
def test_structlogs_dict_tracebacks_of_an_exception_group_with_notes() -> None:
    """structlog's `dict_tracebacks` (exceptions as data): each member a failure, its note read."""
    structlog = pytest.importorskip("structlog")
    lines: list[str] = []
    structlog.configure(
        processors=[structlog.processors.dict_tracebacks, structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(file=_Collect(lines)),
    )

    def child(item: str) -> None:
        try:
            {}[item]
        except KeyError as missing:
            error = LookupError(f"no {item}")
            error.add_note("spawned at /srv/app/quote.py:41 in quote (asyncio.TaskGroup.create_task)")
            raise error from missing

    try:
        errors = []
        for item in ("price", "stock"):
            try:
                child(item)
            except LookupError as error:
                errors.append(error)
        raise ExceptionGroup("unhandled errors in a TaskGroup", errors)  # noqa: F821 (3.11+)
    except ExceptionGroup:  # noqa: F821
        structlog.get_logger().exception("Exception in thread Thread-3 (serve):")
    finally:
        structlog.reset_defaults()
    failures, stats = read("\n".join(lines))
    assert [f.exception for f in failures] == ["LookupError: no price", "LookupError: no stock"]
    for failure in failures:
        assert failure.kind == "thread"
        assert failure.group == "ExceptionGroup: unhandled errors in a TaskGroup (2 sub-exceptions)"
        assert failure.spawn_site is not None
        assert (failure.spawn_site.file, failure.spawn_site.line) == ("/srv/app/quote.py", 41)
        assert [c.exception_type for c in failure.causes] == ["KeyError"]
        assert [f.function for f in failure.frames] == [_this_test(), "child"]
    assert stats.unreadable == 0


class _Collect:
    def __init__(self, lines: list[str]) -> None:
        self.lines = lines

    def write(self, text: str) -> None:
        self.lines.extend(text.splitlines())

    def flush(self) -> None:
        pass


def _this_test() -> str:
    return test_structlogs_dict_tracebacks_of_an_exception_group_with_notes.__name__


def test_an_ecs_event_and_its_nested_stack_trace() -> None:
    """Elastic's ECS logging nests the traceback: `{"error": {"stack_trace": ...}}`."""
    event = {
        "@timestamp": "2024-01-01T00:00:00Z",
        "message": "Task exception was never retrieved\nfuture: <Task finished name='Task-9' "
        "coro=<poll() done, defined at /srv/app/feeds.py:12> exception=TimeoutError()>",
        "error": {
            "type": "TimeoutError",
            "stack_trace": 'Traceback (most recent call last):\n  File "/srv/app/feeds.py", line 14, in poll\n'
            "    await fetch()\nTimeoutError\n",
        },
    }
    (failure,), _ = read(json.dumps(event))
    assert (failure.kind, failure.worker, failure.task, failure.exception) == (
        "task",
        "poll()",
        "Task-9",
        "TimeoutError",
    )
    assert failure.coroutine is not None
    assert failure.coroutine.line == 12


def test_colours_and_json_that_is_no_log_record_are_read_as_text() -> None:
    colour = "\x1b[31mException in thread t:\x1b[0m\n\x1b[35mTraceback (most recent call last):\x1b[0m\n"
    colour += '  File "/srv/a.py", line 1, in f\n\x1b[1;35mValueError\x1b[0m: \x1b[35mbad\x1b[0m\n'
    noise = '{"not": "a log"}\n[1, 2]\n{"broken": \n' + "[" * 5000 + "\n"
    (failure,), stats = read(noise + colour)
    assert (failure.thread, failure.exception) == ("t", "ValueError: bad")
    assert stats.unreadable == 0


def test_a_traceback_python_printed_ends_at_the_next_json_record() -> None:
    """A dead thread's traceback (text) between JSON records is done at the next record: the
    reader goes back to passing lines over, it does not read on for a continuation."""
    from unguarded_workers.triage.logs import ReadStats, read_failures

    text = 'Exception in thread t:\nTraceback (most recent call last):\n  File "/srv/a.py", line 1, in f\nOSError: x\n'
    record = json.dumps({"message": "request served", "levelname": "INFO"})
    lines = [*text.splitlines(), record, record, record]
    consumed: list[int] = []

    def numbered() -> object:
        for number, line in enumerate(lines, start=1):
            consumed.append(number)
            yield number, line

    failures = read_failures(numbered(), "log", ReadStats())  # type: ignore[arg-type]
    assert next(failures).exception == "OSError: x"
    assert consumed[-1] == 5  # yielded on the first record, not at the end of the log


def test_python_json_loggers_record_of_a_failure() -> None:
    """A record as python-json-logger formats it (asctime, levelname, name, message, exc_info)."""
    json_logger = pytest.importorskip("pythonjsonlogger.json")
    import logging

    def poll() -> None:
        raise KeyError("id")

    try:
        poll()
    except KeyError:
        record = logging.LogRecord(
            "unguarded_workers",
            logging.ERROR,
            __file__,
            1,
            "%s",
            (
                "worker app.poll failed in thread 'p' "
                "(spawned at /srv/app/main.py:40 in main): KeyError: 'id'; the thread died",
            ),
            sys.exc_info(),
        )
    line = json_logger.JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s").format(record)
    assert '"exc_info": "Traceback (most recent call last):' in line
    (failure,), stats = read(line)
    assert (failure.kind, failure.worker, failure.outcome, failure.exception) == (
        "guard",
        "app.poll",
        "escaped",
        "KeyError: 'id'",
    )
    assert failure.spawn_site is not None
    assert failure.spawn_site.line == 40
    assert [f.function for f in failure.frames][-1] == "poll"
    assert stats.unreadable == 0


def test_prefixes_of_two_shapes_and_a_merged_stream() -> None:
    """A container runtime's prefix with another stream between a traceback's lines, and
    compose's two services: each traceback is read behind its own prefix."""
    web = ["Exception in thread web:", "Traceback (most recent call last):", '  File "/srv/web.py", line 3, in serve']
    web += ["    handle()", "ConnectionError: reset"]
    api = ["ERROR [asyncio] Task exception was never retrieved", "future: <Task finished name='Task-7' coro=<pull() "]
    api[1] += "done, defined at /srv/api.py:9> exception=TimeoutError()>"
    api += [
        "Traceback (most recent call last):",
        '  File "/srv/api.py", line 11, in pull',
        "    await x",
        "TimeoutError",
    ]
    cri = [f"2024-01-01T00:00:0{n}.{n}Z stderr F {line}" for n, line in enumerate(web)]
    cri.insert(3, "2024-01-01T00:00:02.5Z stdout F GET /health 200")
    compose = [f"{name}  | {line}" for pair in zip(web, api) for name, line in zip(("web-1", "api-1"), pair)]
    compose += [f"api-1  | {line}" for line in api[len(web) :]]
    for lines, expected in ((cri, ["ConnectionError: reset"]), (compose, ["ConnectionError: reset", "TimeoutError"])):
        failures, stats = read("\n".join(lines) + "\n")
        assert sorted(f.exception for f in failures) == expected
        assert stats.unreadable == 0
    failures, _ = read("\n".join(compose))
    assert {f.kind: [frame.function for frame in f.frames] for f in failures} == {"thread": ["serve"], "task": ["pull"]}
