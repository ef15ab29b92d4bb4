"""Spawn helpers: defs of the project that start one of their own parameters as a worker.

    def start_background_task(self, target, *args):
        threading.Thread(target=target, args=args, daemon=True).start()

    def sys_create_task(self, coro):
        return self.loop.create_task(coro)

A helper's own spawn is not reported (its worker is whatever the caller passes); each call
of the helper is checked as a spawn of that kind, with the argument passed as the worker:
`self.start_background_task(self._poll)` is a thread spawn of `self._poll`.

A helper is found by the analysis of the module that defines it. So that a module which only
*calls* helpers is not passed over by the text prefilter, the names of the project's helpers
are found first (`helper_names`): a text scan keeps the few files where a spawn takes a bare
name, and only those are parsed.
"""

from __future__ import annotations

import ast
import bisect
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from ..codes import SpawnKind
from .index import Binding, FunctionNode, Scope, dotted_text, passed_argument
from .known import PARTIALS
from .prefilter import starts_a_word

if TYPE_CHECKING:
    from .module import ModuleAnalysis
    from .spawns import Spawn

# A spawn whose worker is a bare name (or a call of one, or a partial of one): the only
# spawns a helper can make. Cheap to search for, and no backtracking on long lines. The worker
# is the keyword's value, or the first or the second positional argument (`Timer(delay, fn)`,
# `run_coroutine_threadsafe(coro, loop)`): both are candidates. The arguments are looked at
# ahead, not consumed, so that `submit(partial(fn, x))` is still searched at `partial(`. Each
# shape starts with its literal name, which the regular expression engine skips to: one
# pattern of every alternative took 0.14 s on the 187 modules bench_cli's projects check, these 0.05 s.
_KEYWORD_TAIL = r"\s*=\s*([A-Za-z_]\w*)\s*[,()]"
_ARGUMENTS_TAIL = r"\s*\((?=\s*([\w.]+)\s*(?:,\s*([A-Za-z_]\w*)\s*)?[,()])"
_SECOND_ARGUMENT_TAIL = r"\s*\((?=\s*[\w.]+\s*,\s*([A-Za-z_]\w*)\s*[,()])"
_BARE_NAME_SPAWNS = tuple(
    (name, re.compile(re.escape(name) + tail))
    for names, tail in (
        (("target", "function", "coro", "coro_or_future", "func"), _KEYWORD_TAIL),
        (
            (
                *("submit", "create_task", "ensure_future", "start_soon", "start_new_thread", "start_new"),
                *("run_coroutine_threadsafe", "apply_async", "Timer", "Thread", "Process", "partial"),
            ),
            _ARGUMENTS_TAIL,
        ),
        # `run_in_executor(None, fn)`; a Thread subclass's `super().__init__(None, target)`. Any
        # base's `__init__(parent, name)` matches too: the first pass then checks that module
        # and keeps its analysis for the modules that import it, which measured cheaper than
        # asking for the name `target` (callgrind, bench_cli's 26 projects: 14.43 G, 14.55 G).
        (("run_in_executor", "__init__"), _SECOND_ARGUMENT_TAIL),
    )
    for name in names
)
_DEF = re.compile(r"def\s+\w+\s*\(")  # a whole word: `starts_a_word`
# How far a def's signature is looked for its parameters (a long signature is rare).
_SIGNATURE = 2000


# What a helper does with a future or task it does not return: reads it, holds it, drops it.
Kept = Literal["read", "held", "released", "lost"]


@dataclass(frozen=True)
class HelperSpec:
    """How a helper starts its worker: the kind, and which parameter is the worker.

    `position` is the parameter's place among the positional arguments a caller passes (the
    instance excluded for a method); `coroutine` says the caller passes a coroutine object
    (`sys_create_task(worker())`) rather than a callable."""

    kind: SpawnKind
    param: str
    position: int | None
    coroutine: bool
    process: bool
    spawner: str  # the helper's own spawner: "threading.Thread"
    # Whether the future or task the helper makes is returned to its caller (then the
    # caller's use of it decides, unless the helper reads it itself), and what the helper does with it.
    returned: bool = True
    kept: Kept = "lost"


@dataclass(frozen=True)
class ModuleHelpers:
    """A module's helpers by def, and the spawns inside them (which are not reported)."""

    by_def: dict[int, HelperSpec]
    inner_spawns: frozenset[int]  # id() of each helper's spawn call
    names: frozenset[str]  # the helpers' def names (a class's, for its `__init__`: what its callers call)


def find_module_helpers(module: ModuleAnalysis, spawns: Iterable[Spawn]) -> ModuleHelpers:
    """The module's helpers, from its spawns (those made by the standard spawners and the
    configured ones: a helper's spawn is never itself a call of a helper)."""
    by_def: dict[int, HelperSpec] = {}
    inner: set[int] = set()
    names: list[str] = []
    for spawn in spawns:
        fn = spawn.scope.node
        if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        found = _handed_worker(spawn, spawn.scope)
        if found is None:
            continue
        param, coroutine = found
        inner.add(id(spawn.call))
        if id(fn) not in by_def:
            position = _position(fn, param, spawn.scope)
            returned, kept = _what_becomes_of(module, spawn)
            by_def[id(fn)] = HelperSpec(
                spawn.kind, param, position, coroutine, spawn.process, spawn.spawner, returned, kept
            )
            cls = spawn.scope.parent.node if spawn.scope.parent is not None else None
            names.append(cls.name if fn.name == "__init__" and isinstance(cls, ast.ClassDef) else fn.name)
    return ModuleHelpers(by_def, frozenset(inner), frozenset(names))


def _what_becomes_of(module: ModuleAnalysis, spawn: Spawn) -> tuple[bool, Kept]:
    """Whether the helper returns what its spawn makes (`return self.loop.create_task(coro)`,
    `t = ...; return t`), and if not, whether it reads it, holds it or drops it."""
    call = spawn.call
    parent = module.index.parent(call)
    if isinstance(parent, ast.Return):
        return True, "lost"
    # Read by the helper itself (`future.add_done_callback(log_failure)`), whatever it returns.
    kept: Kept = "read" if module.channel.consumed(call, spawn.scope) else "lost"
    if isinstance(parent, ast.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0], ast.Name):
        name = parent.targets[0].id
        for use, use_scope in module.index.name_reads.get(name, ()):
            if use_scope is spawn.scope and isinstance(module.index.parent(use), ast.Return):
                return True, kept
    if kept == "read":
        return False, "read"
    if module.channel.released_when_done(call, spawn.scope):
        return False, "released"
    return False, "held" if module.channel.referenced(call) else "lost"


def _handed_worker(spawn: Spawn, scope: Scope) -> tuple[str, bool] | None:
    """The parameter of the spawn's own def that is its worker, and whether the caller passes
    a coroutine object: `target=target`, `create_task(coro)`, `create_task(fn(*args))`,
    `submit(partial(fn, x))`."""
    expr = spawn.target
    coroutine = spawn.coroutine
    if isinstance(expr, ast.Call) and dotted_text(expr.func) in {*PARTIALS, "partial"} and expr.args:
        expr, coroutine = expr.args[0], False
    elif coroutine and isinstance(expr, ast.Call):
        expr, coroutine = expr.func, False  # create_task(fn(*args)): the caller passes fn
    if isinstance(expr, ast.Name) and scope.bindings.get(expr.id) is Binding.PARAM and expr.id != scope.self_name:
        return expr.id, coroutine
    return None


def _position(fn: FunctionNode, param: str, scope: Scope) -> int | None:
    positional = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]
    if scope.self_name is not None and positional and positional[0] == scope.self_name:
        positional = positional[1:]
    return positional.index(param) if param in positional else None


def may_define_helper(text: str) -> bool:
    """A cheap text test: False means the module defines no spawn helper. A helper's spawn takes
    a bare name that is a parameter of its def: the name must be in the signature (from its `(`
    to the `:` that ends a line) of a def that may hold the spawn. That is the nearest def
    before it, or one of the defs that may hold that one, those before it with less indented
    lines: a def nested in the helper may sit between its signature and its spawn
    (`def create_socket():` before `create_task(recvfrom(sock))`, CPython 3.13's asyncio tests)."""
    defs: list[re.Match[str]] | None = None  # found when a spawn needs them
    starts: list[int] = []
    for match in _bare_name_spawns(text):
        if defs is None:
            defs = [found for found in _DEF.finditer(text) if starts_a_word(text, found.start())]
            starts = [found.end() for found in defs]
        names = [name for name in match.groups() if name is not None and name.isidentifier()]
        at = bisect.bisect_right(starts, match.start()) - 1
        deepest = None
        while at >= 0 and deepest != 0:
            start, indent = starts[at], _indent(text, defs[at].start())
            if deepest is None or indent < deepest:
                deepest = indent
                end = text.find(":\n", start, start + _SIGNATURE)
                signature = text[start : end if end != -1 else start + _SIGNATURE]
                if any(re.search(rf"\b{name}\b", signature) for name in names):
                    return True
            at -= 1
    return False


def _bare_name_spawns(text: str) -> Iterator[re.Match[str]]:
    """Each spawn shape's matches in the text, shape by shape; not at the end of a longer name."""
    for name, pattern in _BARE_NAME_SPAWNS:
        if name not in text:
            continue
        for match in pattern.finditer(text):
            if starts_a_word(text, match.start()):
                yield match


def _indent(text: str, position: int) -> int:
    """The width of the leading whitespace of the line that holds `position`."""
    line_start = text.rfind("\n", 0, position) + 1
    line = text[line_start:position]
    return len(line) - len(line.lstrip())


def helper_argument(call: ast.Call, spec: HelperSpec) -> tuple[ast.expr, str | None] | None:
    """The worker a call of the helper passes, and the keyword it is passed by (if any)."""
    return passed_argument(call, spec.param, spec.position)
