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

from ..options import Options
from .index import FUNCTION_TYPES, FunctionNode, ModuleIndex, Scope, last_name
from .known import (
    BROAD_EXCEPTIONS,
    CANCELLED_CLASS_GETTERS,
    EVENT_METHODS,
    EXIT_EXCEPTION_NAMES,
    LOG_METHODS,
    WAIT_METHOD,
)
from .resolve import Guarded, Resolved, Resolver, Target, Unresolved

_TRY_TYPES: tuple[type[ast.stmt], ...] = tuple(
    t for t in (ast.Try, getattr(ast, "TryStar", None)) if isinstance(t, type)
)
_MATCH = getattr(ast, "Match", None)
_SIMPLE_STATEMENTS = (ast.Pass, ast.Break, ast.Continue, ast.Global, ast.Nonlocal)


class GuardAnalysis:
    def __init__(self, index: ModuleIndex, resolver: Resolver, options: Options) -> None:
        self._index = index
        self._resolver = resolver
        self._options = options
        self._verdicts: dict[int, bool] = {}
        self._in_progress: set[int] = set()

    def target_guarded(self, target: Target) -> bool | None:
        """True/False for a known target, None when it could not be inspected."""
        if isinstance(target, Guarded):
            return True
        if isinstance(target, Unresolved):
            return None
        return all(self.def_guarded(fn) for fn in target.functions)

    def def_guarded(self, fn: FunctionNode) -> bool:
        key = id(fn)
        verdict = self._verdicts.get(key)
        if verdict is not None:
            return verdict
        if key in self._in_progress:
            return False  # a cycle proves nothing
        self._in_progress.add(key)
        try:
            scope = self._index.inner_scope(fn)
            outer = scope.parent
            assert outer is not None
            verdict = any(self._resolver.is_guard(d, outer) for d in fn.decorator_list) or self._body_guarded(
                fn.body, scope
            )
        finally:
            self._in_progress.discard(key)
        self._verdicts[key] = verdict
        return verdict

    # -- statements ----------------------------------------------------------

    def _body_guarded(self, body: list[ast.stmt], scope: Scope) -> bool:
        return all(self._statement_guarded(stmt, scope) for stmt in body)

    def _statement_guarded(self, stmt: ast.stmt, scope: Scope) -> bool:
        if isinstance(stmt, _TRY_TYPES):
            return self._try_guarded(stmt, scope)
        if isinstance(stmt, (ast.If, ast.For, ast.AsyncFor, ast.While)):
            return self._body_guarded(stmt.body, scope) and self._body_guarded(stmt.orelse, scope)
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            return self._body_guarded(stmt.body, scope)
        if _MATCH is not None and isinstance(stmt, _MATCH):
            return all(self._body_guarded(case.body, scope) for case in stmt.cases)
        return self._harmless(stmt, scope)

    def _try_guarded(self, stmt: ast.stmt, scope: Scope) -> bool:
        handlers: list[ast.ExceptHandler] = getattr(stmt, "handlers", [])
        orelse: list[ast.stmt] = getattr(stmt, "orelse", [])
        if self._try_contains(handlers, scope):
            return self._body_guarded(orelse, scope)
        # No containing handler: like any compound statement; `finally:` is not inspected.
        body: list[ast.stmt] = getattr(stmt, "body", [])
        return (
            self._body_guarded(body, scope)
            and all(self._body_guarded(h.body, scope) for h in handlers)
            and self._body_guarded(orelse, scope)
        )

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

    def _harmless(self, stmt: ast.stmt, scope: Scope) -> bool:
        if isinstance(stmt, _SIMPLE_STATEMENTS):
            return True
        if isinstance(stmt, ast.Expr):
            return _is_simple_value(stmt.value) or self._harmless_call(stmt.value, scope)
        if isinstance(stmt, ast.Return):
            return stmt.value is None or _is_simple_value(stmt.value) or self._harmless_call(stmt.value, scope)
        if isinstance(stmt, (ast.Assign, ast.AugAssign, ast.AnnAssign)):
            return stmt.value is None or _is_simple_value(stmt.value) or self._harmless_call(stmt.value, scope)
        if isinstance(stmt, (*FUNCTION_TYPES, ast.ClassDef)):
            # Defining a function or class runs nothing but its decorators.
            return all(isinstance(d, (ast.Name, ast.Attribute)) for d in stmt.decorator_list)
        return False

    def _harmless_call(self, expr: ast.expr, scope: Scope) -> bool:
        """A call (awaited or not) that cannot fail, or that delegates to a guarded def."""
        if isinstance(expr, ast.Await):
            expr = expr.value
        if not isinstance(expr, ast.Call):
            return False
        func = expr.func
        if self._resolver.is_harmless_callable(func, scope):
            return True
        if isinstance(func, ast.Attribute):
            if func.attr in LOG_METHODS and "log" in (last_name(func.value) or "").lower():
                return True
            if func.attr in EVENT_METHODS and not expr.args and not expr.keywords:
                return True
            if func.attr == WAIT_METHOD and _only_a_timeout(expr):
                return True
        # Rule 4: a call to a def of this module that is itself guarded.
        target = self._resolver.callable_target(func, scope)
        return isinstance(target, Resolved) and self.target_guarded(target) is True


def _ends_in_raise(handler: ast.ExceptHandler) -> bool:
    return bool(handler.body) and isinstance(handler.body[-1], ast.Raise)


def _is_exit_type(expr: ast.expr) -> bool:
    if isinstance(expr, ast.Call):  # anyio.get_cancelled_exc_class()
        return last_name(expr.func) in CANCELLED_CLASS_GETTERS
    return last_name(expr) in EXIT_EXCEPTION_NAMES


def _only_a_timeout(call: ast.Call) -> bool:
    if not call.keywords:
        return len(call.args) <= 1
    return not call.args and len(call.keywords) == 1 and call.keywords[0].arg == "timeout"


def _is_simple_value(expr: ast.expr) -> bool:
    """A constant, a name, an attribute chain, or a literal container of those."""
    if isinstance(expr, (ast.Constant, ast.Name)):
        return True
    if isinstance(expr, ast.Attribute):
        return _is_simple_value(expr.value) and not isinstance(expr.value, ast.Constant)
    if isinstance(expr, ast.UnaryOp) and isinstance(expr.op, (ast.USub, ast.UAdd, ast.Not)):
        return isinstance(expr.operand, ast.Constant)
    if isinstance(expr, (ast.List, ast.Tuple, ast.Set)):
        return all(_is_simple_value(e) for e in expr.elts)
    if isinstance(expr, ast.Dict):
        return all(k is not None and _is_simple_value(k) for k in expr.keys) and all(
            _is_simple_value(v) for v in expr.values
        )
    return False
