"""Every spawn of a module, guarded or not, with the defs it runs: what log triage maps to.

`check_module` answers "which spawns are unguarded"; triage asks "which spawn started the
worker that failed here", for guarded ones too (a `wrap()` record names its spawn line; a
supervised worker's restarts are worth seeing). So a guard is looked through, not stopped at:
`wrap(work)` runs `work`, `supervise(consume)(queue)` runs `consume`.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from ..codes import BY_KIND, UW102, Code
from ..options import Options
from ..violation import Confidence, Violation
from .check import run_violation, spawn_violation
from .index import FunctionNode
from .module import ModuleAnalysis
from .project import project_for
from .resolve import Resolved
from .spawns import Spawn, SpawnFinder


@dataclass(frozen=True)
class WorkerDef:
    """A def a spawn runs: its file (None for a module that is not one), name, and lines:
    `first` is its first decorator's (what a code object's `co_firstlineno` says, and so
    asyncio's "defined at"), `line` the `def`'s, `last` its body's end."""

    path: str | None
    name: str
    first: int
    line: int
    last: int

    @classmethod
    def of(cls, path: str | None, node: FunctionNode) -> WorkerDef:
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        return cls(path, node.name, first, node.lineno, node.end_lineno or node.lineno)


@dataclass(frozen=True)
class SpawnEntry:
    """A spawn and what it runs. `line`..`end_line` is the spawn's call (or the `run` def)."""

    code: Code
    line: int
    end_line: int
    col: int
    spawner: str
    workers: tuple[WorkerDef, ...]
    guarded: bool  # a guard at the spawn or in the target: a failure cannot escape from here
    # The confidence `check` reports it with (whatever the setting: a worker that failed in
    # production is worth naming however sure the analysis was); None: guarded, or a channel back.
    confidence: Confidence | None
    # The lines of the guard call a variable target holds (`worker = supervise(f)` above
    # `Thread(target=worker)`): the line a guard's record names as the spawn site.
    guard_lines: tuple[int, int] | None = None

    @property
    def reported(self) -> bool:
        return self.confidence is not None


def spawn_inventory(tree: ast.Module, options: Options, path: str | None = None) -> list[SpawnEntry]:
    """The module's spawns and thread classes, in source order."""
    module = project_for(options).checked(path, tree) if path is not None else ModuleAnalysis(tree, options)
    finder = SpawnFinder(module, options, project_for(options).helper_names if path is not None else frozenset())
    entries = [_spawn_entry(module, spawn, options) for spawn in finder.spawns()]
    for cls in finder.thread_classes():
        run = cls.run
        entries.append(
            SpawnEntry(
                UW102,
                run.lineno,
                run.end_lineno or run.lineno,
                run.col_offset,
                "run",
                (WorkerDef.of(path, run),),
                module.guards.def_guarded(run),
                _confidence(run_violation(module, cls)),
            )
        )
    entries.sort(key=lambda e: (e.line, e.col))
    return entries


def _spawn_entry(module: ModuleAnalysis, spawn: Spawn, options: Options) -> SpawnEntry:
    call = spawn.call
    target = module.resolver.spawn_target(spawn.target, spawn.scope, coroutine=spawn.coroutine)
    guard = _held_guard(module, spawn)
    return SpawnEntry(
        BY_KIND[spawn.kind],
        call.lineno,
        call.end_lineno or call.lineno,
        call.col_offset,
        spawn.spawner,
        _workers(module, spawn),
        module.guards.target_guarded(target) is True,
        _confidence(spawn_violation(module, spawn, options, target)),
        (guard.lineno, guard.end_lineno or guard.lineno) if guard is not None else None,
    )


def _confidence(violation: Violation | None) -> Confidence | None:
    return violation.confidence if violation is not None else None


def _held_guard(module: ModuleAnalysis, spawn: Spawn) -> ast.Call | None:
    """The guard call a spawn's variable target holds (`worker = supervise(f)`)."""
    if isinstance(spawn.target, ast.Name):
        return module.resolver.assigned_guard(spawn.target.id, spawn.scope)
    return None


def _workers(module: ModuleAnalysis, spawn: Spawn) -> tuple[WorkerDef, ...]:
    resolver = module.resolver
    expr = spawn.target
    if isinstance(expr, ast.Name):  # worker = supervise(f); Thread(target=worker)
        expr = resolver.assigned_guard(expr.id, spawn.scope) or expr
    # Look through the guards: wrap(f), wrap(f()), supervise(f)(x).
    while isinstance(expr, ast.Call) and expr.args:
        if resolver.is_guard(expr.func, spawn.scope) and not isinstance(expr.func, ast.Call):
            expr = expr.args[0]
        elif isinstance(expr.func, ast.Call) and resolver.is_guard(expr.func.func, spawn.scope) and expr.func.args:
            expr = ast.Call(func=expr.func.args[0], args=expr.args, keywords=expr.keywords)
            break
        else:
            break
    target = resolver.spawn_target(expr, spawn.scope, coroutine=spawn.coroutine)
    if not isinstance(target, Resolved):
        return ()
    return tuple(WorkerDef.of(d.module.path, d.node) for d in target.functions)
