"""The reader on written text: chains, exception groups, notes, headers that come before or
after their traceback, the runtime's notes, lines that are no exception, and bounds."""

from __future__ import annotations

import sys
import traceback

import pytest
from triage_helpers import read

from unguarded_workers.triage.findings import group
from unguarded_workers.triage.logs import MAX_OPEN
from unguarded_workers.triage.tracebacks import exception_type

THREAD = "Exception in thread Thread-1 (sync):"


def _thread(body: str, name: str = "Thread-1 (sync)") -> str:
    return f"Exception in thread {name}:\n{body}"


def test_a_chains_causes_are_kept_and_tell_groups_apart() -> None:
    chained = (
        'Traceback (most recent call last):\n  File "/srv/app/s.py", line 4, in fetch\n    raise {cause}\n{cause}\n\n'
        "{separator}\n\n"
        'Traceback (most recent call last):\n  File "/srv/app/s.py", line 9, in sync\n    raise SyncError()\n'
        "app.SyncError: cannot sync\n"
    )
    direct = "The above exception was the direct cause of the following exception:"
    during = "During handling of the above exception, another exception occurred:"
    text = "".join(
        _thread(chained.format(cause=cause, separator=separator))
        for cause, separator in (("OSError: down", direct), ("TimeoutError", during), ("OSError: full", direct))
    )
    failures, stats = read(text + "next line\n")
    assert [f.exception for f in failures] == ["app.SyncError: cannot sync"] * 3
    assert [[(c.exception, c.raised_at.line if c.raised_at else None) for c in f.causes] for f in failures] == [
        [("OSError: down", 4)],
        [("TimeoutError", 4)],
        [("OSError: full", 4)],
    ]
    assert [f.frames[-1].line for f in failures] == [9, 9, 9]
    assert sorted(g.count for g in group(failures)) == [1, 2]  # OSError twice, TimeoutError once
    assert stats.unreadable == 0


def test_the_scripts_own_class_groups_alike_whichever_python_printed_it() -> None:
    """3.9 and 3.10 print a thread's `__main__.SyncError`, 3.11+ `SyncError`: one failure."""
    body = 'Traceback (most recent call last):\n  File "/srv/s.py", line 9, in sync\n    raise SyncError()\n{type}: x\n'
    text = _thread(body.format(type="__main__.SyncError")) + _thread(body.format(type="SyncError"))
    failures, _ = read(text + "next line\n")
    assert [f.exception for f in failures] == ["SyncError: x", "SyncError: x"]
    assert [g.count for g in group(failures)] == [2]
    qualified, _ = read(_thread(body.format(type="app.SyncError")) + "next line\n")
    assert [f.exception for f in qualified] == ["app.SyncError: x"]


@pytest.mark.skipif(sys.version_info < (3, 11), reason="exception groups and notes are 3.11's")
def test_nested_groups_notes_and_members_past_the_fifteen_shown() -> None:
    """Python's own rendering (traceback.format_exception): a never-raised nested group, twenty
    raised members with notes of which fifteen are shown, and a chained member."""

    def boom(number: int) -> None:
        raise ValueError(number)

    members: list[Exception] = []
    for number in range(20):
        try:
            boom(number)
        except ValueError as error:
            error.add_note("another note")
            error.add_note(f"spawned at /srv/app/m.py:{100 + number} in main (threading.Thread.start)")
            members.append(error)
    try:
        try:
            {}["k"]
        except KeyError as missing:
            raise LookupError("k") from missing
    except LookupError as error:
        members.insert(1, error)
    inner = ExceptionGroup("inner", [KeyError("k"), OSError("o")])  # noqa: F821 (3.11+)
    try:
        raise ExceptionGroup("outer", [inner, *members])  # noqa: F821
    except Exception as outer:
        text = THREAD + "\n" + "".join(traceback.format_exception(outer))
    assert "and 7 more exceptions" in text
    failures, stats = read(text + "after\n")
    assert [f.exception for f in failures] == [
        "ValueError: 0",
        "LookupError: k",
        *(f"ValueError: {n}" for n in range(1, 13)),
        "KeyError: 'k'",
        "OSError: o",
    ]
    first, lookup, *values, key, oserror = failures
    values.insert(0, first)
    assert [c.exception for c in lookup.causes] == ["KeyError: 'k'"]
    assert lookup.spawn_site is None
    for number, value in enumerate(values):
        assert value.group == "ExceptionGroup: outer (22 sub-exceptions)"
        assert value.spawn_site is not None
        assert (value.spawn_site.line, value.spawn_site.function) == (100 + number, "main")
        assert [f.function for f in value.frames][-1] == "boom"
    # Never raised: the members of `inner` have the outer group's traceback.
    assert (key.group, oserror.group) == ("ExceptionGroup: inner (2 sub-exceptions)",) * 2
    assert key.frames == oserror.frames
    assert [f.function for f in key.frames] == ["test_nested_groups_notes_and_members_past_the_fifteen_shown"]
    assert all(f.kind == "thread" and f.thread == "Thread-1 (sync)" for f in failures)
    assert stats.unreadable == 0


def test_a_note_names_the_spawn_of_a_plain_traceback_and_other_notes_are_let_be() -> None:
    body = (
        'Traceback (most recent call last):\n  File "/srv/app/q.py", line 20, in fetch\n    raise KeyError(key)\n'
        "KeyError: 'eur'\nretried 3 times\nspawned at C:\\srv\\app\\q.py:82 in quote (asyncio.TaskGroup.create_task)\n"
        "spawned at nowhere\n"
    )
    (failure,), _ = read(_thread(body) + "next\n")
    assert failure.spawn_site is not None
    assert (failure.spawn_site.file, failure.spawn_site.line, failure.spawn_site.function) == (
        "C:\\srv\\app\\q.py",
        82,
        "quote",
    )


def test_asyncio_debug_modes_creation_stack_names_the_spawn() -> None:
    text = (
        "ERROR:asyncio:Task exception was never retrieved\n"
        "future: <Task finished name='Task-3' coro=<consume() done, defined at /srv/app/jobs.py:38> "
        "exception=RuntimeError('lost') created at /usr/lib/python3.12/asyncio/tasks.py:420>\n"
        "source_traceback: Object created at (most recent call last):\n"
        '  File "/srv/app/main.py", line 90, in <module>\n    asyncio.run(main(), debug=True)\n'
        '  File "/usr/lib/python3.12/asyncio/base_events.py", line 1987, in _run_once\n    handle._run()\n'
        '  File "/srv/app/jobs.py", line 61, in start\n    asyncio.create_task(consume("orders"))\n'
        '  File "/usr/lib/python3.12/asyncio/tasks.py", line 420, in create_task\n    task = loop.create_task(coro)\n'
        'Traceback (most recent call last):\n  File "/srv/app/jobs.py", line 40, in consume\n'
        '    raise RuntimeError("lost")\n'
        "RuntimeError: lost\n"
    )
    (failure,), _ = read(text)
    assert failure.spawn_site is not None
    assert (failure.spawn_site.line, failure.spawn_site.function) == (61, "start")
    assert [f.function for f in failure.frames] == ["consume"]  # not the creation stack's
    assert (failure.worker, failure.task) == ("consume()", "Task-3")


def test_headers_that_come_after_or_before_the_traceback() -> None:
    """gevent's `<Greenlet ...> failed with` follows its traceback; hypercorn's and gunicorn's
    reports precede it with no `xception` in them; _thread's `Exception ignored in thread`."""
    traceback_text = 'Traceback (most recent call last):\n  File "/srv/app/w.py", line 5, in {f}\n    x()\n{exc}\n'
    text = (
        traceback_text.format(f="crawl", exc="ValueError: bad url")
        + "2024-01-01T00:00:00Z <Greenlet at 0x7f3a: crawl('https://a', depth=2)> failed with ValueError\n\n"
        + "[2024-01-01 00:00:00 +0000] [7] [ERROR] Error in ASGI Framework\n"
        + traceback_text.format(f="app", exc="RuntimeError: hypercorn")
        + "[2024-01-01 00:00:00 +0000] [8] [ERROR] Error handling request /quote\n"
        + traceback_text.format(f="view", exc="KeyError: 'gunicorn'")
        + "ERROR:    Exception in ASGI application\n"
        + traceback_text.format(f="endpoint", exc="ZeroDivisionError: uvicorn")
        + "Exception ignored in thread started by: <function poll at 0x7f00>\n"
        + traceback_text.format(f="poll", exc="OSError: started by")
        + traceback_text.format(f="logged", exc="ValueError: a traceback some code logged")
        + "the end\n"
    )
    failures, stats = read(text)
    assert [(f.kind, f.worker, f.exception) for f in failures] == [
        ("greenlet", "crawl", "ValueError: bad url"),
        ("request", None, "RuntimeError: hypercorn"),
        ("request", None, "KeyError: 'gunicorn'"),
        ("request", None, "ZeroDivisionError: uvicorn"),
        ("thread", "poll", "OSError: started by"),
    ]
    assert (stats.failures, stats.unreadable) == (5, 0)  # the logged traceback is nobody's failure


@pytest.mark.parametrize(
    ("note", "outcome", "exception"),
    [
        ("; the thread died", "escaped", "KeyError: 'k'"),
        ("; restarting in 0.50 s (1 failure in 60 s, restarts=5)", "restarted", "KeyError: 'k'"),
        ("; giving up after 6 failures in 60 s (more than restarts=5): ending the process", "ended the process", None),
        ("; giving up after 6 failures in 60 s (more than restarts=5): raising", "raised again", None),
        (
            "; giving up after 1 failure in 60 s (more than restarts=0): calling on_give_up",
            "handed to on_give_up",
            None,
        ),
        ("", "contained", None),
    ],
)
def test_what_the_runtimes_note_says_happened(note: str, outcome: str, exception: str | None) -> None:
    (failure,), _ = read(
        f"worker app.poll failed in thread 'p' (spawned at /srv/app/m.py:9 in main): KeyError: 'k'{note}\n"
    )
    assert (failure.outcome, failure.escaped) == (outcome, outcome == "escaped")
    assert failure.exception == "KeyError: 'k'"


def test_lines_that_are_no_exception_make_no_failure() -> None:
    for line in (
        "ValueError: x",
        "KeyError",
        "pkg.mod.Error: y",
        "app.f.<locals>.Oops: z",
        "socket.timeout: timed out",
    ):
        assert exception_type(line) is not None, line
    for line in (
        "INFO:root:served",
        "DEBUG: starting",
        "ERROR",
        "Exception in thread Exception in thread Thread-3 (work):",
        "exit code: 3",
        "Thread-15 (other)Exception in thread",
        "ValueError:x",
        "    raise KeyError(i)",
        "a.b c: d",
    ):
        assert exception_type(line) is None, line


def _died(name: str, worker: tuple[str, int], called: tuple[str, int], exception: str) -> list[str]:
    return [
        f"Exception in thread {name}:",
        "Traceback (most recent call last):",
        '  File "/usr/lib/python3.12/threading.py", line 1075, in _bootstrap_inner',
        "    self.run()",
        '  File "/usr/lib/python3.12/threading.py", line 1012, in run',
        "    self._target(*self._args, **self._kwargs)",
        f'  File "/srv/app/jobs.py", line {worker[1]}, in {worker[0]}',
        f"    {SOURCES['/srv/app/jobs.py', worker[1]]}",
        f'  File "/srv/app/jobs.py", line {called[1]}, in {called[0]}',
        f"    {SOURCES['/srv/app/jobs.py', called[1]]}",
        exception,
    ]


SOURCES = {
    ("/srv/app/jobs.py", 12): "parse(item)",
    ("/srv/app/jobs.py", 20): "raise OSError(item)",
    ("/srv/app/jobs.py", 30): "index(item)",
    ("/srv/app/jobs.py", 40): "raise KeyError(item)",
}


def test_stray_lines_between_interleaved_tracebacks_make_no_group() -> None:
    """Two threads' tracebacks and the main thread's lines, written in turn, line by line: two
    failures, each with its own frames (told apart by the source tree's lines), no third."""
    one = _died("A", ("load", 12), ("parse", 20), "OSError: a")
    two = _died("C", ("reindex", 30), ("index", 40), "KeyError: 'c'")
    strays = ["DEBUG: queue drained", "INFO:root:served", "Starting shutdown", "12 requests pending", "ERROR"] * 3
    lines = [line for triple in zip(one, two, strays) for line in triple]
    failures, stats = read("\n".join(lines) + "\n", SOURCES)
    assert sorted((f.thread, f.exception, [frame.function for frame in f.frames][2:]) for f in failures) == [
        ("A", "OSError: a", ["load", "parse"]),
        ("C", "KeyError: 'c'", ["reindex", "index"]),
    ]
    assert stats.unreadable == 0


@pytest.mark.parametrize("joined", [1, 6], ids=["the traceback's first line", "a frame"])
def test_a_header_begun_on_another_threads_traceback_line_waits_for_its_own(joined: int) -> None:
    """3.13 on an unbuffered stderr writes `Exception in thread `, the name and `:` apart: a
    header can begin on a line that another thread's traceback then takes (a run under load
    wrote it, and a failure was lost). Both failures are read, each whole."""
    one = _died("A", ("load", 12), ("parse", 20), "OSError: a")
    two = _died("C", ("reindex", 30), ("index", 40), "KeyError: 'c'")
    one[joined] = "Exception in thread " + one[joined]
    two[0] = "C:"  # the rest of that header, once A's traceback is written
    failures, stats = read("\n".join(one + two) + "\n", SOURCES)
    assert sorted((f.exception, [frame.function for frame in f.frames][2:]) for f in failures) == [
        ("KeyError: 'c'", ["reindex", "index"]),
        ("OSError: a", ["load", "parse"]),
    ]
    assert (stats.failures, stats.unreadable) == (2, 0)


def test_more_headers_run_together_than_a_quoting_line_holds_are_all_read() -> None:
    """Forty threads dying at once on 3.13's unbuffered stderr wrote 17 header pieces and six
    names on one line (CI lost 17 failures to it). Each piece is a failure; a line that quotes
    the phrase as often amid other text is not."""
    threads = [(f"T-{n}", ("load", 12), ("parse", 20), f"OSError: {n}") for n in range(20)]
    header = "Exception in thread " * 20 + "".join(name for name, *_ in threads[:6]) + ":"
    tracebacks = [line for name, *rest in threads for line in _died(name, *rest)[1:]]
    failures, stats = read("\n".join([header, *tracebacks]) + "\n", SOURCES)
    assert sorted(f.exception for f in failures) == sorted(exception for *_, exception in threads)
    assert (stats.failures, stats.unreadable) == (20, 0)
    quoting = "the docs say " + "'Exception in thread ' then the thread's name, " * 20 + "and a colon:"
    failures, stats = read(quoting + "\n", SOURCES)
    assert (failures, stats.failures) == ([], 0)


def test_headers_without_tracebacks_are_bounded() -> None:
    """More failures begun at once than MAX_OPEN: the oldest is given up (counted), memory stays flat."""
    text = "".join(f"Exception in thread T-{n}:\n" for n in range(MAX_OPEN * 3))
    failures, stats = read(
        text + _thread('Traceback (most recent call last):\n  File "/x.py", line 1, in f\nOSError\n')
    )
    assert [f.exception for f in failures] == ["OSError"]
    assert stats.unreadable == MAX_OPEN * 3
