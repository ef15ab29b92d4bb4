"""Whether a spawned future, task or AsyncResult is ever consumed: the channel back.

A value is followed from where it is made, up through its parents, into the
names, attributes and containers that hold it, to each place that reads it.

Consumed (no report):
    await asyncio.create_task(w())
    return executor.submit(f)
    self._task = asyncio.create_task(w())   # ... and `await self._task` in close()
                                            # (of this class or another class of the module)
    nonlocal task; task = create_task(w())  # ... and `await task` in the enclosing function
    conn.reader = create_task(w())          # ... and `await conn.reader` somewhere in the module
    futures = [ex.submit(f, x) for x in xs]; [f.result() for f in as_completed(futures)]
    app[key] = asyncio.create_task(w())    # stored where this module cannot follow it
    self._pending[executor.submit(f)] = q   # a dict's key: ... and `wait(self._pending)` elsewhere

Never consumed (reported when the target is unguarded):
    executor.submit(f)
    _ = executor.submit(f)
    task = asyncio.create_task(w()); tasks.add(task); task.add_done_callback(tasks.discard)
                                            # (released when it ends: asyncio logs its failure then)
    self._task = loop.create_task(w())      # ... and only `self._task.cancel()` elsewhere
    conn.reader = create_task(w())          # ... and only `conn.reader.cancel()` elsewhere
    self._t = create_task(w())              # ... and `await gather(self._t, return_exceptions=True)`
                                            #     alone on close: its failure returned, dropped
    loop.call_soon_threadsafe(lambda: asyncio.create_task(w()))   # the handle drops the task
    self._t = create_task(w())              # ... and `if not self._t.done(): await self._t`:
                                            #     awaited only if it has not ended (failed) yet

A process is followed the same way, and its channel back is its exit status:
    p = Process(target=f); p.start(); p.join(); sys.exit(p.exitcode)     # read
    procs.append(Process(target=f)); ...; [p.is_alive() for p in procs]   # read
    Process(target=f).start()                                             # discarded
    p = Process(target=f); p.start(); p.join()                            # never read
"""

from __future__ import annotations

import ast
from typing import NamedTuple, Union

from .harmless import returns_failures
from .index import Binding, ModuleIndex, Scope, is_name
from .known import (
    CONTAINER_INSERTS,
    CONTAINER_TAKES,
    CONTAINER_VIEWS,
    EXIT_STATUS_READS,
    FORGETTING_CALLBACKS,
    FUTURE_COMBINATORS,
    NON_CONSUMING_METHODS,
    RUN_UNTIL_COMPLETE,
    SCHEDULE_METHODS,
)

# Expressions whose value carries their operand's: a container or comprehension holding
# it, or an expression that may evaluate to it.
_CARRIERS = (
    ast.Starred, ast.IfExp, ast.BoolOp, ast.List, ast.Tuple, ast.Set, ast.Dict,
    ast.ListComp, ast.SetComp, ast.GeneratorExp, ast.DictComp,
)  # fmt: skip
_NON_CONSUMING_COMPARISONS = (ast.In, ast.NotIn, ast.Is, ast.IsNot, ast.Eq, ast.NotEq)
# The container again, or its items (not `items()`, whose pairs hold the keys too).
_VIEW_METHODS = CONTAINER_VIEWS - {"items"}
_LEN = "builtins.len"

# A holder already being followed: ("name", id(scope), name) or ("attr", id(class), attr).
_HolderKey = tuple[str, int, str]


# What is left to follow: a value where it is used, or a holder (a name, `self.X`, a
# container) through its reads. An answer is True (consumed), False (not here) or more
# places to follow; the value is consumed when any place consumes it.
_Answer = Union[bool, list[Union["_ValueItem", "_HolderItem"]]]


class _ValueItem(NamedTuple):
    node: ast.AST
    scope: Scope


class _HolderItem(NamedTuple):
    target: ast.expr
    scope: Scope
    stored: bool  # an assignment target, rather than a container a value is put into


class ChannelAnalysis:
    """Follows futures and tasks (`processes=False`) or process objects (`processes=True`).

    The places a value reaches are followed on a worklist, not Python's stack: a chain of
    hundreds of assignments or thousands of subscripts costs no recursion.
    """

    def __init__(self, index: ModuleIndex, *, processes: bool = False) -> None:
        self._index = index
        self._processes = processes

    def consumed(self, node: ast.expr, scope: Scope) -> bool:
        """Whether the value `node` evaluates to is consumed somewhere.

        When unsure, say consumed: a missed report costs less than a false one.
        """
        return bool(self._readers(node, scope, every=False))

    def readers(self, node: ast.expr, scope: Scope) -> list[ast.AST] | None:
        """Where the value is consumed (the uses that read it: `await self._task`); None when
        some place consumes it that cannot be pointed at (a holder it is unsure of)."""
        found = self._readers(node, scope, every=True)
        return None if any(reader is None for reader in found) else [r for r in found if r is not None]

    def _readers(self, node: ast.expr, scope: Scope, *, every: bool) -> list[ast.AST | None]:
        """The uses that consume the value (None for one that cannot be pointed at): the first
        only, unless `every`."""
        seen: set[_HolderKey] = set()
        work: list[_ValueItem | _HolderItem] = [_ValueItem(node, scope)]
        found: list[ast.AST | None] = []
        while work:
            item = work.pop()
            if isinstance(item, _ValueItem):
                answer = self._value_use(item.node, item.scope)
            else:
                answer = self._holder_reads(item.target, item.scope, seen, stored=item.stored)
            if answer is True:
                found.append(item.node if isinstance(item, _ValueItem) else None)
                if not every:
                    return found
            elif answer is not False:
                work.extend(reversed(answer))
        return found

    def referenced(self, node: ast.expr) -> bool:
        """Whether the value is stored somewhere (a name other than `_`, an attribute, a
        container) rather than dropped where it is made."""
        parent = self._index.parent(node)
        while isinstance(parent, _CARRIERS):
            node, parent = parent, self._index.parent(parent)
        if isinstance(parent, (ast.Assign, ast.AnnAssign, ast.AugAssign, ast.NamedExpr)):
            targets = parent.targets if isinstance(parent, ast.Assign) else [parent.target]
            return not all(isinstance(t, ast.Name) and t.id == "_" for t in targets)
        if isinstance(parent, ast.Call) and node is not parent.func:
            func = parent.func
            return isinstance(func, ast.Attribute) and func.attr in CONTAINER_INSERTS
        return False

    def released_when_done(self, node: ast.expr, scope: Scope) -> bool:
        """Whether the value is held in a variable only until it ends: `task = create_task(w());
        tasks.add(task); task.add_done_callback(tasks.discard)`, the fire-and-forget idiom."""
        parent = self._index.parent(node)
        if not (
            isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name)
        ):
            return False
        name = parent.targets[0].id
        for use, use_scope in self._index.name_reads.get(name, ()):
            if use_scope is not scope:
                continue
            call = self._index.method_call(use, _DONE_CALLBACK)
            if call is not None and _forgets(call):
                return True
        return False

    def _value_use(self, node: ast.AST, scope: Scope) -> _Answer:
        """What the use of the value `node` evaluates to tells."""
        # Climb through the expressions that only carry the value (a list holding it,
        # `x if c else it`, `*it`, `it[0]`).
        parent = self._index.parent(node)
        while (isinstance(parent, _CARRIERS) and not (isinstance(parent, ast.IfExp) and node is parent.test)) or (
            isinstance(parent, ast.Subscript) and node is parent.value and isinstance(parent.ctx, ast.Load)
        ):
            node, parent = parent, self._index.parent(parent)
        if isinstance(parent, ast.Lambda):
            return not self._dropped_by_scheduler(parent)
        if isinstance(parent, ast.Await) and self._awaited_only_unfinished(parent, node):
            return False
        if isinstance(parent, (ast.Await, ast.Return, ast.Yield, ast.YieldFrom)):
            return True
        if isinstance(parent, (ast.Expr, ast.Delete, ast.FormattedValue)):
            return False
        if isinstance(parent, (ast.If, ast.While, ast.Assert, ast.IfExp)) and node is parent.test:
            return False  # a truth test
        if isinstance(parent, ast.UnaryOp):
            return not isinstance(parent.op, ast.Not)
        if isinstance(parent, ast.Compare):
            return not all(isinstance(op, _NON_CONSUMING_COMPARISONS) for op in parent.ops)
        if isinstance(parent, ast.keyword):
            call = self._index.parent(parent)
            return not isinstance(call, ast.Call) or self._argument_use(call, scope)
        if isinstance(parent, ast.Call):
            return node is parent.func or self._argument_use(parent, scope)
        if isinstance(parent, ast.Attribute):
            return self._attribute_use(parent, scope)
        if isinstance(parent, ast.Subscript):
            if node is parent.slice and isinstance(parent.ctx, ast.Store):
                # `pending[future] = queue`: kept as a key, read wherever the dict is.
                return [_HolderItem(parent.value, scope, False)]
            return False  # a lookup by it, or an item deleted
        if isinstance(parent, ast.Assign):
            return [_HolderItem(target, scope, True) for target in parent.targets]
        if isinstance(parent, (ast.AnnAssign, ast.AugAssign)):
            return [_HolderItem(parent.target, scope, True)]
        if isinstance(parent, ast.NamedExpr):
            return [_HolderItem(parent.target, scope, True), _ValueItem(parent, scope)]
        if isinstance(parent, (ast.For, ast.AsyncFor)) and node is parent.iter:
            return self._loop_uses(parent)
        if isinstance(parent, ast.comprehension) and node is parent.iter:
            # `[task for task in (*deferred, timer) if task is not None]`: the same items, kept.
            made = self._index.parent(parent)
            if (
                isinstance(made, (ast.ListComp, ast.SetComp, ast.GeneratorExp))
                and isinstance(made.elt, ast.Name)
                and is_name(parent.target, made.elt.id)
            ):
                return [_ValueItem(made, scope)]
        return True

    def _awaited_only_unfinished(self, awaited: ast.Await, task: ast.AST) -> bool:
        """`if not task.done(): await task` (ring-doorbell's close), `while not task.done():
        await task` (aiowebostv's unsubscribe): a task that already failed is never awaited
        there, and its failure is never read."""
        shape = ast.dump(task)
        child: ast.AST = awaited
        parent = self._index.parent(awaited)
        while parent is not None and not isinstance(parent, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            if (
                isinstance(parent, (ast.If, ast.While))
                and child in parent.body
                and _asks_unfinished(parent.test, shape)
            ):
                return True
            child, parent = parent, self._index.parent(parent)
        return False

    def _dropped_by_scheduler(self, lambda_: ast.Lambda) -> bool:
        """A lambda handed to `loop.call_soon(...)` and the like: what it returns is dropped."""
        call = self._index.parent(lambda_)
        if isinstance(call, ast.keyword):
            call = self._index.parent(call)
        return (
            isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and call.func.attr in SCHEDULE_METHODS
        )

    def _argument_use(self, call: ast.Call, scope: Scope) -> _Answer:
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in CONTAINER_INSERTS:
            return [_HolderItem(func.value, scope, False)]
        name = self._index.qualname(func, scope)
        if name == _LEN:
            return False
        if name in FUTURE_COMBINATORS:
            if returns_failures(call, name):
                # Each failure comes back as a result: read only where the results are.
                return self._results_kept(call)
            return [_ValueItem(call, scope)]  # gather(...) is consumed or not as a whole
        return True

    def _results_kept(self, call: ast.Call) -> bool:
        """Whether what `gather(..., return_exceptions=True)` returns is kept: not awaited (or
        run to completion) as a statement of its own, which drops every failure it gathered
        (pysnmp's `await asyncio.gather(*pending, return_exceptions=True)` on close)."""
        node: ast.AST = call
        parent = self._index.parent(node)
        if isinstance(parent, ast.Await) or (
            isinstance(parent, ast.Call)
            and isinstance(parent.func, ast.Attribute)
            and parent.func.attr == RUN_UNTIL_COMPLETE
            and node in parent.args
        ):
            node, parent = parent, self._index.parent(parent)
        return not isinstance(parent, ast.Expr)

    def _attribute_use(self, attribute: ast.Attribute, scope: Scope) -> _Answer:
        call = self._index.parent(attribute)
        method = attribute.attr
        is_call = isinstance(call, ast.Call) and call.func is attribute
        if is_call and (method in CONTAINER_TAKES or method in _VIEW_METHODS):
            assert isinstance(call, ast.Call)
            return [_ValueItem(call, scope)]  # an item taken out: its use decides
        if self._processes:
            # `p.exitcode`, `p.sentinel`, `p.is_alive()` read the exit status; `start()`,
            # `join()`, `pid`, `daemon = ...` do not.
            return method in EXIT_STATUS_READS
        if not is_call:
            # `tasks.discard` passed as a callback reads no item; other reads we cannot judge.
            return method not in NON_CONSUMING_METHODS
        if method in NON_CONSUMING_METHODS:
            return False
        if method == "add_done_callback":
            assert isinstance(call, ast.Call)
            return bool(call.keywords) or not _forgets(call)
        return True  # result(), exception(), get(), ...

    def _loop_uses(self, loop: ast.For | ast.AsyncFor) -> _Answer:
        """Iterating a holder consumes unless the loop variable is only used non-consumingly."""
        if not isinstance(loop.target, ast.Name):
            return True
        inside = {id(node) for stmt in loop.body for node in ast.walk(stmt)}
        return [
            _ValueItem(use, use_scope)
            for use, use_scope in self._index.name_reads.get(loop.target.id, ())
            if id(use) in inside
        ]

    def _holder_reads(self, target: ast.expr, scope: Scope, seen: set[_HolderKey], *, stored: bool) -> _Answer:
        """The reads of what `target` names, each of which may consume it.

        `stored` is true for an assignment target; false for a container a value is put
        into, where a parameter's or another object's container is the caller's to read.
        """
        index = self._index
        if isinstance(target, ast.Subscript):
            return [_HolderItem(target.value, scope, False)]
        if isinstance(target, ast.Name):
            owner = scope.lookup(target.id) or scope
            binding = owner.bindings.get(target.id)
            if not stored and binding in (Binding.PARAM, Binding.IMPORT):
                return True
            key = ("name", id(owner), target.id)
            if key in seen:
                return False  # already being followed: its other reads decide
            seen.add(key)
            return [
                _ValueItem(use, use_scope)
                for use, use_scope in index.name_reads.get(target.id, ())
                if use_scope.lookup(target.id) is owner
            ]
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            class_scope = self._class_of_attribute(target.value.id, scope)
            key = ("attr", id(class_scope), target.attr)
            if key in seen:
                return False
            seen.add(key)
            if class_scope is None:
                # Another object's attribute: every read of that name in the module counts
                # (`conn.reader.cancel()` alone reads nothing); none here, and its owner may read it elsewhere.
                reads = index.attribute_reads.get(target.attr, [])
                return [_ValueItem(use, use_scope) for use, use_scope in reads] if reads else True
            # `self.X` of this class, or of another class of the module (a subclass's close()
            # awaiting what its base started): when unsure, consumed.
            return [
                _ValueItem(use, use_scope)
                for use, use_scope in index.attribute_reads.get(target.attr, ())
                if self._class_of_attribute(_receiver_name(use), use_scope) is not None
            ]
        if isinstance(target, ast.Attribute):
            # `sub._jsi._hbtask = ...`: every read of that attribute in the module counts; none
            # here, and its owner may read it elsewhere.
            key = ("attr", 0, target.attr)
            if key in seen:
                return False
            seen.add(key)
            reads = index.all_attribute_reads.get(target.attr, [])
            return [_ValueItem(use, use_scope) for use, use_scope in reads] if reads else True
        return True  # unpacking and the like: unsure

    def _class_of_attribute(self, receiver: str, scope: Scope) -> Scope | None:
        """The class whose attributes `receiver.X` names: via `self`/`cls`, `ClassName.X`, or a
        variable bound only to instances the module makes of it (`process = Listener(...)`,
        then `await process.send_task`)."""
        found = scope.enclosing_class()
        if found is not None and found[1] == receiver:
            return found[0]
        owner = scope.lookup(receiver)
        if owner is None:
            return None
        binding = owner.bindings[receiver]
        if binding is Binding.CLASS:
            return self._index.inner_scope(owner.classes[receiver])
        values = owner.values.get(receiver, []) if binding is Binding.LOCAL else []
        made = {self._class_made(value, value_scope) for value, value_scope in values}
        return made.pop() if len(made) == 1 else None

    def _class_made(self, value: ast.expr, scope: Scope) -> Scope | None:
        """The class of the module that `value` calls to make an instance (`Listener(...)`)."""
        if not (isinstance(value, ast.Call) and isinstance(value.func, ast.Name)):
            return None
        owner = scope.lookup(value.func.id)
        if owner is None or owner.bindings[value.func.id] is not Binding.CLASS:
            return None
        return self._index.inner_scope(owner.classes[value.func.id])


_DONE_CALLBACK = ("add_done_callback",)


def _asks_unfinished(test: ast.expr, task_shape: str) -> bool:
    """`not task.done()`, of the task whose `ast.dump` is `task_shape`."""
    if not (isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not) and isinstance(test.operand, ast.Call)):
        return False
    func = test.operand.func
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "done"
        and not test.operand.args
        and ast.dump(func.value) == task_shape
    )


def _forgets(call: ast.Call) -> bool:
    """`task.add_done_callback(tasks.discard)`: the callback drops the task from a holder."""
    args = call.args
    return len(args) == 1 and isinstance(args[0], ast.Attribute) and args[0].attr in FORGETTING_CALLBACKS


def _receiver_name(attribute: ast.Attribute) -> str:
    value = attribute.value
    return value.id if isinstance(value, ast.Name) else ""
