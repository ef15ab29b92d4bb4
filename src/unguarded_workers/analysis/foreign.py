"""Calls of code a worker was handed rather than code of its own: a confidence signal.

A worker that runs a callback, a handler, a user's plugin or a subclass's hook outside any
guard dies of whatever that code raises, and the code's author cannot know it.

Foreign:
    handler(event)                       # a parameter, or a variable (queued work: fn(*args))
    self._on_message(client, message)    # an attribute assigned elsewhere, not a method
    self.on_connect(flags)               # a callback users set on the object (paho's style)
    self.handle(request)                 # a method a subclass overrides (a stub here)
    listener.on_event(e); self._reporter.report(span)   # a method of a handed-in object

Not foreign:
    self._flush(batch)                   # a method of the class
    json.loads(data); sock.recv(1024)    # library code
"""

from __future__ import annotations

import ast
from typing import TYPE_CHECKING

from .exposure import ForeignCall, quoted
from .index import Binding, Scope, last_name
from .resolve import Unresolved

if TYPE_CHECKING:
    from .module import ModuleAnalysis

# Names that say an object or attribute holds someone else's code.
_FOREIGN_WORDS = ("callback", "handler", "listener", "observer", "subscriber", "hook", "plugin", "reporter")


def foreign_call(module: ModuleAnalysis, call: ast.Call, scope: Scope) -> ForeignCall | None:
    """The call as foreign code, if it is."""
    func = call.func
    if isinstance(func, ast.Name):
        target = module.resolver.callable_target(func, scope)
        if isinstance(target, Unresolved) and target.handed_in and not _holds_own_code(module, func, scope):
            return ForeignCall(call, module, f"the handed-in callable '{func.id}'")
        return None
    if not isinstance(func, ast.Attribute):
        return None
    if _is_self(func.value, scope):
        target = module.resolver.callable_target(func, scope)
        foreign = isinstance(target, Unresolved) and (target.handed_in or _sounds_foreign(func.attr))
        if foreign and not _holds_own_code(module, func, scope):
            return ForeignCall(call, module, f"the callback {quoted(func)}")
        return None
    receiver = func.value
    if _handed_in_object(receiver, scope) and (
        _sounds_foreign(last_name(receiver) or "") or func.attr.startswith(("on_", "handle"))
    ):
        return ForeignCall(call, module, f"the handed-in {quoted(receiver)}'s {func.attr}()")
    return None


def _holds_own_code(module: ModuleAnalysis, func: ast.Name | ast.Attribute, scope: Scope) -> bool:
    """A variable or `self.X` every value of which is code the analysis resolves: `fn =
    self._compute`, `self._step = self._step_v2` (a parameter, a call's result or a value
    taken from a queue is not)."""
    values: list[tuple[ast.expr, Scope]] = []
    if isinstance(func, ast.Name):
        owner = scope.lookup(func.id)
        if owner is None or owner.bindings.get(func.id) is not Binding.LOCAL:
            return False
        values = owner.values.get(func.id, [])
    else:
        found = scope.enclosing_class()
        if found is not None:
            values = found[0].attr_values.get(func.attr, [])
    resolver = module.resolver
    return bool(values) and all(
        isinstance(value, (ast.Name, ast.Attribute, ast.Lambda))
        and not isinstance(resolver.callable_target(value, value_scope), Unresolved)
        for value, value_scope in values
    )


def _is_self(expr: ast.expr, scope: Scope) -> bool:
    found = scope.enclosing_class()
    return isinstance(expr, ast.Name) and found is not None and found[1] == expr.id


def _handed_in_object(receiver: ast.expr, scope: Scope) -> bool:
    """A parameter or variable (a loop's `listener`), or `self.X` of the instance."""
    if isinstance(receiver, ast.Attribute):
        return _is_self(receiver.value, scope)
    if isinstance(receiver, ast.Name):
        owner = scope.lookup(receiver.id)
        return owner is not None and owner.bindings[receiver.id] in (Binding.PARAM, Binding.LOCAL)
    return False


def _sounds_foreign(name: str) -> bool:
    lowered = name.lower().lstrip("_")
    return lowered.startswith("on_") or any(word in lowered for word in _FOREIGN_WORDS)
