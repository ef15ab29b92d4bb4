"""From a spawn's target expression to the def that will run, when this module holds it.

Valid (resolved):   Thread(target=worker), submit(self._work), create_task(worker(x)),
                    submit(functools.partial(work, x)), Thread(target=lambda: work(x)),
                    ClassName.method, a def nested in the enclosing function
Guarded outright:   Thread(target=wrap(worker)), create_task(wrap(worker(x))),
                    Thread(target=time.sleep, args=(1,)) (a harmless callable)
Unresolved:         an imported function, a parameter, another object's attribute,
                    the result of some other call
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from typing import Union

from ..options import Options
from .index import Binding, FunctionNode, ModuleIndex, Scope, dotted_text
from .known import GUARDS, PARTIALS, PRINT, SLEEPS


@dataclass(frozen=True)
class Resolved:
    """The defs the target names (more than one when a name is defined twice)."""

    functions: tuple[FunctionNode, ...]


@dataclass(frozen=True)
class Unresolved:
    """The target could not be inspected; `reason` completes "it is ..."."""

    reason: str


@dataclass(frozen=True)
class Guarded:
    """The target is a guard call, or a callable that cannot fail in a worker."""


Target = Union[Resolved, Unresolved, Guarded]
GUARDED = Guarded()


class Resolver:
    def __init__(self, index: ModuleIndex, options: Options) -> None:
        self._index = index
        self._guards = GUARDS | options.guards
        self._harmless = SLEEPS | {PRINT} | options.harmless_calls

    def matches(self, expr: ast.expr, scope: Scope, names: frozenset[str]) -> bool:
        """Whether `expr` names one of `names`, by qualified name or as written."""
        qualname = self._index.qualname(expr, scope)
        return (qualname is not None and qualname in names) or dotted_text(expr) in names

    def is_guard(self, expr: ast.expr, scope: Scope) -> bool:
        """`wrap`, or a configured guard; also `wrap(...)` used as a decorator factory."""
        if isinstance(expr, ast.Call):
            expr = expr.func
        return self.matches(expr, scope, self._guards)

    def is_harmless_callable(self, expr: ast.expr, scope: Scope) -> bool:
        return self.matches(expr, scope, self._harmless)

    def coroutine_target(self, expr: ast.expr, scope: Scope) -> Target:
        """The target of `create_task(CORO)`: the coroutine function CORO calls."""
        if isinstance(expr, ast.Await):
            expr = expr.value
        if not isinstance(expr, ast.Call):
            return Unresolved("a coroutine object made elsewhere")
        if self.is_guard(expr.func, scope) or self.matches(expr.func, scope, PARTIALS):
            return self.callable_target(expr, scope)  # wrap(worker(x)), partial(worker, x)
        return self.callable_target(expr.func, scope)

    def callable_target(self, expr: ast.expr, scope: Scope) -> Target:
        """The target of `Thread(target=F)` / `submit(F, ...)`: the def F names."""
        if isinstance(expr, ast.Call):
            if self.is_guard(expr.func, scope):
                return GUARDED
            if self.matches(expr.func, scope, PARTIALS) and expr.args:
                return self.callable_target(expr.args[0], scope)
            return Unresolved("made by a call")
        if isinstance(expr, ast.Lambda):
            body = expr.body
            inner = self._index.inner_scope(expr)
            if isinstance(body, ast.Call):
                return self.callable_target(body.func, inner)
            if isinstance(body, (ast.Constant, ast.Name)):
                return GUARDED
            return Unresolved("a lambda that does more than call a function")
        if self.is_harmless_callable(expr, scope):
            return GUARDED
        if isinstance(expr, ast.Name):
            return self._name_target(expr.id, scope)
        if isinstance(expr, ast.Attribute):
            return self._attribute_target(expr, scope)
        return Unresolved("not a function of this module")

    def _name_target(self, name: str, scope: Scope) -> Target:
        owner = scope.lookup(name)
        if owner is None:
            return Unresolved("a builtin")
        binding = owner.bindings[name]
        if binding is Binding.FUNCTION:
            return Resolved(tuple(owner.functions[name]))
        reasons = {
            Binding.IMPORT: "imported",
            Binding.PARAM: "a parameter",
            Binding.CLASS: "a class",
            Binding.LOCAL: "a variable",
        }
        return Unresolved(reasons[binding])

    def _attribute_target(self, expr: ast.Attribute, scope: Scope) -> Target:
        receiver = expr.value
        if isinstance(receiver, ast.Name):
            found = scope.enclosing_class()
            if found is not None and found[1] == receiver.id:
                methods = self.methods(found[0], expr.attr)
                return Resolved(methods) if methods else Unresolved("not a method defined in this module")
            owner = scope.lookup(receiver.id)
            if owner is not None and owner.bindings[receiver.id] is Binding.CLASS:
                methods = self.methods(self._index.inner_scope(owner.classes[receiver.id]), expr.attr)
                return Resolved(methods) if methods else Unresolved("not a method defined in this module")
            if owner is not None and owner.bindings[receiver.id] is Binding.IMPORT:
                return Unresolved("imported")
        return Unresolved("an attribute of another object")

    def methods(self, class_scope: Scope, name: str) -> tuple[FunctionNode, ...]:
        """`name` defined in the class or, failing that, in its bases of this module."""
        seen: set[int] = set()
        queue = [class_scope]
        while queue:
            current = queue.pop(0)
            if id(current) in seen:
                continue
            seen.add(id(current))
            if name in current.functions:
                return tuple(current.functions[name])
            queue += self.module_bases(current)
        return ()

    def module_bases(self, class_scope: Scope) -> list[Scope]:
        """The scopes of the class's bases that are classes of this module."""
        node = class_scope.node
        assert isinstance(node, ast.ClassDef)
        outer = class_scope.parent
        assert outer is not None
        bases = []
        for base in node.bases:
            if isinstance(base, ast.Name):
                owner = outer.lookup(base.id)
                if owner is not None and owner.bindings[base.id] is Binding.CLASS:
                    bases.append(self._index.inner_scope(owner.classes[base.id]))
        return bases
