"""The words of a report: what the worker is, the line a failure escapes from and why, what
it costs, who waits for it, and how to guard it.

    thread target 'work' is not guarded: line 41: self._flush(batch) is in a try whose
    handlers catch only ConnectionError; a failure ends its long-lived loop; ...; wrap it:
    threading.Thread(target=wrap(work), daemon=True)
"""

from __future__ import annotations

import ast
import os

from ..codes import THREAD_DIES, Code
from .exposure import Exposure, Uncovered
from .index import FUNCTION_TYPES, LOOP_TYPES, TRY_TYPES, dotted_text
from .resolve import Unresolved
from .spawns import Spawn
from .waiters import Hang

_MAX_NAME = 40
# ast.unparse recurses once per level of nesting: larger expressions are shown by their start.
_MAX_UNPARSED_NODES = 200

# What is at stake, where it depends on more than the code.
PROCESS_STAKE = "the process exits non-zero and nothing reads its exit status"
# The loop keeps only a weak reference: an unreferenced task can be collected mid-run, and
# asyncio logs a failure when it frees the task (at once, by reference counting, unless a cycle
# holds it), where no code of the program reads it.
DROPPED_TASK_STAKE = (
    "nothing references the task: it can be collected before it ends, and its failure reaches only "
    'asyncio\'s log ("Task exception was never retrieved"), not the program'
)
HELD_TASK_STAKE = "the task is held but nobody reads it: its failure stays silent while the holder lives"
# `await self._queue.join()` then `await self._task`: the read never comes (the waiter, named
# after it in the message, hangs first).
READ_AFTER_THE_WAIT_STAKE = "it is read only after a wait that its failure never lets end"
# `tasks.add(task); task.add_done_callback(tasks.discard)`: freed as it ends, so logged then.
RELEASED_TASK_STAKE = (
    "the task is released when it ends: its failure reaches only asyncio's log "
    '("Task exception was never retrieved"), not the program'
)
# run_in_executor's future is asyncio's: like a task's, it logs an unread failure when freed.
LOOP_FUTURE_STAKE = (
    "its exception is stored in an asyncio future that nothing reads: "
    'it reaches only asyncio\'s log ("Future exception was never retrieved"), not the program'
)
PER_ITEM_CHILD_STAKE = (
    "it is started per connection or message: one failing child cancels the whole group and every other connection"
)
LONG_RUNNING_CHILD_STAKE = (
    "it runs a long-lived loop: its failure cancels the whole group and every long-running sibling"
)
# A finally around the failing line may tell others that the worker ended (set an event, fail
# the waiters' futures, call a `closed()` hook): "nothing learns of it" would be false then.
THREAD_DIES_AFTER_FINALLY = (
    "the thread dies after its finally ({where}) runs: its traceback goes to stderr, the program learns "
    "at most that it ended, not why, and its work stops"
)


def shown(expr: ast.expr) -> str:
    """Source-like text for a name in a message, shortened to stay on one readable line."""
    if _larger_than(expr, _MAX_UNPARSED_NODES):
        return _start_of(expr)
    text = " ".join(ast.unparse(expr).split())
    return text if len(text) <= _MAX_NAME else text[: _MAX_NAME - 3] + "..."


def target_name(spawn: Spawn) -> str:
    """What the message calls the worker: the callable, or the coroutine function called."""
    target = spawn.target
    if spawn.coroutine and isinstance(target, ast.Call):
        return shown(target.func)
    return shown(target)


def spawn_message(
    code: Code,
    spawn: Spawn,
    *,
    stake: str | None,
    unresolved: Unresolved | None = None,
    exposure: Exposure | None = None,
    hang: Hang | None = None,
    checked_path: str | None = None,
) -> str:
    what = f"{'process target' if spawn.process else code.what} '{target_name(spawn)}'"
    consequence = stake or code.consequence
    if unresolved is not None:
        problem = f"{what} could not be inspected ({unresolved.reason}): unless it guards itself, {consequence}"
        return f"{problem}; wrap it: {suggestion(spawn)}"
    assert exposure is not None
    if hang is not None and hang.deliver_to is not None:
        fix = f"deliver the failure to it: {suggestion(spawn, deliver=hang.deliver_to)}"
    elif exposure.in_loop and not spawn.process:
        # wrap() reports the failure and the loop still ends: a worker that must keep running
        # is restarted by supervise() (its rule page says when each fits).
        fix = f"wrap it: {suggestion(spawn)}, or to keep it running: {suggestion(spawn, guard='supervise')}"
    else:
        fix = f"wrap it: {suggestion(spawn)}"
    return _exposed(what, exposure, consequence, hang=hang, checked=checked_path, fix=fix)


def thread_run_message(
    code: Code,
    class_name: str,
    exposure: Exposure,
    *,
    process: bool = False,
    hang: Hang | None = None,
    checked_path: str | None = None,
) -> str:
    what = f"run() of {'process' if process else 'thread'} class '{class_name}'"
    consequence = PROCESS_STAKE if process else code.consequence
    return _exposed(what, exposure, consequence, hang=hang, checked=checked_path, fix="decorate it: @wrap")


def _exposed(
    what: str, exposure: Exposure, consequence: str, *, hang: Hang | None, checked: str | None, fix: str
) -> str:
    state = "is not guarded" if exposure.has_try else "has no try/except guard"
    first = exposure.named(waited_on=hang is not None)
    parts = [f"{what} {state}: {_line(first.node, exposure, checked)}: {first.text()} {first.why}"]
    foreign = exposure.foreign
    if foreign is not None:
        same_line = foreign.module is exposure.module and foreign.call.lineno == first.stmt.lineno
        where = "" if same_line else f" ({_line(foreign.call, exposure, checked, foreign.module.path)})"
        parts.append(f"it runs {foreign.what}{where}")
    if exposure.in_loop:
        parts.append("a failure ends its long-lived loop")
    if consequence == THREAD_DIES:
        around = _finally_around(first, exposure)
        if around is not None:
            consequence = THREAD_DIES_AFTER_FINALLY.format(where=_line(around, exposure, checked))
    parts.append(consequence)
    if hang is not None:
        waiting = hang.waiter
        if hang.deliver_to is not None:
            remedy = ""
        elif hang.remedy is not None and not _outside_its_rounds(first, hang):
            remedy = f"; {hang.remedy}"
        elif hang.remedy is not None:
            remedy = f"; it fails outside the loop that marks the items done: have {waiting} wait for the worker too"
        else:
            remedy = f"; deliver the failure to {hang.holder} (see the rule's page)"
        parts.append(
            f"{waiting} waits on {hang.holder} (line {hang.wait.lineno}), which {hang.verb} only after it: "
            f"a failure hangs {waiting} for ever, and so would wrap() alone{remedy}"
        )
    parts.append(fix)
    return "; ".join(parts)


def _outside_its_rounds(failing: Uncovered, hang: Hang) -> bool:
    """The failing statement stands outside the loop that gives the signal (mlserver's output
    file, opened before the loop that marks each item done): no item is taken, so no `finally:`
    in that loop releases the waiter."""
    index = hang.signal_module.index
    loop = index.parent(hang.signal)
    while loop is not None and not isinstance(loop, (*LOOP_TYPES, *FUNCTION_TYPES)):
        loop = index.parent(loop)
    if not isinstance(loop, LOOP_TYPES) or index.enclosing_function(failing.stmt) is not index.enclosing_function(loop):
        return False
    return not loop.lineno <= failing.stmt.lineno <= (loop.end_lineno or loop.lineno)


def _finally_around(named: Uncovered, exposure: Exposure) -> ast.stmt | None:
    """The first statement of the innermost `finally` of the worker's def that runs as a failure
    of the named statement leaves: one whose `try` holds it in its body, a handler or its `else`."""
    index = exposure.module.index
    node: ast.AST = named.stmt
    parent = index.parent(node)
    while parent is not None and not isinstance(parent, FUNCTION_TYPES):
        final: list[ast.stmt] = getattr(parent, "finalbody", []) if isinstance(parent, TRY_TYPES) else []
        if final and not any(stmt is node for stmt in final):
            return final[0]
        node, parent = parent, index.parent(parent)
    return None


def _line(node: ast.AST, exposure: Exposure, checked: str | None, path: str | None = None) -> str:
    """`line 41`, with the file's name when it is not the checked module."""
    where = path if path is not None else exposure.module.path
    line = getattr(node, "lineno", 0)
    if where is not None and checked is not None and os.path.realpath(where) != os.path.realpath(checked):
        return f"{os.path.basename(where)}:{line}"
    return f"line {line}"


def suggestion(spawn: Spawn, *, deliver: str | None = None, guard: str = "wrap") -> str:
    """The spawn call as it reads with the guard in place, whole: Thread(target=wrap(work), daemon=True);
    with `deliver`, the guard hands the failure to that waiter's channel too."""
    call = spawn.call
    if _larger_than(call, _MAX_UNPARSED_NODES):
        return f"{guard}({target_name(spawn)}) in place of the worker"
    # A new call node sharing the spawn's parts (unparse reads, never writes them).
    delivered = [ast.keyword(arg="deliver", value=ast.Name(id=deliver, ctx=ast.Load()))] if deliver else []
    target = spawn.target
    if guard == "supervise" and spawn.coroutine and isinstance(target, ast.Call):
        # A coroutine object runs once: supervise(consume)(queue) makes a new one per restart.
        supervised = ast.Call(func=ast.Name(id=guard, ctx=ast.Load()), args=[target.func], keywords=[])
        wrapped = ast.Call(func=supervised, args=target.args, keywords=target.keywords)
    else:
        wrapped = ast.Call(func=ast.Name(id=guard, ctx=ast.Load()), args=[target], keywords=delivered)
    args = [wrapped if arg is spawn.target else arg for arg in call.args]
    keywords = [
        ast.keyword(arg=k.arg, value=wrapped) if k.value is spawn.target and k.arg == spawn.keyword else k
        for k in call.keywords
    ]
    return " ".join(ast.unparse(ast.Call(func=call.func, args=args, keywords=keywords)).split())


def _larger_than(expr: ast.AST, limit: int) -> bool:
    return any(count > limit for count, _ in enumerate(ast.walk(expr)))


def _start_of(expr: ast.AST) -> str:
    """The leftmost name or constant of a huge expression, then "...": `w0 ...`."""
    node = expr
    while True:
        children = [child for child in ast.iter_child_nodes(node) if isinstance(child, ast.expr)]
        if not children:
            break
        node = children[0]
    leaf = dotted_text(node) if isinstance(node, ast.expr) else None
    if leaf is None and isinstance(node, ast.Constant):
        leaf = repr(node.value)[:_MAX_NAME]
    return f"{leaf or type(expr).__name__} ..."
