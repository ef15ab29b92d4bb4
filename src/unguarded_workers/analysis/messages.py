"""The words of a report: what the target is, why it matters, and how to guard it."""

from __future__ import annotations

import ast

from ..codes import Code
from .index import dotted_text
from .resolve import Unresolved
from .spawns import Spawn

_MAX_SHOWN = 40


# ast.unparse recurses once per level of nesting: larger expressions are shown by their start.
_MAX_UNPARSED_NODES = 200


def shown(expr: ast.expr) -> str:
    """Source-like text for an expression, shortened to stay on one readable line."""
    if _larger_than(expr, _MAX_UNPARSED_NODES):
        return _start_of(expr)
    text = " ".join(ast.unparse(expr).split())
    return text if len(text) <= _MAX_SHOWN else text[: _MAX_SHOWN - 3] + "..."


def _larger_than(expr: ast.expr, limit: int) -> bool:
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
        leaf = repr(node.value)[:_MAX_SHOWN]
    return f"{leaf or type(expr).__name__} ..."


def target_name(spawn: Spawn) -> str:
    """What the message calls the worker: the callable, or the coroutine function called."""
    target = spawn.target
    if spawn.coroutine and isinstance(target, ast.Call):
        return shown(target.func)
    return shown(target)


# What is at stake, where it depends on more than the code.
PROCESS_STAKE = "its failure goes unnoticed: the process exits non-zero and nothing reads its exit status"
DROPPED_TASK_STAKE = (
    "nothing references the task: its failure is logged only when the task is garbage-collected, if ever"
)
HELD_TASK_STAKE = "the task is held but nobody reads it: its failure stays silent while the holder lives"
# run_in_executor's future is asyncio's: like a task's, it logs an unread failure when collected.
LOOP_FUTURE_STAKE = (
    "its exception is stored in an asyncio future that nothing reads: "
    "it is logged only when the future is garbage-collected, if ever"
)
PER_ITEM_CHILD_STAKE = (
    "it is started per connection or message: one failing child cancels the whole group and every other connection"
)
LONG_RUNNING_CHILD_STAKE = (
    "it runs a long-lived loop: its failure cancels the whole group and every long-running sibling"
)


def spawn_message(code: Code, spawn: Spawn, unresolved: Unresolved | None, stake: str | None = None) -> str:
    name = target_name(spawn)
    what = "process target" if spawn.process else code.what
    consequence = stake or code.consequence
    if unresolved is None:
        problem = f"{what} '{name}' has no try/except guard: {consequence}"
    else:
        reason = unresolved.reason
        problem = f"{what} '{name}' could not be inspected ({reason}): unless it guards itself, {consequence}"
    return f"{problem}; wrap it: {_suggestion(spawn)}"


def thread_run_message(code: Code, class_name: str, *, process: bool = False) -> str:
    if process:
        return f"run() of process class '{class_name}' has no try/except guard: {PROCESS_STAKE}; decorate it: @wrap"
    return f"{code.what} '{class_name}' has no try/except guard: {code.consequence}; decorate it: @wrap"


def _suggestion(spawn: Spawn) -> str:
    """The spawn call as it reads with the guard in place, e.g. Thread(target=wrap(worker))."""
    call = spawn.call
    func = dotted_text(call.func) or shown(call.func)
    wrapped = f"wrap({shown(spawn.target)})"
    if spawn.keyword is not None:
        others = len(call.args) + len(call.keywords) > 1
        return f"{func}({spawn.keyword}={wrapped}{', ...' if others else ''})"
    position = next(i for i, arg in enumerate(call.args) if arg is spawn.target)
    before = "..., " if position else ""
    after = ", ..." if position + 1 < len(call.args) or call.keywords else ""
    return f"{func}({before}{wrapped}{after})"
