"""How long a worker lives and who holds on to it, as its spawner's code tells: a thread its
spawner joins (its loop lives as long as that call), a task whose coroutine lets go of its
holder as it ends (released, not held), a task read only after a wait that its failure never
lets end (never read at all).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from ..codes import SpawnKind
from .index import FUNCTION_TYPES, FunctionNode, is_name, place_in_block
from .resolve import Resolved, Target
from .waiters import find_hang

if TYPE_CHECKING:
    from .module import ModuleAnalysis
    from .spawns import Spawn


def read_only_after_a_hang(module: ModuleAnalysis, spawn: Spawn, target: Target) -> bool:
    """The task or future the spawn makes is read, in the spawner's module, only after a wait
    its failure never lets end, in the same def: `await self._pub_queue.join()`, then `await
    self._pub_task` (litestar's shutdown), where the worker marks each item done only after
    its failing line. The read never comes: the failure hangs the waiter instead."""
    if not isinstance(target, Resolved):
        return False
    readers = module.channel.readers(spawn.call, spawn.scope)
    if not readers:
        return False
    exposed = module.guards.target_exposure(target)
    hang = find_hang(exposed[0], exposed[1], spawn, module) if exposed is not None else None
    if hang is None or hang.wait_module is not module:
        return False
    waiting = module.index.enclosing_function(hang.wait)
    # A later statement: a read in the wait's own (`first_completed(event.wait(), task)`) races it.
    after = hang.wait.end_lineno or hang.wait.lineno
    return all(
        module.index.enclosing_function(reader) is waiting and getattr(reader, "lineno", 0) > after
        for reader in readers
    )


_JOIN = ("join",)


def joined_by_its_spawner(module: ModuleAnalysis, spawn: Spawn) -> bool:
    """`reader = Thread(target=self._read_response, args=(stderr, result)); reader.start(); ...;
    reader.join()`: the spawner waits for the worker to finish its work, so the worker's loop
    lives only as long as that call (a reader of a child process's output), and its end is the
    spawner's to see. Not a worker told to stop first (`stop.set(); renewer.join()`): that one
    serves for as long as the spawner's own work runs (huey's lease renewer)."""
    if spawn.kind is not SpawnKind.THREAD:
        return False
    store = module.index.parent(spawn.call)
    if not (isinstance(store, ast.Assign) and len(store.targets) == 1 and isinstance(store.targets[0], ast.Name)):
        return False
    thread = store.targets[0].id
    for use, scope in module.index.name_reads.get(thread, ()):
        call = module.index.method_call(use, _JOIN) if scope is spawn.scope else None
        if call is not None and not call.args and not call.keywords and not _told_to_stop_before(module, call, thread):
            return True
    return False


# What tells a worker to stop: an event's `set()`, a `cancel()`, `stop()`, `close()`,
# `shutdown()`, or an end marker put on its queue.
_STOPPING = frozenset({"set", "cancel", "stop", "close", "shutdown", "put", "put_nowait"})


def _told_to_stop_before(module: ModuleAnalysis, join: ast.Call, thread: str) -> bool:
    """A statement before the join's, in its block, tells the worker to stop (`stop.set()`, a
    flag set `self._running = False`, an end marker put); not one that sets up the `thread`
    object itself (`reader.daemon = True`)."""
    stmt = module.index.parent(join)
    found = place_in_block(module.index.parent(stmt), stmt) if stmt is not None else None
    return found is not None and any(_tells_to_stop(before, thread) for before in found[0][: found[1]])


def _tells_to_stop(stmt: ast.stmt, thread: str) -> bool:
    if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Call):
        func = stmt.value.func
        return isinstance(func, ast.Attribute) and func.attr in _STOPPING and not is_name(func.value, thread)
    return (
        isinstance(stmt, ast.Assign)
        and isinstance(stmt.value, ast.Constant)
        and any(isinstance(target, ast.Attribute) and not is_name(target.value, thread) for target in stmt.targets)
    )


def lets_go_of_itself(module: ModuleAnalysis, spawn: Spawn, target: Target) -> bool:
    """`self._task = create_task(self._run())`, where `_run`'s body ends in a `try` whose
    `finally` sets `self._task = None`, and nothing before that try can fail: the holder lets go
    of the task as it ends, so a failure is asyncio's to log then, as a dropped task's is
    (hass-nabucasa's reconnect task; panel's file watcher, which imports and reads a field
    first)."""
    store = module.index.parent(spawn.call)
    if not (
        isinstance(store, ast.Assign)
        and len(store.targets) == 1
        and isinstance(store.targets[0], ast.Attribute)
        and _is_self_of(store.targets[0].value, module.index.enclosing_function(spawn.call))
    ):
        return False
    if not isinstance(target, Resolved):
        return False
    exposed = module.guards.target_exposure(target)
    if exposed is None:
        return False
    attribute = store.targets[0].attr
    root, exposure = exposed
    # The exposure's first statement that can fail is the root def's: of any other def the
    # target may be, nothing is known to be harmless before its try.
    return all(
        _finally_clears(d.node, attribute, first) or _clears_before_failing(d.node, attribute, first)
        for d in target.functions
        for first in [exposure.first.stmt if d.node is root.node else None]
    )


def _finally_clears(fn: FunctionNode, attribute: str, first: ast.stmt | None) -> bool:
    """The def's body (its docstring aside) ends in a `try` whose `finally` sets
    `self.<attribute>` to None, and nothing before that try can fail: there is nothing before
    it, or the def's first statement that can fail (`first`) is in it."""
    body = fn.body[1:] if ast.get_docstring(fn, clean=False) is not None else fn.body
    if not body or not isinstance(body[-1], ast.Try):
        return False
    guard = body[-1]
    if len(body) > 1 and (first is None or not guard.lineno <= first.lineno <= (guard.end_lineno or guard.lineno)):
        return False
    return any(_clears(stmt, attribute, fn) for stmt in guard.finalbody)


def _clears_before_failing(fn: FunctionNode, attribute: str, first: ast.stmt | None) -> bool:
    """A statement of the def's own body, `self.<attribute> = None`, comes before its first
    statement that can fail (`first`): whatever fails, fails once the holder has let go
    (aioharmony's listener clears its task, then reconnects)."""
    return first is not None and any(_clears(stmt, attribute, fn) and stmt.lineno < first.lineno for stmt in fn.body)


def _clears(stmt: ast.stmt, attribute: str, fn: FunctionNode) -> bool:
    """`self.<attribute> = None`."""
    return (
        isinstance(stmt, ast.Assign)
        and isinstance(stmt.value, ast.Constant)
        and stmt.value.value is None
        and any(isinstance(t, ast.Attribute) and t.attr == attribute and _is_self_of(t.value, fn) for t in stmt.targets)
    )


def _is_self_of(expr: ast.expr, fn: FunctionNode | ast.Lambda | None) -> bool:
    """`expr` is the first parameter of the method `fn` (its `self`)."""
    if not isinstance(fn, FUNCTION_TYPES) or not isinstance(expr, ast.Name):
        return False
    positional = fn.args.posonlyargs + fn.args.args
    return bool(positional) and positional[0].arg == expr.id
