"""Which loops run for the life of a worker (a failure in one ends the service's work for
good) and which end by themselves once their work is done.

Long-lived:
    while True: item = queue.get(); if item is None: break; handle(item)   # waits for work
    while not self._stop.is_set(): ...      while self._running: ...    while ready.is_set(): ...
    async for message in websocket: ...     for item in iter(queue.get, None): ...

A failure on the way out does not end a long-lived loop: it was ending (the guard analysis
leaves out the simple statements just before a `return`, or a `break` that leaves the loop):
    while True: frame = ws.recv(); if bad(frame): ws.abort(); return; ...

Ending by themselves (a failure there ends one round of work, not a service):
    while True:                             # leaves at the first empty poll, never waiting
        pid, status = os.waitpid(-1, os.WNOHANG)
        if not pid: break
    while self.tasks: self.tasks.popleft().cancel()     # drains what its test reads
    while True:                             # takes until the set is empty
        try: address = pending.pop()
        except KeyError: break
    while True:                             # takes a burst, until none comes for a while
        try: guild = await asyncio.wait_for(q.get(), timeout=2)
        except asyncio.TimeoutError: break
    while True:                             # retries until the work succeeds
        try: ssh.connect(host); break
        except SSHException: sleep(1)
    while True:                             # and so with a test of it
        await asyncio.sleep(backoff)
        if await self.hub_connect(): return
    while self.state is not State.ACKED:    # counts to a bound
        sleep(0.1); misses += 1
        if misses > LIMIT: raise TimeoutError(...)
    while not self.upload_finished():       # waits to a deadline
        if stopwatch.elapsed() >= timeout: raise TimeoutError(...)
        self._worker.join(timeout=1)
    while not condition():                  # and so when it counts down a timeout it was given
        if timeout is not None:
            remaining -= interval
            if remaining <= 0: return False
    try:                                    # drains a container, and the empty one's error ends it
        while True: cached.pop().shutdown()
    except IndexError: pass
    while True:                             # walks a chain to its end
        if exc.__cause__: exc = exc.__cause__
        else: break
    while True:                             # and up a directory tree to its root
        if is_root(path): break
        path = os.path.dirname(path)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from .index import (
    FUNCTION_TYPES,
    LOOP_TYPES,
    TRY_TYPES,
    dotted_text,
    handled_types,
    last_name,
    own_nodes,
    own_statements,
)
from .known import CONTAINER_TAKES, RECEIVE_METHODS, WAIT_METHODS

# A call that waits for the next piece of work: a loop that makes one is a service's loop,
# even when it leaves on a sentinel (`if item is None: break`).
_WAITING_NAMES = RECEIVE_METHODS | WAIT_METHODS | {
    "read", "readline", "readinto", "recv_into", "recvfrom", "select", "poll", "acquire", "sleep",
    "next", "anext", "input",
}  # fmt: skip
# `ip_set.pop()`, `self._pending.popleft()`: a builtin container's take, which raises when it is
# empty rather than waiting.
_CONTAINER_TAKES = CONTAINER_TAKES | {"popitem"}
# Taking from a collection: `while self.tasks: self.tasks.popleft()` ends when it is empty.
_TAKING_METHODS = _CONTAINER_TAKES | {"get", "get_nowait"}
_NON_BLOCKING_FLAGS = frozenset({"WNOHANG", "NOBLOCK", "DONTWAIT", "MSG_DONTWAIT", "O_NONBLOCK"})
# Asking a flag, a thread or a loop its state: a header that runs for as long as the service.
_STATE_QUERIES = frozenset({"is_set", "isSet", "is_alive", "is_running"})
# What a wait with a timeout raises when nothing came: `queue.Empty`, `asyncio.TimeoutError`.
TIMEOUTS = frozenset({"TimeoutError", "Empty", "timeout"})


def is_unbounded_loop(stmt: ast.stmt, parent: ast.AST | None = None) -> bool:
    """A loop meant to run for the life of the worker: `while True:`, `while not stop...:`,
    `while self._running:`, `async for` over a stream, `for x in iter(q.get, None)`; not one
    that ends by itself (see the module's docstring). `parent`: the statement it is in, if
    known (a try around it may end it: `_drained_by_its_try`)."""
    if isinstance(stmt, ast.While) and parent is not None and _drained_by_its_try(stmt, parent):
        return False
    if isinstance(stmt, ast.AsyncFor):
        return True
    if isinstance(stmt, ast.For):
        it = stmt.iter
        return isinstance(it, ast.Call) and dotted_text(it.func) == "iter" and len(it.args) == 2
    if not isinstance(stmt, ast.While) or not _unbounded_test(stmt.test):
        return False
    return not (
        _drains_its_test(stmt)
        or _counts_to_a_bound(stmt)
        or _waits_to_a_deadline(stmt)
        or _drains_a_poll(stmt)
        or _walks_a_chain(stmt)
        or _retries(stmt)
        or _ends_when_idle(stmt)
    )


def _unbounded_test(test: ast.expr) -> bool:
    # Not a header that joins tests, `while self._alive and self.proc.poll() is None:`: taken
    # for long-lived as its parts are, it added 18 default reports on projects read by hand, 2
    # acted on (the other part was a child process's, a queue's or a test harness's life).
    if isinstance(test, ast.Constant):
        return bool(test.value)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return True
    if isinstance(test, ast.Attribute):
        return True  # a flag of the instance: `while self._running:`
    if isinstance(test, ast.Call) and not test.args and last_name(test.func) in _STATE_QUERIES:
        return True  # `while self._connected.is_set():`
    # A state: `while self._state is not State.CLOSED:`.
    return isinstance(test, ast.Compare) and all(
        isinstance(op, (ast.Is, ast.IsNot, ast.Eq, ast.NotEq)) for op in test.ops
    )


def _drains_its_test(loop: ast.While) -> bool:
    """`while self.tasks: self.tasks.popleft()`, `while not q.empty(): q.get_nowait()`: a take
    that does not block. `while self._queue: await self._queue.get()` waits for the next item:
    its test asks whether the queue is still there (litestar's publisher)."""
    read = {dotted_text(node) for node in _names(loop.test)}
    read.discard(None)
    return any(
        isinstance(call.func, ast.Attribute)
        and call.func.attr in _TAKING_METHODS
        and dotted_text(call.func.value) in read
        and (call.func.attr in _CONTAINER_TAKES or _does_not_block(call))  # `self.queue.pop(0)` too
        for call in _own_calls(loop)
    )


def _counts_to_a_bound(loop: ast.While) -> bool:
    """`misses += 1; if misses > LIMIT: raise TimeoutError(...)`: a wait with a deadline; and
    so `if timeout is not None: remaining -= interval; if remaining <= 0: return False`
    (localstack's `poll_condition`)."""
    # Counted on every round (not on each error: a service that gives up after ten errors
    # in a row is still a service).
    counters = {dotted_text(stmt.target) for stmt in _round_statements(loop.body) if isinstance(stmt, ast.AugAssign)}
    counters.discard(None)
    return any(
        isinstance(stmt, ast.If)
        and isinstance(stmt.test, ast.Compare)
        and any(dotted_text(node) in counters for node in _names(stmt.test))
        and any(isinstance(inner, (ast.Raise, ast.Return, ast.Break)) for inner in own_statements(stmt.body))
        for stmt in own_statements(loop.body)
    )


def _drained_by_its_try(loop: ast.While, parent: ast.AST) -> bool:
    """`try: while True: processor = cached.pop(); processor.shutdown() except IndexError: pass`
    (beam's cache shutdown), `try: while True: q.get_nowait() ... except queue.Empty: pass`: a
    loop that takes without waiting, in a try whose handlers take only what an empty container
    or queue raises and leave: it drains what is there, and ends when it is empty."""
    handlers: list[ast.ExceptHandler] = getattr(parent, "handlers", [])
    return (
        isinstance(parent, TRY_TYPES)
        and any(stmt is loop for stmt in getattr(parent, "body", []))
        and bool(handlers)
        and all(
            handler.type is not None and all(last_name(t) in _EMPTY_ERRORS for t in handled_types(handler.type))
            for handler in handlers
        )
        and any(
            isinstance(call.func, ast.Attribute) and call.func.attr in _TAKING_METHODS and _does_not_block(call)
            for call in _own_calls(loop)
        )
    )


# What taking from an empty container or queue raises.
_EMPTY_ERRORS = frozenset({"IndexError", "KeyError", "LookupError", "Empty", "QueueEmpty"})


def _round_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements a loop runs on every round: its own, and those of an `if` that asks
    whether a timeout was given (`if timeout is not None:`); not those of a `try` (nats' ping
    loop counts pings its `PONG` handler sets back to 0: a service), of a handler or of an `if`
    on the round's outcome (`if not client.poll_once(): errors += 1`), nor an inner loop's."""
    for stmt in body:
        yield stmt
        if isinstance(stmt, ast.If) and any(_names_a_deadline(node) for node in _names(stmt.test)):
            yield from _round_statements(stmt.body)


def _waits_to_a_deadline(loop: ast.While) -> bool:
    """`if stopwatch.elapsed() >= timeout: raise TimeoutError(...)`, `if time.monotonic() >
    deadline: return`: a wait that gives up at a deadline (ddtrace's wait for its git upload),
    told by a test of the loop's own that names a timeout or deadline and whose block ends by
    leaving. Not a periodic chore: `if elapsed >= self.cleanup_timeout: self._cleanup(); if
    self.running.is_set(): break; tick = 0` (proxy.py's loop) goes on."""
    return any(
        isinstance(stmt, ast.If)
        and isinstance(stmt.test, ast.Compare)
        and any(_names_a_deadline(node) for node in _names(stmt.test))
        and isinstance(stmt.body[-1], (ast.Raise, ast.Return, ast.Break))
        for stmt in own_statements(loop.body)
    )


def _names_a_deadline(node: ast.Name | ast.Attribute) -> bool:
    name = (node.id if isinstance(node, ast.Name) else node.attr).lower()
    return "timeout" in name or "deadline" in name


def _retries(loop: ast.While) -> bool:
    """`while True: try: ssh.connect(...); break; except SSHException: sleep(1)`: a loop whose
    body ends with a try that leaves it once its work succeeds (the try's body or its `else:`
    ends with `break` or `return`) retries one piece of work; it is no service's loop. (Work
    after such a try is the loop's own: `try: wait_for(stop.wait(), 60) except TimeoutError:
    pass else: break` then `poll()` is a watchdog's round.)"""
    last = loop.body[-1] if loop.body else None
    return (
        isinstance(last, TRY_TYPES)
        and not _only_times_out(last)
        and any(
            block and isinstance(block[-1], (ast.Break, ast.Return))
            for block in (getattr(last, "body", []), getattr(last, "orelse", []))
        )
    ) or (any(map(_leaves_once_it_works, loop.body)) and any(map(sleeps, loop.body)))


def _only_times_out(stmt: ast.stmt) -> bool:
    """`try: return q.get(timeout=1) except queue.Empty: continue`: what the handlers take is only
    the wait's timeout, so the loop waits again, for as long as it runs (vidgear's `read()`),
    rather than retrying work that failed."""
    handlers: list[ast.ExceptHandler] = getattr(stmt, "handlers", [])
    return bool(handlers) and all(
        handler.type is not None and all(last_name(t) in TIMEOUTS for t in handled_types(handler.type))
        for handler in handlers
    )


def _leaves_once_it_works(stmt: ast.stmt) -> bool:
    """`if await self.hub_connect(): return`, in a loop that backs off between tries (a sleep of
    its own): a test that is the work itself, whose success leaves the loop (aioharmony's and
    pymodbus's reconnects); not a question of state, `if stop.is_set(): return`, and not a service
    that sleeps for nothing, whose round's work says when to stop (proxy.py's `if await
    self._run_once(): break`, prompt_toolkit's `if isinstance(item, _Done): break`)."""
    if not (isinstance(stmt, ast.If) and len(stmt.body) == 1 and isinstance(stmt.body[0], (ast.Break, ast.Return))):
        return False
    test = stmt.test.value if isinstance(stmt.test, ast.Await) else stmt.test
    return (
        isinstance(test, ast.Call) and last_name(test.func) not in _STATE_QUERIES | _WAITING_NAMES and not stmt.orelse
    )


def _ends_when_idle(loop: ast.While) -> bool:
    """`while True: try: guild = await wait_for(q.get(), timeout=2) except TimeoutError: break`:
    a try of the loop's own body whose handler of a wait's timeout (`TimeoutError`, `queue.Empty`,
    `socket.timeout`) ends with `break` or `return` leaves once no work came for a while: it
    takes what arrives in a burst (a start-up's), and is no service's loop. A service waits
    again: `except queue.Empty: continue`."""
    return any(
        isinstance(stmt, TRY_TYPES)
        and any(
            handler.body and isinstance(handler.body[-1], (ast.Break, ast.Return)) and _names_a_timeout(handler.type)
            for handler in getattr(stmt, "handlers", [])
        )
        for stmt in loop.body
    )


def _names_a_timeout(exc_type: ast.expr | None) -> bool:
    types = handled_types(exc_type)
    return bool(types) and all(last_name(t) in TIMEOUTS for t in types)


def _drains_a_poll(loop: ast.While) -> bool:
    """`while True: pid, _ = os.waitpid(-1, os.WNOHANG); if not pid: break`: a loop that polls
    without blocking, leaves on its own and never waits drains what is there now. (A loop
    that leaves on a sentinel but waits for work through a def of its own, `msg =
    self.get_message(timeout)`, cannot be told from it by the name: it needs the poll.)"""
    calls = list(_own_calls(loop))
    blocking = [call for call in calls if not _does_not_block(call)]
    return (
        _leaves(loop.body)
        and len(blocking) < len(calls)
        and not any(_waits(call) for call in blocking)
        and not any(isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith)) for node in _own_nodes(loop))
    )


def sleeps(stmt: ast.stmt) -> bool:
    """`time.sleep(delay)`, `await asyncio.sleep(delay)`, as a statement of its own."""
    value = stmt.value if isinstance(stmt, ast.Expr) else None
    if isinstance(value, ast.Await):
        value = value.value
    return isinstance(value, ast.Call) and last_name(value.func) == "sleep"


def _walks_a_chain(loop: ast.While) -> bool:
    """`while True: if exc.__cause__: exc = exc.__cause__ ... else: break`, `while node is not
    None: node = node.next`: a walk along a chain (a name rebound to an attribute of itself)
    that waits for nothing ends at the chain's end (bugsnag's causes of an exception)."""
    walks = any(
        isinstance(stmt, ast.Assign)
        and len(stmt.targets) == 1
        and isinstance(stmt.targets[0], ast.Name)
        and (
            (isinstance(stmt.value, ast.Attribute) and _rooted_at(stmt.value, stmt.targets[0].id))
            or _parent_directory(stmt.value, stmt.targets[0].id)
        )
        for stmt in own_statements(loop.body)
    )
    return (
        walks
        and (_leaves(loop.body) or not isinstance(loop.test, ast.Constant))
        and not any(_waits(call) for call in _own_calls(loop))
        and not any(isinstance(node, (ast.Await, ast.AsyncFor, ast.AsyncWith)) for node in _own_nodes(loop))
    )


def _parent_directory(value: ast.expr, name: str) -> bool:
    """`path = os.path.dirname(path)`, `path = os.path.split(path)[0]`: a walk up a directory
    tree, which ends at its root (xonsh's search for a `.hg` directory)."""
    if isinstance(value, ast.Subscript):
        value = value.value
    return (
        isinstance(value, ast.Call)
        and last_name(value.func) in ("dirname", "split")
        and len(value.args) == 1
        and isinstance(value.args[0], ast.Name)
        and value.args[0].id == name
    )


def _rooted_at(value: ast.Attribute, name: str) -> bool:
    """`exc.__cause__`, `node.parent.next`: an attribute chain read from `name`."""
    root: ast.expr = value
    while isinstance(root, ast.Attribute):
        root = root.value
    return isinstance(root, ast.Name) and root.id == name


def _does_not_block(call: ast.Call) -> bool:
    """`q.get_nowait()`, `ip_set.pop()`, `q.get(block=False)`, `lock.acquire(blocking=False)`,
    `q.get(timeout=0)`, `os.waitpid(pid, os.WNOHANG)`, `socket.recv(zmq.NOBLOCK)`."""
    name = last_name(call.func) or ""
    if name.endswith("_nowait") or (name in _CONTAINER_TAKES and not call.args and not call.keywords):
        return True
    for keyword in call.keywords:
        value = keyword.value
        if not isinstance(value, ast.Constant):
            continue
        if keyword.arg in ("block", "blocking") and value.value is False:
            return True
        if keyword.arg == "timeout" and value.value == 0:
            return True
    arguments = [*call.args, *(k.value for k in call.keywords)]
    return any(last_name(arg) in _NON_BLOCKING_FLAGS for arg in arguments if not isinstance(arg, ast.Call))


def _leaves(body: list[ast.stmt]) -> bool:
    """A `break` or `return` of this loop (not of a loop inside it)."""
    stack = list(body)
    while stack:
        stmt = stack.pop()
        if isinstance(stmt, (ast.Break, ast.Return)):
            return True
        if isinstance(stmt, (*FUNCTION_TYPES, ast.ClassDef, *LOOP_TYPES)):
            continue  # a nested loop's break is its own (a return in one would leave too: rare, not sought)
        for block in ("body", "orelse", "finalbody"):
            stack.extend(getattr(stmt, block, ()))
        for handler in getattr(stmt, "handlers", ()):
            stack.extend(handler.body)
        for case in getattr(stmt, "cases", ()):
            stack.extend(case.body)
    return False


def _waits(call: ast.Call) -> bool:
    return last_name(call.func) in _WAITING_NAMES and not _joins_text(call.func)


def _joins_text(func: ast.expr) -> bool:
    """`os.path.join(path, ".hg")`, `", ".join(names)`: a join of strings, no thread's."""
    if not (isinstance(func, ast.Attribute) and func.attr == "join"):
        return False
    receiver = func.value
    return (isinstance(receiver, ast.Constant) and isinstance(receiver.value, str)) or (
        (dotted_text(receiver) or "").split(".")[-1] in ("path", "posixpath", "ntpath")
    )


def _names(expr: ast.expr) -> Iterator[ast.Name | ast.Attribute]:
    return (node for node in ast.walk(expr) if isinstance(node, (ast.Name, ast.Attribute)))


def _own_calls(loop: ast.While) -> Iterator[ast.Call]:
    return (node for node in _own_nodes(loop) if isinstance(node, ast.Call))


def _own_nodes(loop: ast.While) -> Iterator[ast.AST]:
    """The loop's test and body, not the defs and lambdas inside it."""
    return own_nodes([loop.test, *loop.body])


def has_unbounded_loop(body: list[ast.stmt]) -> bool:
    """The body (nested blocks, not nested defs) holds an unbounded loop."""
    statements = list(own_statements(body))
    tries = {
        id(inner): stmt for stmt in statements if isinstance(stmt, TRY_TYPES) for inner in getattr(stmt, "body", [])
    }
    return any(is_unbounded_loop(stmt, tries.get(id(stmt))) for stmt in statements)
