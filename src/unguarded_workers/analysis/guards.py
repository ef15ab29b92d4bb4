"""Whether a worker's def contains its own failures.

A def is guarded when it is decorated with a guard, or when every statement of
its body is guarded or harmless:

Guarded:
    def worker():
        while not stop.is_set():          # headers are not inspected
            try:
                step()
            except Exception:
                log.exception("step failed")

    def worker():
        logger.debug("starting")          # a harmless call outside the try
        try:
            work()
        except asyncio.CancelledError:
            raise                         # cancellation must propagate
        except Exception:
            logger.exception("failed")

    async def consume(rx):
        try:
            while True:
                message = await rx.receive()      # a wait, not work
                try:
                    handle(message)
                except Exception:
                    log.exception("bad message")
        except asyncio.CancelledError:    # cancellation handlers are not inspected
            await rx.aclose()

    def serve():
        server.serve_forever()            # the server logs its handlers' errors

Unguarded:
    def worker():
        try:
            work()
        except Exception:
            log.exception("failed")
            raise                         # re-raising is not containing

    def worker():
        setup()                           # a call outside any guard
        try: ...
"""

from __future__ import annotations

import ast
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Union

from ..options import Options
from .index import FUNCTION_TYPES, FunctionNode, Scope, last_name
from .known import (
    ANEXT,
    BROAD_EXCEPTIONS,
    CANCELLED_CLASS_GETTERS,
    EVENT_METHODS,
    EXIT_EXCEPTION_NAMES,
    GET_LOGGER,
    LOG_METHODS,
    LOGGING_GET_LOGGER,
    RECEIVE_METHODS,
    SCHEDULE_METHODS,
    SERVE_METHODS,
    WAIT_METHODS,
)
from .resolve import Guarded, Resolved, Target, Unresolved

if TYPE_CHECKING:
    from .module import Def, ModuleAnalysis

_TRY_TYPES: tuple[type[ast.stmt], ...] = tuple(
    t for t in (ast.Try, getattr(ast, "TryStar", None)) if isinstance(t, type)
)
_MATCH = getattr(ast, "Match", None)
_SIMPLE_STATEMENTS = (ast.Pass, ast.Break, ast.Continue, ast.Global, ast.Nonlocal)


# A statement's verdict: harmless (True), not (False), or harmless exactly when these
# defs it delegates to are guarded.
Verdict = Union[bool, tuple["Def", ...]]


class GuardAnalysis:
    """Guard verdicts of one module's defs; a def's calls may lead into other modules.

    Defs are judged on a stack of their own, not Python's: a chain of a hundred calls,
    or an `elif` chain of hundreds of branches, is as cheap as a short one.
    """

    def __init__(self, module: ModuleAnalysis, options: Options) -> None:
        self._module = module
        self._index = module.index
        self._resolver = module.resolver
        self._options = options
        self._verdicts: dict[int, bool] = {}
        self._in_progress: set[int] = set()

    def target_guarded(self, target: Target) -> bool | None:
        """True/False for a known target, None when it could not be inspected."""
        if isinstance(target, Guarded):
            return True
        if isinstance(target, Unresolved):
            return None
        return all(_judge(d) for d in target.functions)

    def def_guarded(self, fn: FunctionNode) -> bool:
        from .module import Def

        return _judge(Def(self._module, fn))

    def _start(self, fn: FunctionNode) -> bool | Generator[Def, bool, bool]:
        """The verdict if known, else the steps that reach it (marking the def in progress)."""
        key = id(fn)
        verdict = self._verdicts.get(key)
        if verdict is not None:
            return verdict
        if key in self._in_progress:
            return False  # a cycle proves nothing
        self._in_progress.add(key)
        return self._steps(fn)

    def _finish(self, fn: FunctionNode, verdict: bool | None) -> None:
        self._in_progress.discard(id(fn))
        if verdict is not None:
            self._verdicts[id(fn)] = verdict

    def _steps(self, fn: FunctionNode) -> Generator[Def, bool, bool]:
        """Whether `fn` is guarded: yields each def it delegates to and is sent that def's verdict."""
        scope = self._index.inner_scope(fn)
        outer = scope.parent
        assert outer is not None
        if any(self._resolver.is_guard(d, outer) for d in fn.decorator_list):
            return True
        for verdict in self._leaf_verdicts(fn.body, scope):
            if verdict is False:
                return False
            if verdict is not True:
                for delegate in verdict:
                    if not (yield delegate):
                        return False
        return True

    # -- statements ----------------------------------------------------------

    def _leaf_verdicts(self, body: list[ast.stmt], scope: Scope) -> Iterator[Verdict]:
        """The verdict of every statement that must be harmless for `body` to be guarded,
        in source order; compound statements open into the bodies that count."""
        stack = list(reversed(body))
        while stack:
            stmt = stack.pop()
            inner = self._inner_bodies(stmt, scope)
            if inner is None:
                yield self._harmless(stmt, scope)
            else:
                for block in reversed(inner):
                    stack.extend(reversed(block))

    def _inner_bodies(self, stmt: ast.stmt, scope: Scope) -> list[list[ast.stmt]] | None:
        """The blocks of a compound statement that must be guarded; None for a simple statement.

        Headers (an `if`'s test, a loop's iterable) are not inspected; nor are `finally:`.
        """
        if isinstance(stmt, _TRY_TYPES):
            handlers: list[ast.ExceptHandler] = getattr(stmt, "handlers", [])
            if self._try_contains(handlers, scope):
                return []  # guarded: its `else:` and `finally:` are not inspected
            # Like any compound statement, except that the handlers of cancellation and exit
            # alone (clean-up on shutdown) are not inspected.
            kept = [h.body for h in handlers if not self._is_exit_only(h.type, scope)]
            return [getattr(stmt, "body", []), *kept, getattr(stmt, "orelse", [])]
        if isinstance(stmt, (ast.If, ast.For, ast.AsyncFor, ast.While)):
            return [stmt.body, stmt.orelse]
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            return [stmt.body]
        if _MATCH is not None and isinstance(stmt, _MATCH):
            return [case.body for case in stmt.cases]
        return None

    def _try_contains(self, handlers: list[ast.ExceptHandler], scope: Scope) -> bool:
        """A broad handler that does not re-raise, and no earlier handler that lets a failure out.

        Handlers after the broad one only ever see what it let pass (BaseExceptions
        that are not Exceptions), so their re-raising leaks nothing.
        """
        for handler in handlers:
            reraises = _ends_in_raise(handler)
            if self._is_broad(handler.type, scope):
                return not reraises
            if reraises and not self._is_exit_only(handler.type, scope):
                return False
        return False

    def _is_broad(self, exc_type: ast.expr | None, scope: Scope) -> bool:
        if exc_type is None:
            return True
        types = exc_type.elts if isinstance(exc_type, ast.Tuple) else [exc_type]
        return any(self._index.qualname(t, scope) in BROAD_EXCEPTIONS for t in types)

    def _is_exit_only(self, exc_type: ast.expr | None, scope: Scope) -> bool:
        if exc_type is None:
            return False
        types = exc_type.elts if isinstance(exc_type, ast.Tuple) else [exc_type]
        return all(_is_exit_type(t) for t in types)

    # -- harmless statements ---------------------------------------------------

    def _harmless(self, stmt: ast.stmt, scope: Scope) -> Verdict:
        if isinstance(stmt, _SIMPLE_STATEMENTS):
            return True
        if isinstance(stmt, ast.Expr):
            return _calls_nothing(stmt.value) or self._harmless_call(stmt.value, scope)
        if isinstance(stmt, (ast.Return, ast.Assign, ast.AugAssign, ast.AnnAssign)):
            return stmt.value is None or _calls_nothing(stmt.value) or self._harmless_call(stmt.value, scope)
        if isinstance(stmt, ast.Assert):
            # `assert self.interval is not None`: a precondition (often for the type
            # checker) that calls nothing, not the worker's work.
            return _calls_nothing(stmt.test)
        if isinstance(stmt, (*FUNCTION_TYPES, ast.ClassDef)):
            # Defining a function or class runs nothing but its decorators.
            return all(isinstance(d, (ast.Name, ast.Attribute)) for d in stmt.decorator_list)
        return False

    def _harmless_call(self, expr: ast.expr, scope: Scope) -> Verdict:
        """A call (awaited or not) that cannot fail, waits for the next item, or delegates
        to a guarded def."""
        if isinstance(expr, ast.Await):
            expr = expr.value
        if not isinstance(expr, ast.Call):
            return False
        func = expr.func
        if self._resolver.is_harmless_callable(func, scope):
            return True
        if self._index.qualname(func, scope) in (ANEXT, LOGGING_GET_LOGGER):
            return True  # anext(rx): the next item; getLogger(...) imported from logging
        if isinstance(func, ast.Attribute):
            if func.attr in RECEIVE_METHODS or func.attr in SERVE_METHODS or func.attr in SCHEDULE_METHODS:
                return True
            if func.attr == GET_LOGGER:
                return True
            if func.attr in LOG_METHODS and "log" in (last_name(func.value) or "").lower():
                return True
            if func.attr in EVENT_METHODS and not expr.args and not expr.keywords:
                return True
            if func.attr in WAIT_METHODS and _only_a_timeout(expr, strict=func.attr == "join"):
                return True
        # Rule 4: a call to a def of the module or project that is itself guarded.
        target = self._resolver.callable_target(func, scope)
        return target.functions if isinstance(target, Resolved) else False


def _judge(root: Def) -> bool:
    """Whether `root` is guarded: its steps and those of every def they delegate to run on
    an explicit stack, each def's verdict kept by its own module's analysis."""
    first = root.module.guards._start(root.node)
    if isinstance(first, bool):
        return first
    stack: list[tuple[Def, Generator[Def, bool, bool]]] = [(root, first)]
    verdict: bool | None = None
    try:
        while stack:
            current, steps = stack[-1]
            try:
                request = steps.send(verdict)  # type: ignore[arg-type]  # None starts a generator
            except StopIteration as done:
                stack.pop()
                verdict = bool(done.value)
                current.module.guards._finish(current.node, verdict)
                continue
            started = request.module.guards._start(request.node)
            if isinstance(started, bool):
                verdict = started
            else:
                stack.append((request, started))
                verdict = None
    finally:
        for unfinished, _ in stack:  # only after an error: forget the half-done defs
            unfinished.module.guards._finish(unfinished.node, None)
    return bool(verdict)


def _ends_in_raise(handler: ast.ExceptHandler) -> bool:
    return bool(handler.body) and isinstance(handler.body[-1], ast.Raise)


def _is_exit_type(expr: ast.expr) -> bool:
    if isinstance(expr, ast.Call):  # anyio.get_cancelled_exc_class()
        return last_name(expr.func) in CANCELLED_CLASS_GETTERS
    return last_name(expr) in EXIT_EXCEPTION_NAMES


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


# Expressions that call nothing: names, attributes, constants, literals, and operators,
# comparisons, conditionals and f-strings over them.
_CALL_FREE = (
    ast.Constant, ast.Name, ast.Attribute, ast.UnaryOp, ast.BinOp, ast.BoolOp, ast.Compare, ast.IfExp,
    ast.JoinedStr, ast.FormattedValue, ast.List, ast.Tuple, ast.Set, ast.Dict, ast.Starred,
    ast.expr_context, ast.operator, ast.unaryop, ast.boolop, ast.cmpop,
)  # fmt: skip


# Division can fail on a zero, a power overflow: arithmetic that is work.
_FALLIBLE_OPERATORS = (ast.Div, ast.FloorDiv, ast.Mod, ast.Pow, ast.MatMult)


def _calls_nothing(expr: ast.expr) -> bool:
    """An expression that runs no code of its own: `"after_" + name`, `f"{a}"`, `x is None`.

    Iterative, so that a long chain of operators cannot exhaust the stack.
    """
    stack: list[ast.AST] = [expr]
    while stack:
        node = stack.pop()
        if not isinstance(node, _CALL_FREE) or isinstance(node, _FALLIBLE_OPERATORS):
            return False
        stack.extend(ast.iter_child_nodes(node))
    return True
