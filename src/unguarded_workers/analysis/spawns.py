"""Recognising the calls that start a worker, and the worker expression each one takes.

Spawns:      threading.Thread(target=f), th.Timer(5, tick), executor.submit(f, x),
             loop.run_in_executor(None, f), pool.apply_async(f), asyncio.create_task(w()),
             self._loop.create_task(w()), tg.start_soon(child), tg.start(child) on a task
             group, a configured spawner (myapp.tasks.fire:task), a call of a project def
             that spawns its parameter (`helpers`: self.start_background_task(self._poll)),
             a Thread subclass's `super().__init__(target=...)` (its making `Worker(self._poll)`
             a call of a helper, when the target is a parameter of its `__init__`)
Not spawns:  form.submit(), from .utils import Thread; Thread(target=f),
             self.create_task(w()) on an application's own helper,
             pool.apply_async(f, error_callback=on_error),
             asyncio.ensure_future(lock.acquire()) (not a call of an `async def`: a
             Future handed back unchanged, no task made),
             loop.create_task(await self.poll()) (the coroutine runs in the spawner)
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ..codes import SpawnKind
from ..options import Options
from .helpers import HelperSpec, helper_argument
from .index import FunctionNode, Scope, base_init_spec, dotted_text, last_name, passed_argument
from .known import (
    CALLABLE_0,
    CORO_0,
    ENSURE_FUTURE,
    METHOD_SPAWNERS,
    PROCESS_SPAWNERS,
    SPAWN_FUNCTIONS,
    TARGET_KW_1,
    ArgSpec,
    Receiver,
)
from .resolve import Resolved

if TYPE_CHECKING:
    from .module import ModuleAnalysis


@dataclass(frozen=True)
class Spawn:
    """A call that starts a worker, and the expression that is the worker."""

    kind: SpawnKind
    call: ast.Call
    scope: Scope
    spawner: str  # "threading.Thread", ".submit", ...
    target: ast.expr
    keyword: str | None  # the keyword the target was passed by, if any
    coroutine: bool  # the target is a coroutine object rather than a callable
    process: bool = False  # a process: its failure shows in its exit status
    via: HelperSpec | None = None  # the spawn helper called, for a call of one


@dataclass(frozen=True)
class ThreadClass:
    """A Thread/Process subclass whose own run() is the worker."""

    node: ast.ClassDef
    run: ast.FunctionDef | ast.AsyncFunctionDef
    process: bool  # a Process subclass rather than a Thread's


_RUN_IN_EXECUTOR = METHOD_SPAWNERS["run_in_executor"]
_APPLY_ASYNC = METHOD_SPAWNERS["apply_async"]
_CREATE_TASK = METHOD_SPAWNERS["create_task"]
# The methods that start a worker on a receiver of the right kind (`_classify_method`).
_METHODS = frozenset({"start_soon", "run_in_executor", "submit", "apply_async", "create_task", "start", "Process"})


class SpawnFinder:
    def __init__(self, module: ModuleAnalysis, options: Options, helper_names: frozenset[str] = frozenset()) -> None:
        self._module = module
        self._index = module.index
        self._resolver = module.resolver
        self._spawners = options.spawners
        self._coroutine_functions = options.coroutine_functions
        self._method_spawners = {name[1:]: kind for name, kind in options.spawners.items() if name.startswith(".")}
        self._helper_names = helper_names
        # The last names a spawner's call can have: a call by any other name is none (unless an
        # import renames one: `from threading import Thread as Worker`).
        self._spawn_names = frozenset(
            {name.rpartition(".")[2] for name in (*SPAWN_FUNCTIONS, *options.spawners)} | _METHODS
        )

    def classified(self) -> list[tuple[ast.Call, Scope, Spawn | None]]:
        """Every call, with its spawn when it is one of the standard or a configured spawner."""
        return [(call, scope, self._classify(call, scope)) for call, scope in self._index.calls]

    def spawns(self) -> Iterator[Spawn]:
        """Every spawn: the primitive ones but those inside a spawn helper (whose worker is its
        caller's), and the calls of spawn helpers, of this module or of the project's
        (`helper_names`: those found elsewhere)."""
        local = self._module.helpers
        names = self._helper_names | local.names
        for call, scope, primitive in self._module.primitive_spawns:
            spawn = self._helper_call(call, scope, names) if primitive is None and names else primitive
            if spawn is not None and id(spawn.call) not in local.inner_spawns:
                yield spawn

    def _helper_call(self, call: ast.Call, scope: Scope, names: frozenset[str]) -> Spawn | None:
        func = call.func
        name = func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        if name is None or name not in names:
            return None
        target = self._resolver.callable_target(func, scope)
        if isinstance(target, Resolved):
            definitions = [(d.module, d.node) for d in target.functions]
        else:
            # A Thread subclass that hands its parameter to its base: made, not called.
            made = self._resolver.class_ref(func, scope)
            definitions = [(made[0], init) for init in made[1].functions.get("__init__", [])] if made else []
            if not definitions and isinstance(func, ast.Attribute) and name not in self._spawn_names:
                definitions = self._own_helper_methods(name)  # not `loop.create_task(...)`: the standard one's
        for module, node in definitions:
            spec = module.helpers.by_def.get(id(node))
            if spec is None:
                continue
            found = helper_argument(call, spec)
            if found is None:
                return None
            worker, keyword = found
            spawner = dotted_text(func) or name
            return Spawn(spec.kind, call, scope, spawner, worker, keyword, spec.coroutine, spec.process, spec)
        return None

    def _own_helper_methods(self, name: str) -> list[tuple[ModuleAnalysis, FunctionNode]]:
        """`self._thread_helper.thread(run)`, the receiver's class unknown (peewee's, made by
        `self.get_thread_impl(use_gevent)(...)`): the module's own helper methods of that name,
        when it has one, or several that start their worker alike."""
        helpers = self._module.helpers.by_def
        found = [
            (self._module, fn)
            for _, class_scope in self._index.classes
            for fn in class_scope.functions.get(name, [])
            if id(fn) in helpers
        ]
        specs = {(helpers[id(fn)].kind, helpers[id(fn)].param, helpers[id(fn)].position) for _, fn in found}
        return found if len(specs) == 1 else []

    def thread_classes(self) -> Iterator[ThreadClass]:
        for node, scope in self._index.classes:
            if "run" not in scope.functions:
                continue  # the common case, decided before following any base
            runs = [run for run in scope.functions["run"] if runs_alone(run)]
            base = self._resolver.worker_base(scope) if runs else None
            if base is not None:
                for run in runs:
                    yield ThreadClass(node, run, process=base == "process")

    # -- calls -----------------------------------------------------------------

    def _classify(self, call: ast.Call, scope: Scope) -> Spawn | None:
        func = call.func
        if isinstance(func, ast.Attribute):
            if func.attr == "__init__":
                return self._base_init(call, func, scope)
            if func.attr not in self._spawn_names:
                return None  # most calls: decided before resolving any name
        elif not isinstance(func, ast.Name):
            return None  # `handlers[key](...)`, `make()(...)`: no spawner's name
        qualname = self._index.qualname(func, scope)
        if isinstance(func, ast.Name) and func.id not in self._spawn_names and not self._renames_a_spawner(qualname):
            return None
        if qualname is not None and qualname in SPAWN_FUNCTIONS:
            kind, spec = SPAWN_FUNCTIONS[qualname]
            spawn = _spawn(kind, call, scope, qualname, spec)
            if spawn is not None and qualname in ENSURE_FUTURE and not self._makes_coroutine(spawn.target, scope):
                return None  # a future or awaitable handed back as it is: no task is made
            return spawn
        configured = self._configured_kind(func, qualname)
        if configured is not None:
            return _spawn_configured(configured, call, scope, qualname or dotted_text(func) or "")
        if isinstance(func, ast.Attribute):
            return self._classify_method(call, func, scope)
        return None

    def _base_init(self, call: ast.Call, func: ast.Attribute, scope: Scope) -> Spawn | None:
        """`super().__init__(None, target, ...)` (or `Thread.__init__(self, target=target)`) in
        the `__init__` of a Thread or Process subclass with no `run()` of its own: the thread
        is made to run that target. gpiozero's `GPIOThread(Thread)` hands on its parameter,
        so that each `GPIOThread(self._watch_value)` is a thread spawn (`helpers`)."""
        init, cls = scope.node, scope.parent
        if not (isinstance(init, ast.FunctionDef) and init.name == "__init__" and cls is not None and cls.is_class):
            return None
        spec = base_init_spec(call, scope.self_name or "self")
        if spec is None:
            return None
        if "run" in cls.functions:
            return None  # its run() is the worker (`thread_classes`), whatever target it holds
        spawn = _spawn(SpawnKind.THREAD, call, scope, "threading.Thread", spec)
        if spawn is None:
            return None  # no target passed: decided before following the bases
        base = self._resolver.worker_base(cls)
        if base is None:
            return None
        return replace(spawn, spawner="multiprocessing.Process", process=True) if base == "process" else spawn

    def _renames_a_spawner(self, qualname: str | None) -> bool:
        """`Worker` of `from threading import Thread as Worker`."""
        return qualname is not None and qualname.rpartition(".")[2] in self._spawn_names

    def _configured_kind(self, func: ast.expr, qualname: str | None) -> SpawnKind | None:
        for name in (qualname, dotted_text(func)):
            if name is not None and name in self._spawners:
                return self._spawners[name]
        if isinstance(func, ast.Attribute):
            return self._method_spawners.get(func.attr)
        return None

    def _classify_method(self, call: ast.Call, func: ast.Attribute, scope: Scope) -> Spawn | None:
        method, receiver = func.attr, func.value
        spawner = "." + method
        if method == "start_soon":  # trio's and anyio's alone
            return _spawn(SpawnKind.GROUP, call, scope, spawner, CALLABLE_0)
        if method == "run_in_executor":  # asyncio's event loop alone
            return _spawn(SpawnKind.EXECUTOR, call, scope, spawner, _RUN_IN_EXECUTOR)
        if method not in _METHODS:
            return None
        kinds = self._index.receiver_kinds(receiver, scope)
        name = (last_name(receiver) or "").lower()
        if method == "submit" and (Receiver.EXECUTOR in kinds or "executor" in name or "pool" in name):
            return _spawn(SpawnKind.EXECUTOR, call, scope, spawner, CALLABLE_0)
        if method == "apply_async" and (Receiver.POOL in kinds or "pool" in name):
            if any(k.arg == "error_callback" for k in call.keywords):
                return None  # the failure has a channel back
            return _spawn(SpawnKind.EXECUTOR, call, scope, spawner, _APPLY_ASYNC)
        if method == "create_task":
            if Receiver.TASK_GROUP in kinds:
                return _spawn(SpawnKind.GROUP, call, scope, spawner, _CREATE_TASK)
            if Receiver.LOOP in kinds or "loop" in name:
                return _spawn(SpawnKind.TASK, call, scope, spawner, _CREATE_TASK)
        if method == "start" and Receiver.TASK_GROUP in kinds:
            return _spawn(SpawnKind.GROUP, call, scope, spawner, CALLABLE_0)
        if method == "Process" and Receiver.MP_CONTEXT in kinds:
            return _spawn(SpawnKind.THREAD, call, scope, spawner, TARGET_KW_1)
        return None

    def _makes_coroutine(self, expr: ast.expr, scope: Scope) -> bool:
        """A call of an `async def` the analysis resolves, of a configured coroutine function, or of a guard."""
        if not isinstance(expr, ast.Call):
            return False
        resolver = self._resolver
        if resolver.is_guard(expr.func, scope) or resolver.matches(expr.func, scope, self._coroutine_functions):
            return True
        target = resolver.callable_target(expr.func, scope)
        return isinstance(target, Resolved) and all(isinstance(d.node, ast.AsyncFunctionDef) for d in target.functions)


def _spawn(kind: SpawnKind, call: ast.Call, scope: Scope, spawner: str, spec: ArgSpec) -> Spawn | None:
    process = spawner in PROCESS_SPAWNERS
    found = passed_argument(call, spec.keyword, spec.position)
    if found is None:
        return None  # no worker passed (`form.submit()`, `Thread()` of a subclass), or `*args` before it
    worker, keyword_name = found
    if spec.coroutine and isinstance(worker, ast.Await):
        # `create_task(await self.get_messages_loop())`: the coroutine runs here, in the
        # spawner, whose caller its failure reaches; the task is made of what it returns.
        return None
    return Spawn(kind, call, scope, spawner, worker, keyword_name, spec.coroutine, process)


def _spawn_configured(kind: SpawnKind, call: ast.Call, scope: Scope, spawner: str) -> Spawn | None:
    """A configured spawner takes `target=` or its first argument, a callable or a coroutine."""
    spawn = _spawn(kind, call, scope, spawner, TARGET_KW_1 if _has_target_keyword(call) else CORO_0)
    if spawn is None:
        return None
    coroutine = isinstance(spawn.target, ast.Call) and spawn.keyword is None
    return Spawn(kind, call, scope, spawner, spawn.target, spawn.keyword, coroutine, spawn.process)


def _has_target_keyword(call: ast.Call) -> bool:
    return any(k.arg == "target" for k in call.keywords)


def runs_alone(run: FunctionNode) -> bool:
    """Whether a thread or process can run `run` as its worker: it calls `self.run()`, so not
    an `async def` (its body would never start) nor a def that needs more than its instance
    (`def run(self, payload)`: a TypeError at start, and no thread's worker). The text
    prefilter (`prefilter._defines_thread_run`) decides the same, or lets the module through."""
    if isinstance(run, ast.AsyncFunctionDef):
        return False
    arguments = run.args
    positional = len(arguments.posonlyargs) + len(arguments.args)
    takes_instance = positional >= 1 or arguments.vararg is not None
    return (
        takes_instance
        and positional - len(arguments.defaults) <= 1
        and all(default is not None for default in arguments.kw_defaults)
    )
