"""The pure core: a parsed module and options in, violations out."""

from __future__ import annotations

import ast
import functools

from ..codes import BY_KIND, UW102, SpawnKind
from ..options import Options
from ..violation import SourceRange, Violation
from .channel import ChannelAnalysis
from .guards import GuardAnalysis
from .index import ModuleIndex
from .messages import spawn_message, thread_run_message
from .resolve import Resolver, Unresolved
from .spawns import SpawnFinder

# Every spawn needs one of these words somewhere in the file (in its call or its
# import); a file without any is skipped before the tree is walked.
_SPAWN_WORDS = (
    "Thread",
    "Timer",
    "start_new",
    "Process",
    "submit",
    "run_in_executor",
    "apply_async",
    "run_coroutine_threadsafe",
    "create_task",
    "ensure_future",
    "start_soon",
    "TaskGroup",
    "ursery",
)
_CHANNELLED = frozenset({SpawnKind.EXECUTOR, SpawnKind.TASK})
DEFAULT_OPTIONS = Options()


@functools.lru_cache(maxsize=16)
def _spawn_words(spawners: frozenset[str]) -> tuple[str, ...]:
    return tuple(sorted(set(_SPAWN_WORDS) | {name.rpartition(".")[2] for name in spawners}))


def might_spawn(source: str, options: Options = DEFAULT_OPTIONS) -> bool:
    """A cheap text test: False means the module certainly starts no worker.

    Substring tests (C-level scans) measured twice as fast as one regex alternation.
    """
    return any(word in source for word in _spawn_words(frozenset(options.spawners)))


def check_module(tree: ast.Module, options: Options = DEFAULT_OPTIONS, source: str | None = None) -> list[Violation]:
    """Every unguarded worker spawn in `tree`, in source order.

    Pass `source` (the module's text) to let files with no spawn word skip the analysis.
    """
    if source is not None and not might_spawn(source, options):
        return []
    index = ModuleIndex(tree)
    resolver = Resolver(index, options)
    guards = GuardAnalysis(index, resolver, options)
    channel = ChannelAnalysis(index)
    finder = SpawnFinder(index, resolver, options)
    violations = []
    for spawn in finder.spawns():
        if spawn.coroutine:
            target = resolver.coroutine_target(spawn.target, spawn.scope)
        else:
            target = resolver.callable_target(spawn.target, spawn.scope)
        guarded = guards.target_guarded(target)
        if guarded or (guarded is None and not options.report_unresolved):
            continue
        if spawn.kind in _CHANNELLED and channel.consumed(spawn.call, spawn.scope):
            continue
        code = BY_KIND[spawn.kind]
        unresolved = target if isinstance(target, Unresolved) else None
        violations.append(
            Violation(
                code,
                spawn.call.lineno,
                spawn.call.col_offset,
                spawn_message(code, spawn, unresolved),
                spawn.spawner,
                _range(spawn.target),
            )
        )
    for thread_class in finder.thread_classes():
        run = thread_class.run
        if guards.def_guarded(run):
            continue
        violations.append(
            Violation(
                UW102,
                run.lineno,
                run.col_offset,
                thread_run_message(UW102, thread_class.node.name),
                "run",
                _range(run),
            )
        )
    violations.sort(key=lambda v: (v.line, v.col, v.code.code))
    return violations


def _range(node: ast.expr | ast.stmt) -> SourceRange:
    end_line = node.end_lineno if node.end_lineno is not None else node.lineno
    end_col = node.end_col_offset if node.end_col_offset is not None else node.col_offset
    return SourceRange(node.lineno, node.col_offset, end_line, end_col)
