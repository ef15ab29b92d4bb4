"""What an instance keeps in its collections, for a loop over one: `for handler in
self._handlers:` walks what the class put there (`self._handlers.add(UISocketHandler(...))`,
`self.waits[event].append(Wait(...))`), which the resolver then knows the class of.

Told only where the class's own code says it all: the collection starts empty, and every
filling is an `add`/`append`/`appendleft`/`insert` of one item, or a store by key of a
display (`self.waits[event] = [Wait(...)]`); an `update()`, an `extend()`, an augmented
assignment or a start with items leaves it untold.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator

from .index import ModuleIndex, Scope, dotted_text, is_name, own_statements

# How an instance fills a collection it keeps (`self._handlers.add(handler)`): the item is last.
_FILLING = frozenset({"add", "append", "appendleft", "insert"})
# What fills it with items that cannot be told (`self._handlers.update(given)`).
_FILLING_UNSEEN = frozenset({"update", "extend", "extendleft", "setdefault", "__setitem__", "__ior__"})
# Reading the collection again, or a part of it: `values()`, `get(key, [])`, `copy()`.
_VIEWS = frozenset({"values", "get", "copy"})
_EMPTY_MAKERS = frozenset({"set", "list", "dict"})

Item = tuple[ast.expr, Scope]


def binding_loops(name: str, owner: Scope) -> list[ast.expr]:
    """What the loops whose variable `name` is walk (`C` of `for x in C` and of `for i, x in
    enumerate(C)`), in the def `owner` is the scope of; none when anything else binds it there."""
    fn = owner.node
    if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
        return []
    walked = []
    for stmt in own_statements(fn.body):
        for target in bound_names(stmt):
            if target.id != name:
                continue
            if not isinstance(stmt, (ast.For, ast.AsyncFor)):
                return []
            if stmt.target is target:
                walked.append(stmt.iter)
            elif (
                isinstance(stmt.target, ast.Tuple)
                and len(stmt.target.elts) == 2
                and stmt.target.elts[1] is target
                and isinstance(stmt.iter, ast.Call)
                and is_name(stmt.iter.func, "enumerate")
                and len(stmt.iter.args) == 1
            ):
                walked.append(stmt.iter.args[0])
            else:
                return []
    return walked


def bound_names(stmt: ast.stmt) -> Iterator[ast.Name]:
    """The names a statement binds at its top (a loop's target, an assignment's, a with's),
    unpacked ones included."""
    if isinstance(stmt, (ast.For, ast.AsyncFor, ast.AugAssign, ast.AnnAssign)):
        targets = [stmt.target]
    elif isinstance(stmt, ast.Assign):
        targets = list(stmt.targets)
    elif isinstance(stmt, (ast.With, ast.AsyncWith)):
        targets = [item.optional_vars for item in stmt.items if item.optional_vars is not None]
    else:
        return
    while targets:
        target = targets.pop()
        if isinstance(target, ast.Name):
            yield target
        elif isinstance(target, (ast.Tuple, ast.List)):
            targets += target.elts
        elif isinstance(target, ast.Starred):
            targets.append(target.value)


def kept_items(index: ModuleIndex, walked: ast.expr, scope: Scope) -> list[Item] | None:
    """What the class puts into the collection of its own that `walked` (in `scope`, a method's)
    reads, each with the scope it is written in; None when that is not told."""
    if isinstance(walked, ast.Name):  # `if waits := self.waits.get(name, []):`, bound once
        owner = scope.lookup(walked.id)
        held = owner.values.get(walked.id, []) if owner is not None else []
        if len(held) != 1:
            return None
        walked = held[0][0]
    if isinstance(walked, ast.Call) and isinstance(walked.func, ast.Attribute):
        if walked.func.attr not in _VIEWS:
            return None
        walked = walked.func.value
    if isinstance(walked, ast.Subscript):
        walked = walked.value  # `self.waits[name]`
    found = scope.enclosing_class()
    if not (isinstance(walked, ast.Attribute) and found is not None and is_name(walked.value, found[1])):
        return None
    class_scope = found[0]
    if not all(_empty(value) for value, _ in class_scope.attr_values.get(walked.attr, [])):
        return None  # `self._handlers = handlers`: what it starts with is not told
    items: list[Item] = []
    for read, where in index.attribute_reads.get(walked.attr, ()):
        method_of = where.enclosing_class()
        if method_of is None or method_of[0] is not class_scope or not is_name(read.value, method_of[1]):
            continue
        filled = _filling(index, read, where)
        if filled is None:
            return None
        items += filled
    return items or None


def _filling(index: ModuleIndex, read: ast.Attribute, scope: Scope) -> list[Item] | None:
    """What this read of the collection puts into it (nothing, for a read that only reads);
    None when it fills it with what cannot be told."""
    holder: ast.AST = read
    parent = index.parent(holder)
    if isinstance(parent, ast.Subscript) and parent.value is holder:
        holder, parent = parent, index.parent(parent)  # `self.waits[event].append(...)`
    if isinstance(parent, ast.Attribute) and parent.value is holder:
        call = index.parent(parent)
        if parent.attr in _FILLING_UNSEEN:
            return None
        if parent.attr in _FILLING and isinstance(call, ast.Call) and call.args:
            return [(call.args[-1], scope)]
    elif isinstance(parent, ast.AugAssign) and parent.target is holder:
        return None
    elif isinstance(parent, (ast.Call, ast.keyword, ast.Return, ast.Yield, ast.Starred)):
        return None  # handed to other code, or out of the class: what that adds is not seen
    elif isinstance(parent, ast.Assign) and holder is not read and holder in parent.targets:
        value = parent.value  # `self.waits[event] = []`, `= [Wait(...)]`
        if isinstance(value, (ast.List, ast.Set, ast.Tuple)):
            return [(item, scope) for item in value.elts]
        return [(value, scope)]
    return []


def _empty(value: ast.expr) -> bool:
    """`[]`, `set()`, `{}`, `dict()`: a collection that starts with nothing in it."""
    if isinstance(value, (ast.List, ast.Set, ast.Tuple)):
        return not value.elts
    if isinstance(value, ast.Dict):
        return not value.keys
    return isinstance(value, ast.Call) and dotted_text(value.func) in _EMPTY_MAKERS and not value.args
