"""Each report says, in the words of what really happens: the line a failure escapes from and
why no guard covers it, what is at stake for its kind of spawn, who waits for it, and the
spawn as it reads with the guard in place, whole."""

from __future__ import annotations

import ast
import textwrap
from pathlib import Path

import pytest

from unguarded_workers.analysis import check_module
from unguarded_workers.options import Options
from unguarded_workers.violation import Confidence, Violation

EVERYTHING = Options(min_confidence=Confidence.LOW)

HEAD = textwrap.dedent(
    """\
    import asyncio, threading
    from concurrent.futures import ThreadPoolExecutor

    def work():
        step()

    async def consume():
        await step()

    """
)


def _only(source: str, options: Options = EVERYTHING, path: str | None = None) -> Violation:
    (violation,) = check_module(ast.parse(source), options, path=path)
    return violation


@pytest.mark.parametrize(
    ("spawn", "stake"),
    [
        (
            "threading.Thread(target=work).start()",
            "the thread dies (its traceback goes to stderr): nothing in the program learns of it and its work stops",
        ),
        (
            "ThreadPoolExecutor().submit(work)",
            "its exception is stored in a future that nothing reads, and is lost",
        ),
        (
            "async def f():\n    asyncio.get_running_loop().run_in_executor(None, work)",
            "its exception is stored in an asyncio future that nothing reads: "
            'it reaches only asyncio\'s log ("Future exception was never retrieved"), not the program',
        ),
        (
            "async def f():\n    asyncio.create_task(consume())",
            "nothing references the task: it can be collected before it ends, and its failure reaches only "
            'asyncio\'s log ("Task exception was never retrieved"), not the program',
        ),
        (
            "tasks = set()\nasync def f():\n    tasks.add(asyncio.create_task(consume()))",
            "the task is held but nobody reads it: its failure stays silent while the holder lives",
        ),
        (
            # The asyncio docs' keep-a-reference idiom: freed as it ends, so its failure is logged then.
            "tasks = set()\nasync def f():\n    t = asyncio.create_task(consume())\n    tasks.add(t)\n"
            "    t.add_done_callback(tasks.discard)",
            "the task is released when it ends: its failure reaches only asyncio's log "
            '("Task exception was never retrieved"), not the program',
        ),
        (
            # The same idiom inside a spawn helper of the module.
            "tasks = set()\ndef spawn(coro):\n    t = asyncio.create_task(coro)\n    tasks.add(t)\n"
            "    t.add_done_callback(tasks.remove)\nasync def f():\n    spawn(consume())",
            "the task is released when it ends: its failure reaches only asyncio's log "
            '("Task exception was never retrieved"), not the program',
        ),
    ],
    ids=["thread", "submit", "run_in_executor", "dropped task", "held task", "released task", "released by a helper"],
)
def test_the_stake_of_each_spawn(spawn: str, stake: str) -> None:
    violation = _only(HEAD + textwrap.dedent(spawn) + "\n")
    assert "has no try/except guard: line " in violation.message
    assert f"; {stake}; wrap it: " in violation.message, violation.message


@pytest.mark.parametrize(
    ("body", "finally_line"),
    [
        # jeepney's receiver: its finally fails the waiters' futures, so they learn it ended.
        ("try:\n    while True:\n        step()\nfinally:\n    closed.set()", 15),
        # The innermost finally whose try holds the line, not an outer one.
        ("try:\n    try:\n        step()\n    finally:\n        log()\nfinally:\n    closed.set()", 15),
        ("try:\n    step()\nexcept ValueError:\n    pass\nfinally:\n    closed.set()", 16),
    ],
    ids=["loop in try-finally", "nested", "narrow handler and finally"],
)
def test_a_thread_that_dies_through_a_finally_is_not_said_to_tell_no_one(body: str, finally_line: int) -> None:
    source = HEAD + "def run():\n" + textwrap.indent(body, "    ") + "\n\nthreading.Thread(target=run).start()\n"
    violation = _only(source)
    assert "nothing in the program learns" not in violation.message, violation.message
    assert (
        f"the thread dies after its finally (line {finally_line}) runs: its traceback goes to stderr, "
        "the program learns at most that it ended, not why, and its work stops"
    ) in violation.message


@pytest.mark.parametrize(
    ("body", "said"),
    [
        # The line comes before the try, or in a def the worker calls.
        ("step()\ntry:\n    cleanup()\nfinally:\n    closed.set()", "nothing in the program learns of it"),
        ("work()\ntry:\n    pass\nfinally:\n    closed.set()", "nothing in the program learns of it"),
    ],
    ids=["before the try", "after a call outside it"],
)
def test_a_finally_that_does_not_hold_the_line_changes_nothing(body: str, said: str) -> None:
    source = HEAD + "def run():\n" + textwrap.indent(body, "    ") + "\n\nthreading.Thread(target=run).start()\n"
    assert said in _only(source).message


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ("step()", "has no try/except guard: line 6: step() runs outside any try"),
        (
            "try:\n    step()\nexcept ConnectionError:\n    pass",
            "is not guarded: line 7: step() is in a try whose handlers catch only ConnectionError",
        ),
        (
            "try:\n    step()\nexcept Exception:\n    cleanup()\n    raise",
            "is not guarded: line 7: step() is in a try whose handler re-raises",
        ),
        (
            "try:\n    step()\nexcept KeyboardInterrupt:\n    pass",
            "is not guarded: line 7: step() is in a try whose handlers catch only KeyboardInterrupt",
        ),
        ("try:\n    step()\nfinally:\n    done()", "is not guarded: line 7: step() is in a try with no except"),
        (
            "try:\n    step()\nexcept ConnectionError:\n    pass\nexcept KeyboardInterrupt:\n    raise",
            "is not guarded: line 7: step() is in a try whose handlers catch only ConnectionError, KeyboardInterrupt",
        ),
        (
            # Each narrow try around the line lets out what none of them catches.
            "try:\n    try:\n        step()\n    except TimeoutError:\n        pass\nexcept OSError:\n    pass",
            "is not guarded: line 8: step() is in tries whose handlers catch only TimeoutError, OSError",
        ),
        (
            "try:\n    try:\n        step()\n    finally:\n        done()\nexcept OSError:\n    pass",
            "is not guarded: line 8: step() is in a try whose handlers catch only OSError",
        ),
        (
            # The body cannot fail by itself (its with-block is guarded): the handler is live.
            "try:\n    with contextlib.suppress(Exception):\n        step()\nexcept ValueError:\n    recover()",
            "is not guarded: line 10: recover() runs in the handler of ValueError",
        ),
        ("while self_poll():\n    pass", "has no try/except guard: line 6: while self_poll() runs outside any try"),
        # Binding a port fails where setting an option on a fresh socket does not: it is named.
        (
            "if type(address) is tuple:\n    pass\nsock.setsockopt(1, 2, 3)\nsock.bind(address)",
            "has no try/except guard: line 9: sock.bind(address) runs outside any try",
        ),
        # Counting cannot fail: the line named is the one in the loop that can.
        ("for _ in range(count):\n    step()", "has no try/except guard: line 7: step() runs outside any try"),
        # The loop ends at the return anyway: the line it dies of is the one after.
        (
            "while True:\n    if closing:\n        close()\n        return\n    serve()",
            "has no try/except guard: line 10: serve() runs outside any try",
        ),
        # What gets out is what a narrow handler lets out on purpose, before the broad one.
        (
            "try:\n    step()\nexcept ValueError:\n    raise\nexcept Exception:\n    pass",
            "is not guarded: line 7: step() is in a try whose handler of ValueError re-raises it",
        ),
    ],
    ids=[
        "no try",
        "narrow handler",
        "re-raises",
        "exit only",
        "finally only",
        "and exit",
        "nested narrow tries",
        "finally in a narrow try",
        "in a handler",
        "header",
        "bind",
        "counting",
        "leaving",
        "re-raised before a broad handler",
    ],
)
def test_the_first_uncovered_line_and_why(body: str, said: str) -> None:
    source = "import contextlib\nimport threading\n\n\ndef work():\n" + textwrap.indent(body, "    ") + "\n\n\n"
    violation = _only(source + "threading.Thread(target=work).start()\n")
    assert f"thread target 'work' {said}; " in violation.message, violation.message
    (uncovered, *_) = violation.related
    line = int(said.split("line ")[1].split(":", maxsplit=1)[0])
    assert uncovered.range.line == line
    assert uncovered.message == said.split(f"line {line}: ")[1]


def test_a_waiter_is_named_with_its_line_and_what_to_do() -> None:
    source = textwrap.dedent(
        """\
        import threading

        class Client:
            def _run(self):
                self._flush()
                self._exited.set()

            def _flush(self):
                send()

            def start(self):
                threading.Thread(target=self._run).start()

            def stop(self):
                self._exited.wait()
        """
    )
    violation = _only(source)
    assert violation.confidence is Confidence.HIGH
    assert violation.message.endswith(
        "stop() waits on self._exited (line 15), which is set only after it: a failure hangs stop() for ever, "
        "and so would wrap() alone; deliver the failure to it: "
        "threading.Thread(target=wrap(self._run, deliver=self._exited))"
    ), violation.message
    assert violation.unsafe_fix == "wrap() alone would leave stop() waiting on self._exited: deliver the failure to it"
    assert [r.range.line for r in violation.related] == [5, 15, 6]
    assert [r.message for r in violation.related] == [
        "self._flush() runs outside any try",
        "stop() waits on self._exited here",
        "self._exited is set only here",
    ]


def test_a_property_that_waits_is_named_as_a_read_of_it() -> None:
    # gpiozero's GPIOQueue: `value` is read, never called.
    source = textwrap.dedent(
        """\
        import threading

        class Queue:
            def fill(self):
                self._values.append(read())
                self.full.set()

            def start(self):
                threading.Thread(target=self.fill).start()

            @property
            def value(self):
                self.full.wait()
                return self._values[-1]
        """
    )
    violation = _only(source)
    assert (
        "a read of the property 'value' waits on self.full (line 13), which is set only after it: "
        "a failure hangs a read of the property 'value' for ever"
    ) in violation.message, violation.message


def test_the_suggested_fix_is_the_whole_call_never_cut() -> None:
    spawn = (
        "threading.Thread(target=work, name='a-rather-long-thread-name-for-the-worker', "
        "args=(1, 2, 3), kwargs={'flag': True}, daemon=True).start()"
    )
    violation = _only(HEAD + spawn + "\n")
    assert violation.message.endswith(
        "wrap it: threading.Thread(target=wrap(work), name='a-rather-long-thread-name-for-the-worker', "
        "args=(1, 2, 3), kwargs={'flag': True}, daemon=True)"
    ), violation.message
    assert "..." not in violation.message


def test_a_worker_of_another_module_is_located_by_its_file(tmp_path: Path) -> None:
    (tmp_path / "jobs.py").write_text("def poll():\n    while True:\n        fetch()\n")
    main = tmp_path / "main.py"
    source = "import threading\nfrom jobs import poll\n\nthreading.Thread(target=poll).start()\n"
    main.write_text(source)
    violation = _only(source, path=str(main))
    assert "has no try/except guard: jobs.py:3: fetch() runs outside any try" in violation.message
    (uncovered,) = violation.related
    assert uncovered.path == str(tmp_path / "jobs.py")
    assert uncovered.range.line == 3


def test_the_finally_of_a_worker_in_another_module_is_located_by_its_file(tmp_path: Path) -> None:
    # ws4py's threaded client runs its base class's run(), whose finally closes the connection.
    (tmp_path / "jobs.py").write_text(
        "def poll():\n    try:\n        while True:\n            fetch()\n    finally:\n        close()\n"
    )
    main = tmp_path / "main.py"
    source = "import threading\nfrom jobs import poll\n\nthreading.Thread(target=poll).start()\n"
    main.write_text(source)
    violation = _only(source, path=str(main))
    assert "; the thread dies after its finally (jobs.py:6) runs: " in violation.message, violation.message


def test_foreign_code_and_a_long_lived_loop_are_said() -> None:
    source = textwrap.dedent(
        """\
        import threading

        def consume(queue, handler):
            while True:
                item = queue.get()
                handler(item)

        def start(q, h):
            threading.Thread(target=consume, args=(q, h)).start()
        """
    )
    violation = _only(source)
    assert "line 6: handler(item) runs outside any try; it runs the handed-in callable 'handler'; " in violation.message
    assert "; a failure ends its long-lived loop; " in violation.message


def test_a_helper_handed_the_programs_own_code_runs_no_foreign_code() -> None:
    """A helper runs its parameter (`retry_call(func)`), and the worker hands it its own poller's
    method: the foreign code named is the worker's callback after it, not the helper's `func`;
    handed a parameter of the worker's, the helper runs foreign code."""
    source = textwrap.dedent(
        """\
        import threading

        class Poller:
            def poll(self):
                return []

        def retry_call(func, *args):
            while True:
                try:
                    return func(*args)
                except InterruptedError:
                    continue

        class Observer(threading.Thread):
            def __init__(self, callback):
                super().__init__()
                self._callback = callback

            def run(self):
                notifier = Poller()
                while True:
                    for event in retry_call(notifier.poll):
                        self._callback(event)

        def observe(read, lines):
            while True:
                lines.append(retry_call(read))

        def watch(read):
            threading.Thread(target=observe, args=(read, [])).start()

        def notify(events, callbacks):
            while True:
                event = events.get()
                for callback in callbacks:
                    retry_call(callback, event)

        threading.Thread(target=notify, args=(None, [])).start()
        """
    )
    run, observe, notify = check_module(ast.parse(source), EVERYTHING)
    # A loop's variable says nothing of whose code it holds: the helper runs it, foreign.
    assert (
        "line 36: retry_call(callback, event) runs outside any try; it runs the handed-in callable 'func'"
        in notify.message
    )
    assert "line 23: self._callback(event) runs outside any try; it runs the callback self._callback; " in run.message
    assert "'func'" not in run.message
    # Handed on (`observe` hands its own `read` to the helper): the spawn's caller hands it in.
    assert (
        "line 27: lines.append(retry_call(read)) runs outside any try; it runs the handed-in callable 'func'"
        in observe.message
    )


def test_foreign_code_deeper_in_another_module_is_named_as_it_is(tmp_path: Path) -> None:
    """The def the worker calls calls a def of another module that runs its parameter: that is
    the foreign call named (and asking whether the first def was handed own code is no crash)."""
    (tmp_path / "jobs.py").write_text("def fire(callback=None):\n    callback()\n")
    main = tmp_path / "main.py"
    source = textwrap.dedent(
        """\
        import threading
        import jobs

        def relay():
            jobs.fire()

        def work():
            relay()

        threading.Thread(target=work).start()
        """
    )
    main.write_text(source)
    violation = _only(source, path=str(main))
    assert (
        "line 8: relay() runs outside any try; it runs the handed-in callable 'callback' (jobs.py:2)"
        in violation.message
    )


def test_a_database_call_is_the_line_a_loop_likely_dies_of() -> None:
    source = textwrap.dedent(
        """\
        import threading

        def write(conn, messages, batch):
            while True:
                rows = []
                for message in messages.get():
                    rows.append(memoryview(message))
                conn.executemany("INSERT INTO frames VALUES (?)", rows)

        threading.Thread(target=write, args=(None, None, 10)).start()
        """
    )
    violation = _only(source)
    assert "line 8: conn.executemany('INSERT INTO frames VALUES (?)', rows) runs outside any try" in violation.message


def test_decoding_what_a_peer_sent_is_the_line_a_loop_likely_dies_of() -> None:
    """mu's debugger runner: not the test of what arrived (`new_buffer.endswith(...)`), which
    fails only in principle, but the decoding of it."""
    source = textwrap.dedent(
        """\
        import json, threading

        def command_buffer(debugger):
            while True:
                data = debugger.client.recv(1024)
                if data.endswith(b"\\x03"):
                    for command in data.split(b"\\x03"):
                        debugger.commands.put(json.loads(command.decode("utf-8")))

        threading.Thread(target=command_buffer, args=(None,)).start()
        """
    )
    violation = _only(source)
    assert "line 8: debugger.commands.put(json.loads(command.decode('utf-8'))) runs outside" in violation.message


@pytest.mark.parametrize(
    ("round_", "named"),
    [
        # spyder's open-files server: the decode of what arrived comes first, then the reply
        (
            'data = take(req)\n    fname = data.decode("utf-8")\n    open_file(fname)\n    req.sendall(b" ")',
            "line 6: fname = data.decode('utf-8')",
        ),
        # beam's container watcher: the command that fails, not the decode in its report
        (
            'status = subprocess.check_output(["docker", "inspect", cid])\n'
            '    if status != b"running":\n        conn.abort(RuntimeError(status.decode("utf-8")))',
            "line 5: status = subprocess.check_output(['docker', 'inspect', cid])",
        ),
        # httpx-ws's keep-alive: the ping to a peer that may be gone, not the wait before it
        ("closing = wait_until_closed(conn, 20)\n    conn.ping()", "line 6: conn.ping()"),
    ],
)
def test_a_loop_is_named_by_the_first_line_of_its_round_that_does_io_or_decodes(round_: str, named: str) -> None:
    source = (
        "import subprocess, threading\n\ndef serve(req, cid, conn):\n  while True:\n    "
        + round_
        + "\n\nthreading.Thread(target=serve, args=(1, 2, 3)).start()\n"
    )
    violation = _only(source)
    assert f"{named} runs outside any try" in violation.message


def test_the_line_named_is_the_one_likely_to_fail_when_no_evidence_decides() -> None:
    """A socket, file or network call before an earlier line that fails only in principle; not
    one whose OSError a handler takes."""
    source = textwrap.dedent(
        """\
        import logging, threading

        def forward(sock, data):
            logging.getLogger("paramiko").setLevel(logging.WARN)
            sock.connect(("example.org", 22))
            sock.sendall(data)

        def forward_covered(sock, data):
            logging.getLogger("paramiko").setLevel(logging.WARN)
            try:
                sock.connect(("example.org", 22))
            except OSError:
                return

        threading.Thread(target=forward, args=(1, 2)).start()
        threading.Thread(target=forward_covered, args=(1, 2)).start()
        """
    )
    named = [v.message.split(": ", 2)[1] for v in check_module(ast.parse(source), EVERYTHING)]
    assert named == ["line 5", "line 9"], named


def test_with_a_waiter_the_line_named_is_the_one_its_signal_comes_after() -> None:
    """The waiter's item is put only after the first line that can fail: that is the line named
    (a socket call after the signal would make "only after it" false)."""
    source = textwrap.dedent(
        """\
        import queue, threading

        def work(results, sock):
            step()
            results.put(1)
            sock.sendall(b"done")

        def main(sock):
            results = queue.Queue()
            threading.Thread(target=work, args=(results, sock)).start()
            return results.get()
        """
    )
    violation = _only(source)
    assert "line 4: step() runs outside any try" in violation.message, violation.message
    assert "main() waits on results (line 11), which gets its item only after it" in violation.message


def test_a_loop_that_drains_what_is_there_is_not_called_long_lived() -> None:
    # gunicorn's SIGCHLD task: one pass of a reaping loop that leaves at the first empty poll.
    source = textwrap.dedent(
        """\
        import asyncio, os

        def reap_workers(workers):
            while True:
                pid, status = os.waitpid(-1, os.WNOHANG)
                if not pid:
                    break
                workers.pop(pid).cleanup(status)

        async def handle_sigchld(workers):
            reap_workers(workers)

        async def on_signal(workers):
            asyncio.create_task(handle_sigchld(workers))
        """
    )
    violation = _only(source)
    assert "line 11: reap_workers(workers) runs outside any try; nothing references the task" in violation.message
    assert "long-lived" not in violation.message


def test_the_confidence_is_shown_only_when_asked() -> None:
    violation = _only(HEAD + "threading.Thread(target=work).start()\n")
    assert violation.flake8_text().startswith("UW101 thread target")
    assert violation.flake8_text(show_confidence=True).startswith("UW101 [medium] thread target")


def test_a_fan_out_waiter_gets_the_failure_through_what_it_handed_over() -> None:
    source = textwrap.dedent(
        """\
        import queue
        import threading

        def price(item, out):
            out.put(quote(item))

        def total(items):
            results = queue.Queue()
            for item in items:
                threading.Thread(target=price, args=(item, results)).start()
            return sum(results.get() for _ in items)
        """
    )
    violation = _only(source)
    assert violation.confidence is Confidence.HIGH
    assert violation.message.endswith(
        "total() waits on results (line 11), which gets its item only after it: a failure hangs total() for ever, "
        "and so would wrap() alone; deliver the failure to it: "
        "threading.Thread(target=wrap(price, deliver=results), args=(item, results))"
    ), violation.message


@pytest.mark.parametrize(
    ("target", "why"),
    [("open", "a builtin"), ("undefined_here", "not defined in this module")],
)
def test_a_target_that_is_no_def_of_the_module_says_what_it_is(target: str, why: str) -> None:
    source = f"import threading\nfrom helpers import *\n\nthreading.Thread(target=lambda: {target}(1)).start()\n"
    assert f"could not be inspected ({why})" in _only(source).message


@pytest.mark.parametrize(
    ("spawn", "kept_running"),
    [
        ("threading.Thread(target=poll, args=(q,)).start()", "threading.Thread(target=supervise(poll), args=(q,))"),
        ("asyncio.ensure_future(consume_forever(q))", "asyncio.ensure_future(supervise(consume_forever)(q))"),
    ],
)
def test_a_long_lived_loop_is_offered_supervise_as_well(spawn: str, kept_running: str) -> None:
    """wrap() reports the failure and the loop still ends; supervise() restarts it (a coroutine
    function, not a coroutine object, which runs once)."""
    loops = (
        "def poll(q):\n    while True:\n        q.get()()\n\n"
        "async def consume_forever(q):\n    while True:\n        (await q.get())()\n\n"
    )
    message = _only(HEAD + loops + spawn + "\n").message
    assert message.endswith(f", or to keep it running: {kept_running}"), message
    once = _only(HEAD + "threading.Thread(target=work).start()\n").message
    assert "supervise" not in once  # a one-shot thread: wrap() is the whole fix


def test_a_callable_handed_on_from_helper_to_helper_is_judged_where_it_was_handed_in() -> None:
    """sleekxmpp's state machine: `transition(func=func)` hands its parameter on to
    `transition_any`, which calls it. Whose code runs there, the worker that calls
    `transition` tells: its own method, no foreign code; a parameter of its own, foreign."""
    source = textwrap.dedent(
        """\
        import threading

        class StateMachine:
            def transition(self, to_state, func=None):
                return self.transition_any([to_state], func=func)

            def transition_any(self, states, func=None):
                return func()

        class Stream:
            def __init__(self):
                self.state = StateMachine()

            def _connect(self):
                return self.sock.connect()

            def _process(self):
                while True:
                    self.state.transition("connected", func=self._connect)

            def _watch(self, on_change):
                while True:
                    self.state.transition("changed", func=on_change)

            def start(self, on_change):
                threading.Thread(target=self._process).start()
                threading.Thread(target=self._watch, args=(on_change,)).start()
        """
    )
    process, watch = check_module(ast.parse(source), EVERYTHING)
    assert "line 19: self.state.transition('connected', func=self._connect) runs outside any try; a failure" in (
        process.message
    )
    assert "handed-in" not in process.message
    assert "runs outside any try; it runs the handed-in callable 'func' (line 8)" in watch.message


def test_a_task_read_only_after_a_join_it_hangs_is_reported_with_its_waiter() -> None:
    """litestar's shutdown: `join()` waits for the worker to mark each item done, and the task is
    awaited only after it. The read never comes; delivering the failure to the queue would only
    add an item to wait for: the message says to mark each item done in a `finally:`."""
    source = textwrap.dedent(
        """\
        import asyncio

        class Channels:
            async def _publish(self):
                while self._queue:
                    data = await self._queue.get()
                    await self._backend.publish(data)
                    self._queue.task_done()

            def start(self):
                self._queue = asyncio.Queue()
                self._task = asyncio.create_task(self._publish())

            def publish(self, data):
                self._queue.put_nowait(data)

            async def stop(self):
                await self._queue.join()
                await self._task
        """
    )
    violation = _only(source)
    assert violation.confidence is Confidence.HIGH
    assert "it is read only after a wait that its failure never lets end; stop() waits on self._queue (line 18)" in (
        violation.message
    )
    assert "mark each item done in a finally: around its work" in violation.message
    assert "deliver=" not in violation.message


def test_a_queue_joined_while_its_consumer_fails_before_its_loop_waits_for_the_worker_too() -> None:
    """mlserver's batch writer: the output file is opened before the loop that marks each item
    done, so no `finally:` in that loop would release the join."""
    source = textwrap.dedent(
        """\
        import asyncio

        async def finalize(queue, path):
            async with open_output(path) as out:
                while True:
                    item = await queue.get()
                    await out.write(item)
                    queue.task_done()

        async def process_batch(path):
            queue = asyncio.Queue()
            task = asyncio.create_task(finalize(queue, path))
            await queue.join()
            await task
        """
    )
    violation = _only(source)
    assert "process_batch() waits on queue (line 13)" in violation.message
    assert "it fails outside the loop that marks the items done: have process_batch() wait for the worker too" in (
        violation.message
    )
    assert "in a finally" not in violation.message


def test_an_exception_type_named_in_lower_case_is_shown_with_its_module() -> None:
    """spyder's language-server reader: `except socket.error`, not a bare "error"."""
    source = textwrap.dedent(
        """\
        import socket, threading

        def read_incoming(conn):
            while True:
                try:
                    body = conn.recv_message()
                    dispatch(body)
                except (socket.error, socket.timeout, ValueError):
                    continue

        threading.Thread(target=read_incoming, args=(1,)).start()
        """
    )
    violation = _only(source)
    assert "handlers catch only socket.error, socket.timeout, ValueError" in violation.message


def test_a_def_of_one_name_in_each_branch_is_the_one_its_branch_starts() -> None:
    """pyspark's InheritableThread: `copy_local_properties` is defined in each branch of an `if`
    and started in its own; the first report named the second def's line."""
    source = textwrap.dedent(
        """\
        import threading

        def start(remote, session):
            if remote:
                def copy_properties():
                    session.tags = remote.fetch_tags()
                threading.Thread(target=copy_properties).start()
            else:
                def copy_properties():
                    session.properties = fetch()
                threading.Thread(target=copy_properties).start()
        """
    )
    first, second = sorted(check_module(ast.parse(source), EVERYTHING), key=lambda v: v.line)
    assert "line 6: session.tags = remote.fetch_tags()" in first.message
    assert "line 10: session.properties = fetch()" in second.message
