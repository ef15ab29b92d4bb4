"""From a spawn's target expression to the def that will run, in this module or the project's.

Valid (resolved):   Thread(target=worker), submit(self._work), create_task(worker(x)),
                    submit(functools.partial(work, x)), Thread(target=lambda: work(x)),
                    ClassName.method, a def nested in the enclosing function,
                    `from .jobs import poll` then Thread(target=poll) (another module
                    of the project), a method inherited from a project base class
Guarded outright:   Thread(target=wrap(worker)), create_task(wrap(worker(x))),
                    Thread(target=time.sleep, args=(1,)) (a harmless callable)
Unresolved:         a function imported from outside the project, a parameter, another
                    object's attribute, the result of some other call
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

from ..options import Options
from .index import Binding, FunctionNode, Scope, annotation_parts, assigned_values, dotted_text, is_none, place_in_block
from .kept import binding_loops, kept_items
from .known import (
    GUARDS,
    INFALLIBLE_CALLS,
    INFALLIBLE_IN_COROUTINES,
    PARTIALS,
    PRINT,
    PROCESS_BASES,
    SLEEPS,
    THREAD_BASES,
    TRANSPARENT_DECORATORS,
)

if TYPE_CHECKING:
    from .module import Def, ModuleAnalysis

# How many `from .x import y` re-exports a name is followed through.
_MAX_REEXPORTS = 8


@dataclass(frozen=True)
class Resolved:
    """The defs the target names (more than one when a name is defined twice)."""

    functions: tuple[Def, ...]


@dataclass(frozen=True)
class Unresolved:
    """The target could not be inspected; `reason` completes "it is ...". `abstract`: a stub
    method, whose code is a subclass's (a hook: foreign code, when a worker calls it)."""

    reason: str
    abstract: bool = False


@dataclass(frozen=True)
class Guarded:
    """The target is a guard call, or a callable that cannot fail in a worker."""


Target = Union[Resolved, Unresolved, Guarded]
GUARDED = Guarded()
# A class and the module that defines it.
ClassRef = tuple["ModuleAnalysis", Scope]


class Resolver:
    def __init__(self, module: ModuleAnalysis, options: Options) -> None:
        self._module = module
        self._index = module.index
        self._guards = GUARDS | options.guards
        self._harmless = SLEEPS | INFALLIBLE_CALLS | {PRINT} | options.harmless_calls
        # Answers asked again (a statement's verdict and the guard analysis's both resolve its
        # call), by the ids of the expression and scope, held with the answer so that neither
        # id is reused by another node while the answer is kept.
        self._targets: dict[tuple[int, int], tuple[ast.expr, Scope, Target]] = {}
        self._bases: dict[int, tuple[Scope, tuple[ClassRef, ...]]] = {}

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
        return self.matches(expr, scope, self._harmless) or (
            isinstance(scope.node, ast.AsyncFunctionDef) and self.matches(expr, scope, INFALLIBLE_IN_COROUTINES)
        )

    def spawn_target(self, expr: ast.expr, scope: Scope, *, coroutine: bool) -> Target:
        """What a spawn's worker expression runs: a coroutine object's function, or a callable's;
        not a def another decorator wraps (the worker is what the decorator returns)."""
        target = self.coroutine_target(expr, scope) if coroutine else self.callable_target(expr, scope)
        if isinstance(target, Resolved):
            for definition in target.functions:
                decorator = next(
                    (d for d in definition.node.decorator_list if not self._transparent(d, definition)), None
                )
                if decorator is not None:
                    return Unresolved(
                        f"wrapped by the decorator {_decorator_name(decorator)}, which the analysis does not follow"
                    )
        return target

    def _transparent(self, decorator: ast.expr, definition: Def) -> bool:
        """A decorator after which the def's body is still what runs: a guard (`@wrap`),
        `@staticmethod`, `@functools.wraps(f)`, a cache; or one that never makes a worker."""
        module = definition.module
        scope = module.index.inner_scope(definition.node).parent
        assert scope is not None
        if module.resolver.is_guard(decorator, scope):
            return True
        name = module.index.qualname(decorator.func if isinstance(decorator, ast.Call) else decorator, scope)
        return name in TRANSPARENT_DECORATORS

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
        key = id(expr), id(scope)
        known = self._targets.get(key)
        if known is None:
            known = self._targets[key] = expr, scope, self._callable_target(expr, scope)
        return known[2]

    def _callable_target(self, expr: ast.expr, scope: Scope) -> Target:
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
            return self._name_target(expr.id, scope, expr)
        if isinstance(expr, ast.Attribute):
            return self._attribute_target(expr, scope)
        return Unresolved("not a function of this module")

    def _name_target(self, name: str, scope: Scope, use: ast.expr | None = None) -> Target:
        owner = scope.lookup(name)
        if owner is None:  # a builtin, or a name from a star import or defined nowhere
            return Unresolved("a builtin" if hasattr(builtins, name) else "not defined in this module")
        binding = owner.bindings[name]
        if binding is Binding.FUNCTION:
            defs = owner.functions[name]
            return self._defs(self._reaching(defs, use) if use is not None and len(defs) > 1 else defs)
        if binding is Binding.IMPORT and name in owner.imports:
            return self._imported_target(owner.imports[name], [])
        if binding is Binding.LOCAL and self._holds_only_guards(owner.values.get(name, [])):
            return GUARDED  # worker = wrap(f); Thread(target=worker)
        if binding is Binding.LOCAL and not owner.values.get(name):
            kept = self.loop_item_classes(name, owner)  # `for wait in self.waits: wait(event)`
            if kept:
                return self._methods_target(tuple(d for cls in kept for d in self.methods(cls, "__call__")))
        reasons = {
            Binding.IMPORT: "imported",
            Binding.PARAM: "a parameter",
            Binding.CLASS: "a class",
            Binding.LOCAL: "a variable",
        }
        return Unresolved(reasons[binding])

    def _reaching(self, defs: list[FunctionNode], use: ast.expr) -> list[FunctionNode]:
        """Of several defs of one name, the one a use of it sees when one of them stands before
        it in a block that holds the use (pyspark's two `copy_local_properties`, one in each
        branch of an `if`, each started in its own branch): the nearest such def. All of them
        when none does (defs in both branches of an `if` above the use: either may be it)."""
        around = set()
        node: ast.AST | None = use
        while node is not None:
            around.add(id(node))
            node = self._index.parent(node)
        seen = [d for d in defs if d.lineno < use.lineno and self._in_a_block_around(d, around)]
        return [max(seen, key=lambda d: d.lineno)] if seen else defs

    def _in_a_block_around(self, node: ast.stmt, around: set[int]) -> bool:
        """`node` stands in a block that holds one of `around` (the ids of a use and its parents)."""
        found = place_in_block(self._index.parent(node), node)
        return found is not None and any(id(stmt) in around for stmt in found[0])

    def assigned_guard(self, name: str, scope: Scope) -> ast.Call | None:
        """The guard call a variable holds, when it is assigned exactly one (`worker = wrap(f)`)."""
        owner = scope.lookup(name)
        if owner is None or owner.bindings[name] is not Binding.LOCAL:
            return None
        values = owner.values.get(name, [])
        if len(values) == 1 and self._holds_only_guards(values):
            value = values[0][0]
            return value if isinstance(value, ast.Call) else None
        return None

    def _holds_only_guards(self, values: list[tuple[ast.expr, Scope]]) -> bool:
        """Every value assigned to the variable is a guard's call (`wrap(f)`, `supervise(f, ...)`)."""
        return bool(values) and all(
            isinstance(value, ast.Call) and self.is_guard(value.func, scope) for value, scope in values
        )

    def _attribute_target(self, expr: ast.Attribute, scope: Scope) -> Target:
        receiver = expr.value
        instance_of = self._instance_classes(receiver, scope)
        if instance_of:
            methods = tuple(d for cls in instance_of for d in self.methods(cls, expr.attr))
            return self._methods_target(methods)
        if isinstance(receiver, ast.Name):
            found = scope.enclosing_class()
            if found is not None and found[1] == receiver.id:
                methods = self.methods((self._module, found[0]), expr.attr)
                if not methods and expr.attr in found[0].attr_values:
                    return Unresolved("an instance attribute set elsewhere, not a method")
                return self._methods_target(methods)
            owner = scope.lookup(receiver.id)
            if owner is not None and owner.bindings[receiver.id] is Binding.CLASS:
                class_scope = self._index.inner_scope(owner.classes[receiver.id])
                return self._methods_target(self.methods((self._module, class_scope), expr.attr))
            if owner is not None and owner.bindings[receiver.id] is Binding.IMPORT and receiver.id in owner.imports:
                return self._imported_target(owner.imports[receiver.id], [expr.attr])
        return Unresolved("an attribute of another object")

    def _instance_classes(self, receiver: ast.expr, scope: Scope) -> list[ClassRef]:
        """The project classes a variable, parameter or `self.X` holds instances of, when
        every value assigned to it is one (or None) or an annotated parameter of one; empty
        when any value is something else."""
        values: list[tuple[ast.expr, Scope]] = []
        if isinstance(receiver, ast.Name):
            owner = scope.lookup(receiver.id)
            if owner is None:
                return []
            binding = owner.bindings[receiver.id]
            if binding is Binding.PARAM:
                values = [(receiver, owner)]
            elif binding is Binding.LOCAL:
                values = assigned_values(receiver, scope)
                if not values:
                    return self.loop_item_classes(receiver.id, owner)  # `for handler in self._handlers:`
        else:
            values = assigned_values(receiver, scope)
        classes: list[ClassRef] = []
        for value, value_scope in values:
            if isinstance(value, ast.Constant) and value.value is None:
                continue
            ref = self._class_of_value(value, value_scope)
            if ref is None:
                return []
            classes.append(ref)
        return classes

    def loop_item_classes(self, name: str, owner: Scope) -> list[ClassRef]:
        """The project classes of what a loop's variable walks, when the loops walk collections
        of the instance's that it fills only with objects it makes (see `kept`): frida-tools'
        `for handler in self._ui_socket_handlers:`; empty for any other."""
        classes: list[ClassRef] = []
        for walked in binding_loops(name, owner):
            items = kept_items(self._index, walked, owner)
            if items is None:
                return []
            for item, where in items:
                ref = self._class_of_item(item, where)
                if ref is None:
                    return []
                classes.append(ref)
        return classes

    def _class_of_item(self, item: ast.expr, scope: Scope) -> ClassRef | None:
        """`Wait(...)`, or a variable of the def bound only to makings of one class (`handler =
        UISocketHandler(self, websocket)`)."""
        if isinstance(item, ast.Name):
            owner = scope.lookup(item.id)
            values = (
                owner.values.get(item.id, []) if owner is not None and owner.bindings[item.id] is Binding.LOCAL else []
            )
            return _one_class(
                [self._class_of_value(value, where) if isinstance(value, ast.Call) else None for value, where in values]
            )
        return self._class_of_value(item, scope) if isinstance(item, ast.Call) else None

    def _class_of_value(self, value: ast.expr, scope: Scope) -> ClassRef | None:
        """`Cls(...)`, or a parameter annotated `Cls` / `Optional[Cls]` / `"Cls"`; `client or
        Client()`, `x if x is not None else X()` when each choice is the same class."""
        choices = (
            value.values
            if isinstance(value, ast.BoolOp)
            else [value.body, value.orelse]
            if isinstance(value, ast.IfExp)
            else None
        )
        if choices is not None:
            return _one_class([self._class_of_value(choice, scope) for choice in choices if not is_none(choice)])
        if isinstance(value, ast.Call):
            return self.class_ref(value.func, scope)
        if isinstance(value, ast.Name):
            owner = scope.lookup(value.id)
            if owner is not None and owner.bindings[value.id] is Binding.PARAM and value.id in owner.annotations:
                outer = owner.parent or owner  # annotations are evaluated around the def
                for part in annotation_parts(owner.annotations[value.id]):
                    ref = self.class_ref(part, outer)
                    if ref is not None:
                        return ref
        return None

    def _defs(self, nodes: list[ast.FunctionDef | ast.AsyncFunctionDef]) -> Resolved:
        from .module import Def

        return Resolved(tuple(Def(self._module, node) for node in nodes))

    @staticmethod
    def _methods_target(methods: tuple[Def, ...]) -> Target:
        if not methods:
            return Unresolved("not a method defined in the project")
        if any(_is_stub(d.node) for d in methods):
            # A Protocol's or abstract base's method: a subclass holds the code that runs.
            return Unresolved("an abstract method, implemented elsewhere", abstract=True)
        return Resolved(methods)

    # -- other modules of the project ------------------------------------------

    def _imported_target(self, origin: str, attrs: list[str]) -> Target:
        found = self._imported(origin, attrs)
        if found is None:
            return Unresolved("imported")
        module, names = found
        return module.resolver.member_target(names)

    def _imported(self, origin: str, attrs: list[str]) -> tuple[ModuleAnalysis, list[str]] | None:
        """The project module `origin` (plus `.attrs`) leads to, and the names left to look up."""
        project, path = self._module.project, self._module.path
        if project is None or path is None:
            return None
        found = project.find(path, origin)
        if found is None:
            return None
        module, names = found
        return module, names + attrs

    def member_target(self, names: list[str], hops: int = 0) -> Target:
        """`name` or `Class.method` at this module's top level, following re-exports."""
        if not names:
            return Unresolved("a module")
        scope = self._index.module_scope
        first, rest = names[0], names[1:]
        binding = scope.bindings.get(first)
        if binding is Binding.FUNCTION and not rest:
            return self._defs(scope.functions[first])
        if binding is Binding.CLASS and len(rest) == 1:
            class_scope = self._index.inner_scope(scope.classes[first])
            return self._methods_target(self.methods((self._module, class_scope), rest[0]))
        if binding is Binding.IMPORT and first in scope.imports and hops < _MAX_REEXPORTS:
            found = self._imported(scope.imports[first], rest)
            if found is not None:
                return found[0].resolver.member_target(found[1], hops + 1)
        return Unresolved("imported")

    def member_class(self, names: list[str], hops: int = 0) -> ClassRef | None:
        """The class `names` leads to from this module's top level, following re-exports."""
        scope = self._index.module_scope
        if len(names) == 1 and scope.bindings.get(names[0]) is Binding.CLASS:
            return self._module, self._index.inner_scope(scope.classes[names[0]])
        if names and scope.bindings.get(names[0]) is Binding.IMPORT and hops < _MAX_REEXPORTS:
            found = self._imported(scope.imports.get(names[0], ""), names[1:])
            if found is not None:
                return found[0].resolver.member_class(found[1], hops + 1)
        return None

    # -- classes -----------------------------------------------------------------

    def methods(self, cls: ClassRef, name: str) -> tuple[Def, ...]:
        """`name` defined in the class or, failing that, in its bases of the project."""
        from .module import Def

        for module, current in lineage(cls):
            if name in current.functions:
                return tuple(Def(module, node) for node in current.functions[name])
        return ()

    def bases(self, class_scope: Scope) -> tuple[ClassRef, ...]:
        """The class's bases that are classes of this module or of another project module."""
        known = self._bases.get(id(class_scope))
        if known is None:
            known = self._bases[id(class_scope)] = class_scope, tuple(self._find_bases(class_scope))
        return known[1]

    def _find_bases(self, class_scope: Scope) -> list[ClassRef]:
        node = class_scope.node
        assert isinstance(node, ast.ClassDef)
        outer = class_scope.parent
        assert outer is not None
        found = []
        for base in node.bases:
            ref = self.class_ref(base, outer)
            if ref is not None:
                found.append(ref)
        return found

    def class_ref(self, expr: ast.expr, scope: Scope) -> ClassRef | None:
        attrs: list[str] = []
        while isinstance(expr, ast.Attribute):
            attrs.insert(0, expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name):
            return None
        owner = scope.lookup(expr.id)
        if owner is None:
            return None
        binding = owner.bindings[expr.id]
        if binding is Binding.CLASS and not attrs:
            return self._module, self._index.inner_scope(owner.classes[expr.id])
        if binding is Binding.IMPORT and expr.id in owner.imports:
            found = self._imported(owner.imports[expr.id], attrs)
            if found is not None:
                return found[0].resolver.member_class(found[1])
        return None

    def worker_base(self, class_scope: Scope) -> str | None:
        """For a subclass of Thread/Timer ("thread") or of Process ("process"), through any
        chain of project classes, which one; None for any other class."""
        for module, current in lineage((self._module, class_scope)):
            node = current.node
            assert isinstance(node, ast.ClassDef)
            assert current.parent is not None
            for base in node.bases:
                qualname = module.index.qualname(base, current.parent)
                if qualname in PROCESS_BASES:
                    return "process"
                if qualname in THREAD_BASES:
                    return "thread"
        return None


def lineage(cls: ClassRef) -> Iterator[ClassRef]:
    """The class, then its project bases breadth first (each once, whatever the cycles)."""
    seen: set[int] = set()
    queue = [cls]
    while queue:
        module, current = queue.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield module, current
        queue += module.resolver.bases(current)


def _one_class(refs: list[ClassRef | None]) -> ClassRef | None:
    """The class every one of `refs` is, if they are all one (and there is one)."""
    first = refs[0] if refs else None
    return first if first is not None and all(ref is not None and ref[1] is first[1] for ref in refs) else None


def _is_stub(fn: FunctionNode) -> bool:
    """A method with no code of its own: `...`, `pass`, a docstring, `raise NotImplementedError`,
    or one marked `@abstractmethod`."""
    if any((dotted_text(d) or "").endswith("abstractmethod") for d in fn.decorator_list):
        return True
    for stmt in fn.body:
        if isinstance(stmt, ast.Pass) or (isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant)):
            continue
        if isinstance(stmt, ast.Raise) and stmt.exc is not None:
            exc = stmt.exc.func if isinstance(stmt.exc, ast.Call) else stmt.exc
            if dotted_text(exc) in ("NotImplementedError", "builtins.NotImplementedError"):
                continue
        return False
    return True


def _decorator_name(decorator: ast.expr) -> str:
    text = dotted_text(decorator.func if isinstance(decorator, ast.Call) else decorator)
    return f"@{text}" if text is not None else "here"
