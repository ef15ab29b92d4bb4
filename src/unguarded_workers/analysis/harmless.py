"""Which statements and expressions of a worker cannot let a failure out.

Harmless:
    logger.info("starting %s", name)       # a logger's call (its arguments looked up safely)
    if log.isEnabledFor(logging.DEBUG):     # and a question of its level
    stop.set(); done.wait(5)                # an event, a wait with a timeout at most
    reader = threading.Thread(target=self._read)   # a thread object; reader.start() too (short of
                                            # the system's limit on threads)
    self.__log_debug("started")             # the class sets it only to harmless lambdas
    this = self_weakref()                   # a weak reference: the object or None
    del event                               # drops a name (`del pending[key]` is a lookup)
    message = queue.get()                   # the next item: a wait, not work
    self._queue.put_nowait(event)           # an enqueue: the consumer does the work
    token = self._in_flush.set(True)        # a ContextVar's set or reset
    self._executor.submit(fn, *args)        # a job handed to a pool: its future holds the failure
    loop.call_soon_threadsafe(fut.set_result, value)   # scheduled: the loop runs and logs it
    task = asyncio.create_task(self._handle(msg))      # a task: its failure is its own
    self.server.handle_request()            # socketserver: the handler's failure goes to handle_error
    deadline = float("inf")                 # a conversion of constants that succeeds
    now = time.monotonic(); assert self.interval is not None
    while not self._stop.is_set():          # a header that only reads a flag
    self._flush()                           # a def of the project that is itself guarded
    colors = colgen(0.5, 0.25)              # a generator of the project: its body runs as it is iterated

    deadline = self._ack_deadline / 2       # division by a number other than zero
    text = "%s: %s" % (name, value)         # a string's format
    for client in clients[:]:               # a slice; min(), max(), abs(), repr() of harmless values
    requests = [r for r, _ in pending]      # a comprehension of harmless parts, as list(pending) is

Not harmless:
    self.total += 1 / count                 # division can fail
    item = batch[0]                         # so can indexing
    print("beat", item["n"])                # in a logger's or print's arguments too
    while self._poll():                     # a header that does the worker's work
    with open(path) as file:                # and one that opens a file
    for color in colgen(0.5, 0.25):         # iterating a generator runs its body
    ok = any(pred(code) for pred in preds)  # a comprehension's calls are judged as any call
    rows = [row async for row in cursor]    # and an async one awaits its iterator's work
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from typing import TYPE_CHECKING, Union

from ..codes import SpawnKind
from .index import (
    FUNCTION_TYPES,
    Binding,
    Scope,
    assigned_values,
    dotted_text,
    is_generator,
    is_name,
    last_name,
    module_constant,
)
from .known import (
    ANEXT,
    ASYNCIO_COROUTINE_FUNCTIONS,
    CONDITION_WAIT_FOR,
    CONSTANT_CONVERSIONS,
    CONTAINER_METHODS,
    CONTAINER_TAKES,
    CONTAINER_VIEWS,
    CONTEXT_VAR_METHODS,
    CYCLE,
    ENQUEUE_METHODS,
    EVENT_METHODS,
    GATHER,
    GET_LOGGER,
    ITER,
    LOCK_METHODS,
    LOG_METHODS,
    LOGGING_GET_LOGGER,
    NEXT,
    NO_ARGUMENT_METHODS,
    PURE_BUILTINS,
    RECEIVE_METHODS,
    RUN_TO_COMPLETION,
    RUN_UNTIL_COMPLETE,
    SCHEDULE_METHODS,
    SERVE_METHODS,
    SERVE_ONE_METHOD,
    STANDARD_STREAM_WRITES,
    THREAD_OBJECTS,
    WAIT_METHODS,
    WEAK_REFERENCES,
    WRAPS,
    Receiver,
    names_a_lock,
)
from .resolve import Resolved, lineage

if TYPE_CHECKING:
    from .module import Def, ModuleAnalysis

# Imports too: a worker that imports inside itself (`from errno import EINTR`) does not fail there.
_SIMPLE_STATEMENTS = (ast.Pass, ast.Break, ast.Continue, ast.Global, ast.Nonlocal, ast.Import, ast.ImportFrom)

# A statement's verdict: harmless (True), not (False), or harmless exactly when these
# defs it delegates to are guarded.
Verdict = Union[bool, tuple["Def", ...]]

# Expressions that call nothing: names, attributes, constants, literals, and operators,
# comparisons, conditionals and f-strings over them.
_CALL_FREE = (
    ast.Constant, ast.Name, ast.Attribute, ast.UnaryOp, ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp,
    ast.JoinedStr, ast.FormattedValue, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Starred, ast.Slice,
    ast.expr_context, ast.operator, ast.unaryop, ast.boolop, ast.cmpop,
)  # fmt: skip
# The longest constant text a conversion is tried on (`float("inf")`, `int("0x10", 16)`).
_MAX_CONVERTED = 64
# The names a task spawn is called by (the analysis says which calls are one).
_TASK_STARTERS = frozenset({"create_task", "ensure_future"})
_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)
# Division can fail on a zero, a power overflow: arithmetic that is work.
_FALLIBLE_OPERATORS = (ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult)


class HarmlessRules:
    """The verdicts of single statements and expressions of one module."""

    def __init__(self, module: ModuleAnalysis) -> None:
        self._module = module
        self._index = module.index
        self._resolver = module.resolver
        self._task_spawns: set[int] | None = None  # the module's task spawn calls, once asked
        self._opening: set[str] = set()  # the attributes whose lambdas are being judged

    def statement(self, stmt: ast.stmt, scope: Scope) -> Verdict:
        """The verdict of a simple statement (compound ones are opened by the guard analysis)."""
        if isinstance(stmt, _SIMPLE_STATEMENTS):
            return True
        if isinstance(stmt, ast.Delete) and all(isinstance(target, ast.Name) for target in stmt.targets):
            return True  # `del event`: drops a name the worker bound (not `del d[key]`, a KeyError)
        value = getattr(stmt, "value", None)
        if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.Expr)) and self._makes_a_generator(value, scope):
            # `colors = colgen(...)`: the generator's body runs where it is iterated, not here.
            assert isinstance(value, ast.Call)
            return self._all([*value.args, *(k.value for k in value.keywords)], scope)
        if isinstance(stmt, ast.Expr):
            return self.expression(stmt.value, scope)
        if isinstance(stmt, ast.AugAssign) and not calls_nothing(stmt.target):
            return False  # `counts[key] += 1` reads counts[key] first: a KeyError
        if isinstance(stmt, (ast.Return, ast.Assign, ast.AugAssign, ast.AnnAssign)):
            return stmt.value is None or self.expression(stmt.value, scope)
        if isinstance(stmt, ast.Assert):
            # `assert self.interval is not None`, `assert isinstance(task, TimedTask)`: a
            # precondition (often for the type checker) of what cannot fail, not the worker's
            # work; `assert _debug(f"...")`, pyglet's debug print that `-O` strips, prints.
            test = stmt.test
            return calls_nothing(test) or self._prints_for_debugging(test) or self.expression(test, scope) is True
        if isinstance(stmt, (*FUNCTION_TYPES, ast.ClassDef)):
            # Defining a function or class runs nothing but its decorators.
            return all(self._decorates_harmlessly(d, scope) for d in stmt.decorator_list)
        return False

    def expression(self, expr: ast.expr, scope: Scope) -> Verdict:
        """An expression whose every call is harmless (a call's arguments are the call's
        business: `log.info("%s", describe(x))` is a logger's call), and whose other parts
        call nothing and cannot fail."""
        delegates: list[Def] = []
        stack: list[ast.AST] = [expr]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.NamedExpr):  # `(task := q.get())`: its value's verdict
                stack.append(node.value)
                continue
            if isinstance(node, ast.Yield):  # hands a value out (a context manager's `yield`)
                if node.value is not None:
                    stack.append(node.value)
                continue
            if isinstance(node, ast.Await):
                if not isinstance(node.value, ast.Call):
                    return False  # `await future`: the awaited work fails here
                node = node.value
            if isinstance(node, ast.Call):
                verdict = self.call(node, scope)
                if verdict is False:
                    return False
                if verdict is not True:
                    delegates += verdict
                continue
            if isinstance(node, _COMPREHENSIONS):
                parts = _comprehension_parts(node)
                if parts is None:
                    return False
                stack += parts
                continue
            if isinstance(node, ast.Subscript) and self._indexes_an_end_of_a_tested_container(node):
                stack.append(node.value)  # `servers[0] if servers else None`
                continue
            if not (isinstance(node, _CALL_FREE) or _is_slice(node)) or isinstance(node, _FALLIBLE_OPERATORS):
                return False
            if isinstance(node, ast.BinOp) and self._divides_by_a_tested_value(node):
                stack += [node.left, node.right]  # `if total: share = 100.0 / total`
                continue
            stack.extend(_operands(node))
        return tuple(delegates) if delegates else True

    def _evaluates_fallibly(self, call: ast.Call) -> bool:
        """Whether the arguments of a call that cannot fail itself (a logger's, `print`) do what
        can: a lookup (`msg["type"]`), a division (not by a value tested not zero), an await.
        Calls among them are the call's business (`log.info("%s", describe(x))`), their own
        arguments and receivers are not."""
        stack: list[ast.AST] = [*call.args, *(k.value for k in call.keywords)]
        while stack:
            node = stack.pop()
            if isinstance(node, ast.Call):
                stack += [*node.args, *(k.value for k in node.keywords)]
                if isinstance(node.func, ast.Attribute):
                    stack.append(node.func.value)  # `data["name"].upper()` looks up first
                continue
            if isinstance(node, ast.BinOp) and self._divides_by_a_tested_value(node):
                stack += [node.left, node.right]
                continue
            if isinstance(node, (ast.Subscript, ast.Await, *_FALLIBLE_OPERATORS)) and not _is_slice(node):
                return True
            if not isinstance(node, ast.Lambda):  # a lambda's body is not run here
                stack.extend(_operands(node))  # "%s to %s" % (a, b): a format, not a division
        return False

    def _divides_by_a_tested_value(self, node: ast.BinOp) -> bool:
        """A division whose divisor, a name or attribute chain, an `if` around it (or the
        conditional expression it is in) has tested not zero: `if total: share = part / total`,
        `part / total if total > 0 else 0`."""
        divisor = dotted_text(node.right) if isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod)) else None
        return divisor is not None and self._where(node, lambda test, true: true and _tests_not_zero(test, divisor))

    def _takes_from_a_tested_container(self, call: ast.Call) -> bool:
        """`if self._values: value = self._values.pop(0)`, `elif len(cache) > LIMIT: key =
        next(iter(cache))`, `if not pending: ... else: pending.popleft()`: a take from an end of a
        container that a test around it found not empty (grpcio's stream_util, under its lock)."""
        func = call.func
        if isinstance(func, ast.Attribute) and func.attr in CONTAINER_TAKES:
            ends = not call.keywords and (not call.args or (len(call.args) == 1 and _is_end_position(call.args[0])))
            container = dotted_text(func.value) if ends else None
        elif dotted_text(func) == "next" and len(call.args) == 1 and not call.keywords:
            container = _iterated_container(call.args[0])
        else:
            container = None
        return container is not None and self._found_not_empty(call, container)

    def _cycles(self, call: ast.Call, scope: Scope) -> bool:
        """`next(frames)`, `frames` bound once (in the def or one around it) to `itertools.cycle`
        of a display with items (a spinner's): it never runs out."""
        if len(call.args) != 1 or not isinstance(call.args[0], ast.Name):
            return False
        name = call.args[0].id
        owner = scope.lookup(name)  # the def's, or one around it (a spinner's closure)
        values = owner.values.get(name, []) if owner is not None and owner.bindings[name] is Binding.LOCAL else []
        if len(values) != 1 or not isinstance(values[0][0], ast.Call):
            return False
        made = values[0][0]
        return (
            self._index.qualname(made.func, values[0][1]) == CYCLE
            and len(made.args) == 1
            and _a_filled_display(made.args[0])
        )

    def _indexes_an_end_of_a_tested_container(self, node: ast.Subscript) -> bool:
        """`servers[0] if servers else None`, `if self._queue: item = self._queue[-1]`: the first
        or last item of a container a test around it found not empty (panel's shutdown)."""
        container = dotted_text(node.value) if _is_end_position(node.slice) else None
        return container is not None and self._found_not_empty(node, container)

    def _found_not_empty(self, node: ast.AST, container: str) -> bool:
        """A test around `node` found `container` not empty: `if values:` in its body, `if not
        values:` in its `else:`."""
        return self._where(
            node, lambda test, true: _tests_not_empty(test, container) if true else _tests_empty(test, container)
        )

    def _where(self, node: ast.AST, holds: Callable[[ast.expr, bool], bool]) -> bool:
        """Whether a test of an `if`, `while` or conditional expression around `node`, in its
        def, `holds` on the branch `node` is in (True: the body, where the test held)."""
        child: ast.AST = node
        parent = self._index.parent(node)
        while parent is not None and not isinstance(parent, (*FUNCTION_TYPES, ast.Lambda, ast.ClassDef)):
            if isinstance(parent, (ast.If, ast.While)):
                if any(stmt is child for stmt in parent.body) and holds(parent.test, True):
                    return True
                if (
                    isinstance(parent, ast.If)
                    and any(stmt is child for stmt in parent.orelse)
                    and holds(parent.test, False)
                ):
                    return True
            elif (
                isinstance(parent, ast.IfExp) and child is not parent.test and holds(parent.test, child is parent.body)
            ):
                return True
            child, parent = parent, self._index.parent(parent)
        return False

    def _a_thread(self, receiver: ast.expr, scope: Scope) -> bool:
        """A thread object made here (`Thread(...)`, or a name bound only to ones)."""
        if isinstance(receiver, ast.Call):
            return self._index.qualname(receiver.func, scope) in THREAD_OBJECTS
        values = assigned_values(receiver, scope) if isinstance(receiver, ast.Name) else []
        return bool(values) and all(
            isinstance(value, ast.Call) and self._index.qualname(value.func, where) in THREAD_OBJECTS
            for value, where in values
        )

    def call(self, call: ast.Call, scope: Scope) -> Verdict:
        """A call that cannot fail, waits for the next item, hands work to someone else, or
        delegates to a guarded def."""
        func = call.func
        if _formats_a_constant(func) or self._resolver.matches(func, scope, STANDARD_STREAM_WRITES):
            # `"\b{}".format(frame)` (as `"%s" % frame`), a spinner's `sys.stdout.write(frame)`:
            # what it is handed is judged; `sys.stdout.write(decoder.decode(buffer))` can fail.
            return self._arguments(call, scope)
        if self._resolver.is_harmless_callable(func, scope):
            return not self._evaluates_fallibly(call)  # print(item["n"]): the item's lookup can fail
        if self._starts_a_task(call):
            # `asyncio.create_task(self._process(cb))`: making the coroutine runs none of it, and
            # the task's failure is the task's (reported, if unguarded, at its own spawn).
            return True
        qualname = self._index.qualname(func, scope)
        if qualname in (ANEXT, LOGGING_GET_LOGGER):
            return True  # anext(rx): the next item; getLogger(...) imported from logging
        convert = CONSTANT_CONVERSIONS.get(qualname or "")
        if convert is not None and _converts_constants(convert, call):
            return True
        if qualname in PURE_BUILTINS:
            return self._arguments(call, scope)
        if returns_failures(call, qualname):
            # `gather(*[cb() for cb in callbacks], return_exceptions=True)`: each awaitable's
            # failure is returned as its result; what can fail here is only their making.
            made = _making_of_awaitables(call.args)
            return False if made is None else self._all(made, scope)
        if qualname in ASYNCIO_COROUTINE_FUNCTIONS and not isinstance(self._index.parent(call), ast.Await):
            # `coro = asyncio.wait_for(coro, timeout)`: a coroutine made, to be awaited later.
            return self._arguments(call, scope)
        if _runs_a_coroutine(call, qualname):
            # `loop.run_until_complete(self._async_run())`: the coroutine's body runs here, in
            # this worker (the loop's own machinery is no work of its).
            coroutine = call.args[0]
            assert isinstance(coroutine, ast.Call)
            return self._joined(self._called(coroutine.func, scope), coroutine.args, scope)
        if qualname == NEXT and (self._takes_from_a_tested_container(call) or self._cycles(call, scope)):
            return True
        if qualname == CYCLE and len(call.args) == 1 and _a_filled_display(call.args[0]):
            return True  # `itertools.cycle("-/|\\")`: a spinner's frames
        if qualname == ITER and len(call.args) == 2:
            return self._called(call.args[0], scope)  # iter(q.get, None): q.get() on each pass
        if isinstance(func, ast.Attribute):
            method = func.attr
            if method in RECEIVE_METHODS or method in SERVE_METHODS:
                return True
            if method in SCHEDULE_METHODS:
                # The callback runs later, on the loop; what is handed to it is made here.
                return self._arguments(call, scope)
            if method == SERVE_ONE_METHOD and not call.args and not call.keywords and dotted_text(func.value) != "self":
                return True
            if method == GET_LOGGER:
                return True
            if method == "start" and not call.args and not call.keywords and self._a_thread(func.value, scope):
                # `t = Thread(target=self.handle, args=(conn,)); t.start()`: it fails only when the
                # system can start no more threads (an accept loop's, nfcpy's, pywebio's).
                return True
            if method in LOG_METHODS and a_logger(func.value, scope):
                return not self._evaluates_fallibly(call)
            if (method in EVENT_METHODS or method in NO_ARGUMENT_METHODS) and not call.args and not call.keywords:
                return True
            if method in CONTAINER_VIEWS and not call.args and not call.keywords:
                return self.expression(func.value, scope)
            if method in CONTAINER_METHODS and len(call.args) == 1 and not call.keywords:
                # `self._tasks.add(task)`: a set's, a list's, a deque's; the item is made first
                # (`results.append(fetch(url))` fetches).
                return self._all(call.args, scope)
            if method == "join" and isinstance(func.value, ast.Constant) and isinstance(func.value.value, str):
                # `",".join(tags)`: a string's format, as `"%s" % args` is; the parts are made first.
                return self._arguments(call, scope)
            if method in WAIT_METHODS and _only_a_timeout(call, strict=method == "join"):
                return True
            if method == CONDITION_WAIT_FOR and self._waits_for_a_harmless_predicate(call, func.value, scope):
                return True
            if method in LOCK_METHODS and names_a_lock(last_name(func.value) or "") and _all_call_nothing(call):
                return True
            if method in CONTAINER_TAKES and self._takes_from_a_tested_container(call):
                return True
            if method in ENQUEUE_METHODS and self._is_enqueue(call, func, scope):
                return self._all(call.args, scope)  # `results.put(int(item))`: the item is made first
            if method in CONTEXT_VAR_METHODS and Receiver.CONTEXT_VAR in self._index.receiver_kinds(func.value, scope):
                return self._all(call.args, scope)  # `token = _in_flush.set(True)`
            if method == "submit" and self._is_executor(func.value, scope):
                # Handing a job to a pool: its failure is the job's future's (and a pool shut
                # down refuses it only once the program is stopping).
                return self._arguments(call, scope)
        if isinstance(func, ast.Name) and len(call.args) == 1 and self._inserts_into_a_container(func, scope):
            return self._all(call.args, scope)  # `add_outstanding(ar)`, the name bound to `outstanding.append`
        instance = self._makes_a_plain_instance(func, scope)
        if instance is not None:  # the making runs its `__init__`, with the arguments made here
            return self._joined(instance, [*call.args, *(k.value for k in call.keywords)], scope)
        return self._called(func, scope)

    def _waits_for_a_harmless_predicate(self, call: ast.Call, condition: ast.expr, scope: Scope) -> bool:
        """`self._wait_condition.wait_for(lambda: self._state != PAUSED)`: a condition's wait
        (its receiver named for one, or made `threading.Condition(...)`) until a predicate that
        cannot fail holds (neptune's daemon), with a timeout at most."""
        # Condition.wait_for(predicate, timeout=None): a second argument is the timeout.
        if not call.args or len(call.args) + len(call.keywords) > 2 or any(k.arg != "timeout" for k in call.keywords):
            return False
        predicate = call.args[0]
        if not isinstance(predicate, ast.Lambda) or self.expression(predicate.body, scope) is not True:
            return False
        return _names_a_condition(last_name(condition) or "") or any(
            isinstance(value, ast.Call) and last_name(value.func) == "Condition"
            for value, _ in assigned_values(condition, scope)
        )

    def _makes_a_generator(self, value: ast.expr | None, scope: Scope) -> bool:
        """A call of a generator def of the project (every def the name may be)."""
        if not isinstance(value, ast.Call):
            return False
        target = self._resolver.callable_target(value.func, scope)
        return isinstance(target, Resolved) and all(is_generator(d.node) for d in target.functions)

    def _decorates_harmlessly(self, decorator: ast.expr, scope: Scope) -> bool:
        """`@staticmethod`, `@app.route`: a name; `@functools.wraps(func)`, which copies the
        wrapped function's name and docstring, of harmless arguments."""
        if isinstance(decorator, (ast.Name, ast.Attribute)):
            return True
        return (
            isinstance(decorator, ast.Call)
            and self._index.qualname(decorator.func, scope) == WRAPS
            and self._all([*decorator.args, *(k.value for k in decorator.keywords)], scope) is True
        )

    def _starts_a_task(self, call: ast.Call) -> bool:
        if last_name(call.func) not in _TASK_STARTERS:
            return False
        if self._task_spawns is None:
            spawns = self._module.primitive_spawns
            self._task_spawns = {id(s.call) for _, _, s in spawns if s is not None and s.kind is SpawnKind.TASK}
        return id(call) in self._task_spawns

    def _arguments(self, call: ast.Call, scope: Scope) -> Verdict:
        """Whether what the call is handed, positionally and by keyword, is harmless to make."""
        return self._all([*call.args, *(k.value for k in call.keywords)], scope)

    def _all(self, exprs: list[ast.expr], scope: Scope) -> Verdict:
        delegates: list[Def] = []
        for expr in exprs:
            verdict = self.expression(expr, scope)
            if verdict is False:
                return False
            if verdict is not True:
                delegates += verdict
        return tuple(delegates) if delegates else True

    def _joined(self, verdict: Verdict, exprs: list[ast.expr], scope: Scope) -> Verdict:
        """`verdict` together with that of each of `exprs`."""
        if verdict is False:
            return False
        rest = self._all(exprs, scope)
        if rest is False:
            return False
        delegates = (*(() if verdict is True else verdict), *(() if rest is True else rest))
        return delegates or True

    def _called(self, func: ast.expr, scope: Scope) -> Verdict:
        """Calling `func`: harmless when it takes the next item, is a guarded def of the project,
        or an attribute the class sets only to harmless lambdas."""
        if isinstance(func, ast.Attribute) and func.attr in RECEIVE_METHODS:
            return True
        target = self._resolver.callable_target(func, scope)
        if isinstance(target, Resolved):
            return target.functions
        return self._harmless_lambdas(func, scope) or self._weak_reference(func, scope)

    def _prints_for_debugging(self, test: ast.expr) -> bool:
        """`assert _debug("...")`: the assert idiom of a debug print (a function named for
        debugging that prints and returns True), whose arguments look nothing up."""
        return (
            isinstance(test, ast.Call)
            and "debug" in (last_name(test.func) or "").lower()
            and not self._evaluates_fallibly(test)
        )

    def _makes_a_plain_instance(self, func: ast.expr, scope: Scope) -> Verdict | None:
        """`request = stun.Message(method=REFRESH)`: making an instance of a class of the
        project runs its `__init__` (a base's, when it has none; none at all: nothing), when
        every class it descends from is the project's own (`object` aside) and none has a
        metaclass, a decorator or a `__new__`. None: no such class (sought only for a CapWords
        name, as classes are named: most calls are not makings, and each search costs)."""
        if not (last_name(func) or "")[:1].isupper():
            return None
        ref = self._resolver.class_ref(func, scope)
        if ref is None:
            return None
        for module, current in lineage(ref):
            node = current.node
            assert isinstance(node, ast.ClassDef)
            bases = [base for base in node.bases if not is_name(base, "object")]
            if node.keywords or node.decorator_list or "__new__" in current.functions:
                return None
            if len(bases) != len(module.resolver.bases(current)):
                return None  # a base from outside the project: its making is its own
        inits = self._resolver.methods(ref, "__init__")
        return inits if inits else True

    def _inserts_into_a_container(self, func: ast.expr, scope: Scope) -> bool:
        """`add_outstanding(ar)`, where the name only ever holds a container's insert
        (`add_outstanding = outstanding.append`, ipyparallel's)."""
        values = [value for value, _ in assigned_values(func, scope)] if isinstance(func, ast.Name) else []
        values = [part for value in values for part in _branches(value)]
        return bool(values) and all(
            isinstance(value, ast.Attribute) and value.attr in CONTAINER_METHODS for value in values
        )

    def _weak_reference(self, func: ast.expr, scope: Scope) -> bool:
        """`this = self_weakref()`, where the name only ever holds `weakref.ref(...)`."""
        if not isinstance(func, ast.Name):
            return False
        owner = scope.lookup(func.id)
        values = owner.values.get(func.id, []) if owner is not None else []
        return bool(values) and all(
            isinstance(value, ast.Call) and self._index.qualname(value.func, value_scope) in WEAK_REFERENCES
            for value, value_scope in values
        )

    def _harmless_lambdas(self, func: ast.expr, scope: Scope) -> bool:
        """`self.__log_debug(...)`, where the class sets `self.__log_debug` only to lambdas whose
        bodies are harmless: `lambda *args: None`, `lambda msg, *args: logger.debug(msg, *args)`."""
        found = scope.enclosing_class()
        if not (isinstance(func, ast.Attribute) and found is not None and is_name(func.value, found[1])):
            return False
        values = found[0].attr_values.get(func.attr, [])
        if not values or not all(isinstance(value, ast.Lambda) for value, _ in values) or func.attr in self._opening:
            return False
        self._opening.add(func.attr)  # a lambda that calls the attribute itself is no answer
        try:
            return all(
                isinstance(value, ast.Lambda) and self.expression(value.body, self._index.inner_scope(value)) is True
                for value, _ in values
            )
        finally:
            self._opening.discard(func.attr)

    def _is_executor(self, receiver: ast.expr, scope: Scope) -> bool:
        if Receiver.EXECUTOR in self._index.receiver_kinds(receiver, scope):
            return True
        name = (last_name(receiver) or "").lower()
        return "executor" in name or "pool" in name

    def _is_enqueue(self, call: ast.Call, func: ast.Attribute, scope: Scope) -> bool:
        """`put_nowait(item)` (only queues have it), or `put(item)` on something that is a queue
        by its constructor or its name (`self._queue`, `inbox_q`, `q`)."""
        if len(call.args) != 1 or any(k.arg not in ("block", "timeout") for k in call.keywords):
            return False
        if func.attr == "put_nowait" or Receiver.QUEUE in self._index.receiver_kinds(func.value, scope):
            return True
        name = (last_name(func.value) or "").lower().strip("_")
        return "queue" in name or name == "q" or name.endswith("_q")


def _converts_constants(convert: Callable[..., object], call: ast.Call) -> bool:
    """A conversion of constants that succeeds (`float("inf")`, not `int("x")`)."""
    values = [arg.value for arg in call.args if isinstance(arg, ast.Constant)]
    if call.keywords or len(values) != len(call.args):
        return False
    if any(isinstance(value, (str, bytes)) and len(value) > _MAX_CONVERTED for value in values):
        return False  # int() of a long digit string takes quadratic time before 3.11: not tried
    try:
        convert(*values)
    except (TypeError, ValueError, OverflowError):
        return False
    return True


def _formats_a_string(node: ast.BinOp) -> bool:
    return isinstance(node.op, ast.Mod) and isinstance(node.left, ast.Constant) and isinstance(node.left.value, str)


def calls_nothing(expr: ast.expr) -> bool:
    """An expression that runs no code of its own: `"after_" + name`, `f"{a}"`, `x is None`.

    Iterative, so that a long chain of operators cannot exhaust the stack.
    """
    stack: list[ast.AST] = [expr]
    while stack:
        node = stack.pop()
        if not (isinstance(node, _CALL_FREE) or _is_slice(node)) or isinstance(node, _FALLIBLE_OPERATORS):
            return False
        stack.extend(_operands(node))
    return True


def _operands(node: ast.AST) -> list[ast.AST]:
    """The node's children, less an operator that cannot fail on them: a division by a
    non-zero number (`self._deadline / 2`) or a string's `%` format."""
    if isinstance(node, ast.BinOp) and (_divides_by_a_number(node) or _formats_a_string(node)):
        return [node.left, node.right]
    return list(ast.iter_child_nodes(node))


def _comprehension_parts(node: ast.ListComp | ast.SetComp | ast.DictComp | ast.GeneratorExp) -> list[ast.AST] | None:
    """What a comprehension evaluates, to be judged as the arguments of `list(...)` are: its
    iterables, conditions and elements. Its loop variables are names (`for r, _ in pending`
    unpacks as `r, _ = pair` does); None for an `async for`, which awaits its iterator's work,
    or a target that stores into an attribute or item."""
    parts: list[ast.AST] = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
    for generator in node.generators:
        if generator.is_async or not _binds_names(generator.target):
            return None
        parts += [generator.iter, *generator.ifs]
    return parts


def _all_call_nothing(call: ast.Call) -> bool:
    """Every argument calls nothing (`blocking=should_block`, `timeout=5`)."""
    return all(calls_nothing(arg) for arg in [*call.args, *(keyword.value for keyword in call.keywords)])


def returns_failures(call: ast.Call, qualname: str | None) -> bool:
    """`asyncio.gather(..., return_exceptions=True)`: each awaitable's failure comes back as its
    result, for the caller to read, and none is raised."""
    return qualname == GATHER and any(
        keyword.arg == "return_exceptions" and isinstance(keyword.value, ast.Constant) and keyword.value.value is True
        for keyword in call.keywords
    )


def _making_of_awaitables(args: list[ast.expr]) -> list[ast.expr] | None:
    """What making the awaitables handed to such a gather evaluates, their own work aside: the
    arguments of the calls that make them (`fetch(url)`: url), a comprehension's iterables and
    conditions; None for a comprehension that awaits (`async for`) or stores elsewhere."""
    made: list[ast.expr] = []
    stack = list(args)
    while stack:
        arg = stack.pop()
        if isinstance(arg, ast.Starred):
            stack.append(arg.value)
        elif isinstance(arg, ast.Call):
            made += [*arg.args, *(keyword.value for keyword in arg.keywords)]
        elif isinstance(arg, (ast.ListComp, ast.SetComp, ast.GeneratorExp)):
            if any(generator.is_async or not _binds_names(generator.target) for generator in arg.generators):
                return None
            stack.append(arg.elt)
            for generator in arg.generators:
                made += [generator.iter, *generator.ifs]
        else:
            made.append(arg)
    return made


def _binds_names(target: ast.expr) -> bool:
    if isinstance(target, (ast.Tuple, ast.List)):
        return all(_binds_names(element) for element in target.elts)
    if isinstance(target, ast.Starred):
        return _binds_names(target.value)
    return isinstance(target, ast.Name)


def _is_slice(node: ast.AST) -> bool:
    """`clients[:]`, `data[1:]`: a slice is never out of range."""
    return isinstance(node, ast.Subscript) and isinstance(node.slice, ast.Slice)


def _tests_not_zero(test: ast.expr, name: str) -> bool:
    """`total`, `total > 0`, `total != 0`, or a conjunction with one of them, of `name`."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return any(_tests_not_zero(value, name) for value in test.values)
    if dotted_text(test) == name:
        return True
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and dotted_text(test.left) == name):
        return False
    bound = test.comparators[0]
    return (
        isinstance(test.ops[0], (ast.Gt, ast.NotEq))
        and isinstance(bound, ast.Constant)
        and isinstance(bound.value, (int, float))
        and not isinstance(bound.value, bool)
        and (bound.value == 0 or (isinstance(test.ops[0], ast.Gt) and bound.value > 0))
    )


def _branches(value: ast.expr) -> list[ast.expr]:
    """The values a conditional expression may have (`a.append if ordered else a.add`)."""
    if isinstance(value, ast.IfExp):
        return [*_branches(value.body), *_branches(value.orelse)]
    return [value]


def _names_a_condition(name: str) -> bool:
    """`_wait_condition`, `self._cond`, `cv`: a name that says it holds a condition variable."""
    lowered = name.lower()
    return "condition" in lowered or lowered.lstrip("_") in ("cond", "cv") or lowered.endswith("_cond")


def _is_end_position(index: ast.expr) -> bool:
    """`0` or `-1`: `values.pop(0)`, `stack.pop(-1)` (a key, `pending.pop(key)`, may be missing)."""
    if isinstance(index, ast.UnaryOp) and isinstance(index.op, ast.USub):
        index = index.operand
        return isinstance(index, ast.Constant) and index.value == 1 and not isinstance(index.value, bool)
    return isinstance(index, ast.Constant) and index.value == 0 and not isinstance(index.value, bool)


def _iterated_container(arg: ast.expr) -> str | None:
    """The container `next(iter(cache))` (or `iter(cache.keys())`) takes the first item of."""
    if not (isinstance(arg, ast.Call) and dotted_text(arg.func) == "iter" and len(arg.args) == 1):
        return None
    inner = arg.args[0]
    if isinstance(inner, ast.Call) and isinstance(inner.func, ast.Attribute) and inner.func.attr in CONTAINER_VIEWS:
        inner = inner.func.value if not inner.args and not inner.keywords else inner
    return dotted_text(inner)


def _tests_not_empty(test: ast.expr, name: str) -> bool:
    """`values`, `len(values)`, `len(values) > 0` (or `> LIMIT`, a constant's name), or a
    conjunction with one of them, of the container `name`."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.And):
        return any(_tests_not_empty(value, name) for value in test.values)
    if dotted_text(test) == name or _length_of(test) == name:
        return True
    if not (isinstance(test, ast.Compare) and len(test.ops) == 1 and _length_of(test.left) == name):
        return False
    bound, op = test.comparators[0], test.ops[0]
    if isinstance(bound, ast.Constant):
        value = bound.value
        if not isinstance(value, int) or isinstance(value, bool):
            return False
        # len > 0 (or more), len >= 1 (or more), len != 0: at least one item.
        return (
            (isinstance(op, ast.Gt) and value >= 0)
            or (isinstance(op, ast.GtE) and value >= 1)
            or (isinstance(op, ast.NotEq) and value == 0)
        )
    return isinstance(op, ast.Gt) and (last_name(bound) or "").isupper()  # `len(cache) > _MAXIMUM`


def _tests_empty(test: ast.expr, name: str) -> bool:
    """`not values`, `len(values) == 0`, or a disjunction with one of them: the `else:` of such
    a test has the container `name` not empty."""
    if isinstance(test, ast.BoolOp) and isinstance(test.op, ast.Or):
        return any(_tests_empty(value, name) for value in test.values)
    if isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not):
        return dotted_text(test.operand) == name or _length_of(test.operand) == name
    return (
        isinstance(test, ast.Compare)
        and len(test.ops) == 1
        and isinstance(test.ops[0], ast.Eq)
        and _length_of(test.left) == name
        and isinstance(test.comparators[0], ast.Constant)
        and test.comparators[0].value == 0
    )


def _length_of(expr: ast.expr) -> str | None:
    """`values` of `len(values)`."""
    if isinstance(expr, ast.Call) and dotted_text(expr.func) == "len" and len(expr.args) == 1:
        return dotted_text(expr.args[0])
    return None


def _divides_by_a_number(node: ast.BinOp) -> bool:
    right = node.right
    return (
        isinstance(node.op, (ast.Div, ast.FloorDiv, ast.Mod))
        and isinstance(right, ast.Constant)
        and isinstance(right.value, (int, float))
        and not isinstance(right.value, bool)
        and right.value != 0
    )


def _runs_a_coroutine(call: ast.Call, qualname: str | None) -> bool:
    """`asyncio.run(main())`, `loop.run_until_complete(self._run())`: a coroutine run to its end."""
    if len(call.args) != 1 or not isinstance(call.args[0], ast.Call):
        return False
    func = call.func
    return qualname in RUN_TO_COMPLETION or (isinstance(func, ast.Attribute) and func.attr == RUN_UNTIL_COMPLETE)


def _only_a_timeout(call: ast.Call, *, strict: bool = False) -> bool:
    """No argument but a timeout. `strict` (for `join`, which strings have too): a positional
    argument must look like one, a number or a name holding "timeout"."""
    if call.keywords:
        return not call.args and len(call.keywords) == 1 and call.keywords[0].arg == "timeout"
    if not call.args:
        return True
    if len(call.args) > 1:
        return False
    if not strict:
        return True
    arg = call.args[0]
    if isinstance(arg, ast.Constant):
        return isinstance(arg.value, (int, float)) and not isinstance(arg.value, bool)
    return "timeout" in (last_name(arg) or "").lower()


def a_logger(receiver: ast.expr, scope: Scope) -> bool:
    """`log`, `self._logger`, or a module's name bound once to a logger it made
    (`TRACE_PACKETS = LOG.getChild("trace.packet")`, `_l = logging.getLogger(__name__)`)."""
    if "log" in (last_name(receiver) or "").lower():
        return True
    bound = module_constant(receiver, scope)
    return bound is not None and isinstance(bound[0], ast.Call) and last_name(bound[0].func) in (GET_LOGGER, "getChild")


def _formats_a_constant(func: ast.expr) -> bool:
    """`"...".format`: a constant string's."""
    return (
        isinstance(func, ast.Attribute)
        and func.attr == "format"
        and isinstance(func.value, ast.Constant)
        and isinstance(func.value.value, str)
    )


def _a_filled_display(expr: ast.expr) -> bool:
    """A list, tuple or string written out with at least one item."""
    if isinstance(expr, (ast.List, ast.Tuple)):
        return bool(expr.elts)
    return isinstance(expr, ast.Constant) and isinstance(expr.value, str) and bool(expr.value)
