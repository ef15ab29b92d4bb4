"""Where the guard's import goes so that isort (and ruff's `I` rules, default settings)
find the module head still sorted: in the third-party section, after its `import x` lines,
among its `from x import y` lines in order; a new section where there is none.

Sections, in order: `__future__`, the standard library, third party, first party (the
top-level modules of the project: beside its `pyproject.toml`, or in its `src/`), and
relative imports. Only the leading imports are read; a head that is not sorted to begin
with gets the import at its end, as before.
"""

from __future__ import annotations

import ast
import os
import re
import sys
import sysconfig
from dataclasses import dataclass
from functools import lru_cache

FUTURE, STDLIB, THIRD_PARTY, FIRST_PARTY, LOCAL = range(5)
_PROJECT_MARKERS = ("pyproject.toml", "ruff.toml", ".ruff.toml", "setup.cfg", "setup.py", ".git")


@dataclass(frozen=True)
class Placement:
    """Insert `before` + the import line + `after` at `offset` of the text."""

    offset: int
    before: str
    after: str


def add_to_existing(
    head: list[ast.stmt], text: str, line_starts: list[int], module: str, name: str, *, newline: str
) -> tuple[int, str] | None:
    """The insertion (offset, text) that adds NAME to a `from MODULE import ...` of the head,
    in isort's order (constants, classes, then the rest, each alphabetically), as isort would
    merge the two imports; None when there is no such import it can join."""
    for node in head:
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == module:
            if node.end_lineno == node.lineno:
                return _join_one_line(node, text, line_starts, name)
            return _join_parenthesised(node, text, line_starts, name, newline)
    return None


def _join_one_line(node: ast.ImportFrom, text: str, line_starts: list[int], name: str) -> tuple[int, str] | None:
    """`from M import a, b`: `, NAME` after a member, or `NAME, ` before one."""
    line_start = line_starts[node.lineno - 1]
    line = text[line_start : line_starts[node.lineno]].rstrip("\r\n")
    match = _ONE_LINE_FROM.match(line)
    if match is None:
        return None
    offset = line_start + match.start("names")
    for part in match.group("names").split(","):
        member = part.split()[0] if part.split() else ""
        if _member_key(member) > _member_key(name):
            return offset, f"{name}, "
        offset += len(part) + 1
    return line_start + match.end("names"), f", {name}"


def _join_parenthesised(
    node: ast.ImportFrom, text: str, line_starts: list[int], name: str, newline: str
) -> tuple[int, str] | None:
    """`from M import (` with one member per line, each with its comma (isort's and black's
    layout): a line `    NAME,` among them. Any other layout is left to a line of its own."""
    first, last = node.lineno - 1, (node.end_lineno or node.lineno) - 1
    lines = [text[line_starts[i] : line_starts[i + 1]].rstrip("\r\n") for i in range(first, last + 1)]
    if not _PARENTHESISED_FROM.match(lines[0]) or lines[-1].strip() != ")":
        return None
    matches = [_MEMBER_LINE.match(line) for line in lines[1:-1]]
    members = [m for m in matches if m is not None and m.group("comma")]
    if not matches or len(members) != len(matches):
        return None
    indent = members[0].group("indent")
    for number, member in enumerate(members, start=first + 1):
        if _member_key(member.group("name")) > _member_key(name):
            return line_starts[number], f"{indent}{name},{newline}"
    return line_starts[last], f"{indent}{name},{newline}"


_ONE_LINE_FROM = re.compile(r"^from\s+[\w.]+\s+import\s+(?P<names>[\w\s,]+?)\s*(#.*)?$")
_PARENTHESISED_FROM = re.compile(r"^from\s+[\w.]+\s+import\s+\(\s*(#.*)?$")
_MEMBER_LINE = re.compile(r"^(?P<indent>[ \t]+)(?P<name>\w+)(?:\s+as\s+\w+)?\s*(?P<comma>,)?\s*(#.*)?$")


def _member_key(name: str) -> tuple[int, str]:
    kind = 0 if name.isupper() and len(name) > 1 else 1 if name[:1].isupper() else 2
    return kind, name.lower()


def place_import(
    head: list[ast.stmt], line_starts: list[int], newline: str, module: str, path: str | None
) -> Placement | None:
    """Where `from MODULE import ...` goes among the head's imports; None when the head has
    no imports or is not sorted (then the import goes at the head's end)."""
    imports = [node for node in head if isinstance(node, (ast.Import, ast.ImportFrom))]
    if not imports:
        return None
    first_party = _first_party(_project_root(path))
    sections = [_section(node, first_party) for node in imports]
    if sections != sorted(sections):
        return None
    ours = _section_of_name(module.partition(".")[0], first_party)

    def start(node: ast.stmt) -> int:
        return line_starts[node.lineno - 1]

    def end(node: ast.stmt) -> int:
        return line_starts[(node.end_lineno or node.lineno)]

    same = [node for node, section in zip(imports, sections) if section == ours]
    if same:
        key = _sort_key(module)
        for node in same:
            if isinstance(node, ast.ImportFrom) and _sort_key(node.module or "") > key:
                return Placement(start(node), "", "")
        return Placement(end(same[-1]), "", "")
    earlier = [node for node, section in zip(imports, sections) if section < ours]
    if earlier:
        return Placement(end(earlier[-1]), newline, "")
    return Placement(start(imports[0]), "", newline)  # a new first section, before the others


def _sort_key(module: str) -> str:
    return module.lower()


def _section(node: ast.Import | ast.ImportFrom, first_party: frozenset[str]) -> int:
    if isinstance(node, ast.ImportFrom):
        if node.level:
            return LOCAL
        name = node.module or ""
    else:
        name = node.names[0].name
    return _section_of_name(name.partition(".")[0], first_party)


def _section_of_name(name: str, first_party: frozenset[str]) -> int:
    if name == "__future__":
        return FUTURE
    if name in _stdlib():
        return STDLIB
    return FIRST_PARTY if name in first_party else THIRD_PARTY


@lru_cache(maxsize=1)
def _stdlib() -> frozenset[str]:
    names = getattr(sys, "stdlib_module_names", None)
    if names is not None:
        return frozenset(names)
    # Python 3.9: the modules and packages of the standard library's directory.
    found = set(sys.builtin_module_names)
    stdlib = sysconfig.get_paths()["stdlib"]
    for entry in os.listdir(stdlib):
        stem, dot, suffix = entry.partition(".")
        if entry != "site-packages" and (not dot or suffix == "py"):
            found.add(stem)
    return frozenset(found)


def _project_root(path: str | None) -> str:
    directory = os.path.dirname(os.path.abspath(path)) if path else os.getcwd()
    current = directory
    while True:
        if any(os.path.exists(os.path.join(current, marker)) for marker in _PROJECT_MARKERS):
            return current
        parent = os.path.dirname(current)
        if parent == current:
            return os.getcwd()
        current = parent


@lru_cache(maxsize=64)
def _first_party(root: str) -> frozenset[str]:
    """Top-level modules of the project, as ruff finds them with its default `src`."""
    names = set()
    for folder in (root, os.path.join(root, "src")):
        try:
            entries = os.listdir(folder)
        except OSError:
            continue
        for entry in entries:
            full = os.path.join(folder, entry)
            if entry.endswith(".py"):
                names.add(entry[:-3])
            elif os.path.isdir(full) and entry.isidentifier():
                names.add(entry)
    return frozenset(names)
