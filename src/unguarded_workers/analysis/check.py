"""The core: a parsed module and options in, violations out.

A module's targets and thread classes may lead into other modules of the same project
(`project`); pass the module's `path` to follow them, and to find the project's spawn
helpers' calls (`Project.helper_names`).
"""

from __future__ import annotations

import ast
from collections.abc import Callable

from ..codes import BY_KIND, GROUP_UNSAFE_REASON, UW102, Code, SpawnKind
from ..fingerprint import fingerprint
from ..options import Options
from ..violation import Related, SourceRange, Violation
from .confidence import Channel, assess
from .constructions import default_of
from .exposure import Exposure
from .foreign import foreign_parameter, own_code, wired_by_the_project
from .index import FUNCTION_TYPES, FunctionNode, is_generator, is_none
from .lifetime import joined_by_its_spawner, lets_go_of_itself, read_only_after_a_hang
from .messages import (
    DROPPED_TASK_STAKE,
    HELD_TASK_STAKE,
    LONG_RUNNING_CHILD_STAKE,
    LOOP_FUTURE_STAKE,
    PER_ITEM_CHILD_STAKE,
    PROCESS_STAKE,
    READ_AFTER_THE_WAIT_STAKE,
    RELEASED_TASK_STAKE,
    spawn_message,
    thread_run_message,
)
from .module import Def, ModuleAnalysis
from .prefilter import might_spawn
from .project import project_for
from .resolve import Resolved, Target, Unresolved
from .spawns import Spawn, SpawnFinder, ThreadClass
from .waiters import Hang, find_hang, handed_in, left_out

_CHANNELLED = frozenset({SpawnKind.EXECUTOR, SpawnKind.TASK})
# Spawns that call their target in the worker (a task group's child is awaited there).
_CALLING_KINDS = frozenset({SpawnKind.THREAD, SpawnKind.EXECUTOR})
DEFAULT_OPTIONS = Options()
# Where a spawn's enclosing loops stop counting.
_SCOPE_TYPES = (*FUNCTION_TYPES, ast.Lambda, ast.ClassDef, ast.Module)


def check_module(
    tree: ast.Module, options: Options = DEFAULT_OPTIONS, source: str | None = None, path: str | None = None
) -> list[Violation]:
    """Every unguarded worker spawn in `tree` at `options.min_confidence` or above, in source order.

    Pass `source` (the module's text) to let files with no spawn word skip the analysis,
    and `path` (its file) to follow imports into the project's other modules.
    """
    return [v for v in all_violations(tree, options, source, path) if v.confidence >= options.min_confidence]


def all_violations(
    tree: ast.Module, options: Options = DEFAULT_OPTIONS, source: str | None = None, path: str | None = None
) -> list[Violation]:
    """Every report the module has, whatever its confidence."""
    project = project_for(options) if path is not None else None
    helpers = project.helper_names if project is not None else frozenset()
    if source is not None and not might_spawn(source, options, helpers):
        return []
    module = project.checked(path, tree) if project is not None and path is not None else ModuleAnalysis(tree, options)
    finder = SpawnFinder(module, options, helpers)
    violations = [v for spawn in finder.spawns() if (v := spawn_violation(module, spawn, options)) is not None]
    violations += [v for cls in finder.thread_classes() if (v := run_violation(module, cls)) is not None]
    violations.sort(key=lambda v: (v.line, v.col, v.code.code))
    return violations


def spawn_violation(
    module: ModuleAnalysis, spawn: Spawn, options: Options, target: Target | None = None
) -> Violation | None:
    """The spawn's report, whatever its confidence, if it has one; pass `target` when it is resolved already."""
    if target is None:
        target = module.resolver.spawn_target(spawn.target, spawn.scope, coroutine=spawn.coroutine)
    if module.guards.target_guarded(target) is True or _runs_none_of_its_body(spawn, target):
        return None
    channel = _channel(module, spawn, target, options) or _read_after_a_hang(module, spawn, target)
    if channel is None:
        return None
    channel_kind, stake = channel
    code = BY_KIND[spawn.kind]
    unresolved = target if isinstance(target, Unresolved) else None
    exposed = module.guards.target_exposure(target) if isinstance(target, Resolved) else None
    if exposed is not None:
        root = exposed[0]
        exposed = root, _own_code_aside(exposed[1], lambda e: _hands_own_code(module, spawn, root, e))
    if exposed is not None and exposed[1].in_loop and joined_by_its_spawner(module, spawn):
        exposed = exposed[0], exposed[1].without_loop()
    exposure = exposed[1] if exposed is not None else None
    hang = find_hang(exposed[0], exposed[1], spawn, module) if exposed is not None else None
    confidence, evidence = assess(channel_kind, exposure, hang)
    message = spawn_message(
        code, spawn, stake=stake, unresolved=unresolved, exposure=exposure, hang=hang, checked_path=module.path
    )
    return Violation(
        code,
        spawn.call.lineno,
        spawn.call.col_offset,
        message,
        spawn.spawner,
        _range(spawn.target),
        fingerprint(spawn.target),
        _unsafe_fix(code, unresolved, hang),
        confidence,
        evidence,
        _related(module, exposure, hang),
        spawn.call.end_lineno,
        spawn.call.end_col_offset,
    )


def _runs_none_of_its_body(spawn: Spawn, target: Target) -> bool:
    """A thread or an executor that calls a generator function or an `async def` only makes
    the generator or coroutine: its body runs where that is iterated or awaited, not in the
    worker (vidgear's `run_in_executor(None, self.recv_generator)`, an async generator that
    its users iterate themselves)."""
    return (
        spawn.kind in _CALLING_KINDS
        and not spawn.coroutine
        and spawn.via is None  # a helper may await what it calls (`run_coroutine_threadsafe(func(), loop)`)
        and isinstance(target, Resolved)
        and all(isinstance(d.node, ast.AsyncFunctionDef) or is_generator(d.node) for d in target.functions)
    )


def _hands_own_code(module: ModuleAnalysis, spawn: Spawn, root: Def, exposure: Exposure) -> bool:
    """The worker's foreign call is of its own parameter (or a method of it), and this spawn
    passes it the program's own code: a def of the project (`Thread(target=read,
    args=(stream, notify_end_of_file))`, a closure of the spawner), a lambda written there
    (`spawn(self.dispatch(lambda output: output.on_connection(c)))`), an object the spawner
    made (`Thread(target=manager_loop, args=(self._pool_manager,))`), not someone else's; or
    leaves it at a default of None, all its arguments spelled out."""
    found = foreign_parameter(exposure.foreign) if exposure.foreign is not None else None
    if found is None or found[0] is not root.node:
        return False  # in a def the worker calls: that def's parameter
    handed = handed_in(root.node, found[1], spawn)
    if handed is None:
        # Left at a default of None, the callback never runs (`if state_update_callback:`):
        # beam's `Thread(target=poll_for_job_completion, args=(runner, self, duration))`.
        default = default_of(root.node, found[1])
        return default is not None and is_none(default) and left_out(root.node, found[1], spawn)
    return own_code(module, handed, spawn.scope)


def _own_code_aside(exposure: Exposure, handed_own: Callable[[Exposure], bool] = lambda _: False) -> Exposure:
    """The exposure with each foreign call that runs the program's own code taken for it (the
    spawn hands it own code: `handed_own`; a callback the project wires up itself:
    `foreign.wired_by_the_project`), the next foreign call in its place."""
    while exposure.foreign is not None and (handed_own(exposure) or wired_by_the_project(exposure.foreign)):
        exposure = exposure.without_foreign()
    return exposure


def _unsafe_fix(code: Code, unresolved: Unresolved | None, hang: Hang | None = None) -> str | None:
    """Why wrapping the target could break working code, if it could.

    A fix is safe only for a function the analysis resolved: the guard takes the target's
    place, and code that reads the target's attributes or type (an executor reading
    `task.transfer_id` from what it was given) sees a `functools.partial` instead.
    """
    if not code.safe_fix:
        return GROUP_UNSAFE_REASON
    if hang is not None:
        # The guard would silence the report and leave the waiter waiting: the fix is the
        # deliver= the message names, whose effect on the waiter's code (a Failure on its
        # queue, an exception from its future) is for its author to take in.
        return f"wrap() alone would leave {hang.waiter} waiting on {hang.holder}: deliver the failure to it"
    if unresolved is not None:
        return (
            f"the target could not be inspected ({unresolved.reason}): "
            "code that reads its attributes or type would see the guard instead"
        )
    return None


def _channel(module: ModuleAnalysis, spawn: Spawn, target: Target, options: Options) -> tuple[Channel, str] | None:
    """What becomes of the unguarded failure, and the words for it ("" for the code's own),
    or None when it has a channel back or costs nothing worth a report."""
    kind = spawn.kind
    if kind in _CHANNELLED:
        helper = spawn.via
        if helper is not None and helper.kept == "read":
            return None  # the helper reads what it spawned (a done callback that logs), returned or not
        if helper is not None and not helper.returned:
            held, released = helper.kept == "held", helper.kept == "released"
        elif module.channel.consumed(spawn.call, spawn.scope):
            return None
        else:
            released = module.channel.released_when_done(spawn.call, spawn.scope) or lets_go_of_itself(
                module, spawn, target
            )
            held = not released and module.channel.referenced(spawn.call)
        # asyncio logs the failure of a task or future it frees unread ("... was never
        # retrieved"): a dropped one's is printed, as a thread's is, and so is one released
        # when it ends; a concurrent future's never.
        if kind is SpawnKind.TASK:
            if released:
                return Channel.PRINTED, RELEASED_TASK_STAKE
            return (Channel.HELD, HELD_TASK_STAKE) if held else (Channel.PRINTED, DROPPED_TASK_STAKE)
        if spawn.spawner == ".run_in_executor":
            return (Channel.HELD if held else Channel.PRINTED), LOOP_FUTURE_STAKE
        return Channel.LOST, ""
    if spawn.process:
        return None if module.exit_status.consumed(spawn.call, spawn.scope) else (Channel.PRINTED, PROCESS_STAKE)
    if kind is SpawnKind.GROUP:
        if _in_loop(module, spawn.call):
            return Channel.GROUP_SERVING, PER_ITEM_CHILD_STAKE
        if isinstance(target, Resolved) and any(_runs_unbounded_loop(d.node) for d in target.functions):
            return Channel.GROUP_SERVING, LONG_RUNNING_CHILD_STAKE
        return (Channel.GROUP, "") if options.all_group_children else None
    return Channel.PRINTED, ""


def run_violation(module: ModuleAnalysis, cls: ThreadClass) -> Violation | None:
    run = cls.run
    exposure = module.guards.def_exposure(run)
    if exposure is None:
        return None
    exposure = _own_code_aside(exposure)
    if cls.process and not _some_process_unread(module, cls.node):
        return None
    hang = find_hang(Def(module, run), exposure, None, None)
    confidence, evidence = assess(Channel.PRINTED, exposure, hang)
    message = thread_run_message(
        UW102, cls.node.name, exposure, process=cls.process, hang=hang, checked_path=module.path
    )
    return Violation(
        UW102,
        run.lineno,
        run.col_offset,
        message,
        "run",
        _range(run),
        unsafe_fix=_unsafe_fix(UW102, None, hang),
        confidence=confidence,
        evidence=evidence,
        related=_related(module, exposure, hang),
    )


def _related(module: ModuleAnalysis, exposure: Exposure | None, hang: Hang | None) -> tuple[Related, ...]:
    """The places the message names: the uncovered statement, the foreign call, the waiter
    and the signal it waits for."""
    if exposure is None:
        return ()
    first = exposure.named(waited_on=hang is not None)
    found = [_related_at(module, exposure.module, first.node, f"{first.text()} {first.why}")]
    foreign = exposure.foreign
    if foreign is not None and foreign.call is not first.node:
        found.append(_related_at(module, foreign.module, foreign.call, f"calls {foreign.what}"))
    if hang is not None:
        found.append(_related_at(module, hang.wait_module, hang.wait, f"{hang.waiter} waits on {hang.holder} here"))
        found.append(_related_at(module, hang.signal_module, hang.signal, f"{hang.holder} {hang.verb} only here"))
    return tuple(found)


def _related_at(checked: ModuleAnalysis, module: ModuleAnalysis, node: ast.AST, message: str) -> Related:
    path = None if module is checked else module.path
    return Related(_range(node), message, path)


def _some_process_unread(module: ModuleAnalysis, node: ast.ClassDef) -> bool:
    """Whether the module makes an instance of the Process subclass whose exit status
    nothing reads. Instances made only elsewhere are not judged here."""
    index = module.index
    for call, scope in index.calls:
        func = call.func
        if not (isinstance(func, ast.Name) and func.id == node.name):
            continue
        owner = scope.lookup(func.id)
        if owner is not None and owner.classes.get(func.id) is node and not module.exit_status.consumed(call, scope):
            return True
    return False


def _read_after_a_hang(module: ModuleAnalysis, spawn: Spawn, target: Target) -> tuple[Channel, str] | None:
    """A task or future read only after a wait its failure never lets end: the read never comes."""
    if spawn.kind in _CHANNELLED and spawn.via is None and read_only_after_a_hang(module, spawn, target):
        return Channel.HELD, READ_AFTER_THE_WAIT_STAKE
    return None


def _in_loop(module: ModuleAnalysis, call: ast.Call) -> bool:
    """Whether the spawn runs once per iteration of a `while` or `async for` of its function."""
    child: ast.AST = call
    parent = module.index.parent(call)
    while parent is not None and not isinstance(parent, _SCOPE_TYPES):
        if isinstance(parent, ast.While) and child is not parent.test:
            return True
        if isinstance(parent, ast.AsyncFor) and child is not parent.iter:
            return True
        child, parent = parent, module.index.parent(parent)
    return False


def _runs_unbounded_loop(fn: FunctionNode) -> bool:
    """`while True:` / `while not stop...:` / `async for` in the def's own body (not nested defs)."""
    stack: list[ast.AST] = list(fn.body)
    while stack:
        node = stack.pop()
        if isinstance(node, ast.AsyncFor):
            return True
        if isinstance(node, ast.While):
            test = node.test
            if (isinstance(test, ast.Constant) and test.value) or (
                isinstance(test, ast.UnaryOp) and isinstance(test.op, ast.Not)
            ):
                return True
        if isinstance(node, (*FUNCTION_TYPES, ast.ClassDef)):
            continue
        if isinstance(node, ast.stmt):
            stack.extend(child for child in ast.iter_child_nodes(node) if not isinstance(child, ast.expr))
        else:  # an except handler or a match case: its body
            stack.extend(getattr(node, "body", []))
    return False


def _range(node: ast.AST) -> SourceRange:
    line = getattr(node, "lineno", 1)
    col = getattr(node, "col_offset", 0)
    end_line = getattr(node, "end_lineno", None) or line
    end_col = getattr(node, "end_col_offset", None)
    return SourceRange(line, col, end_line, end_col if end_col is not None else col)
