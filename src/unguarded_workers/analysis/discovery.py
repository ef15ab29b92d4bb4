"""Finding the project's spawn helpers before the check, so that a module that only calls
one (and holds no spawn word of its own) is not passed over by the text prefilter.

Each file's text is tested first (`might_spawn`, then `may_define_helper`), then its parse
(does a spawn pass a parameter of a def around it?), and only then is it analysed: on 2,183
modules of 26 real projects, 93 pass the text tests, 25 the parse's; the old way (every
module that passed the text tests analysed whole) took 2.5 s of CPU, this one 0.7 s.
"""

from __future__ import annotations

import ast
import bisect
import importlib.util
import os
import re
import stat
import warnings
from collections.abc import Iterable
from typing import Protocol

from ..options import Options
from .helpers import may_define_helper
from .index import FunctionNode, dotted_text
from .known import CORO_0, METHOD_SPAWNERS, PARTIALS, SPAWN_FUNCTIONS, TARGET_KW_1, TARGET_KW_2, ArgSpec
from .module import ModuleAnalysis
from .prefilter import base_init_calls, might_spawn, spawn_calls
from .project import MAX_BYTES


def helpers_in_text(text: str, options: Options, path: str | None = None) -> frozenset[str]:
    """The names of the spawn helpers a module's text defines.

    A helper is a def that passes one of its own parameters to a spawn. Few modules define
    one, and finding them exactly takes the module's whole analysis: it is made only for a
    module where a spawn call's worker argument (`target=fn`, `submit(fn)`, `create_task(fn(x))`)
    names a parameter of a def around it, as its parse shows. A module that renames a spawner
    in an import (its calls then have names of its own) is analysed all the same.
    """
    if not might_spawn(text, options) or not may_define_helper(text):
        return frozenset()
    return _helpers_in_candidate_text(text, options, path)


def _helpers_in_candidate_text(text: str, options: Options, path: str | None) -> frozenset[str]:
    """`helpers_in_text` for a text that `might_spawn` and `may_define_helper` (each text test
    is made once)."""
    starts = _spawn_starts(text, options)
    if starts == []:
        return frozenset()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename=path or "<unknown>")
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return frozenset()  # the check reports it, where it is checked
    return _helpers_of_tree(tree, text, starts, options, path)


def helpers_in_tree(tree: ast.Module, text: str, options: Options, path: str | None = None) -> frozenset[str]:
    """`helpers_in_text`, for a module parsed already (one the check analysed has them as
    `analysis.helpers.names`)."""
    if not may_define_helper(text):
        return frozenset()
    starts = _spawn_starts(text, options)
    if starts == []:
        return frozenset()
    return _helpers_of_tree(tree, text, starts, options, path)


def _spawn_starts(text: str, options: Options) -> list[int] | None:
    """Where the module's spawn calls start, a Thread subclass's call of its base's `__init__`
    with a target among them; None when a spawner is renamed."""
    starts = spawn_calls(text, options)
    return None if starts is None else sorted({*starts, *base_init_calls(text)})


def _helpers_of_tree(
    tree: ast.Module, text: str, starts: list[int] | None, options: Options, path: str | None
) -> frozenset[str]:
    """The helpers of a parsed module whose spawn calls start at `starts` (None: a spawner is
    renamed, its calls could be anywhere)."""
    if starts is not None and not _may_hand_a_parameter(tree, text, starts, options):
        return frozenset()
    return ModuleAnalysis(tree, options, path).helpers.names


def _may_hand_a_parameter(tree: ast.Module, text: str, starts: list[int], options: Options) -> bool:
    """Whether a call at one of `starts` (a spawner's name) passes, where the spawner takes its
    worker, a parameter of a def around it."""
    spawners = _spawner_specs(options)
    line_starts = _line_starts(text)
    looked: set[int] = set()
    lists: dict[int, tuple[list[ast.stmt], list[int]]] = {}
    for offset in starts:
        defs, statement = _around(tree, bisect.bisect_right(line_starts, offset), lists)
        if statement is None or id(statement) in looked or not defs:
            continue
        looked.add(id(statement))
        handed = {name for call in _calls_in(statement) for name in _handed_names(call, spawners)}
        if any(handed.intersection(params) for _, params in defs):
            return True
    return False


# Where each spawner takes its worker (several for a name several spawners share): by
# keyword, by position. A configured spawner takes `target=` or its first argument.
_STANDARD_SPECS: dict[str, tuple[ArgSpec, ...]] = {}
for _qualname, (_, _spec) in SPAWN_FUNCTIONS.items():
    _STANDARD_SPECS[_qualname.rpartition(".")[2]] = (*_STANDARD_SPECS.get(_qualname.rpartition(".")[2], ()), _spec)
for _method, _spec in METHOD_SPAWNERS.items():
    _STANDARD_SPECS[_method] = (*_STANDARD_SPECS.get(_method, ()), _spec)
# A Thread subclass's `super().__init__(None, target)`, or `Thread.__init__(self, None, target)`.
_STANDARD_SPECS["__init__"] = (TARGET_KW_1, TARGET_KW_2)
_CONFIGURED_SPECS = (TARGET_KW_1, CORO_0)


def _spawner_specs(options: Options) -> dict[str, tuple[ArgSpec, ...]]:
    specs = dict(_STANDARD_SPECS)
    for name in options.spawners:
        last = name.rpartition(".")[2]
        specs[last] = (*specs.get(last, ()), *_CONFIGURED_SPECS)
    return specs


def _calls_in(statement: ast.stmt) -> list[ast.Call]:
    return [node for node in ast.walk(statement) if isinstance(node, ast.Call)]


def _handed_names(call: ast.Call, spawners: dict[str, tuple[ArgSpec, ...]]) -> set[str]:
    """The names a spawn call passes as its worker: `target=fn`, `submit(fn)`,
    `create_task(fn(x))`, `submit(partial(fn, x))`."""
    func = call.func
    name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
    found: set[str] = set()
    for spec in spawners.get(name or "", ()):
        workers = [k.value for k in call.keywords if spec.keyword is not None and k.arg == spec.keyword]
        if spec.position is not None and len(call.args) > spec.position:
            workers.append(call.args[spec.position])
        for passed in workers:
            worker = passed
            if isinstance(passed, ast.Call) and passed.args and dotted_text(passed.func) in {*PARTIALS, "partial"}:
                worker = passed.args[0]
            elif isinstance(passed, ast.Call):
                worker = passed.func
            if isinstance(worker, ast.Name):
                found.add(worker.id)
    return found


def _line_starts(text: str) -> list[int]:
    """The offset where each line starts (the first at 0)."""
    return [0, *(match.end() for match in _NEWLINE.finditer(text))]


# Line ends as the parser counts them: \r\n, \r or \n.
_NEWLINE = re.compile(r"\r\n?|\n")


def _around(
    tree: ast.Module, line: int, lists: dict[int, tuple[list[ast.stmt], list[int]]]
) -> tuple[list[tuple[FunctionNode, list[str]]], ast.stmt | None]:
    """The defs that hold `line` (each with the parameters that can be a worker: all but a
    method's self), and the innermost statement that holds it. `lists` keeps, by the node
    that holds them, each list of statements with their first lines, for a bisection (a
    module's thousand spawns, its thousand statements)."""
    defs: list[tuple[FunctionNode, list[str]]] = []
    holder: ast.AST = tree
    innermost: ast.stmt | None = None
    in_class = False
    while True:
        found_list = lists.get(id(holder))
        if found_list is None:
            inner = tree.body if holder is tree else _inner_statements(holder)
            found_list = lists[id(holder)] = (inner, [_first_line(statement) for statement in inner])
        statements, firsts = found_list
        at = bisect.bisect_right(firsts, line) - 1
        found = statements[at] if at >= 0 else None
        if found is None or line > (found.end_lineno or found.lineno):
            return defs, innermost
        innermost = holder = found
        if isinstance(found, (ast.FunctionDef, ast.AsyncFunctionDef)):
            defs.append((found, _worker_params(found, method=in_class)))
        in_class = isinstance(found, ast.ClassDef)


def _first_line(statement: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(statement, "decorator_list", [])
    return min([statement.lineno, *(d.lineno for d in decorators)])


def _worker_params(fn: FunctionNode, *, method: bool) -> list[str]:
    args = fn.args
    positional = [a.arg for a in (*args.posonlyargs, *args.args)]
    if method and positional and not any(isinstance(d, ast.Name) and d.id == "staticmethod" for d in fn.decorator_list):
        positional = positional[1:]  # self or cls: never a worker handed in
    rest = [a.arg for a in (*args.kwonlyargs, args.vararg, args.kwarg) if a is not None]
    return positional + rest


def _inner_statements(statement: ast.AST) -> list[ast.stmt]:
    """The statements a compound statement holds, in source order (a try's handlers come
    between its body and its else)."""
    inner: list[ast.stmt] = list(getattr(statement, "body", []))
    for handler in getattr(statement, "handlers", ()):
        inner += handler.body
    for case in getattr(statement, "cases", ()):
        inner += case.body
    for name in ("orelse", "finalbody"):
        inner += getattr(statement, name, [])
    return inner


def helper_names(paths: Iterable[str], options: Options) -> frozenset[str]:
    """The names of the spawn helpers the files define (unreadable files are passed over)."""
    return frozenset().union(*helpers_by_file(paths, options).values())


class HelperMemo(Protocol):
    """What a file's text was found to define before (a results cache): None when unknown."""

    def helpers(self, path: str, data: bytes) -> frozenset[str] | None: ...

    def put_helpers(self, path: str, data: bytes, names: frozenset[str]) -> None: ...


def helpers_by_file(
    paths: Iterable[str], options: Options, memo: HelperMemo | None = None
) -> dict[str, frozenset[str]]:
    """The names of the spawn helpers each file defines, for the files that define some.

    With `memo`, a file whose text could define one (it may spawn, and hand a parameter to a
    spawn: few do) is looked up there first and its answer kept, so that a re-run parses none
    of them again."""
    found: dict[str, frozenset[str]] = {}
    for path in paths:
        try:
            info = os.stat(path)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_BYTES:
                continue  # a FIFO or device named *.py would block the read for ever
            with open(path, "rb") as file:
                data = file.read()
            text = importlib.util.decode_source(data)
        except (OSError, SyntaxError, UnicodeDecodeError, LookupError):
            continue
        if not might_spawn(text, options) or not may_define_helper(text):
            continue  # no spawn call, no parameter handed to one: no helper (most files)
        names = memo.helpers(path, data) if memo is not None else None
        if names is None:
            names = _helpers_in_candidate_text(text, options, path)
            if memo is not None:
                memo.put_helpers(path, data, names)
        if names:
            found[path] = names
    return found


# Directories no project module lives in: version control, caches, build trees.
_NOT_SOURCE = frozenset({".git", ".hg", ".svn", "__pycache__", ".tox", ".nox", ".venv", "node_modules", "build"})


def python_files(root: os.PathLike[str] | str) -> list[str]:
    """The `*.py` files under `root`, not in hidden directories, caches or virtual environments."""
    found = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [
            name
            for name in dirnames
            if name not in _NOT_SOURCE
            and not name.startswith(".")
            and not os.path.isfile(os.path.join(directory, name, "pyvenv.cfg"))
        ]
        found += [os.path.join(directory, name) for name in filenames if name.endswith(".py")]
    return found
