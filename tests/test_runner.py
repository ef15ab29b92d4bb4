"""A run's two passes (helpers found, then the files checked; without a cache the first pass
checks what can define a helper) give what one process, file by file, gives: with and without
the pool, with and without the cache, for `check` and `fix --diff`."""

from __future__ import annotations

import ast
import os
import pickle
import textwrap
from collections import Counter
from pathlib import Path

import pytest
from cli_helpers import run_cli

from unguarded_workers.analysis import project as project_module
from unguarded_workers.cli import engine, runner
from unguarded_workers.cli.runner import POOL_THRESHOLD
from unguarded_workers.config import Settings
from unguarded_workers.options import parse_options
from unguarded_workers.sources import Source

HELPERS = textwrap.dedent(
    """\
    import threading


    def in_background(target, *args):
        threading.Thread(target=target, args=args, daemon=True).start()


    def listen(sock, handler):
        while True:
            handler(sock.recv(1024))
    """
)
# Names no spawner: only the helpers' names bring it into the check.
CALLER = textwrap.dedent(
    """\
    from app.helpers import in_background, listen


    def serve(sock, handler):
        in_background(listen, sock, handler)
    """
)
# Spawns by itself, and calls another file's helper: checked in both passes.
BOTH = textwrap.dedent(
    """\
    import threading

    from app.helpers import in_background, listen


    def pump(source, sink):
        while True:
            sink(source.get())


    def serve(sock, handler, source, sink):
        threading.Thread(target=pump, args=(source, sink)).start()
        in_background(listen, sock, handler)
    """
)
QUIET = "def add(a, b):\n    return a + b\n"


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)
    package = tmp_path / "app"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "helpers.py").write_text(HELPERS)
    for number in range(POOL_THRESHOLD + 12):  # enough files for the pool
        text = (CALLER, BOTH, QUIET)[number % 3]
        (package / f"m{number:02}.py").write_text(text)
    return tmp_path


def test_every_way_of_running_gives_the_same_reports(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    args = ("check", "--min-confidence=low", "--output-format=concise")
    one = run_cli(capsys, *args, "--no-cache", "-j", "1", ".")
    lines = one.out.splitlines()
    callers = [line for line in lines if line.split(":")[0].endswith(tuple(f"m{n:02}.py" for n in range(0, 60, 3)))]
    assert len(callers) == 20  # each caller's helper call: found only through the other file's helper
    assert len(lines) == 20 + 2 * 20  # and both spawns of each file that also spawns by itself
    for variant in (("--no-cache", "-j", "2"), ("-j", "1"), ("-j", "2"), ("-j", "2")):  # the last: from the cache
        assert run_cli(capsys, *args, *variant, ".").out == one.out, variant


# Defines a helper, and calls another file's.
RELAY = textwrap.dedent(
    """\
    import threading

    from app.helpers import in_background, listen


    def relay(target):
        threading.Thread(target=target).start()


    def serve(sock, handler):
        in_background(listen, sock, handler)
    """
)


def test_a_run_parses_each_file_once(
    project: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without a cache, the first pass checks only the files that may define a helper, and
    keeps their analyses for the second, which checks the others; a module that a check
    imported is checked on that parse."""
    (project / "app" / "relay.py").write_text(RELAY)
    parsed: Counter[str] = Counter()
    real_check_parse, real_import_parse = engine.parse, project_module._parse

    def check_parse(source: Source) -> ast.Module:
        parsed[os.path.realpath(str(source.path))] += 1
        return real_check_parse(source)

    def import_parse(path: str) -> ast.Module | None:
        parsed[os.path.realpath(path)] += 1
        return real_import_parse(path)

    monkeypatch.setattr(engine, "parse", check_parse)
    monkeypatch.setattr(project_module, "_parse", import_parse)
    result = run_cli(capsys, "check", "--min-confidence=low", "--output-format=concise", "--no-cache", "-j", "1", ".")
    assert result.out.count("relay.py:") == 1  # its call of in_background (its thread runs its callers' worker)
    assert max(parsed.values()) == 1
    app = os.path.realpath("app")
    assert {os.path.join(app, name) for name in ("helpers.py", "relay.py", "m01.py")} <= set(parsed)


def test_batches_are_pinned_to_workers_in_runs_of_neighbours() -> None:
    """A batch's two passes go to one worker (its lane), which keeps the first pass's analyses
    and the modules they imported; neighbouring batches (a package's files, in the walk's
    order) share a lane, in runs dealt round the workers so that none is left with the heavy
    packages. Every lane has a batch: each worker starts with its first."""
    per_worker = runner._SEGMENTS_PER_WORKER
    assert runner._lanes(3, 1) == [0, 0, 0]
    assert runner._lanes(8, 2) == [0, 1, 0, 1, 0, 1, 0, 1]  # fewer batches than runs: one each
    assert runner._lanes(4 * per_worker * 2, 2) == [0, 0, 0, 0, 1, 1, 1, 1] * per_worker
    for batches in range(1, 200, 7):
        for workers in range(1, min(batches, 8) + 1):
            lanes = runner._lanes(batches, workers)
            assert set(lanes) == set(range(workers))
            runs = sum(1 for a, b in zip(lanes, lanes[1:]) if a != b) + 1
            assert runs <= workers * per_worker


def test_fix_diff_is_the_same_with_and_without_the_pool(project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    serial = run_cli(capsys, "fix", "--diff", "--min-confidence=low", "-j", "1", ".")
    pooled = run_cli(capsys, "fix", "--diff", "--min-confidence=low", "-j", "2", ".")
    assert serial.out == pooled.out
    assert (serial.err, pooled.err) == ("unguarded-workers: would fix 60 sites in 40 files; 0 left\n",) * 2
    assert serial.out.count("+    in_background(wrap(listen), sock, handler)\n") == 40  # the helpers' callers


def test_a_helper_is_sought_only_in_files_that_name_its_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`run` of pkg/runners.py starts its argument: `from .runners import run; run(work)` is a
    spawn, while `subprocess.run(cmd)` in a file that names neither `pkg` nor `runners` cannot
    reach it and is not parsed for it (`asyncio.run` made the standard library's second pass
    parse 93 files)."""
    from unguarded_workers.cli import engine

    monkeypatch.chdir(tmp_path)
    (tmp_path / "pkg").mkdir()
    files = {
        "__init__.py": "",
        "runners.py": "import threading\n\n\ndef run(target):\n    threading.Thread(target=target).start()\n",
        "caller.py": "from .runners import run\n\n\ndef work():\n    step()\n\n\ndef go():\n    run(work)\n",
        "absolute.py": "from pkg import runners\n\n\ndef work():\n    step()\n\n\ndef go():\n    runners.run(work)\n",
        "other.py": "import subprocess\n\n\ndef go(cmd):\n    subprocess.run(cmd)\n",
    }
    for name, text in files.items():
        (tmp_path / "pkg" / name).write_text(text)
    real, parsed = engine.parse, []

    def spied(source: engine.Source) -> object:
        parsed.append(source.display)
        return real(source)

    monkeypatch.setattr(engine, "parse", spied)
    out = run_cli(capsys, "check", "--no-cache", "--min-confidence=low", "--output-format=concise", ".").out
    assert [line.split(":")[0] for line in out.splitlines()] == ["pkg/absolute.py", "pkg/caller.py"]
    assert "pkg/other.py" not in parsed


def test_a_workers_batches_share_the_runs_options_and_so_one_project(monkeypatch: pytest.MonkeyPatch) -> None:
    """Each batch's job reaches a worker unpickled: equal options, but a new object."""
    monkeypatch.setattr(runner, "_RUN_OPTIONS", [])
    job = engine.Job(Settings(options=parse_options(min_confidence="low")))
    seen: list[engine.Job] = []

    def work(batch: object, job: engine.Job) -> None:
        seen.append(job)

    first, second = pickle.loads(pickle.dumps(job)), pickle.loads(pickle.dumps(job))
    assert first.settings.options is not second.settings.options
    runner._in_worker(work, [], first)
    runner._in_worker(work, [], second)
    assert seen[1].settings.options is seen[0].settings.options is first.settings.options
    assert seen[1] == second
    other = engine.Job(Settings(options=parse_options(min_confidence="high")))
    runner._in_worker(work, [], other)
    assert seen[2] is other  # not the run's: left as it is


def test_an_interrupt_while_the_batches_are_handed_out_loses_none_that_started(
    project: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    # The check's batches are handed to the workers one by one: an interrupt between two
    # (here, as the second goes) is held until all are handed out, so that the run knows
    # every batch a worker may be running, and shows what those found (a JSON run under load
    # once showed nothing: the batches handed out before the interrupt were lost).
    import signal
    import time
    from concurrent.futures import Future, ProcessPoolExecutor

    real = ProcessPoolExecutor.submit
    checks: list[Future[object]] = []

    def submit(self: ProcessPoolExecutor, fn: object, *args: object, **kwargs: object) -> Future[object]:
        if args and args[0] in (engine.process_batch, engine.second_pass_batch):
            if len(checks) == 1:  # the first batch is in a worker's hands: interrupt now
                deadline = time.monotonic() + 30
                while not (checks[0].running() or checks[0].done()) and time.monotonic() < deadline:
                    time.sleep(0.01)
                os.kill(os.getpid(), signal.SIGINT)
            checks.append(real(self, fn, *args, **kwargs))  # type: ignore[arg-type]
            return checks[-1]
        return real(self, fn, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(ProcessPoolExecutor, "submit", submit)
    result = run_cli(capsys, "check", "--isolated", "--no-cache", "-j", "2", "--output-format", "json", ".")
    assert result.status == 130
    assert len(checks) > 2  # every batch was handed out before the interrupt was raised
    assert result.json(), "the batches that ran were lost"
