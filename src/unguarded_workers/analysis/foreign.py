"""Calls of code a worker was handed rather than code of its own: a confidence signal.

A worker that runs a callback, a handler, a user's plugin or a subclass's hook outside any
guard dies of whatever that code raises, and the code's author cannot know it.

Foreign:
    handler(event)                       # a parameter, or a variable (queued work: fn(*args))
    self._on_message(client, message)    # an attribute assigned elsewhere, not a method
    self.on_connect(flags)               # a callback users set on the object (paho's style)
    self.handle(request)                 # a method a subclass overrides (a stub here)
    listener.on_event(e); self._reporter.report(span)   # a method of a handed-in object
    self._callbacks[action](token)       # from a table the class fills with what it is handed

Not foreign:
    self._flush(batch)                   # a method of the class
    self.handlers_waiter.set_result(None)   # resolving a future, setting an event: no one's hook
    json.loads(data); sock.recv(1024)    # library code
    self.remove_all_listeners()          # manages listeners: a base's method (pyee's), not one
    obj = objtype()                      # an instance of a class handed in: a type to decode into
    listener = socket.socket(); listener.bind(address)  # an object the worker made itself
    self._callbacks.pop(request_id)      # a collection of callbacks: none of them runs
    decode = DECODERS[tag]; decode(data)  # one of the functions of the module's own table
    self.target()                        # from __init__'s `target`, which every making of the
                                         # class hands the program's own code (`constructions`)
    eintr_retry_call(notifier.poll)      # a helper runs its parameter: here, the worker's own poller's
    unsub = bus.subscribe(...); unsub()  # what a registration hands back to undo it
    planes = plane_type * 8; planes()    # a ctypes array type the worker made
"""

from __future__ import annotations

import ast
import builtins
import re
from typing import TYPE_CHECKING

from .constructions import default_of, passed_to
from .exposure import ForeignCall, quoted
from .harmless import a_logger, returns_failures
from .index import (
    FUNCTION_TYPES,
    Binding,
    FunctionNode,
    Scope,
    base_init_spec,
    call_argument,
    is_name,
    is_none,
    last_name,
    module_constant,
    own_statements,
    passed_argument,
    unpacks_nothing,
)
from .kept import binding_loops
from .known import CONTAINER_METHODS, CONTAINER_TAKES, CONTAINER_VIEWS, WEAK_REFERENCES
from .resolve import Resolved, Unresolved
from .swallowing import makes_a_context_manager

if TYPE_CHECKING:
    from .module import Def, ModuleAnalysis

# Names that say an object or attribute holds someone else's code.
# `messageHandler` -> `message_Handler`: camelCase split into words.
_CAMEL_HUMP = re.compile(r"([a-z0-9])([A-Z])")
_FOREIGN_WORDS = ("callback", "handler", "listener", "observer", "subscriber", "hook", "plugin", "reporter")
# Words after the one that says what a name holds (`handler_fn`, `callback_obj`).
_GENERIC_WORDS = frozenset({"fn", "func", "function", "obj", "object", "instance", "impl", "cb", "list", "set", "dict"})
# The field a callback object holds its callable in (`cb.func(gpio, level)`): calling it runs
# that code, where a method of the object (`handler.close()`) may be the program's own.
_CALLABLE_FIELDS = frozenset({"fn", "func", "function", "callback", "cb"})


def foreign_call(module: ModuleAnalysis, call: ast.Call, scope: Scope) -> ForeignCall | None:
    """The call as foreign code, if it is."""
    if _gathered(module, call, scope):
        return None
    func = call.func
    if isinstance(func, ast.Name):
        if _handed_in_name(module, func.id, scope) and not _names_a_class(func.id):
            return ForeignCall(call, module, f"the handed-in callable '{func.id}'")
        return None
    if isinstance(func, ast.Subscript) and _a_table_of_handed_in_callables(module, func.value, scope):
        return ForeignCall(call, module, f"a callable handed in to {quoted(func.value)}")
    if not isinstance(func, ast.Attribute):
        return None
    if _is_self(func.value, scope):
        target = module.resolver.callable_target(func, scope)
        if isinstance(target, Unresolved) and _handed_in_attribute(module, target, func.attr, scope):
            return ForeignCall(call, module, f"the callback {quoted(func)}")
        return None
    receiver = func.value
    if func.attr in _SIGNALLING:
        return None  # resolving a future, setting an event: the object's machinery, no one's hook
    if func.attr in _CONTAINER_METHODS:
        return None  # `self._callbacks.pop(request_id)`: a collection of callbacks, none called
    if _words(func.attr)[0] in ("is", "has"):
        return None  # `listener.isDead()`: asks the holder of the code, runs none of it
    if (
        _sounds_foreign(last_name(receiver) or "")
        or func.attr.startswith(("on_", "handle"))
        or (func.attr in _CALLABLE_FIELDS and _an_item_of_callbacks(module, receiver))
    ) and _handed_in_object(module, receiver, scope):
        return ForeignCall(call, module, f"the handed-in {quoted(receiver)}'s {func.attr}()")
    if (
        _holds_a_callback(func.attr)
        and _handed_in_object(module, receiver, scope)
        and not isinstance(module.resolver.callable_target(func, scope), Resolved)
    ):
        # A callable field of a handed-in settings object (pyngrok's
        # `self.pyngrok_config.log_event_callback(log)`), no method of a project class.
        return ForeignCall(call, module, f"the callback {quoted(func)}")
    return None


def _a_table_of_handed_in_callables(module: ModuleAnalysis, table: ast.expr, scope: Scope) -> bool:
    """`self._callbacks[action](...)`, where the class stores into that table what it was
    handed (`self._callbacks["get"] = callback`, `callback` a parameter): users' callbacks."""
    found = scope.enclosing_class()
    if not (isinstance(table, ast.Attribute) and found is not None and is_name(table.value, found[1])):
        return False
    class_scope = found[0]
    stored = []
    for read, where in module.index.attribute_reads.get(table.attr, ()):
        item = module.index.parent(read)
        assign = module.index.parent(item) if isinstance(item, ast.Subscript) else None
        owner = where.enclosing_class()
        if (
            isinstance(assign, ast.Assign)
            and any(target is item for target in assign.targets)
            and owner is not None
            and owner[0] is class_scope
        ):
            stored.append((assign.value, where))
    return any(_from_elsewhere(module, [value]) for value in stored if not is_none(value[0]))


def _gathered(module: ModuleAnalysis, call: ast.Call, scope: Scope) -> bool:
    """The call makes an awaitable for a gather that returns failures (`gather(*[cb() for cb in
    callbacks], return_exceptions=True)`): what the code raises is the gather's result, for
    the worker to read, not raised in it."""
    node: ast.AST = call
    parent = module.index.parent(node)
    if isinstance(parent, (ast.ListComp, ast.SetComp, ast.GeneratorExp)) and parent.elt is node:
        node, parent = parent, module.index.parent(parent)
    if isinstance(parent, ast.Starred):
        node, parent = parent, module.index.parent(parent)
    return (
        isinstance(parent, ast.Call)
        and any(arg is node for arg in parent.args)
        and returns_failures(parent, module.index.qualname(parent.func, scope))
    )


_HOOK_PREFIXES = ("handle", "process", "dispatch")
# Methods of futures, events and queues: asyncio schedules a future's callbacks, concurrent.futures
# logs what they raise, so calling one runs none of the holder's code here.
_SIGNALLING = frozenset(
    {"set_result", "set_exception", "set", "clear", "put", "put_nowait", "cancel", "notify", "notify_all"}
)
# A dict's, list's, set's or deque's own methods: a collection named for callbacks runs none by them.
_CONTAINER_METHODS = CONTAINER_METHODS | CONTAINER_TAKES | CONTAINER_VIEWS | {
    "get", "setdefault", "update", "remove", "clear", "extend", "insert", "index", "count",
}  # fmt: skip
_FUNCTION_SCOPES = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)


def _handed_in_name(module: ModuleAnalysis, name: str, scope: Scope) -> bool:
    """A parameter (not `self`: calling the instance runs its own `__call__`), or a function's
    variable that holds one, or something a call, a subscript or an unpacking produced
    (`fn, args = queue.get()`). A module's or class's variable is the program's own choice."""
    owner = scope.lookup(name)
    if owner is None:
        return False
    binding = owner.bindings[name]
    if binding is Binding.PARAM:
        return name != owner.self_name
    if binding is not Binding.LOCAL or not isinstance(owner.node, _FUNCTION_SCOPES):
        return False
    # `planes = planes()` rebinds the name to what calling it made: not what it calls.
    values = [(v, s) for v, s in owner.values.get(name, []) if not (isinstance(v, ast.Call) and is_name(v.func, name))]
    if not values and (_loops_over_own_code(module, name, owner) or _loops_over_own_objects(module, name, owner)):
        return False  # `for stage in (self._limit, ...)`; `for wait in self.waits[name]` of its own Waits
    return not _a_registration_undone(name, values) and _from_elsewhere(module, values)


def _loops_over_own_code(module: ModuleAnalysis, name: str, owner: Scope) -> bool:
    """`for step in (self._limit, self._convert): it = step(it)`, or over a variable of the def
    bound once to such a display: each item is the program's choice of function
    (uiautomator2's `pipelines = [self._pipe_limit, ...]`), not code handed in. Only when a
    loop is all that binds the name."""
    items = []
    for walked in binding_loops(name, owner):
        iterated = walked
        if isinstance(iterated, ast.Name) and owner.bindings.get(iterated.id) is Binding.LOCAL:
            held = owner.values.get(iterated.id, [])
            reads = [read for read, where in module.index.name_reads.get(iterated.id, []) if where is owner]
            if len(held) != 1 or any(read is not walked for read in reads):
                return False  # `stages.append(extra)` may add what the def was handed
            iterated = held[0][0]
        if not isinstance(iterated, (ast.List, ast.Tuple, ast.Set)) or not iterated.elts:
            return False
        items += [(item, owner) for item in iterated.elts]
    return bool(items) and not _from_elsewhere(module, items)


def _loops_over_own_objects(module: ModuleAnalysis, name: str, owner: Scope) -> bool:
    """`for handler in self._handlers: handler.post(m)`, where the class fills
    `self._handlers` only with objects of its own classes (`kept`): frida-tools' UI handlers,
    interactions.py's waits. What their methods run is followed there."""
    return bool(module.resolver.loop_item_classes(name, owner))


def handed_own_code(module: ModuleAnalysis, foreign: ForeignCall, delegate: Def, call: ast.Call, scope: Scope) -> bool:
    """`call` (in `scope` of `module`) calls the `delegate` def, whose foreign call is of its
    own parameter (or of one it hands on), and passes that parameter the program's own code:
    `eintr_retry_call(notifier.poll)`, a def, a lambda, a name the caller bound itself, not a
    parameter of its own; or leaves it out, and its default is such (pyro5's
    `Daemon.__init__(..., interface=DaemonObject)`)."""
    fn = delegate.node
    passed = _passed_to_foreign(foreign, fn, call)
    if passed is not None:
        return own_code(module, passed, scope)
    found = foreign_parameter(foreign)
    default = default_of(fn, found[1]) if found is not None and found[0] is fn and unpacks_nothing(call) else None
    if default is None or is_none(default):
        return False
    defined_in = delegate.module.index.inner_scope(fn).parent
    return defined_in is not None and own_code(delegate.module, default, defined_in)


def handed_on(foreign: ForeignCall, fn: FunctionNode, call: ast.Call, scope: Scope) -> str | None:
    """`call` (in the def whose scope is `scope`) calls `fn`, whose foreign call is of its
    parameter, and passes it a parameter of the caller's own (`self.transition_any(...,
    func=func)`): that parameter's name. Then the caller's callers decide whose code it is."""
    passed = _passed_to_foreign(foreign, fn, call)
    if isinstance(passed, ast.Name) and scope.bindings.get(passed.id) is Binding.PARAM and passed.id != scope.self_name:
        return passed.id
    return None


def foreign_parameter(foreign: ForeignCall) -> tuple[FunctionNode, str] | None:
    """The def and parameter whose value the foreign call calls: a parameter of the def it is
    in (`handler(event)`), or of a def around it (dash's `on_change`, called in `watch`'s
    nested `walk()`), or one a def hands on to it (`through`); None for any other."""
    if foreign.through is not None:
        return foreign.through
    name = called_name(foreign.call)
    fn = foreign.module.index.enclosing_function(foreign.call)
    if name is None or not isinstance(fn, FUNCTION_TYPES):
        return None
    owner = foreign.module.index.inner_scope(fn).lookup(name)
    if owner is None or owner.bindings.get(name) is not Binding.PARAM or not isinstance(owner.node, FUNCTION_TYPES):
        return None
    return owner.node, name


def _passed_to_foreign(foreign: ForeignCall, fn: FunctionNode, call: ast.Call) -> ast.expr | None:
    """What `call` of `fn` passes the parameter `fn`'s foreign call calls; None when that is no
    parameter of `fn` (it is in a def `fn` calls, perhaps of another module: that def's)."""
    found = foreign_parameter(foreign)
    if found is None or found[0] is not fn:
        return None
    return _argument(call, fn, found[1])


def called_name(call: ast.Call) -> str | None:
    """The name a foreign call runs code through: `handler` of `handler(event)`, or of
    `handler.on_event(e)` (a handed-in object's method)."""
    func = call.func
    if isinstance(func, ast.Attribute):
        func = func.value
    return func.id if isinstance(func, ast.Name) else None


_MAX_NAMES_FOLLOWED = 4


def own_code(module: ModuleAnalysis, value: ast.expr, scope: Scope, depth: int = 0) -> bool:
    """Code the caller chose itself: a lambda; a def, class, import or builtin; a method of
    itself or of an object it was not handed (`notifier.poll` of a poller it made); a
    variable bound only to such; a partial of one. Not a parameter, nor a loop's variable
    (`for callback in self._callbacks`: whose code that is, the loop does not say)."""
    if isinstance(value, ast.Lambda):
        return True
    if isinstance(value, ast.Attribute) and _is_self(value.value, scope):
        # A method of the class, or an object it made (`self._pool_manager = PoolManager(...)`).
        target = module.resolver.callable_target(value, scope)
        return isinstance(target, Resolved) or not _handed_in_object(module, value, scope)
    if isinstance(value, ast.Attribute):
        return not _handed_in_object(module, value.value, scope)
    if isinstance(value, ast.Call):
        return _own_callable(module, value, scope)
    if not isinstance(value, ast.Name):
        return False
    owner = scope.lookup(value.id)
    if owner is None:
        return hasattr(builtins, value.id)  # `print`; a name bound nowhere says nothing
    binding = owner.bindings[value.id]
    if binding is Binding.PARAM:
        return False
    if binding is not Binding.LOCAL:
        return True
    values = owner.values.get(value.id, [])
    return bool(values) and depth < _MAX_NAMES_FOLLOWED and all(own_code(module, v, s, depth + 1) for v, s in values)


def _argument(call: ast.Call, fn: FunctionNode, param: str) -> ast.expr | None:
    """What `call` passes to `fn`'s parameter `param`, if it can tell (a method called through
    its instance is not passed `self`, nor an `__init__` through its class's making)."""
    params = [a.arg for a in (*fn.args.posonlyargs, *fn.args.args)]
    bound = (
        bool(params)
        and params[0] in ("self", "cls")
        and (isinstance(call.func, ast.Attribute) or fn.name == "__init__")
    )
    return call_argument(call, fn, param, skipped=1 if bound else 0)


def _names_a_class(name: str) -> bool:
    """`objtype()`, `cls()`, `message_class()`, a CapWords name (`Prefix = namedtuple(...)`,
    pyspinel's): an instance of a class handed in or made (a message or header type to decode
    into), not a callback's work."""
    lowered = name.lower()
    return (
        lowered in ("cls", "klass")
        or lowered.endswith(("type", "_class", "_cls"))
        or (name.lstrip("_")[:1].isupper() and not name.isupper())
    )


def _handed_in_attribute(module: ModuleAnalysis, target: Unresolved, attr: str, scope: Scope) -> bool:
    """`self.X(...)`, X no method of the class: a subclass's hook (a stub here), a callback
    assigned from a parameter or filled in later (`self.on_connect = None`), or one users set
    on the object (`on_*`, `*callback*`, `*handler*` ...) that the class never assigns."""
    if target.abstract:
        # A hook users implement (`handle`, `on_message`, jupyter's `call_handlers`), not a
        # stub the library's own subclasses fill in (`close`, `_read`).
        return _names_a_callback(attr, plural=True) or attr.startswith(_HOOK_PREFIXES)
    found = scope.enclosing_class()
    values = found[0].attr_values.get(attr, []) if found is not None else []
    if not values:
        return _names_a_callback(attr) or (
            attr == "_target" and found is not None and _base_given_a_target(module, found[0])
        )
    return not _a_registration_undone(attr, values) and _from_elsewhere(module, values)


def _base_given_a_target(module: ModuleAnalysis, class_scope: Scope) -> bool:
    """`self._target` of a Thread subclass whose `__init__` hands its base a parameter of its own
    as the target (`super().__init__(target=job, ...)`, schedule-manager's `Task`): the base
    keeps it there, and it is the job the class's makers hand in."""
    for init in class_scope.functions.get("__init__", []):
        init_scope = module.index.inner_scope(init)
        calls = [stmt.value for stmt in own_statements(init.body) if isinstance(stmt, ast.Expr)]
        for call in (call for call in calls if isinstance(call, ast.Call)):
            spec = base_init_spec(call, init_scope.self_name or "self")
            found = passed_argument(call, spec.keyword, spec.position) if spec is not None else None
            given = found[0] if found is not None else None
            if isinstance(given, ast.Name) and init_scope.bindings.get(given.id) is Binding.PARAM:
                return True
    return False


# The words of a name for what undoes a registration: `unsub = bus.subscribe(...)`,
# `self._remove_listener = action.add_update_listener(...)`.
_UNDOING_WORDS = frozenset(
    {"remove", "unsub", "unsubscribe", "unregister", "deregister", "unlisten", "dispose", "disposer", "detach"}
)


def _a_registration_undone(name: str, values: list[tuple[ast.expr, Scope]]) -> bool:
    """A name for what undoes a registration, bound only to what calls return (or None):
    the registry's own remover that the registering call handed back, no one's callback."""
    if not _UNDOING_WORDS.intersection(_words(name)):
        return False
    made = [value for value, _ in values if not is_none(value)]
    return bool(made) and all(isinstance(value, (ast.Call, ast.Await)) for value in made)


def wired_by_the_project(foreign: ForeignCall) -> bool:
    """The foreign call is of `self.X` (or a method of it), and every value the class assigns
    to X is the program's own: those from a parameter of its `__init__` too, when every
    making of the class in its package fills it with the program's own code that runs no
    foreign code itself (`IntervalRunner(self.process_messages, 0.1)`, a manager passing
    itself): the library wires that callback up itself. A class no making in the project
    fills so (users make it, or the project hands on a parameter of its own) keeps it. Asked
    of a report's foreign call only: finding the makings reads the package."""
    module, func = foreign.module, foreign.call.func
    receiver = func.value if isinstance(func, ast.Attribute) else None
    if isinstance(receiver, ast.Attribute):  # `self._manager.on_result(...)`
        func, receiver = receiver, receiver.value
    fn = module.index.enclosing_function(foreign.call)
    if not isinstance(func, ast.Attribute) or fn is None:
        return False
    scope = module.index.inner_scope(fn)
    found = scope.enclosing_class()
    if found is None or not is_name(func.value, found[1]):
        return False
    params: list[tuple[ast.expr, Scope]] = []
    others: list[tuple[ast.expr, Scope]] = []
    for value, where in found[0].attr_values.get(func.attr, []):
        (params if _init_parameter(value, where) else others).append((value, where))
    if not params or (others and _from_elsewhere(module, others)):
        return False  # asked first: finding the makings reads the package
    return all(_made_with_own_code(module, value, where) for value, where in params)


def _init_parameter(value: ast.expr, scope: Scope) -> bool:
    """`self.X = x` in `__init__`, `x` one of its parameters."""
    init, class_scope = scope.node, scope.parent
    return (
        isinstance(value, ast.Name)
        and scope.bindings.get(value.id) is Binding.PARAM
        and isinstance(init, FUNCTION_TYPES)
        and init.name == "__init__"
        and class_scope is not None
        and class_scope.is_class
    )


def _made_with_own_code(module: ModuleAnalysis, value: ast.expr, scope: Scope) -> bool:
    """Every making of the class fills this `__init__` parameter with the program's own code."""
    init, class_scope = scope.node, scope.parent
    assert isinstance(value, ast.Name)
    assert isinstance(init, FUNCTION_TYPES)
    assert class_scope is not None
    passed = passed_to(module, class_scope, init, value.id)
    return passed is not None and all(
        is_none(expr)
        or _is_self(expr, where)
        or (own_code(made_in, expr, where) and not _runs_foreign_code(made_in, expr, where))
        for expr, made_in, where in passed
    )


def _runs_foreign_code(module: ModuleAnalysis, code: ast.expr, scope: Scope) -> bool:
    """The program's own callable, handed over, itself runs foreign code unguarded: sentry's
    `capture_func=self._capture_envelope`, which calls the user's transport. Then the callback
    is the user's in effect (and the message, naming it, is true)."""
    if isinstance(code, ast.Lambda):
        inner = module.index.inner_scope(code)
        return any(_runs_foreign_code(module, call.func, inner) for call in _calls_of(code.body))
    if isinstance(code, ast.Call):
        return bool(code.args) and _runs_foreign_code(module, code.args[0], scope)  # a partial's function
    target = module.resolver.callable_target(code, scope) if isinstance(code, (ast.Name, ast.Attribute)) else None
    if not isinstance(target, Resolved):
        return False
    exposed = module.guards.target_exposure(target)
    return exposed is not None and exposed[1].foreign is not None


def _calls_of(expr: ast.expr) -> list[ast.Call]:
    return [node for node in ast.walk(expr) if isinstance(node, ast.Call)]


def _names_a_callback(attr: str, *, plural: bool = False) -> bool:
    """`self.on_message`, `self._error_callback`, `self.handler`: an attribute named for one
    callable of someone else's; not a method that manages them, inherited from a base outside
    the project (pyee's `self.remove_all_listeners()`, `self.notify_observers()`). A stub of
    the project's own named for several (`call_handlers`) is one users override (`plural`)."""
    words = _words(attr)
    last = words[-1][:-1] if plural and words[-1].endswith("s") else words[-1]
    return words[0] == "on" or last in _FOREIGN_WORDS


# First words of a method that manages callables rather than being one: `add_listener`,
# `call_handlers`, `remove_hook`.
_MANAGING_VERBS = frozenset(
    {"add", "remove", "register", "unregister", "set", "get", "clear", "has", "install", "attach", "detach",
     "subscribe", "unsubscribe", "call", "run", "notify", "emit", "fire", "trigger", "dispatch", "invoke"}
)  # fmt: skip


def _holds_a_callback(attr: str) -> bool:
    """`log_event_callback`, `error_handler`, `on_message`: an attribute named for one callable
    of someone else's, not a method that manages or runs several (`add_listener`)."""
    words = _words(attr)
    return words[0] not in _MANAGING_VERBS and (words[0] == "on" or words[-1] in ("callback", "handler", "hook"))


def _words(name: str) -> list[str]:
    """`_onMessageHandler` -> on, message, handler."""
    return _CAMEL_HUMP.sub(r"\1_\2", name).lower().strip("_").split("_")


def _from_elsewhere(module: ModuleAnalysis, values: list[tuple[ast.expr, Scope]]) -> bool:
    """Whether any value assigned comes from outside the program's own choice of function: a
    parameter, a call's result, a subscript, None (set later); none at all (an unpacking or a
    loop's variable). A name or attribute of a function (`self._step_v2`, `log.warning`) is a
    choice, not a hand-over."""
    if not values:
        return True
    # `self._handler = None` then `self._handler = Handler(...)`: the None is a placeholder
    # until the class makes its own; None alone is a slot filled in from outside.
    choices = [(v, s) for v, s in values if not is_none(v)] or list(values)
    while choices:
        value, value_scope = choices.pop()
        if isinstance(value, ast.IfExp):  # `log.warning if quiet else log.error`: either branch
            # `DECODERS[tag] if known else None`: the None is no one's callable (it is tested).
            branches = [b for b in (value.body, value.orelse) if not is_none(b)] or [value.body]
            choices += [(branch, value_scope) for branch in branches]
            continue
        if isinstance(value, ast.BoolOp):
            choices += [(operand, value_scope) for operand in value.values]
            continue
        if isinstance(value, (ast.Lambda, ast.Attribute, ast.BinOp)):
            continue  # a BinOp: made here by an operator (a ctypes array type, `v4l2_plane * 8`)
        if isinstance(value, ast.Subscript) and _dispatch_table(module, value.value, value_scope):
            continue  # `DECODERS[tag]`: one of the functions the module's own table lists
        if isinstance(value, ast.Call) and _own_callable(module, value, value_scope):
            continue
        if isinstance(value, ast.Call) and _own_method_by_name(value, value_scope):
            continue
        if isinstance(value, ast.Name):
            owner = value_scope.lookup(value.id)
            if owner is not None and owner.bindings[value.id] is Binding.PARAM:
                return True
            continue
        return True
    return False


def _own_method_by_name(call: ast.Call, scope: Scope) -> bool:
    """`target = getattr(self, "on_" + command, self.on_unknown)`: a method of the instance's
    own, looked up by name (ptvsd's message dispatch), no one's handed-in callable; and
    `log = getattr(self.core.log, level)`, a logger's method by its level (pyload's plugins)."""
    return (
        isinstance(call.func, ast.Name)
        and call.func.id == "getattr"
        and scope.lookup("getattr") is None  # the builtin, not a def of the module's
        and bool(call.args)
        and (_is_self(call.args[0], scope) or a_logger(call.args[0], scope))
    )


def _dispatch_table(module: ModuleAnalysis, expr: ast.expr, scope: Scope) -> bool:
    """A constant table of the program's own functions: a name bound once, at module level, to a
    dict, list or tuple of names, attributes and lambdas (`DECODERS[tag]`, `CONVERTERS.get(unit)`),
    or in a function to one of the program's own code (twitchAPI's `handlers = {"PING":
    self._handle_ping, ...}`), and only ever read by key, so that nothing adds a handler of
    someone else's to it."""
    found = module_constant(expr, scope)
    local = found is None
    if local:
        found = _function_constant(expr, scope)
    if found is None:
        return False
    assert isinstance(expr, ast.Name)
    table, table_scope = found
    entries = table.values if isinstance(table, ast.Dict) else getattr(table, "elts", None)
    if not isinstance(table, (ast.Dict, ast.List, ast.Tuple)) or not entries:
        return False
    if isinstance(table, ast.Dict) and None in table.keys:
        return False  # `{**PLUGINS, ...}`: another table's entries too
    if not all(isinstance(entry, (ast.Name, ast.Attribute, ast.Lambda)) for entry in entries):
        return False
    if local and not all(own_code(module, entry, table_scope) for entry in entries):
        return False  # `{"a": on_a}` with `on_a` a parameter: a table of what was handed in
    owner = scope.lookup(expr.id)
    return all(
        _read_by_key(module, read)
        for read, read_scope in module.index.name_reads.get(expr.id, [])
        if read_scope.lookup(expr.id) is owner  # this table's reads, not another function's name
    )


def _function_constant(expr: ast.expr, scope: Scope) -> tuple[ast.expr, Scope] | None:
    """What a function's variable assigned once holds, with the function's scope."""
    if not isinstance(expr, ast.Name):
        return None
    owner = scope.lookup(expr.id)
    if (
        owner is None
        or not isinstance(owner.node, _FUNCTION_SCOPES)
        or owner.bindings.get(expr.id) is not Binding.LOCAL
    ):
        return None
    values = owner.values.get(expr.id, [])
    return values[0] if len(values) == 1 else None


def _read_by_key(module: ModuleAnalysis, read: ast.Name) -> bool:
    """A read that takes an entry (`TABLE[key]`, `TABLE.get(key)`) or asks its size or for a
    key (`len(colors)`, `key in TABLE`: pwntools' `colors[n % len(colors)]`): none adds one."""
    parent = module.index.parent(read)
    if isinstance(parent, ast.Subscript):
        return parent.value is read and isinstance(parent.ctx, ast.Load)
    if isinstance(parent, ast.Call):
        return is_name(parent.func, "len") and parent.args == [read] and not parent.keywords
    if isinstance(parent, ast.Compare):
        return all(
            isinstance(op, (ast.In, ast.NotIn)) for op, right in zip(parent.ops, parent.comparators) if right is read
        ) and any(right is read for right in parent.comparators)
    return isinstance(parent, ast.Attribute) and parent.attr == "get"


def _own_callable(module: ModuleAnalysis, call: ast.Call, scope: Scope) -> bool:
    """A callable the program builds itself: an instance of a class (`Countdown(timeout)`, by
    the CapWords name of what is called, or a class of the project whatever its name:
    `shadowManager.shadowManager(core)`), or a partial of something not handed in."""
    name = last_name(call.func) or ""
    if _names_a_class_called(call) or module.index.qualname(call.func, scope) in WEAK_REFERENCES:
        return True  # an instance; a weak reference (calling it gives the object or None)
    if module.resolver.class_ref(call.func, scope) is not None:
        return True
    func = call.func
    if isinstance(func, ast.Attribute) and func.attr == "get" and _dispatch_table(module, func.value, scope):
        return True  # `HANDLERS.get(kind)`: one of the table's functions, or the default given
    if name == "partial" and call.args:
        return not _from_elsewhere(module, [(call.args[0], scope)])
    return _returns_own_callables(module, call, scope)


def _returns_own_callables(module: ModuleAnalysis, call: ast.Call, scope: Scope) -> bool:
    """`self._color_func = self._compose_color_func()`, a def of the project whose every
    `return` gives a callable of the program's choice (`functools.partial(colored, ...)`,
    None) and whose calls of other defs are not followed (one level); for a `@contextmanager`
    generator, every `yield` (`with progress_spinner(targets) as progress:`, pyinfra's, yields
    its own closure or a no-op lambda)."""
    if not isinstance(call.func, (ast.Name, ast.Attribute)):
        return False
    target = module.resolver.callable_target(call.func, scope)
    if not isinstance(target, Resolved):
        return False
    for definition in target.functions:
        inner = definition.module.index.inner_scope(definition.node)
        statements = own_statements(definition.node.body)
        if makes_a_context_manager(definition.node):
            yields = [
                stmt.value for stmt in statements if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Yield)
            ]
            given = [value.value for value in yields]
        else:
            given = [stmt.value for stmt in statements if isinstance(stmt, ast.Return)]
        returned = [(value, inner) for value in given if value is not None and not is_none(value)]
        if not returned or any(_calls_a_def(value) for value, _ in returned):
            return False
        if _from_elsewhere(definition.module, returned):
            return False
    return True


def _calls_a_def(value: ast.expr) -> bool:
    """A returned call other than a class or a partial of a function named: what it gives is
    another def's (and following it could go round: `return partial(make(), ...)`)."""
    if not isinstance(value, ast.Call) or _names_a_class_called(value):
        return False
    return last_name(value.func) != "partial" or not value.args or isinstance(value.args[0], ast.Call)


def _names_a_class_called(call: ast.Call) -> bool:
    """`Countdown(timeout)`, `_KeyboardListener()`: a CapWords name, a private one included."""
    return (last_name(call.func) or "").lstrip("_")[:1].isupper()


def _is_self(expr: ast.expr, scope: Scope) -> bool:
    found = scope.enclosing_class()
    return isinstance(expr, ast.Name) and found is not None and found[1] == expr.id


def _handed_in_object(module: ModuleAnalysis, receiver: ast.expr, scope: Scope) -> bool:
    """A parameter or variable (a loop's `listener`), or `self.X` given to the instance (from a
    parameter, set later), not one it made itself (`self.debugger = Debugger(...)`, `listener =
    socket.socket(...)`)."""
    if isinstance(receiver, ast.Attribute):
        if isinstance(receiver.value, ast.Attribute) and _is_self(receiver.value.value, scope):
            # `self.wrapper_handler.handler`: a part of an object handed in (logbook's wrapped handler)
            return _handed_in_object(module, receiver.value, scope)
        if not _is_self(receiver.value, scope):
            return False
        found = scope.enclosing_class()
        values = found[0].attr_values.get(receiver.attr, []) if found is not None else []
        if values and all(
            _got_from_the_program(module, value, where) or _made_here(module, value, where)
            for value, where in values
            if not is_none(value)
        ):
            return False  # the program's factory made it, or the class did (`asyncio.new_event_loop()`)
        return not values or _from_elsewhere(module, values)
    if isinstance(receiver, ast.Name):
        owner = scope.lookup(receiver.id)
        if owner is None:
            return False
        binding = owner.bindings[receiver.id]
        if binding is Binding.LOCAL:
            if not isinstance(owner.node, _FUNCTION_SCOPES):
                return False  # a module's or class's object (`_listener = _KeyboardListener()`)
            values = owner.values.get(receiver.id, [])
            if not values and _loops_over_own_objects(module, receiver.id, owner):
                return False
            return not values or not all(_made_here(module, value, s) for value, s in values)
        return binding is Binding.PARAM
    return False


def _got_from_the_program(module: ModuleAnalysis, value: ast.expr, scope: Scope) -> bool:
    """An object the class got by calling (and perhaps awaiting) a def of the project: the
    program's own factory made it (`self.listener = await self.client.get_action_listener(...)`),
    no caller handed it in."""
    if isinstance(value, ast.Await):
        value = value.value
    if not (isinstance(value, ast.Call) and isinstance(value.func, (ast.Name, ast.Attribute))):
        return False
    return isinstance(module.resolver.callable_target(value.func, scope), Resolved)


def _made_here(module: ModuleAnalysis, value: ast.expr, scope: Scope) -> bool:
    """An object the function made by calling a class (`Listener()`) or a library's factory
    reached through an import (`socket.socket(...)`): no one handed it in."""
    if not isinstance(value, ast.Call):
        return False
    qualname = module.index.qualname(value.func, scope)
    if qualname is not None and not qualname.startswith("builtins."):
        return True
    return _names_a_class_called(value)


def _an_item_of_callbacks(module: ModuleAnalysis, receiver: ast.expr) -> bool:
    """The variable of the loop the call is in, over a collection named for someone else's code
    (pigpio's `for cb in self.callbacks: cb.func(...)`): each item holds one of them."""
    if not isinstance(receiver, ast.Name):
        return False
    node: ast.AST | None = module.index.parent(receiver)
    while node is not None and not isinstance(node, FUNCTION_TYPES):
        if isinstance(node, (ast.For, ast.AsyncFor)) and is_name(node.target, receiver.id):
            return _sounds_foreign(last_name(node.iter) or "")
        node = module.index.parent(node)
    return False


def _sounds_foreign(name: str) -> bool:
    """`on_message`, `self._listener`, `messageHandlers`, `hook_fn`: what it names is someone
    else's code: its last word, generic ones aside (`self._webhook` does not: a webhook is an
    endpoint of the program's; nor `plugin_manager`, the program's manager of plugins)."""
    words = _words(name)
    if words[0] == "on":
        return True
    while len(words) > 1 and words[-1] in _GENERIC_WORDS:
        words.pop()
    return words[-1] in _FOREIGN_WORDS or words[-1][:-1] in _FOREIGN_WORDS
