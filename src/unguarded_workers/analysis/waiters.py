"""Waiters a worker's failure leaves hanging: the strongest evidence a report can have.

A worker that is to signal someone (set an event, put a result or an end marker on a queue,
resolve a future, mark a queue item done) only after code that can fail, while someone blocks
on that signal with no timeout, hangs the one who waits when it fails:

Hangs (stop() waits on self._exited, which is set only after the failing line):
    def _run(self):
        self._flush()                 # can fail
        self._exited.set()
    def stop(self):
        self._exited.wait()

    def worker(results):              # the spawner waits on what it handed in
        results.put(compute())
    results = queue.Queue(); Thread(target=worker, args=(results,)).start(); results.get()

Does not hang:
    finally: self._exited.set()       # signalled on failure too
    try:                              # the same signal in a finally around the failing line
        self._results.put(work())
    finally:
        self._results.put(END)
    except Exception:                 # or in a handler of every exception around it
        self._results.put(END); raise
    self._exited.wait(5)              # a wait with a timeout
    def end_connection(self):         # released elsewhere too, whatever became of the worker
        self._finished.cancel()
"""

from __future__ import annotations

import ast
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, NamedTuple

from .exposure import Exposure, quoted
from .index import (
    FUNCTION_TYPES,
    LOOP_TYPES,
    TRY_TYPES,
    Binding,
    FunctionNode,
    Scope,
    assigned_values,
    call_argument,
    dotted_text,
    handled_types,
    is_name,
    is_none,
    last_name,
    own_nodes,
    own_statements,
    place_in_block,
)
from .known import (
    CONTAINER_INSERTS,
    CONTAINER_TAKES,
    INSPECTING_BUILTINS,
    LOCK_CLASSES,
    LOG_METHODS,
    PARTIALS,
    TIMEOUT_SCOPES,
    TIMEOUT_WRAPPERS,
    names_a_lock,
)
from .loops import TIMEOUTS, is_unbounded_loop, sleeps
from .resolve import Resolved

if TYPE_CHECKING:
    from .module import Def, ModuleAnalysis
    from .spawns import Spawn


class _Signal(NamedTuple):
    """A signal a worker gives: the calls that block on it, how a message says it is given
    ("stop() waits on self._exited, which is set only after it"), and, where not every signal
    releases its waiters, the calls that do."""

    waits: frozenset[str]
    verb: str
    released_by: frozenset[str] | None = None  # None: any signal, or cancelling a future
    # What releases the waiter instead of delivering the failure to it (None: delivering it
    # does, `wrap(..., deliver=holder)`).
    remedy: str | None = None


# A signal a worker gives, by the method that gives it. A queue's `join()` waits for every item
# to be marked done: delivering the failure (putting it on the queue) releases no one there,
# nor does putting an item (only adds work to wait for); the item's `task_done()` in a
# `finally:` does.
_SIGNALS: dict[str, _Signal] = {
    "set": _Signal(frozenset({"wait"}), "is set"),
    "put": _Signal(frozenset({"get", "join"}), "gets its item"),
    "put_nowait": _Signal(frozenset({"get", "join"}), "gets its item"),
    "set_result": _Signal(frozenset({"result", "exception"}), "is resolved"),
    "set_exception": _Signal(frozenset({"result", "exception"}), "is resolved"),
    "task_done": _Signal(
        frozenset({"join"}),
        "has its item marked done",
        released_by=frozenset({"task_done"}),
        remedy="mark each item done in a finally: around its work",
    ),
    "release": _Signal(frozenset({"acquire"}), "is released"),
    "notify": _Signal(frozenset({"wait"}), "is notified"),
    "notify_all": _Signal(frozenset({"wait"}), "is notified"),
}
# Awaiting the holder itself waits for a future's result.
_AWAITED_SIGNALS = frozenset({"set_result", "set_exception"})
# The worker hands the holder on to other code (`self.engine.setup(loop, ready)`), which is to
# signal it: any blocking wait on it is for what only that code, run after the failing line, gives.
_HANDED_ON = "handed on"
_SIGNALS[_HANDED_ON] = _Signal(frozenset({"wait", "get", "join", "result", "acquire"}), "is handed on")


@dataclass(frozen=True)
class Hang:
    """The worker's signal, given only after its failing line, and the blocking wait for it."""

    signal: ast.Call | ast.Assign  # a flag's assignment, `self._ready = True`, too
    signal_module: ModuleAnalysis
    wait: ast.expr  # the waiting call, or the `await`
    wait_module: ModuleAnalysis
    holder: str  # as written where it is waited on: "self._exited"
    waiter: str  # who waits: "stop()", or "the module"
    verb: str  # what the signal does to the holder: "is set", "gets its item", ...
    # The holder as the spawn line can name it, for `wrap(..., deliver=...)`; None when it cannot.
    deliver_to: str | None = None
    remedy: str | None = None  # what releases the waiter, where delivering the failure does not


def find_hang(root: Def, exposure: Exposure, spawn: Spawn | None, spawner: ModuleAnalysis | None) -> Hang | None:
    """The first signal of `root` given after its first uncovered statement that someone
    waits for; `spawn` (in `spawner`) maps the worker's parameters to what was handed in."""
    module = root.module
    if exposure.module is not module:
        return None
    first = exposure.first.stmt
    after = (first.lineno, first.col_offset)
    scope = module.index.inner_scope(root.node)
    nodes = list(_plain_nodes(root.node))  # walked once for all three questions below
    # Its own signals first, then (only if none hangs anyone) what it hands on to code that is to signal.
    own = [(call, method, signal, _receiver(signal)) for call, method, signal in _given_signals(module, nodes, scope)]
    given = {id(signal) for _, _, signal, _ in own}  # the worker's, in its methods too
    handed = ((call, _HANDED_ON, call, holder) for call, holder in _handed_on(nodes, scope))
    several = spawn is not None and spawner is not None and _starts_several(spawner, spawn)
    for call, method, signal, holder in itertools.chain(own, handed):
        if (call.lineno, call.col_offset) <= after and not _argument_fails_first(call, first):
            continue
        if (
            several
            and isinstance(holder, ast.Attribute)
            and not (method == "task_done" and _takes_from_before(nodes, holder, first))
        ):
            # `for device in devices: Thread(target=read, args=(device,))`, each putting on
            # `self.event_queue`: one reader's failure leaves the others feeding the waiter.
            # Not so a queue's `join()` when the worker fails holding an item it took: that item
            # is never marked done (aim's task queue); failing before the take, it held none.
            continue
        if _given_on_failure(module, call, method=method, holder=holder, scope=scope, first=first):
            continue
        uses = list(_holder_waits(module, holder, scope, root, spawn=spawn, spawner=spawner))
        if any(_releases(use_module, use, given, method) for use, use_module, _ in uses):
            continue  # released elsewhere too (`end_connection()` cancels it): no certain hang
        for wait, wait_module, shown in uses:
            if _waits_for(wait_module, wait, method):
                waiter = _waiter_name(wait_module, wait)
                given_as = _SIGNALS[method]
                deliver_to = None if given_as.remedy else _at_the_spawn(holder, scope, root, spawn, spawner)
                return Hang(
                    signal, module, wait, wait_module, shown, waiter, given_as.verb, deliver_to, given_as.remedy
                )
    return _polled_flag(module, root, first, scope, nodes)


# What releases a loop that polls a flag the dead worker was to set: no failure can be put in it.
_FLAG_REMEDY = "make its loop also end once the worker is no longer alive"


def _polled_flag(module: ModuleAnalysis, root: Def, first: ast.stmt, scope: Scope, nodes: list[ast.AST]) -> Hang | None:
    """`self._startup_complete = True` only after the failing line, while another method of the
    class polls it, `while not self._startup_complete: sleep(0.1)` (twitchAPI's start()), with
    no deadline: the worker's failure leaves that loop polling for ever. Not a flag the worker
    also sets in a `finally:` or a handler, nor one other code sets too."""
    found = scope.enclosing_class()
    if found is None:
        return None
    class_scope, self_name = found
    for node in nodes:
        target = node.targets[0] if isinstance(node, ast.Assign) and len(node.targets) == 1 else None
        if not (
            isinstance(target, ast.Attribute)
            and is_name(target.value, self_name)
            and isinstance(node, ast.Assign)
            and isinstance(node.value, ast.Constant)
            and node.value.value is True
            and (node.lineno, node.col_offset) > (first.lineno, first.col_offset)
        ):
            continue
        if _set_on_the_way_out(root.node, target.attr, self_name) or any(
            isinstance(value, ast.Constant) and value.value is True and where.node is not root.node
            for value, where in class_scope.attr_values.get(target.attr, [])
        ):
            continue  # the waiter is released whatever becomes of the work
        for use, use_scope in module.index.attribute_reads.get(target.attr, ()):
            other = use_scope.enclosing_class()
            if other is None or other[0] is not class_scope or not is_name(use.value, other[1]):
                continue
            loop = _polling(module, use)
            if loop is not None and not _inside(module, use, root.node):
                return Hang(
                    node,
                    module,
                    loop.test,
                    module,
                    quoted(use),
                    _waiter_name(module, use),
                    "is set",
                    None,
                    _FLAG_REMEDY,
                )
    return None


def _set_on_the_way_out(fn: FunctionNode, attr: str, self_name: str) -> bool:
    """Whether a `finally:` or an except handler of the worker assigns `self.<attr>`."""
    for stmt in own_statements(fn.body):
        blocks = [getattr(stmt, "finalbody", []), *(h.body for h in getattr(stmt, "handlers", []))]
        for block in blocks:
            for inner in own_statements(block):
                targets = inner.targets if isinstance(inner, ast.Assign) else []
                if any(
                    isinstance(t, ast.Attribute) and t.attr == attr and is_name(t.value, self_name) for t in targets
                ):
                    return True
    return False


def _polling(module: ModuleAnalysis, use: ast.Attribute) -> ast.While | None:
    """The loop whose test is `not <use>` and whose body only sleeps: `while not self._ready:
    sleep(0.1)`, a wait with no deadline. Not a service's loop that a stop flag ends (`while not
    self.stopped: event = await queue.get(); ...`: it works while the flag is down)."""
    test = module.index.parent(use)
    loop = module.index.parent(test) if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) else None
    if isinstance(loop, ast.While) and loop.test is test and not loop.orelse and all(map(_only_sleeps, loop.body)):
        return loop
    return None


def _only_sleeps(stmt: ast.stmt) -> bool:
    """`time.sleep(0.1)`, `await asyncio.sleep(0.01)`, `pass`."""
    return isinstance(stmt, ast.Pass) or sleeps(stmt)


# What takes an item from a queue, to be marked done.
_QUEUE_TAKES = frozenset({"get", "get_nowait"})


def _takes_from_before(nodes: list[ast.AST], holder: ast.expr, first: ast.stmt) -> bool:
    """Whether the worker takes an item from `holder` (`self._queue.get()`) before its first
    failing statement, in the order of its source."""
    text = dotted_text(holder)
    return any(
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in _QUEUE_TAKES
        and dotted_text(node.func.value) == text
        and (node.lineno, node.col_offset) < (first.lineno, first.col_offset)
        for node in nodes
    )


def _scope_of(module: ModuleAnalysis, node: ast.AST) -> Scope:
    found = module.index.enclosing_function(node)
    return module.index.inner_scope(found) if found is not None else module.index.module_scope


def _holds_a_lock(holder: ast.expr, scope: Scope) -> bool:
    """`self._sem`, `write_lock`, or a name or attribute of the class bound to a lock or
    semaphore (`self._ready = threading.Lock()`): picamera2's `request.release()` gives back
    a reference, and `request.acquire()` waits for nothing."""
    return names_a_lock(last_name(holder) or "") or any(
        isinstance(value, ast.Call) and last_name(value.func) in LOCK_CLASSES
        for value, _ in assigned_values(holder, scope)
    )


def _starts_several(spawner: ModuleAnalysis, spawn: Spawn) -> bool:
    """The spawn runs in a loop (or a comprehension) of its function, which does not leave
    right after it (`create_task(self.restart()); break`): several workers alike."""
    child: ast.AST = spawn.call
    node = spawner.index.parent(child)
    while node is not None and node is not spawn.scope.node:
        if isinstance(node, (ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp)):
            return True
        if _leaves_after(node, child):
            return False
        if isinstance(node, LOOP_TYPES) and child in node.body:
            return True
        child, node = node, spawner.index.parent(node)
    return False


def _leaves_after(node: ast.AST, child: ast.AST) -> bool:
    """A `break`, `return` or `raise` follows `child` in the block of `node` that holds it."""
    found = place_in_block(node, child)
    return found is not None and any(
        isinstance(stmt, (ast.Break, ast.Return, ast.Raise)) for stmt in found[0][found[1] + 1 :]
    )


def _at_the_spawn(
    holder: ast.expr, scope: Scope, root: Def, spawn: Spawn | None, spawner: ModuleAnalysis | None
) -> str | None:
    """The holder as the spawn line can write it: what it handed to the worker's parameter,
    `self.X` from a method of the same class, or a name the spawn sees."""
    if spawn is None or spawner is None:
        return None
    if isinstance(holder, ast.Name):
        owner = scope.lookup(holder.id)
        if owner is scope and owner.bindings.get(holder.id) is Binding.PARAM:
            handed = handed_in(root.node, holder.id, spawn)
            return quoted(handed) if isinstance(handed, (ast.Name, ast.Attribute)) else None
        if spawner is root.module and owner is not None and spawn.scope.lookup(holder.id) is owner:
            return holder.id
        return None
    if isinstance(holder, ast.Attribute) and spawner is root.module:
        worker_class, spawn_class = scope.enclosing_class(), spawn.scope.enclosing_class()
        if worker_class is not None and spawn_class is not None and worker_class[0] is spawn_class[0]:
            return f"{spawn_class[1]}.{holder.attr}"
    return None


def _given_on_failure(
    module: ModuleAnalysis, call: ast.Call, *, method: str, holder: ast.expr, scope: Scope, first: ast.stmt
) -> bool:
    """Whether a `try` around both the failing statement and the signal gives the holder the
    same signal when it fails: in its `finally:` (`finally: self._raw_queue.put(b"")`), or in a
    handler of every exception, around a failing line of its body (`except Exception:
    self._queue.put(END); raise`). The waiter is woken on failure too."""
    text = dotted_text(holder)
    if text is None:
        return False
    waits = _SIGNALS[method].waits
    fn = scope.node
    child: ast.AST = call
    current = module.index.parent(call)
    while current is not None and current is not fn:
        if isinstance(current, TRY_TYPES):
            finalbody: list[ast.stmt] = getattr(current, "finalbody", [])
            body: list[ast.stmt] = getattr(current, "body", [])
            handlers: list[ast.ExceptHandler] = getattr(current, "handlers", [])
            if finalbody and _within(first, [current]) and _signals_holder(finalbody, text, waits):
                return True
            if child in body and _within(first, body):
                broad = [h for h in handlers if module.guards.is_broad(h.type, scope)]
                if any(_signals_holder(h.body, text, waits) for h in broad):
                    return True
        child, current = current, module.index.parent(current)
    return False


def _signals_holder(body: list[ast.stmt], text: str, waits: frozenset[str]) -> bool:
    """Whether `body` gives the holder written `text` a signal (as `_signals_in` tells one) that
    ends one of `waits`."""
    return any(
        _SIGNALS[method].waits & waits and dotted_text(_receiver(call)) == text
        for call, method in _signals_in(list(own_nodes(body)))
    )


def _within(stmt: ast.stmt, block: list[ast.stmt]) -> bool:
    """Whether `stmt` lies within the lines of `block` (a statement, or a body)."""
    start, end = block[0].lineno, block[-1].end_lineno or block[-1].lineno
    return start <= stmt.lineno <= end


def _argument_fails_first(call: ast.Call, first: ast.stmt) -> bool:
    """`results.put(compute())` as the failing statement: its argument runs, and can fail,
    before the signal is given."""
    if not (first.lineno <= call.lineno <= (first.end_lineno or first.lineno)):
        return False
    return any(isinstance(node, ast.Call) for arg in (*call.args, *call.keywords) for node in ast.walk(arg))


def _given_signals(
    module: ModuleAnalysis, nodes: list[ast.AST], scope: Scope
) -> Iterator[tuple[ast.Call, str, ast.Call]]:
    """(the worker's call that gives it, the signalling method, the signalling call): the
    worker's own signals (in `nodes`, its `_plain_nodes`), and those of a method of its class
    it calls (`self._mark_ready()`, whose body sets `self._ready`), in the worker's source order."""
    fn = scope.node
    found: list[tuple[ast.Call, str, ast.Call]] = [(call, method, call) for call, method in _signals_in(nodes)]
    for call in _self_calls(nodes, scope):
        target = module.resolver.callable_target(call.func, scope)
        if isinstance(target, Resolved):
            for definition in target.functions:
                if definition.module is module and definition.node is not fn:
                    # Only `self.X`: a variable of the method means nothing where the worker runs.
                    found += [
                        (call, method, inner)
                        for inner, method in _signals(definition.node)
                        if isinstance(inner.func, ast.Attribute) and isinstance(inner.func.value, ast.Attribute)
                    ]
    found.sort(key=lambda item: (item[0].lineno, item[0].col_offset))
    return iter(found)


def _receiver(signal: ast.Call) -> ast.expr:
    assert isinstance(signal.func, ast.Attribute)  # `holder.set()`: how _signals found it
    return signal.func.value


def _handed_on(nodes: list[ast.AST], scope: Scope) -> Iterator[tuple[ast.Call, ast.expr]]:
    """(the call, the holder) for each name or `self.X` the def's own statements (`nodes`) pass
    to a call, in source order."""
    found = scope.enclosing_class()
    self_name = found[1] if found is not None else None
    calls = [node for node in nodes if isinstance(node, ast.Call)]
    calls.sort(key=lambda call: (call.lineno, call.col_offset))
    for call in calls:
        if isinstance(call.func, ast.Attribute) and call.func.attr in _BOOKKEEPING:
            continue  # `self._slow_tasks.remove(task)`: a collection's, signalling no one
        if isinstance(call.func, ast.Name) and call.func.id in INSPECTING_BUILTINS:
            continue  # `getattr(self._proc, name)`: read, handed to no one (thonny's listener)
        for arg in (*call.args, *(k.value for k in call.keywords)):
            own_attribute = isinstance(arg, ast.Attribute) and self_name is not None and is_name(arg.value, self_name)
            if own_attribute or (isinstance(arg, ast.Name) and arg.id != self_name):
                yield call, arg


# A collection's methods, and a logger's: the holder passed to them is kept or shown, not signalled.
_BOOKKEEPING = CONTAINER_INSERTS | CONTAINER_TAKES | LOG_METHODS | {"index", "count"}


def _self_calls(nodes: list[ast.AST], scope: Scope) -> Iterator[ast.Call]:
    """Calls of `self.method(...)` among the def's own nodes (not in `finally:` or handlers)."""
    found = scope.enclosing_class()
    if found is None:
        return
    self_name = found[1]
    for node in nodes:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and is_name(node.func.value, self_name):
            yield node


def _plain_nodes(fn: FunctionNode) -> Iterator[ast.AST]:
    """The def's nodes but those of `finally:`, except handlers (both run when it fails) and nested defs."""
    stack: list[ast.AST] = list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, (*FUNCTION_TYPES, ast.ClassDef, ast.Lambda, ast.ExceptHandler)):
            continue
        yield node
        if isinstance(node, TRY_TYPES):
            stack.extend([*getattr(node, "body", []), *getattr(node, "handlers", []), *getattr(node, "orelse", [])])
            continue
        stack.extend(ast.iter_child_nodes(node))


def _signals(fn: FunctionNode) -> Iterator[tuple[ast.Call, str]]:
    """The def's signalling calls, in source order, not inside `finally:`, an except handler
    (both run when it fails) or a nested def."""
    return _signals_in(list(_plain_nodes(fn)))


def _signals_in(nodes: list[ast.AST]) -> Iterator[tuple[ast.Call, str]]:
    """`_signals` of a def, from its `_plain_nodes`."""
    found: list[tuple[ast.Call, str]] = []
    for node in nodes:
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in _SIGNALS:
            method = node.func.attr
            if method not in ("set", "release", "task_done", "notify", "notify_all") or not node.args:
                found.append((node, method))
    found.sort(key=lambda item: (item[0].lineno, item[0].col_offset))
    return iter(found)


def _holder_waits(
    module: ModuleAnalysis,
    holder: ast.expr,
    scope: Scope,
    root: Def,
    *,
    spawn: Spawn | None,
    spawner: ModuleAnalysis | None,
) -> Iterator[tuple[ast.expr, ModuleAnalysis, str]]:
    """Every use of what `holder` names elsewhere than in the worker: (the use, its module, the
    holder as written there)."""
    index = module.index
    if isinstance(holder, ast.Attribute) and isinstance(holder.value, ast.Name):
        found = scope.enclosing_class()
        if found is None or found[1] != holder.value.id:
            return
        class_scope = found[0]
        for use, use_scope in index.attribute_reads.get(holder.attr, ()):
            other = use_scope.enclosing_class()
            if other is None or other[0] is not class_scope or not is_name(use.value, other[1]):
                continue  # another class's attribute of the same name
            if not _inside(module, use, root.node):
                yield use, module, quoted(use)
        return
    if not isinstance(holder, ast.Name):
        return
    owner = scope.lookup(holder.id)
    if owner is None:
        return
    if owner is scope and owner.bindings[holder.id] is Binding.PARAM:
        if spawn is not None and spawner is not None:
            handed = handed_in(root.node, holder.id, spawn)
            if handed is not None:
                yield from _expression_uses(spawner, handed, spawn.scope)
        return
    if owner is scope:
        return  # the worker's own variable: no one else can wait on it (nor is the module searched)
    for name_use, use_scope in index.name_reads.get(holder.id, ()):
        if use_scope.lookup(holder.id) is owner and not _inside(module, name_use, root.node):
            yield name_use, module, holder.id


def _expression_uses(
    module: ModuleAnalysis, expr: ast.expr, scope: Scope
) -> Iterator[tuple[ast.expr, ModuleAnalysis, str]]:
    """The uses, in the spawner's module, of the name or `self.X` that was handed to the worker."""
    index = module.index
    if isinstance(expr, ast.Name):
        owner = scope.lookup(expr.id)
        for name_use, use_scope in index.name_reads.get(expr.id, ()):
            if name_use is not expr and use_scope.lookup(expr.id) is owner:
                yield name_use, module, expr.id
    elif isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        found = scope.enclosing_class()
        if found is None or found[1] != expr.value.id:
            return
        for attribute_use, use_scope in index.attribute_reads.get(expr.attr, ()):
            other = use_scope.enclosing_class()
            if attribute_use is not expr and other is not None and other[0] is found[0]:
                yield attribute_use, module, quoted(attribute_use)


def handed_in(fn: FunctionNode, param: str, spawn: Spawn) -> ast.expr | None:
    """The expression the spawn hands to the worker's parameter `param`, if it can tell."""
    params = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]
    target = spawn.target
    bound = isinstance(target, ast.Attribute) or (
        spawn.coroutine and isinstance(target, ast.Call) and isinstance(target.func, ast.Attribute)
    )
    if params and params[0] in ("self", "cls") and bound:
        params = params[1:]  # a bound method (`self._run`, `self._serve(conn)`): the instance is not handed in
    positional, keywords = _spawn_arguments(spawn)
    if param in keywords:
        return keywords[param]
    if param in params:
        position = params.index(param)
        if position < len(positional):
            return positional[position]
    return None


def left_out(fn: FunctionNode, param: str, spawn: Spawn) -> bool:
    """Whether the spawn, its arguments all spelled out, hands the worker's parameter `param`
    nothing (`Thread(target=poll, args=(runner, result))`: poll's `callback=None` stays None)."""
    names = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args, *fn.args.kwonlyargs)]
    return param in names and _spelled_out(spawn) and handed_in(fn, param, spawn) is None


def _spelled_out(spawn: Spawn) -> bool:
    """The spawn's arguments for the worker are all written out: no `*args`, no `**options`, no
    partial or lambda between."""
    target, call = spawn.target, spawn.call
    if spawn.coroutine and isinstance(target, ast.Call):
        return _none_unpacked(target.args, target.keywords)
    if not isinstance(target, (ast.Name, ast.Attribute)) or not _none_unpacked(call.args, call.keywords):
        return False
    keywords = {k.arg: k.value for k in call.keywords}
    if spawn.keyword is None:  # `submit(f, a, b)`; not `Timer(5, f, args=(a,))`, read positionally
        return "args" not in keywords and "kwargs" not in keywords
    args, kwargs = keywords.get("args"), keywords.get("kwargs")
    listed = args is None or (isinstance(args, (ast.Tuple, ast.List)) and _none_unpacked(args.elts, []))
    named = kwargs is None or (isinstance(kwargs, ast.Dict) and all(isinstance(k, ast.Constant) for k in kwargs.keys))
    return listed and named


def _none_unpacked(args: list[ast.expr], keywords: list[ast.keyword]) -> bool:
    return not any(isinstance(arg, ast.Starred) for arg in args) and all(k.arg is not None for k in keywords)


def _spawn_arguments(spawn: Spawn) -> tuple[list[ast.expr], dict[str, ast.expr]]:
    """The arguments the worker will be called with: `args=(...)`/`kwargs={...}` of a thread,
    the extra arguments of `submit(f, *args)` / `run_in_executor(e, f, *args)`, the call's
    own arguments for a coroutine, those of `partial(f, ...)`."""
    target = spawn.target
    if spawn.coroutine and isinstance(target, ast.Call):
        return _plain(target.args), {k.arg: k.value for k in target.keywords if k.arg}
    if isinstance(target, ast.Lambda) and isinstance(target.body, ast.Call):
        # `Thread(target=lambda: watch(folders, self._on_change))`: the worker is the call the
        # lambda makes, with what it hands it (not the lambda's own parameters, unknown here).
        own = {a.arg for a in (*target.args.posonlyargs, *target.args.args, *target.args.kwonlyargs)}
        call = target.body
        known = _plain(call.args)
        cut = next((i for i, arg in enumerate(known) if _reads_any(arg, own)), len(known))
        return known[:cut], {k.arg: k.value for k in call.keywords if k.arg and not _reads_any(k.value, own)}
    if isinstance(target, ast.Call) and dotted_text(target.func) in {*PARTIALS, "partial"} and target.args:
        return _plain(target.args[1:]), {k.arg: k.value for k in target.keywords if k.arg}
    call = spawn.call
    keywords = {k.arg: k.value for k in call.keywords if k.arg}
    if spawn.keyword is not None:  # Thread(target=f, args=(...), kwargs={...})
        args = keywords.get("args")
        kwargs = keywords.get("kwargs")
        positional = _plain(args.elts) if isinstance(args, (ast.Tuple, ast.List)) else []
        named: dict[str, ast.expr] = {}
        if isinstance(kwargs, ast.Dict):
            for key, value in zip(kwargs.keys, kwargs.values):
                if isinstance(key, ast.Constant) and isinstance(key.value, str):
                    named[key.value] = value
        return positional, named
    position = next((i for i, arg in enumerate(call.args) if arg is target), None)
    if position is None:
        return [], {}
    return _plain(call.args[position + 1 :]), {k: v for k, v in keywords.items() if k not in ("args", "kwargs")}


def _reads_any(expr: ast.expr, names: set[str]) -> bool:
    return bool(names) and any(isinstance(node, ast.Name) and node.id in names for node in ast.walk(expr))


def _plain(args: list[ast.expr]) -> list[ast.expr]:
    """Positional arguments up to the first `*rest` (after it, positions are unknown)."""
    plain = []
    for arg in args:
        if isinstance(arg, ast.Starred):
            break
        plain.append(arg)
    return plain


# What releases a waiter besides the worker's signal: any signal, and cancelling a future.
_RELEASES = frozenset(name for name in _SIGNALS if name != _HANDED_ON) | {"cancel"}
# Calls that make a task of a coroutine.
_TASK_MAKERS = frozenset({"Task", "create_task", "ensure_future"})
# Runs a coroutine on a loop of another thread, handing back a concurrent future.
_RUN_ON_A_LOOP = "run_coroutine_threadsafe"


def _releases(module: ModuleAnalysis, use: ast.expr, given: set[int], method: str) -> bool:
    """Whether `use` (a read of the holder outside the worker) signals it otherwise than the
    worker does (`given`: its signalling calls, of `method`): `holder.set()`, `holder.cancel()`,
    or hands the signalling method on to be called (`loop.call_soon_threadsafe(holder.release)`)."""
    releasing = _SIGNALS[method].released_by or _RELEASES
    call = module.index.method_call(use, releasing)
    if call is not None:
        return id(call) not in given
    attribute = module.index.parent(use)
    if not (isinstance(attribute, ast.Attribute) and attribute.attr in releasing):
        return False
    parent = module.index.parent(attribute)
    return not (isinstance(parent, ast.Call) and parent.func is attribute)


def _waits_for(module: ModuleAnalysis, use: ast.expr, method: str) -> bool:
    """Whether `use` (a read of the holder in `module`) blocks, with no timeout, until `method`
    is called: `holder.wait()`, `holder.get()`, `await holder`."""
    waits = _SIGNALS[method].waits
    if method in _AWAITED_SIGNALS and isinstance(module.index.parent(use), ast.Await):
        return not _bounded(module, use)
    call = module.index.method_call(use, waits)
    if call is None or _when_ready(module, call) or _while_it_lives(module, call):
        return False
    if not _blocks_for_ever(module, call) and not (
        last_name(call.func) in _RAISING_WAITS and _retried_for_ever(module, call)
    ):
        return False
    if _bounded(module, call):
        return False
    if last_name(call.func) == "acquire" and not _holds_a_lock(use, _scope_of(module, use)):
        return False  # `request.acquire()` takes a reference: only a lock's or semaphore's waits
    return not _asyncio_result(module, call) and not _made_a_task(module, call)


def _made_a_task(module: ModuleAnalysis, call: ast.Call) -> bool:
    """`asyncio.Task(sock.get())`, `create_task(q.get())`: the coroutine runs as a task of its
    own, and whoever awaits that task with others (`asyncio.wait([...], FIRST_COMPLETED)`) is
    not blocked on it alone. `run_coroutine_threadsafe(started.wait(), loop)` runs it on a loop,
    and the caller waits only if it asks the future's `result()` (prefect's waiters do not)."""
    parent = module.index.parent(call)
    if not (isinstance(parent, ast.Call) and call in parent.args):
        return False
    if last_name(parent.func) == _RUN_ON_A_LOOP:
        result = module.index.method_call(parent, frozenset({"result"}))
        return result is None or not _blocks_for_ever(module, result)
    return last_name(parent.func) in _TASK_MAKERS


def _asyncio_result(module: ModuleAnalysis, call: ast.Call) -> bool:
    """`future.result()` (or `exception()`) in a coroutine: an asyncio future's, which never
    waits (it raises unless done); there only `await future` does."""
    assert isinstance(call.func, ast.Attribute)
    return call.func.attr in ("result", "exception") and isinstance(
        module.index.enclosing_function(call), ast.AsyncFunctionDef
    )


def _when_ready(module: ModuleAnalysis, call: ast.Call) -> bool:
    """The wait is made only once the holder says it will not block: `while not q.empty():
    q.get()`, `if q.qsize(): q.get()`."""
    assert isinstance(call.func, ast.Attribute)
    holder = dotted_text(call.func.value)
    current = module.index.parent(call)
    while holder is not None and current is not None and not isinstance(current, (*FUNCTION_TYPES, ast.Lambda)):
        if isinstance(current, (ast.If, ast.While)) and _says_ready(current.test, holder):
            return True
        current = module.index.parent(current)
    return False


def _while_it_lives(module: ModuleAnalysis, call: ast.Call) -> bool:
    """The wait is made only while a thread lives, `if self.is_alive(): self.queue.put(STOP);
    self.queue.join()` (qcodes' background writer's shutdown()): a dead worker is not waited
    for, which is why the check is there."""
    current = module.index.parent(call)
    child: ast.AST = call
    while current is not None and not isinstance(current, (*FUNCTION_TYPES, ast.Lambda)):
        if isinstance(current, ast.If) and any(child is stmt for stmt in current.body) and _asks_alive(current.test):
            return True
        child, current = current, module.index.parent(current)
    return False


def _asks_alive(test: ast.expr) -> bool:
    """`thread.is_alive()`, or one of several tests joined by `and`."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return any(_asks_alive(value) for value in test.values)
    return isinstance(test, ast.Call) and not test.args and last_name(test.func) in ("is_alive", "isAlive")


def _says_ready(test: ast.expr, holder: str) -> bool:
    """`not holder.empty()`, `holder.qsize()` (or `holder.qsize() > 0`, `!= 0`)."""
    if isinstance(test, ast.Compare):
        zero = len(test.ops) == 1 and isinstance(test.comparators[0], ast.Constant) and test.comparators[0].value == 0
        if not (zero and isinstance(test.ops[0], (ast.Gt, ast.NotEq))):
            return False
        test = test.left
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        method, test = "empty", test.operand
    else:
        method = "qsize"
    return (
        isinstance(test, ast.Call)
        and isinstance(test.func, ast.Attribute)
        and test.func.attr == method
        and dotted_text(test.func.value) == holder
    )


def _bounded(module: ModuleAnalysis, wait: ast.expr) -> bool:
    """The wait is given a timeout from around it: `asyncio.wait_for(event.wait(), 5)` (through
    `asyncio.shield()` too), or a `with asyncio.timeout(5):` (trio's and anyio's
    `move_on_after`, `fail_after`) it is in. A timeout that may be None (`timeout`, a
    parameter whose default is None) bounds nothing."""
    inner, parent = wait, module.index.parent(wait)
    while isinstance(parent, ast.Await) or (isinstance(parent, ast.Call) and last_name(parent.func) == "shield"):
        inner, parent = parent, module.index.parent(parent)
    if isinstance(parent, ast.Call) and inner in parent.args and last_name(parent.func) in TIMEOUT_WRAPPERS:
        given = (
            parent.args[1]
            if len(parent.args) > 1
            else next((k.value for k in parent.keywords if k.arg == "timeout"), None)
        )
        # Waiting again for an item (`queue.get()`, a future) after each timeout waits for it for
        # ever; an event's timed wait in a loop is a period (`wait_for(stop.wait(), PING)`).
        takes = not isinstance(wait, ast.Call) or last_name(wait.func) in _RAISING_WAITS
        return (
            given is not None and not _may_be_none(module, given) and not (takes and _retried_for_ever(module, parent))
        )
    current = parent
    while current is not None and not isinstance(current, (*FUNCTION_TYPES, ast.Lambda)):
        if isinstance(current, (ast.With, ast.AsyncWith)) and any(
            _limits_time(item.context_expr) for item in current.items
        ):
            return True
        current = module.index.parent(current)
    return False


# Waits for an item whose timeout raises (`queue.Empty`, `TimeoutError`), rather than returning False.
_RAISING_WAITS = frozenset({"get", "result"})
# What a handler that takes a wait's timeout names (a broad one takes it too).
_TAKES_A_TIMEOUT = TIMEOUTS | {"Exception", "BaseException"}


def _retried_for_ever(module: ModuleAnalysis, wait: ast.expr) -> bool:
    """`while True: try: html = await wait_for(queue.get(), 10) except TimeoutError: yield
    heartbeat()`: a timed wait whose timeout a handler takes without leaving a loop that runs
    for ever waits for ever all the same (voila's request, on its render task's end marker);
    so does `q.get(timeout=1)` under `except queue.Empty: continue`. A handler that breaks,
    returns or raises gives up: that wait is bounded."""
    child: ast.AST = wait
    current = module.index.parent(wait)
    caught = False
    while current is not None and not isinstance(current, (*FUNCTION_TYPES, ast.Lambda)):
        body: list[ast.stmt] = getattr(current, "body", [])
        handlers: list[ast.ExceptHandler] = getattr(current, "handlers", [])
        if isinstance(current, TRY_TYPES) and not caught and any(stmt is child for stmt in body):
            handler = next((h for h in handlers if _takes_a_timeout(h.type)), None)
            if handler is not None:
                if any(isinstance(stmt, (ast.Break, ast.Return, ast.Raise)) for stmt in own_statements(handler.body)):
                    return False
                caught = True
        elif isinstance(current, LOOP_TYPES):
            return caught and is_unbounded_loop(current, module.index.parent(current))
        child, current = current, module.index.parent(current)
    return False


def _takes_a_timeout(exc_type: ast.expr | None) -> bool:
    return exc_type is None or any(last_name(t) in _TAKES_A_TIMEOUT for t in handled_types(exc_type))


def _may_be_none(module: ModuleAnalysis, value: ast.expr) -> bool:
    """`None`, or a parameter of the def around it whose default is None (`timeout=None`)."""
    if isinstance(value, ast.Constant):
        return value.value is None
    if not isinstance(value, ast.Name):
        return False
    current = module.index.enclosing_function(value)
    if current is None:
        return False
    args = current.args
    positional = [*args.posonlyargs, *args.args]
    defaults: list[tuple[ast.arg, ast.expr | None]] = [
        *zip(positional[len(positional) - len(args.defaults) :], args.defaults),
        *zip(args.kwonlyargs, args.kw_defaults),
    ]
    defaults_none = any(
        arg.arg == value.id and isinstance(default, ast.Constant) and default.value is None for arg, default in defaults
    )
    return defaults_none and not (isinstance(current, FUNCTION_TYPES) and _always_given(module, current, value.id))


def _always_given(module: ModuleAnalysis, fn: FunctionNode, param: str) -> bool:
    """A private def of the module (`_fetch_next_incoming_message(self, timeout=None)`) whose
    every use is a call of it there that passes `param` something other than None
    (`self._fetch_next_incoming_message(timeout=0.01)`: thonny's backend): its default is never
    used. A public def is the package's interface: users call it as they like."""
    if not fn.name.startswith("_") or fn.name.startswith("__"):
        return False
    index = module.index
    uses: list[ast.Attribute | ast.Name] = [node for node, _ in index.all_attribute_reads.get(fn.name, [])]
    uses += [node for node, _ in index.name_reads.get(fn.name, [])]
    calls = []
    for use in uses:
        call = index.parent(use)
        if not (isinstance(call, ast.Call) and call.func is use):
            return False  # handed on or stored: called elsewhere, as its holder likes
        calls.append((call, isinstance(use, ast.Attribute)))
    return bool(calls) and all(_passes(call, fn, param, bound) for call, bound in calls)


def _passes(call: ast.Call, fn: FunctionNode, param: str, bound: bool) -> bool:
    """The call gives `param` a value that is not None (a method called through its instance,
    `bound`, is given its first parameter, `self`)."""
    given = call_argument(call, fn, param, skipped=1 if bound else 0)
    return given is not None and not is_none(given)


def _limits_time(expr: ast.expr) -> bool:
    """`asyncio.timeout(5)`, `trio.move_on_after(5)`: a scope with a limit (not `timeout(None)`)."""
    if not isinstance(expr, ast.Call) or last_name(expr.func) not in TIMEOUT_SCOPES or not expr.args:
        return False
    first = expr.args[0]
    return not (isinstance(first, ast.Constant) and first.value is None)


def _blocks_for_ever(module: ModuleAnalysis, call: ast.Call) -> bool:
    """No timeout and not told to return at once: `get()`, `wait()`, `result()`, `acquire()`;
    `get(block=True, timeout=5)` has one whichever keyword comes first, and `get(block=block,
    timeout=timeout)` of a def whose `timeout=None` has none by default (walrus's `_get_value()`)."""
    if call.args:
        return False  # wait(5), get(True, 5), get(False), acquire(False), result(10)
    keywords = {keyword.arg: keyword.value for keyword in call.keywords}
    timeout = keywords.get("timeout")
    if timeout is not None and not _may_be_none(module, timeout):
        return False
    block = keywords.get("block", keywords.get("blocking"))
    return block is None or not (isinstance(block, ast.Constant) and not block.value)


def _inside(module: ModuleAnalysis, node: ast.AST, fn: FunctionNode) -> bool:
    """Whether `node` lies within the def `fn` (the worker's own uses are not waiters)."""
    current: ast.AST | None = node
    while current is not None:
        if current is fn:
            return True
        current = module.index.parent(current)
    return False


_PROPERTIES = frozenset({"property", "cached_property"})


def _waiter_name(module: ModuleAnalysis, node: ast.AST) -> str:
    current = module.index.enclosing_function(node)
    if isinstance(current, FUNCTION_TYPES) and any(last_name(d) in _PROPERTIES for d in current.decorator_list):
        return f"a read of the property '{current.name}'"  # gpiozero's `value`: read, not called
    if isinstance(current, FUNCTION_TYPES):
        return f"{current.name}()"
    return "the module" if current is None else "a lambda"
