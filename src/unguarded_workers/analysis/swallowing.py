"""Context managers of the project that swallow every failure of their body: a `with` of one
is a guard, as `with contextlib.suppress(Exception):` is.

    @contextlib.contextmanager
    def logged_errors():              # its yield is in a try that contains
        try:
            yield
        except Exception:
            log.exception("background step failed")

    class CaptureInternalException:
        def __exit__(self, ty, value, tb):
            report(value)
            return True               # every way out says "handled"

    _CAPTURE = CaptureInternalException()

    def capture_internal_exceptions():
        return _CAPTURE               # a def that hands out such an instance

    with capture_internal_exceptions():
        self._flush()                 # guarded

    _TOP_HANDLER = capture_internal_exceptions()   # made once, at module level
    with _TOP_HANDLER:
        self._flush()                 # guarded too

Not swallowing: a `__exit__` that returns anything but `True` on some path, a generator
whose handler re-raises or catches less than `Exception`, a context manager the analysis
cannot see (a library's, a parameter).
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from .index import FunctionNode, Scope, dotted_text, own_statements
from .resolve import ClassRef, Resolved

if TYPE_CHECKING:
    from .module import Def, ModuleAnalysis

_CONTEXT_MANAGER_DECORATORS = frozenset({"contextmanager", "asynccontextmanager"})
_EXITS = ("__exit__", "__aexit__")


def swallows_everything(module: ModuleAnalysis, expr: ast.expr, scope: Scope) -> bool:
    """Whether `with EXPR:` contains every failure of its body: EXPR makes an instance of a
    project class whose exit always says "handled", or calls a def that returns one, or a
    generator context manager whose yield a broad handler covers; or EXPR names a module's
    own such context manager, made once (`_topHandler = _log.failureHandler(...)`)."""
    if isinstance(expr, ast.Name):
        made = _module_instance(expr, scope)
        return bool(made) and all(swallows_everything(module, call, call_scope) for call, call_scope in made)
    if not isinstance(expr, ast.Call):
        return False
    resolver = module.resolver
    cls = resolver.class_ref(expr.func, scope)
    if cls is not None:
        return _exit_swallows(module, cls)
    target = resolver.callable_target(expr.func, scope)
    return isinstance(target, Resolved) and all(_def_swallows(definition) for definition in target.functions)


def _exit_swallows(module: ModuleAnalysis, cls: ClassRef) -> bool:
    exits = [d for name in _EXITS for d in module.resolver.methods(cls, name)]
    return bool(exits) and all(_always_returns_true(d.node) for d in exits)


def _always_returns_true(fn: FunctionNode) -> bool:
    """Its last statement is `return True`, and no other return says anything else."""
    if not fn.body or not _returns_true(fn.body[-1]):
        return False
    return all(_returns_true(stmt) for stmt in own_statements(fn.body) if isinstance(stmt, ast.Return))


def _returns_true(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Return) and isinstance(stmt.value, ast.Constant) and stmt.value.value is True


def _def_swallows(definition: Def) -> bool:
    fn, module = definition.node, definition.module
    inner = module.index.inner_scope(fn)
    if makes_a_context_manager(fn):
        return _yield_is_contained(module, fn, inner)
    returns = [stmt for stmt in own_statements(fn.body) if isinstance(stmt, ast.Return)]
    return bool(returns) and all(_hands_out_a_swallower(module, stmt.value, inner) for stmt in returns)


def makes_a_context_manager(fn: FunctionNode) -> bool:
    """A `@contextmanager` (or `@asynccontextmanager`) generator: `with` gives what it yields."""
    return any(_last_part(d) in _CONTEXT_MANAGER_DECORATORS for d in fn.decorator_list)


def _last_part(decorator: ast.expr) -> str:
    return (dotted_text(decorator) or "").rpartition(".")[2]


def _yield_is_contained(module: ModuleAnalysis, fn: FunctionNode, scope: Scope) -> bool:
    for stmt in own_statements(fn.body):
        if isinstance(stmt, ast.Try) and any(_is_yield(s) for s in own_statements(stmt.body)):
            return module.guards.try_contains(stmt.handlers, scope)
    return False


def _is_yield(stmt: ast.stmt) -> bool:
    return isinstance(stmt, ast.Expr) and isinstance(stmt.value, (ast.Yield, ast.YieldFrom))


def _hands_out_a_swallower(module: ModuleAnalysis, value: ast.expr | None, scope: Scope) -> bool:
    """`return CaptureInternalException()`, or `return _CAPTURE` of a module-level such instance."""
    if isinstance(value, ast.Call):
        cls = module.resolver.class_ref(value.func, scope)
        return cls is not None and _exit_swallows(module, cls)
    if isinstance(value, ast.Name):
        made = _module_instance(value, scope)
        return bool(made) and all(_hands_out_a_swallower(module, call, call_scope) for call, call_scope in made)
    return False


def _module_instance(name: ast.Name, scope: Scope) -> list[tuple[ast.Call, Scope]]:
    """The calls a module-level name is bound to (`_CAPTURE = Capture()`), each a making of the
    module's own instance; none when it is bound otherwise, or not at module level."""
    owner = scope.lookup(name.id)
    if owner is None or owner.parent is not None:
        return []
    values = owner.values.get(name.id, [])
    calls = [(value, value_scope) for value, value_scope in values if isinstance(value, ast.Call)]
    return calls if len(calls) == len(values) else []
