"""Which name the inserted guard goes by in a module, and whether it must be imported."""

from __future__ import annotations

import ast
import os
import re
from dataclasses import dataclass

from ..config import GuardRef


@dataclass(frozen=True)
class GuardName:
    name: str  # what the fix writes at each site
    needs_import: bool
    asname: str | None  # for "from module import guard as asname"


def _module_imports(tree: ast.Module, guard: GuardRef) -> str | None:
    """The local name of the guard if the module already imports it at top level."""
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == guard.module:
            for alias in node.names:
                if alias.name == guard.name:
                    return alias.asname or alias.name
    return None


def _names_in_use(tree: ast.Module) -> tuple[set[str], bool]:
    """Every identifier the module binds or reads anywhere, and whether it has a star import.

    Deliberately coarse: a name used in any scope is avoided, so the guard can never
    be shadowed at a site or shadow a name some other code reads.
    """
    names: set[str] = set()
    star = False
    for node in ast.walk(tree):
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Global, ast.Nonlocal)):
            names.update(node.names)
        elif isinstance(node, ast.alias):
            star = star or node.name == "*"
            names.add(node.asname or node.name.partition(".")[0])
        elif isinstance(node, ast.ExceptHandler) and node.name:
            names.add(node.name)
        else:
            captured = getattr(node, "name", None) or getattr(node, "rest", None)  # match patterns
            if isinstance(captured, str):
                names.add(captured)
    return names, star


def is_guard_module(path: str | None, guard: GuardRef) -> bool:
    """Whether the file is the module that defines the guard (importing it there would be circular)."""
    if path is None:
        return False
    parts = os.path.normpath(os.path.abspath(path)).split(os.sep)
    module = guard.module.split(".")
    if parts[-1] == "__init__.py":
        parts = parts[:-1]
    elif parts[-1].endswith(".py"):
        parts[-1] = parts[-1][:-3]
    return parts[-len(module) :] == module


def choose_guard_name(tree: ast.Module, guard: GuardRef, text: str) -> GuardName:
    imported = _module_imports(tree, guard)
    if imported is not None:
        return GuardName(imported, needs_import=False, asname=None)
    if not re.search(rf"\b{re.escape(guard.name)}\b|\bimport\s*\*", text):
        return GuardName(guard.name, True, None)  # the name appears nowhere: no walk needed
    in_use, star = _names_in_use(tree)
    # A star import could rebind a public name after ours; "_" names are never
    # exported by one unless listed in __all__.
    base = f"_uw_{guard.name}" if star else guard.name
    candidates = [base, f"uw_{guard.name}"] if not star else [base]
    for candidate in candidates:
        if candidate not in in_use:
            return GuardName(candidate, True, None if candidate == guard.name else candidate)
    number = 2
    while f"{candidates[-1]}_{number}" in in_use:
        number += 1
    name = f"{candidates[-1]}_{number}"
    return GuardName(name, True, name)
