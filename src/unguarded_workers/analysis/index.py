"""One walk over a module: its scopes, what each name is bound to, and every node's parent.

Everything later (recognising spawns, resolving targets, following futures) asks
this index rather than walking the tree again.
"""

from __future__ import annotations

import ast
import enum
from collections.abc import Callable, Container, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Union

from .known import (
    CONTEXT_FACTORIES,
    RECEIVER_ANNOTATIONS,
    RECEIVER_FACTORIES,
    TARGET_KW_1,
    TARGET_KW_2,
    ArgSpec,
    Receiver,
)

FunctionNode = Union[ast.FunctionDef, ast.AsyncFunctionDef]
ScopeNode = Union[ast.Module, ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef]
FUNCTION_TYPES = (ast.FunctionDef, ast.AsyncFunctionDef)
LOOP_TYPES = (ast.For, ast.AsyncFor, ast.While)
# `try:`, and `try:` with `except*` (3.11+).
TRY_TYPES: tuple[type[ast.stmt], ...] = tuple(
    t for t in (ast.Try, getattr(ast, "TryStar", None)) if isinstance(t, type)
)


class Binding(enum.IntEnum):
    """What binds a name in a scope; a higher value wins when several do."""

    LOCAL = 1
    PARAM = 2
    IMPORT = 3
    CLASS = 4
    FUNCTION = 5


@dataclass(eq=False)
class Scope:
    node: ScopeNode
    parent: Scope | None
    bindings: dict[str, Binding] = field(default_factory=dict)
    imports: dict[str, str] = field(default_factory=dict)  # local name -> dotted origin
    functions: dict[str, list[FunctionNode]] = field(default_factory=dict)
    classes: dict[str, ast.ClassDef] = field(default_factory=dict)
    declared_global: set[str] = field(default_factory=set)
    declared_nonlocal: set[str] = field(default_factory=set)
    receivers: dict[str, set[Receiver]] = field(default_factory=dict)  # variable -> kinds
    # Class scopes: what `self.X` was bound to anywhere in the class.
    attr_receivers: dict[str, set[Receiver]] = field(default_factory=dict)
    # Every value assigned to a variable, and (class scopes) to `self.X`: to find the
    # class of an instance whose method is a target (`self.cycle = Cycle(); ...run_asgi`).
    # Each value comes with the scope of the assignment, where its names are looked up.
    values: dict[str, list[tuple[ast.expr, Scope]]] = field(default_factory=dict)
    attr_values: dict[str, list[tuple[ast.expr, Scope]]] = field(default_factory=dict)
    # Function scopes: each annotated parameter's annotation.
    annotations: dict[str, ast.expr] = field(default_factory=dict)
    # Method scopes: the name of the first parameter (self/cls), if any.
    self_name: str | None = None

    @property
    def is_class(self) -> bool:
        return isinstance(self.node, ast.ClassDef)

    def bind(self, name: str, binding: Binding) -> None:
        if binding > self.bindings.get(name, 0):
            self.bindings[name] = binding

    def lookup(self, name: str) -> Scope | None:
        """The scope whose binding `name` refers to from here, by Python's rules."""
        scope: Scope | None = self
        first = True
        while scope is not None:
            if name in scope.declared_global:
                module = scope.module()
                return module if name in module.bindings else None
            if name in scope.declared_nonlocal:
                # `nonlocal task`: the binding is the enclosing function's, whatever this
                # scope assigns.
                scope, first = scope.parent, False
                while scope is not None and scope.is_class:
                    scope = scope.parent
                continue
            # A class body's names are not visible to functions nested in it.
            if (first or not scope.is_class) and name in scope.bindings:
                return scope
            first = False
            scope = scope.parent
        return None

    def module(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def enclosing_class(self) -> tuple[Scope, str] | None:
        """For code in a method (or nested in one): the class scope and the self name."""
        scope: Scope | None = self
        while scope is not None:
            if scope.self_name is not None and scope.parent is not None and scope.parent.is_class:
                return scope.parent, scope.self_name
            scope = scope.parent
        return None


@dataclass
class _Pending:
    """A binding whose receiver kind is decided once every import is known."""

    scope: Scope
    target: ast.expr
    value: ast.expr
    is_annotation: bool


class ModuleIndex:
    """Scopes, bindings and parents of one module, built in a single iterative walk."""

    def __init__(self, tree: ast.Module) -> None:
        self.tree = tree
        self.module_scope = Scope(tree, None)
        self._parents: dict[int, ast.AST] = {}
        self._inner_scopes: dict[int, Scope] = {}
        self.calls: list[tuple[ast.Call, Scope]] = []
        self.classes: list[tuple[ast.ClassDef, Scope]] = []  # with the scope of its body
        # Every read of a name, and of an attribute of a name (`self.X`, `Class.X`).
        self.name_reads: dict[str, list[tuple[ast.Name, Scope]]] = {}
        self.attribute_reads: dict[str, list[tuple[ast.Attribute, Scope]]] = {}
        # Every read of an attribute, whatever it is read from (`sub._jsi._hbtask`).
        self.all_attribute_reads: dict[str, list[tuple[ast.Attribute, Scope]]] = {}
        self._pending: list[_Pending] = []
        self._walk()
        for inner in self._inner_scopes.values():
            for name in inner.declared_nonlocal:  # the walk may have met the assignment first
                inner.bindings.pop(name, None)
        # In source order, so that `ctx = get_context(); pool = ctx.Pool()` sees ctx first.
        self._pending.sort(key=lambda p: (p.value.lineno, p.value.col_offset))
        for pending in self._pending:
            self._record_receiver(pending)
        self._pending.clear()

    def dispose(self) -> None:
        """Break the cycles of the scopes: each holds the values assigned in it with their scope."""
        for scope in (self.module_scope, *self._inner_scopes.values()):
            scope.values.clear()
            scope.attr_values.clear()

    # -- queries -------------------------------------------------------------

    def parent(self, node: ast.AST) -> ast.AST | None:
        return self._parents.get(id(node))

    def method_call(self, receiver: ast.expr, methods: Container[str]) -> ast.Call | None:
        """The call `receiver.METHOD(...)` that `receiver` is the receiver of, METHOD one of `methods`."""
        attribute = self.parent(receiver)
        if not (isinstance(attribute, ast.Attribute) and attribute.attr in methods):
            return None
        call = self.parent(attribute)
        return call if isinstance(call, ast.Call) and call.func is attribute else None

    def enclosing_function(self, node: ast.AST) -> FunctionNode | ast.Lambda | None:
        """The def or lambda `node` is in (None: the module's top level)."""
        current = self.parent(node)
        while current is not None and not isinstance(current, (*FUNCTION_TYPES, ast.Lambda)):
            current = self.parent(current)
        return current

    def inner_scope(self, node: ScopeNode) -> Scope:
        """The scope a def, class or lambda opens for its body."""
        return self._inner_scopes[id(node)]

    def qualname(self, expr: ast.expr, scope: Scope) -> str | None:
        """The dotted origin of a name or attribute chain, through the imports in scope.

        Names bound nowhere in the module are builtins ("builtins.print"); names
        bound otherwise than by import have no qualified name.
        """
        attrs: list[str] = []
        while isinstance(expr, ast.Attribute):
            attrs.append(expr.attr)
            expr = expr.value
        if not isinstance(expr, ast.Name):
            return None
        owner = scope.lookup(expr.id)
        if owner is None:
            base = "builtins." + expr.id
        elif owner.bindings[expr.id] is Binding.IMPORT and expr.id in owner.imports:
            base = owner.imports[expr.id]
        else:
            return None
        return ".".join([base, *reversed(attrs)])

    def receiver_kinds(self, expr: ast.expr, scope: Scope) -> set[Receiver]:
        """What `expr` is known to be bound to (not counting name heuristics)."""
        if isinstance(expr, ast.Name):
            owner = scope.lookup(expr.id)
            return set(owner.receivers.get(expr.id, ())) if owner is not None else set()
        if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
            found = scope.enclosing_class()
            if found is not None and found[1] == expr.value.id:
                return set(found[0].attr_receivers.get(expr.attr, ()))
            return set()
        if isinstance(expr, ast.Call):
            kind = self.value_receiver(expr, scope)
            return {kind} if kind is not None else set()
        return set()

    def value_receiver(self, value: ast.expr, scope: Scope) -> Receiver | None:
        """The receiver kind a value expression creates, e.g. ThreadPoolExecutor(...)."""
        if not isinstance(value, ast.Call):
            return None
        name = self.qualname(value.func, scope)
        if name is not None and name in RECEIVER_FACTORIES:
            return RECEIVER_FACTORIES[name]
        func = value.func
        if (
            isinstance(func, ast.Attribute)
            and func.attr in CONTEXT_FACTORIES
            and Receiver.MP_CONTEXT in self.receiver_kinds(func.value, scope)
        ):
            return CONTEXT_FACTORIES[func.attr]
        return None

    def annotation_receiver(self, annotation: ast.expr, scope: Scope) -> Receiver | None:
        for part in annotation_parts(annotation):
            name = self.qualname(part, scope) or dotted_text(part)
            if name is not None:
                kind = RECEIVER_ANNOTATIONS.get(name.rpartition(".")[2])
                if kind is not None:
                    return kind
        return None

    # -- the walk ------------------------------------------------------------

    def _walk(self) -> None:
        # The hottest loop of a check (a node of every module that could spawn): fields are
        # read directly rather than through ast.iter_fields' generator; what each child is
        # (walked, a constant, or never anything's worker or binding: contexts, operators) is
        # looked up once per node type; constants get their parent and nothing else, and names
        # (a third of all nodes) are recorded here rather than through a handler. The order in
        # which reads are recorded is that of the stack, as it always was: the analysis names
        # the first waiter it meets.
        stack: list[tuple[ast.AST, Scope]] = [(self.tree, self.module_scope)]
        push, pop = stack.append, stack.pop
        parents = self._parents
        handlers, child_fields, kinds = _HANDLERS, _CHILD_FIELDS, _CHILD_KINDS
        name_type, load, store = ast.Name, ast.Load, ast.Store
        name_reads = self.name_reads
        skipped, walked = _Child.SKIPPED, _Child.WALKED
        while stack:
            node, scope = pop()
            kind = node.__class__
            if kind is name_type:
                name_node: ast.Name = node  # type: ignore[assignment]
                context = name_node.ctx.__class__
                if context is load:
                    reads = name_reads.get(name_node.id)
                    if reads is None:
                        name_reads[name_node.id] = [(name_node, scope)]
                    else:
                        reads.append((name_node, scope))
                elif context is store:
                    scope.bind(name_node.id, Binding.LOCAL)
                continue
            handler = handlers.get(kind)
            inner = handler(self, node, scope) if handler is not None else None
            fields = child_fields.get(kind)
            if fields is None:
                fields = child_fields[kind] = _child_fields(kind)
            for name in fields:
                value = getattr(node, name, None)
                child_scope = scope if inner is None else _child_scope(node, name, scope, inner)
                children: Sequence[Any] = value if value.__class__ is list else (value,)
                for child in children:
                    child_kind = kinds.get(child.__class__)
                    if child_kind is None:
                        child_kind = _child_kind(child.__class__)
                    if child_kind is not skipped:
                        parents[id(child)] = node
                        if child_kind is walked:
                            push((child, child_scope))

    # -- what each kind of node records (one handler per node type: _HANDLERS) -----------

    def _visit_call(self, node: ast.Call, scope: Scope) -> None:
        self.calls.append((node, scope))

    def _visit_attribute(self, node: ast.Attribute, scope: Scope) -> None:
        if isinstance(node.ctx, ast.Load):
            self.all_attribute_reads.setdefault(node.attr, []).append((node, scope))
            if isinstance(node.value, ast.Name):
                self.attribute_reads.setdefault(node.attr, []).append((node, scope))

    def _visit_function(self, node: FunctionNode, scope: Scope) -> Scope:
        scope.bind(node.name, Binding.FUNCTION)
        scope.functions.setdefault(node.name, []).append(node)
        inner = Scope(node, scope)
        self._bind_arguments(node.args, inner)
        if scope.is_class and not _is_staticmethod(node):
            positional = node.args.posonlyargs + node.args.args
            inner.self_name = positional[0].arg if positional else None
        self._inner_scopes[id(node)] = inner
        return inner

    def _visit_lambda(self, node: ast.Lambda, scope: Scope) -> Scope:
        inner = Scope(node, scope)
        self._bind_arguments(node.args, inner)
        self._inner_scopes[id(node)] = inner
        return inner

    def _visit_class(self, node: ast.ClassDef, scope: Scope) -> Scope:
        scope.bind(node.name, Binding.CLASS)
        scope.classes[node.name] = node
        inner = Scope(node, scope)
        self._inner_scopes[id(node)] = inner
        self.classes.append((node, inner))
        return inner

    def _visit_import(self, node: ast.Import | ast.ImportFrom, scope: Scope) -> None:
        self._bind_import(node, scope)

    def _visit_global(self, node: ast.Global, scope: Scope) -> None:
        scope.declared_global.update(node.names)

    def _visit_nonlocal(self, node: ast.Nonlocal, scope: Scope) -> None:
        scope.declared_nonlocal.update(node.names)

    def _visit_assign(self, node: ast.Assign, scope: Scope) -> None:
        for target in node.targets:
            self._pending.append(_Pending(scope, target, node.value, is_annotation=False))

    def _visit_ann_assign(self, node: ast.AnnAssign, scope: Scope) -> None:
        self._pending.append(_Pending(scope, node.target, node.annotation, is_annotation=True))
        if node.value is not None:
            self._pending.append(_Pending(scope, node.target, node.value, is_annotation=False))

    def _visit_named_expr(self, node: ast.NamedExpr, scope: Scope) -> None:
        self._pending.append(_Pending(scope, node.target, node.value, is_annotation=False))

    def _visit_withitem(self, node: ast.withitem, scope: Scope) -> None:
        if node.optional_vars is not None:
            self._pending.append(_Pending(scope, node.optional_vars, node.context_expr, is_annotation=False))

    def _visit_except_handler(self, node: ast.ExceptHandler, scope: Scope) -> None:
        if node.name:
            scope.bind(node.name, Binding.LOCAL)

    def _visit_match_capture(self, node: ast.AST, scope: Scope) -> None:
        # MatchAs / MatchStar bind `name`, MatchMapping binds `rest` (3.10+).
        for attribute in ("name", "rest"):
            name = getattr(node, attribute, None)
            if isinstance(name, str):
                scope.bind(name, Binding.LOCAL)

    def _bind_arguments(self, args: ast.arguments, scope: Scope) -> None:
        every = [*args.posonlyargs, *args.args, *args.kwonlyargs]
        every += [arg for arg in (args.vararg, args.kwarg) if arg is not None]
        for arg in every:
            scope.bind(arg.arg, Binding.PARAM)
            if arg.annotation is not None:
                scope.annotations[arg.arg] = arg.annotation
                self._pending.append(_Pending(scope, ast.Name(id=arg.arg), arg.annotation, is_annotation=True))

    @staticmethod
    def _bind_import(node: ast.Import | ast.ImportFrom, scope: Scope) -> None:
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.asname:
                    local, origin = alias.asname, alias.name
                else:
                    local = origin = alias.name.partition(".")[0]
                scope.bind(local, Binding.IMPORT)
                scope.imports[local] = origin
            return
        module = "." * (node.level or 0) + (node.module or "")
        for alias in node.names:
            if alias.name == "*":
                continue
            local = alias.asname or alias.name
            scope.bind(local, Binding.IMPORT)
            scope.imports[local] = f"{module}.{alias.name}" if node.module else module + alias.name

    def _record_receiver(self, pending: _Pending) -> None:
        scope, target = pending.scope, pending.target
        if pending.is_annotation:
            kind = self.annotation_receiver(pending.value, scope)
        else:
            self._record_value(scope, target, pending.value)
            kind = self.value_receiver(pending.value, scope)
        if kind is None:
            return
        if isinstance(target, ast.Name):
            owner = scope.lookup(target.id) or scope
            owner.receivers.setdefault(target.id, set()).add(kind)
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            found = scope.enclosing_class()
            if found is not None and found[1] == target.value.id:
                found[0].attr_receivers.setdefault(target.attr, set()).add(kind)
        if scope.is_class and isinstance(target, ast.Name):
            # A class-level `executor: ThreadPoolExecutor` describes `self.executor`.
            scope.attr_receivers.setdefault(target.id, set()).add(kind)

    @staticmethod
    def _record_value(scope: Scope, target: ast.expr, value: ast.expr) -> None:
        if isinstance(target, ast.Name):
            owner = scope.lookup(target.id) or scope
            owner.values.setdefault(target.id, []).append((value, scope))
        elif isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name):
            found = scope.enclosing_class()
            if found is not None and found[1] == target.value.id:
                found[0].attr_values.setdefault(target.attr, []).append((value, scope))


def _child_scope(node: ast.AST, field_name: str, scope: Scope, inner: Scope) -> Scope:
    """Decorators, defaults, annotations of returns and bases belong to the outer scope."""
    if isinstance(node, FUNCTION_TYPES):
        return inner if field_name in ("args", "body") else scope
    if isinstance(node, ast.ClassDef):
        return inner if field_name == "body" else scope
    if isinstance(node, ast.Lambda):
        return inner
    return scope


def place_in_block(parent: ast.AST | None, node: ast.AST) -> tuple[list[ast.stmt], int] | None:
    """The statement list of `parent` (a module, def, compound statement or handler) that holds
    `node`, and its position there; None when none does."""
    for name in ("body", "orelse", "finalbody"):
        block = getattr(parent, name, None)
        if isinstance(block, list):
            for position, inner in enumerate(block):
                if inner is node:
                    return block, position
    return None


def own_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """Every statement of a def's body, nested blocks included, not those of nested defs."""
    stack = list(reversed(body))
    while stack:
        stmt = stack.pop()
        yield stmt
        if isinstance(stmt, (*FUNCTION_TYPES, ast.ClassDef)):
            continue
        for name in ("body", "orelse", "finalbody", "handlers", "cases"):
            block = getattr(stmt, name, None)
            if isinstance(block, list):
                for child in reversed(block):
                    if isinstance(child, ast.stmt):
                        stack.append(child)
                    elif isinstance(child, ast.AST):  # an except handler or a match case
                        stack.extend(reversed(getattr(child, "body", [])))


def assigned_values(expr: ast.expr, scope: Scope) -> list[tuple[ast.expr, Scope]]:
    """What a name, or `self.X` of the class `scope` is in, was assigned, each with the scope it
    was assigned in (a name's in the scope that binds it, `self.X`'s in any method)."""
    if isinstance(expr, ast.Name):
        owner = scope.lookup(expr.id)
        return owner.values.get(expr.id, []) if owner is not None else []
    if isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name):
        found = scope.enclosing_class()
        if found is not None and found[1] == expr.value.id:
            return found[0].attr_values.get(expr.attr, [])
    return []


def handled_types(exc_type: ast.expr | None) -> list[ast.expr]:
    """The types an `except` names: `(OSError, ValueError)` as two, none for a bare one."""
    if exc_type is None:
        return []
    return list(exc_type.elts) if isinstance(exc_type, ast.Tuple) else [exc_type]


def module_constant(expr: ast.expr, scope: Scope) -> tuple[ast.expr, Scope] | None:
    """What a module-level name assigned once holds (`ERRORS = (OSError, TimeoutError)`,
    `DECODERS = {...}`), with the scope it was assigned in; None for anything else."""
    if not isinstance(expr, ast.Name):
        return None
    owner = scope.lookup(expr.id)
    if owner is None or owner.parent is not None or owner.bindings.get(expr.id) is not Binding.LOCAL:
        return None
    values = owner.values.get(expr.id, [])
    return values[0] if len(values) == 1 else None


def own_nodes(nodes: Iterable[ast.AST]) -> Iterator[ast.AST]:
    """The nodes of `nodes` and below, not those of nested defs, classes or lambdas (nor
    those nodes themselves)."""
    stack: list[ast.AST] = list(nodes)
    while stack:
        node = stack.pop()
        if isinstance(node, (*FUNCTION_TYPES, ast.ClassDef, ast.Lambda)):
            continue
        yield node
        stack.extend(ast.iter_child_nodes(node))


def passed_argument(call: ast.Call, keyword: str | None, position: int | None) -> tuple[ast.expr, str | None] | None:
    """What `call` passes by `keyword` (and that keyword) or else at `position`; None when it
    does not say (it leaves it out, or unpacks `*args` before it)."""
    for given in call.keywords:
        if keyword is not None and given.arg == keyword:
            return given.value, given.arg
    if position is None or len(call.args) <= position:
        return None
    if any(isinstance(arg, ast.Starred) for arg in call.args[: position + 1]):
        return None
    return call.args[position], None


def call_argument(call: ast.Call, fn: FunctionNode, param: str, skipped: int) -> ast.expr | None:
    """What `call` passes to `fn`'s parameter `param`, by keyword or by position, the first
    `skipped` positional parameters not passed by it (a method's `self`); None when the call
    does not say (it leaves the parameter out, or unpacks `*args` before it)."""
    positional = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)][skipped:]
    found = passed_argument(call, param, positional.index(param) if param in positional else None)
    return found[0] if found is not None else None


def unpacks_nothing(call: ast.Call) -> bool:
    """The call passes nothing it unpacks (`*args`, `**kwargs`): a parameter it does not name
    gets its default."""
    return not any(isinstance(arg, ast.Starred) for arg in call.args) and all(k.arg is not None for k in call.keywords)


def base_init_spec(call: ast.Call, self_name: str) -> ArgSpec | None:
    """Where a call of a base's `__init__` takes a thread's target: `super().__init__(None,
    target)`, or `Thread.__init__(self, None, target)` with `self` first; None for another call."""
    func = call.func
    if not (isinstance(func, ast.Attribute) and func.attr == "__init__"):
        return None
    if isinstance(func.value, ast.Call) and is_name(func.value.func, "super"):
        return TARGET_KW_1
    if call.args and is_name(call.args[0], self_name):
        return TARGET_KW_2
    return None


def is_none(value: ast.expr) -> bool:
    """The constant `None`."""
    return isinstance(value, ast.Constant) and value.value is None


def is_generator(fn: FunctionNode) -> bool:
    """Whether calling `fn` makes a generator (a `yield` of its own, not of a nested def): the
    call runs none of its body, which runs as the generator is iterated."""
    return any(isinstance(node, (ast.Yield, ast.YieldFrom)) for node in own_nodes(fn.body))


def _is_staticmethod(node: FunctionNode) -> bool:
    return any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in node.decorator_list)


def annotation_parts(annotation: ast.expr) -> Iterator[ast.expr]:
    """The types an annotation names: X, Optional[X], X | None, "X"."""
    stack = [annotation]
    while stack:
        part = stack.pop()
        if isinstance(part, ast.Constant) and isinstance(part.value, str):
            try:
                parsed = ast.parse(part.value, mode="eval").body
            except SyntaxError:
                continue
            stack.append(parsed)
        elif isinstance(part, ast.BinOp) and isinstance(part.op, ast.BitOr):
            stack += [part.left, part.right]
        elif isinstance(part, ast.Subscript):
            inner = part.slice
            stack += list(inner.elts) if isinstance(inner, ast.Tuple) else [inner]
            stack.append(part.value)
        elif isinstance(part, (ast.Name, ast.Attribute)):
            yield part


def dotted_text(expr: ast.expr) -> str | None:
    """`a.b.c` as written, or None for anything but a name or attribute chain."""
    parts: list[str] = []
    while isinstance(expr, ast.Attribute):
        parts.append(expr.attr)
        expr = expr.value
    if not isinstance(expr, ast.Name):
        return None
    parts.append(expr.id)
    return ".".join(reversed(parts))


def is_name(expr: ast.expr, name: str) -> bool:
    """`expr` is the bare name `name` (`self`, as a receiver)."""
    return isinstance(expr, ast.Name) and expr.id == name


def last_name(expr: ast.expr) -> str | None:
    """The last name of a receiver: `self._loop` -> `_loop`, `self._get_loop()` -> `_get_loop`."""
    if isinstance(expr, ast.Call):
        expr = expr.func
    if isinstance(expr, ast.Attribute):
        return expr.attr
    if isinstance(expr, ast.Name):
        return expr.id
    return None


# Nodes that are never a worker, a binding or a scope: not walked.
_LEAVES = (ast.expr_context, ast.boolop, ast.operator, ast.unaryop, ast.cmpop)
# Fields that never hold a node: names, numbers, flags, contexts and operators (leaves).
# Leaving them out of a node type's walk saves a look at each (most nodes are names and
# attributes; constants are never walked, see `_Child`).
_NOT_CHILDREN = frozenset(
    {"ctx", "op", "id", "attr", "arg", "asname", "module", "level", "kind", "type_comment", "conversion", "is_async"}
)
_CHILD_FIELDS: dict[type[ast.AST], tuple[str, ...]] = {}


class _Child(enum.Enum):
    """What the walk does with a child, by its type."""

    WALKED = 1
    CONSTANT = 2  # its parent is recorded, nothing else: it binds, reads and holds nothing
    SKIPPED = 3  # not a node (a name's string, None), or a leaf


_CHILD_KINDS: dict[type, _Child] = {ast.Constant: _Child.CONSTANT}


def _child_kind(kind: type) -> _Child:
    found = _Child.WALKED if issubclass(kind, ast.AST) and not issubclass(kind, _LEAVES) else _Child.SKIPPED
    _CHILD_KINDS[kind] = found
    return found


def _child_fields(kind: type[ast.AST]) -> tuple[str, ...]:
    """The fields of a node type that may hold nodes, in their order."""
    fields = tuple(name for name in kind._fields if name not in _NOT_CHILDREN)
    if kind in (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.alias, ast.ExceptHandler):
        fields = tuple(name for name in fields if name != "name")  # a string
    return fields


_Handler = Callable[[ModuleIndex, Any, Scope], Union[Scope, None]]
_HANDLERS: dict[type[ast.AST], _Handler] = {
    ast.Call: ModuleIndex._visit_call,
    ast.Attribute: ModuleIndex._visit_attribute,
    ast.FunctionDef: ModuleIndex._visit_function,
    ast.AsyncFunctionDef: ModuleIndex._visit_function,
    ast.Lambda: ModuleIndex._visit_lambda,
    ast.ClassDef: ModuleIndex._visit_class,
    ast.Import: ModuleIndex._visit_import,
    ast.ImportFrom: ModuleIndex._visit_import,
    ast.Global: ModuleIndex._visit_global,
    ast.Nonlocal: ModuleIndex._visit_nonlocal,
    ast.Assign: ModuleIndex._visit_assign,
    ast.AnnAssign: ModuleIndex._visit_ann_assign,
    ast.NamedExpr: ModuleIndex._visit_named_expr,
    ast.withitem: ModuleIndex._visit_withitem,
    ast.ExceptHandler: ModuleIndex._visit_except_handler,
}
for _capture in ("MatchAs", "MatchStar", "MatchMapping"):  # 3.10+
    if hasattr(ast, _capture):
        _HANDLERS[getattr(ast, _capture)] = ModuleIndex._visit_match_capture
