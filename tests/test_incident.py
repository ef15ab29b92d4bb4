"""The incident of issue 18 as a program (examples/incident), run for real: uvicorn on 127.0.0.1
and the example's load driver, in each of the service's modes, then what `check`, `fix` and
`triage` say about it.

Each mode runs 64 requests (one in four of each endpoint's bad), 16 at a time, on a server with
4 threads for its sync endpoints: 8 bad /quote requests, twice the pool. The assertions are on
outcomes (a request that can never be answered, a wrong total, a status), never on timings."""

from __future__ import annotations

import ast
import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cli_helpers import run_command
from triage_helpers import sites, triage

pytest.importorskip("uvicorn")
pytestmark = [
    pytest.mark.skipif(sys.version_info < (3, 11), reason="the example uses asyncio.TaskGroup (3.11+)"),
    pytest.mark.skipif(sys.platform == "win32", reason="the driver stops uvicorn with SIGTERM"),
]

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "incident"
SERVICE = EXAMPLE / "service.py"
THREADS = 4
WAIT = 10.0  # service.WAIT: how long the fixed /quote would wait for a worker that hangs


def _drive(mode: str, tmp_path: Path, timeout: float = 3.0) -> tuple[dict[str, Any], str]:
    """The driver's JSON summary of a run in `mode`, and the server's log."""
    log, summary = tmp_path / f"{mode}.log", tmp_path / f"{mode}.json"
    command = [sys.executable, str(EXAMPLE / "run.py"), mode, "--requests", "64", "--concurrency", "16"]
    command += ["--timeout", str(timeout), "--threads", str(THREADS), "--log", str(log), "--json", str(summary)]
    env = {key: value for key, value in os.environ.items() if key not in ("PYTHONWARNINGS", "INCIDENT_MODE")}
    result = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=240, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"mode {mode}: 64 requests" in result.stdout, result.stdout
    return json.loads(summary.read_text()), log.read_text()


def _spawn_line(function: str, spawner: str) -> int:
    """The line of the call `spawner(...)` in service.py's def `function`: where the worker is spawned."""
    tree = ast.parse(SERVICE.read_text(encoding="utf-8"))
    (found,) = (
        node
        for node in ast.walk(tree)
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.name == function
    )
    calls = (node for node in ast.walk(found) if isinstance(node, ast.Call))
    lines = {call.lineno for call in calls if ast.unparse(call.func) == spawner}
    assert len(lines) == 1, (function, spawner, lines)
    return lines.pop()


def _wait_line(function: str) -> int:
    """The line of `results.get()` in service.py's def `function`."""
    return _spawn_line(function, "results.get")


def _group_note(line: int, function: str) -> str:
    """A task-group child's spawn note; the comprehension it is spawned in is a function of its
    own before 3.12."""
    where = f"(?:{function}|<listcomp>)" if sys.version_info < (3, 12) else function
    return f"spawned at {re.escape(str(SERVICE))}:{line} in {where} \\(asyncio\\.TaskGroup\\.create_task\\)$"


def _assert_the_outage(summary: dict[str, Any]) -> None:
    """Every bad /quote leaves its request thread waiting for ever, holding a token of the pool;
    more bad requests than the pool has threads, and no sync endpoint answers: the health check
    neither."""
    quote = summary["endpoints"]["/quote"]
    assert quote["bad"] == 2 * THREADS
    assert quote["timeouts"] >= quote["bad"], quote
    assert (quote["errors"], quote["wrong"]) == (0, 0), quote
    assert summary["health"]["before"] == "OK"
    assert summary["health"]["after"].startswith("NO ANSWER"), summary["health"]


def test_bare_a_dead_worker_hangs_its_request_and_the_pool_runs_dry(tmp_path: Path) -> None:
    summary, log = _drive("bare", tmp_path)
    _assert_the_outage(summary)
    basket = summary["endpoints"]["/basket"]
    # The task group raised: uvicorn logged it and answered 500, the honest answer.
    assert basket["wrong"] == 0, basket
    assert basket["errors"] >= 1, basket
    assert basket["errors"] + basket["timeouts"] == basket["bad"], basket
    # Threads died printing their traceback, and nothing says who started them.
    assert re.search(r"^Exception in thread Thread-\d+ \(price\):$", log, re.MULTILINE), log
    assert "spawned at" not in log
    # The executor job failed as often, without a line; the task's failure says where its
    # coroutine is defined, not where it was started.
    assert "count_sales" not in log
    assert "Task exception was never retrieved" in log
    assert "coro=<remember() done, defined at" in log


def test_wrap_alone_logs_the_failures_but_keeps_the_outage_and_makes_wrong_totals(tmp_path: Path) -> None:
    summary, log = _drive("wrap", tmp_path)
    _assert_the_outage(summary)
    # Every bad basket answered 200: a failed child returned None, counted as 0.
    basket = summary["endpoints"]["/basket"]
    assert basket["errors"] == 0, basket
    assert basket["wrong"] >= 1, basket
    assert basket["wrong"] + basket["timeouts"] == basket["bad"], basket
    assert basket["statuses"] == {"200": basket["sent"] - basket["timeouts"]}, basket
    # The failures are logged, where they were spawned: the waiters hang all the same.
    line = _spawn_line("quote_wrap", "threading.Thread")
    at = re.escape(str(SERVICE))
    contained = (
        f"worker service.price failed in .* \\(spawned at {at}:{line} in quote_wrap\\): LookupError: no price for"
    )
    assert re.search(contained, log), log


def test_install_names_each_failures_spawn_line_and_triage_maps_it(tmp_path: Path) -> None:
    summary, log = _drive("install", tmp_path)
    _assert_the_outage(summary)  # the net reports; it does not release a waiter
    thread = _spawn_line("quote_bare", "threading.Thread")
    job = _spawn_line("quote_bare", "stats_pool.submit")
    task = _spawn_line("basket_bare", "asyncio.create_task")
    child = _spawn_line("basket_bare", "group.create_task")
    for worker, line, function, exception, how in [
        ("price", thread, "quote_bare", "LookupError: no price for 'durian'", "the thread died"),
        (
            "count_sales",
            job,
            "quote_bare",
            "KeyError: 'durian'",
            "its future was discarded without its result being read",
        ),
        ("remember()", task, "basket_bare", "KeyError: 'durian'", "its exception was never retrieved"),
    ]:
        spawned = f"(spawned at {SERVICE}:{line} in {function}): {exception}; {how}"
        record = f"worker service.{re.escape(worker)} failed in .* {re.escape(spawned)}$"
        assert re.search(record, log, re.MULTILINE), (record, log)
    # uvicorn's "Exception in ASGI application": the group's member carries its spawn note.
    assert re.search(_group_note(child, "basket_bare"), log, re.MULTILINE), log

    findings, line = triage(str(tmp_path / "install.log"), "--root", str(EXAMPLE), cwd=tmp_path)
    assert "; 0 could not be read" in line, line
    mapped = {(f["worker"], f["exception_type"]): sites(f) for f in findings if f["spawns"]}
    assert mapped == {
        ("service.price", "LookupError"): [("service.py", thread)],
        ("service.count_sales", "KeyError"): [("service.py", job)],
        ("service.remember()", "KeyError"): [("service.py", task)],
        ("fetch_price", "LookupError"): [("service.py", child)],
    }
    # The rest: the requests still stuck when the driver stopped the server, cancelled by uvicorn.
    assert {f["exception_type"] for f in findings if not f["spawns"]} <= {"asyncio.exceptions.CancelledError"}


def test_deliver_answers_every_bad_request_at_once_and_the_service_stays_up(tmp_path: Path) -> None:
    """A client timeout shorter than the fixed handler's own wait: a 503 is a delivered failure."""
    summary, log = _drive("deliver", tmp_path, timeout=WAIT - 2)
    for path, failed in (("/quote", "503"), ("/basket", "500")):
        tally = summary["endpoints"][path]
        assert (tally["timeouts"], tally["refused"], tally["wrong"]) == (0, 0, 0), tally
        assert tally["statuses"] == {"200": tally["sent"] - tally["bad"], failed: tally["bad"]}, tally
        assert (tally["right"], tally["errors"]) == (tally["sent"] - tally["bad"], tally["bad"]), tally
    assert summary["health"] == {"before": "OK", "after": "OK"}
    # Each failure was reported once where it was spawned; the group's, by the handler, with its note.
    thread = _spawn_line("quote_deliver", "threading.Thread")
    at = re.escape(str(SERVICE))
    assert re.search(f"worker service.price failed .*spawned at {at}:{thread} in quote_deliver", log), log
    child = _spawn_line("basket_deliver", "group.create_task")
    assert re.search(_group_note(child, "basket_deliver"), log, re.MULTILINE), log


def test_check_and_fix_report_the_bare_spawns_with_the_waiter(tmp_path: Path) -> None:
    skipped = run_command("check", "--no-cache", str(EXAMPLE), cwd=tmp_path)
    assert (skipped.returncode, skipped.stdout) == (0, ""), skipped  # example code: skipped by default
    result = run_command(
        "check",
        "--no-cache",
        "--examples",
        "check",
        "--min-confidence",
        "medium",
        "--output-format",
        "json",
        str(SERVICE),
        cwd=tmp_path,
    )
    records = json.loads(result.stdout)
    thread = _spawn_line("quote_bare", "threading.Thread")
    # The hang is high; the executor job's failure, which nothing prints, is a one-shot job's
    # (medium), and the dropped task's failure reaches asyncio's log: medium.
    assert {(r["line"], r["code"], r["confidence"]) for r in records} == {
        (thread, "UW101", "high"),
        (_spawn_line("quote_bare", "stats_pool.submit"), "UW201", "medium"),
        (_spawn_line("basket_bare", "asyncio.create_task"), "UW301", "medium"),
    }
    (waiter,) = (r for r in records if r["code"] == "UW101")
    assert "waiter" in waiter["evidence"]
    assert waiter["message"].endswith(
        f"quote_bare() waits on results (line {_wait_line('quote_bare')}), which gets its item only after it: "
        "a failure hangs quote_bare() for ever, and so would wrap() alone; deliver the failure to it: "
        "threading.Thread(target=wrap(price, deliver=results), args=(item, results))"
    ), waiter["message"]
    # What the README shows, from the checkout's root.
    shown = _console_block("unguarded-workers check --examples check --min-confidence medium examples/incident")
    medium = ("--examples", "check", "--min-confidence", "medium")
    assert run_command("check", "--no-cache", *medium, "examples/incident", cwd=ROOT).stdout == shown
    fixed = run_command("fix", *medium, "--diff", str(SERVICE), cwd=tmp_path)
    diff = fixed.stdout
    assert "threading.Thread(target=wrap(price" not in diff  # wrap() alone would leave the waiter waiting
    assert "UW101 left: unsafe fix (wrap() alone would leave quote_bare() waiting on results" in fixed.stderr
    assert "+    stats_pool.submit(wrap(count_sales), items)" in diff
    assert "+    asyncio.create_task(wrap(remember(items)))" in diff


def _console_block(command: str) -> str:
    """The lines the example's README shows under `$ COMMAND`, up to the end of its block."""
    text = (EXAMPLE / "README.md").read_text(encoding="utf-8")
    block = text.split(f"$ {command}\n", 1)[1].split("```", 1)[0]
    return block


def test_the_safety_net_benchmark_prints_the_services_throughput_with_and_without() -> None:
    """benchmarks/bench_safety_net.py, run small: its service table (figures read by people)."""
    command = [sys.executable, str(ROOT / "benchmarks" / "bench_safety_net.py"), "--spawns", "5", "--rounds", "1"]
    result = subprocess.run([*command, "--requests", "10"], capture_output=True, text=True, timeout=240, check=False)
    assert result.returncode == 0, result.stderr
    table = result.stdout.split("the example service, good requests one at a time, best of 1 rounds of 10:\n")[1]
    rows = table.splitlines()[1:]
    assert [row.split()[0] for row in rows] == ["/quote", "/basket"]
    assert all(re.fullmatch(r"/\w+\s+\d+/s\s+\d+/s\s+\d+\.\d\dx", row) for row in rows), rows
