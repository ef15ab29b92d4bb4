"""Where the project makes an instance of a class, and what each making hands a parameter of
the class's `__init__`: to tell a callback the library wires up itself
(`IntervalRunner(self.process_messages, 0.1)`) from one its users hand in.

A making is `Cls(...)`, a subclass's `super().__init__(...)`, or `Cls.__init__(self, ...)`,
anywhere in the class's top-level package (`Project.making`). A class of the package's
interface (an `__init__.py` imports it, `Project.exports`, or its docstring shows it being
made) is made by users too, whose code no search of the package sees: what its makings hand
is not told. What a making hands is
told only where the call says it: an argument by keyword or position, or the parameter's
default where the call leaves it out; an unpacked `*args` or `**options` before it says
nothing.
"""

from __future__ import annotations

import ast
import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .index import FunctionNode, Scope, call_argument, is_name, last_name, unpacks_nothing

if TYPE_CHECKING:
    from .module import ModuleAnalysis

# An argument, with the module and scope it is written in.
Passed = tuple[ast.expr, "ModuleAnalysis", Scope]


def passed_to(module: ModuleAnalysis, class_scope: Scope, init: FunctionNode, param: str) -> list[Passed] | None:
    """What every making of the class (defined in `module`) hands `init`'s parameter `param`;
    None when that cannot be told: no making found, one that unpacks its arguments, a package
    too large to search. A subclass made by its own name hands `init` what its makings do,
    when it has no `__init__` of its own or one that only passes on everything
    (`super().__init__(*args, **kwargs)`)."""
    default = _default(init, param, module, class_scope) if default_of(init, param) is not None else None
    return _passed(module, class_scope, _Parameter(init, param, default), _MAX_SUBCLASSES)


# How deep a chain of subclasses that pass their makings' arguments on is followed.
_MAX_SUBCLASSES = 3


@dataclass(frozen=True)
class _Parameter:
    """The `__init__` parameter asked about, and what a making that leaves it out hands."""

    init: FunctionNode
    name: str
    default: Passed | None


def _passed(module: ModuleAnalysis, class_scope: Scope, wanted: _Parameter, depth: int) -> list[Passed] | None:
    """`passed_to` for the class at `class_scope`, whose makings call `wanted.init` (its own,
    or a base's it passes them on to)."""
    cls = class_scope.node
    assert isinstance(cls, ast.ClassDef)
    if f"{cls.name}(" in (ast.get_docstring(cls, clean=False) or ""):
        return None  # its docstring shows users making it (`>>> MonitorObserver(monitor, callback=...)`)
    project, path = module.project, module.path
    if project is not None and path is not None:
        if project.exports(path, cls.name):
            return None  # an `__init__.py` imports it: the package's interface, which users make
        modules = project.making(path, cls.name)
    else:
        modules = [module]
    if modules is None:
        return None
    passed: list[Passed] = []
    for other in modules:
        for _, scope in other.index.classes:
            if "__init__" not in scope.functions and any(
                _is_the_class(ref, module, cls) for ref in other.resolver.bases(scope)
            ):
                found = _passed(other, scope, wanted, depth - 1) if depth > 0 else None
                if found is None:
                    return None
                passed += found
        for call, scope in other.index.calls:
            drop = _making(other, call, scope, module, cls)
            if drop is None:
                continue
            subclass = _passing_on(call, scope)
            if subclass is not None:
                found = _passed(other, subclass, wanted, depth - 1) if depth > 0 else None
                if found is None:
                    return None
                passed += found
                continue
            argument = _argument(call, wanted.init, wanted.name, drop)
            if argument is None:
                return None
            if argument is _DEFAULT:
                assert wanted.default is not None  # a making leaves out only a parameter with a default
                passed.append(wanted.default)
            else:
                passed.append((argument, other, scope))
    return passed or None


def _passing_on(call: ast.Call, scope: Scope) -> Scope | None:
    """The subclass whose `__init__` this call is, when it is `super().__init__(*args, **kwargs)`
    of that `__init__`'s own `*args` and `**kwargs`, and it takes nothing else: the subclass's
    makings hand the base's `__init__` what they pass."""
    init = scope.node
    if not (isinstance(init, ast.FunctionDef) and init.name == "__init__" and scope.parent is not None):
        return None
    func = call.func
    if not (isinstance(func, ast.Attribute) and isinstance(func.value, ast.Call) and is_name(func.value.func, "super")):
        return None
    args = init.args
    if args.posonlyargs or len(args.args) != 1 or args.kwonlyargs or args.vararg is None or args.kwarg is None:
        return None
    forwards = (
        len(call.args) == 1
        and isinstance(call.args[0], ast.Starred)
        and is_name(call.args[0].value, args.vararg.arg)
        and len(call.keywords) == 1
        and call.keywords[0].arg is None
        and is_name(call.keywords[0].value, args.kwarg.arg)
    )
    return scope.parent if forwards and scope.parent.is_class else None


_DEFAULT = ast.Constant(value=None)  # a making that leaves the parameter out: its default holds


def _making(
    other: ModuleAnalysis, call: ast.Call, scope: Scope, module: ModuleAnalysis, cls: ast.ClassDef
) -> int | None:
    """How many leading parameters (`self`) a making of `cls` does not pass: 1 for `Cls(...)`
    and `super().__init__(...)` in a subclass, 0 for `Cls.__init__(self, ...)`; None for a
    call that makes no instance of it."""
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "__init__":
        value = func.value
        if isinstance(value, ast.Call) and isinstance(value.func, ast.Name) and value.func.id == "super":
            found = scope.enclosing_class()
            if found is not None and any(_is_the_class(ref, module, cls) for ref in other.resolver.bases(found[0])):
                return 1
            return None
        ref = other.resolver.class_ref(value, scope)
        return 0 if ref is not None and _is_the_class(ref, module, cls) else None
    if last_name(func) != cls.name:
        return None
    ref = other.resolver.class_ref(func, scope)
    return 1 if ref is not None and _is_the_class(ref, module, cls) else None


def _is_the_class(ref: tuple[ModuleAnalysis, Scope], module: ModuleAnalysis, cls: ast.ClassDef) -> bool:
    """The same class, though perhaps in another analysis of the same file."""
    found_module, found_scope = ref
    node = found_scope.node
    if found_module is module or module.path is None:
        return node is cls
    return (
        isinstance(node, ast.ClassDef)
        and (node.name, node.lineno) == (cls.name, cls.lineno)
        and found_module.path is not None
        and (found_module.path == module.path or os.path.realpath(found_module.path) == os.path.realpath(module.path))
    )


def _argument(call: ast.Call, init: FunctionNode, param: str, drop: int) -> ast.expr | None:
    """What `call` hands `param`: `_DEFAULT` when it leaves it out and it has a default; None
    when the call does not say (its arguments unpacked before it, or the parameter missing)."""
    found = call_argument(call, init, param, drop)
    if found is not None:
        return found
    if not unpacks_nothing(call):
        return None
    return _DEFAULT if default_of(init, param) is not None else None


def default_of(init: FunctionNode, param: str) -> ast.expr | None:
    """The default value of the def's parameter `param`, if it has one."""
    args = init.args
    positional = [*args.posonlyargs, *args.args]
    names = [a.arg for a in positional]
    if param in names:
        index = names.index(param) - (len(positional) - len(args.defaults))
        return args.defaults[index] if index >= 0 else None
    for arg, default in zip(args.kwonlyargs, args.kw_defaults):
        if arg.arg == param:
            return default
    return None


def _default(init: FunctionNode, param: str, module: ModuleAnalysis, class_scope: Scope) -> Passed:
    """The parameter's default, where it is evaluated: the class's body."""
    default = default_of(init, param)
    assert default is not None
    return default, module, class_scope
