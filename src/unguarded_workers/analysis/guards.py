"""Whether a worker's def contains its own failures, and if not, how they get out.

A def is guarded when it is decorated with a guard, or when every statement of its body,
and every header of its compound statements, is covered by a containing `try` or harmless
(`harmless`). Otherwise the analysis records its `Exposure`: the first uncovered statement
and why no guard covers it, whether a failure can end an unbounded loop, whether it runs
code the worker was handed, whether only set-up outside a guarded loop can fail.

Guarded:
    def worker():
        while not stop.is_set():          # a header that reads a flag
            try:
                step()
            except Exception:
                log.exception("step failed")

    def worker():
        logger.debug("starting")          # a harmless call outside the try
        try:
            work()
        except asyncio.CancelledError:
            raise                         # cancellation must propagate
        except Exception:
            logger.exception("failed")

    async def consume(rx):
        try:
            while True:
                message = await rx.receive()      # a wait, not work
                try:
                    handle(message)
                except Exception:
                    log.exception("bad message")
        except asyncio.CancelledError:    # cancellation handlers are not inspected
            await rx.aclose()

    def serve():
        server.serve_forever()            # the server logs its handlers' errors

    def worker():
        try:
            work()
        except Exception:
            log.exception("failed")       # reported, then re-raised on purpose
            raise

Unguarded:
    def worker():
        try:
            work()
        except Exception:
            cleanup()
            raise                         # "is in a try whose handler re-raises"

    def worker():
        setup()                           # "runs outside any try"
        try: ...

    def worker():
        while self._poll():               # the header is the work
            ...
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, NamedTuple

from ..options import Options
from .display import terminal_write
from .exposure import Exposure, ForeignCall, Uncovered
from .foreign import foreign_call, handed_on, handed_own_code
from .harmless import HarmlessRules, Verdict, calls_nothing
from .index import (
    FUNCTION_TYPES,
    LOOP_TYPES,
    TRY_TYPES,
    FunctionNode,
    Scope,
    dotted_text,
    handled_types,
    is_name,
    last_name,
    module_constant,
    own_statements,
)
from .known import (
    BROAD_EXCEPTIONS,
    CANCELLED_CLASS_GETTERS,
    CLOSE_METHODS,
    DECODERS,
    EXIT_EXCEPTION_NAMES,
    INSPECTING_BUILTINS,
    IO_METHODS,
    JSON_DECODE_ERRORS,
    JSON_DECODERS,
    LIKELY_DECODE,
    LIKELY_IO,
    LOOKUP_ERRORS,
    OS_ERRORS,
    PURE_BUILTINS,
    REPORTING_LOG_METHODS,
    SUPPRESS,
    TIMEOUT_ERRORS,
    VALUE_ERRORS,
    WAIT_FOR,
)
from .loops import has_unbounded_loop, is_unbounded_loop
from .resolve import Guarded, Resolved, Target, Unresolved
from .swallowing import swallows_everything

if TYPE_CHECKING:
    from .module import Def, ModuleAnalysis

_MATCH = getattr(ast, "Match", None)
# The foreign calls of later statements kept besides the first (`Exposure.later_foreign`).
_MAX_LATER_FOREIGN = 3
OUTSIDE_ANY_TRY = "runs outside any try"


class _Context(NamedTuple):
    """Where a statement stands: what leaves it uncovered, and which families of failure a
    handler around it takes whole: what I/O raises (OSError and its kin), a timed wait's
    TimeoutError, a decoder's ValueError (json's JSONDecodeError, for its decoders), a lookup's
    KeyError or IndexError."""

    why: str
    io_covered: bool = False
    caught: tuple[str, ...] = ()  # what the narrow handlers of the tries around it catch
    timeout_covered: bool = False  # a handler of TimeoutError is around it
    # The decoders whose failure to read a handler around it takes: `json.loads` and its kin
    # under `except ValueError`, json's and orjson's under `except JSONDecodeError`.
    decoded: frozenset[str] = frozenset()
    lookup_covered: bool = False  # a handler of KeyError, IndexError or LookupError is around it


OUTSIDE = _Context(OUTSIDE_ANY_TRY)


class _Leaf(NamedTuple):
    """A simple statement, or the header of a compound one, with what leaves it uncovered."""

    stmt: ast.stmt
    header: ast.expr | None
    context: _Context  # why it can fail, and what the handlers around it take whole
    in_loop: bool  # inside an unbounded loop of the def that no broad guard in it protects
    inside_loop: bool = False  # inside an unbounded loop of the def, guarded or not


@dataclass
class _Tally:
    """What the uncovered leaves of one def showed so far."""

    first: Uncovered | None = None
    # The first precondition raised on purpose (`if x is None: raise ...`): a failure, named
    # only when nothing else is (the work after it is what usually fails).
    precondition: Uncovered | None = None
    loop_leaf: Uncovered | None = None  # the first uncovered leaf an unbounded loop dies of
    loop_likely_leaf: Uncovered | None = None  # ... the first of those that does I/O or decodes
    io_leaf: Uncovered | None = None  # the first uncovered leaf that does I/O
    foreign_leaf: Uncovered | None = None  # the first uncovered leaf that runs foreign code
    in_loop: bool = False  # an unbounded loop dies of an uncovered leaf
    inside_loop: bool = False  # an uncovered leaf is inside an unbounded loop, guarded or not
    foreign: ForeignCall | None = None
    other_work: bool = False  # an uncovered leaf does more than close something
    not_shown: bool = False  # an uncovered leaf does more than write to a terminal
    # The foreign calls of later uncovered leaves (a few): one stands in when the first turns
    # out to run the program's own code (`Exposure.later_foreign`).
    later_foreign: list[tuple[ForeignCall, Uncovered]] = field(default_factory=list)


class GuardAnalysis:
    """Guard verdicts of one module's defs; a def's calls may lead into other modules.

    Defs are judged on a stack of their own, not Python's: a chain of a hundred calls,
    or an `elif` chain of hundreds of branches, is as cheap as a short one.
    """

    def __init__(self, module: ModuleAnalysis, options: Options) -> None:
        self._module = module
        self._index = module.index
        self._resolver = module.resolver
        self._rules = HarmlessRules(module)
        self._options = options
        # id(def) -> its exposure; GUARDED for a guarded def.
        self._verdicts: dict[int, Exposure | None] = {}
        self._in_progress: set[int] = set()

    def target_guarded(self, target: Target) -> bool | None:
        """True/False for a known target, None when it could not be inspected."""
        if isinstance(target, Guarded):
            return True
        if isinstance(target, Unresolved):
            return None
        return all(_judge(d) is None for d in target.functions)

    def target_exposure(self, target: Resolved) -> tuple[Def, Exposure] | None:
        """The first of the target's defs that lets a failure out, and how; None: all guarded."""
        for definition in target.functions:
            exposure = _judge(definition)
            if exposure is not None:
                return definition, exposure
        return None

    def def_exposure(self, fn: FunctionNode) -> Exposure | None:
        from .module import Def

        return _judge(Def(self._module, fn))

    def def_guarded(self, fn: FunctionNode) -> bool:
        return self.def_exposure(fn) is None

    def _start(self, fn: FunctionNode) -> Exposure | Generator[Def, Exposure | None, Exposure | None] | None:
        """The verdict if known, else the steps that reach it (marking the def in progress)."""
        key = id(fn)
        if key in self._verdicts:
            return self._verdicts[key]
        if key in self._in_progress:
            # A cycle proves nothing: the call is uncovered where it stands.
            recursion = Uncovered(fn.body[0], None, "calls itself again")
            return Exposure(
                recursion,
                self._module,
                has_try=False,
                guards_some=False,
                in_loop=False,
                foreign=None,
                setup_only=False,
            )
        self._in_progress.add(key)
        return self._steps(fn)

    def _finish(self, fn: FunctionNode, verdict: Exposure | None, *, known: bool = True) -> None:
        self._in_progress.discard(id(fn))
        if known:
            self._verdicts[id(fn)] = verdict

    def _steps(self, fn: FunctionNode) -> Generator[Def, Exposure | None, Exposure | None]:
        """`fn`'s exposure (None: guarded): yields each def it delegates to and is sent that def's."""
        scope = self._index.inner_scope(fn)
        outer = scope.parent
        assert outer is not None
        if any(self._resolver.is_guard(d, outer) for d in fn.decorator_list):
            return None
        tally = _Tally()
        for leaf in self._leaves(fn.body, scope):
            verdict = self._leaf_verdict(leaf, scope)
            if verdict is not True and leaf.context.io_covered and self._only_calls(leaf, scope, _io_call):
                verdict = True  # socket and file calls raise what the handler around them catches
            if verdict is not True and leaf.context.timeout_covered and self._timed_take(leaf.stmt, scope):
                verdict = True  # `await wait_for(queue.get(), t)` raises what the handler catches
            if verdict is not True and leaf.context.decoded and self._only_calls(leaf, scope, _decoder_of(leaf)):
                verdict = True  # `json.loads(message)` raises what `except ValueError` catches
            if verdict is not True and leaf.context.lookup_covered and _only_looks_up(leaf):
                verdict = True  # `pin = pins[num]` raises what `except KeyError` catches
            exposed: list[tuple[Def, Exposure]] = []
            if verdict is False:
                covered = False
            elif verdict is True:
                covered = True
            else:
                covered = True
                for delegate in verdict:
                    found = yield delegate
                    if found is not None:
                        covered = False
                        exposed.append((delegate, found))
            if not covered:
                shown = yield from self._only_shows(leaf, scope, verdict, [e for _, e in exposed])
                tally.not_shown = tally.not_shown or not shown
                self._tally(tally, leaf, scope, exposed)
        first = tally.first or tally.precondition
        if first is None:
            return None
        return Exposure(
            first,
            self._module,
            foreign_focus=tally.foreign_leaf,
            loop_focus=tally.loop_likely_leaf or tally.loop_leaf,
            io_focus=tally.io_leaf,
            has_try=_has_try(fn),
            guards_some=self._guards_some(fn.body, scope),
            in_loop=tally.in_loop,
            foreign=tally.foreign,
            later_foreign=tuple(tally.later_foreign),
            closes_only=not tally.other_work,
            displays_only=not tally.not_shown,
            setup_only=not tally.inside_loop and has_unbounded_loop(fn.body),
        )

    def _tally(self, tally: _Tally, leaf: _Leaf, scope: Scope, delegates: list[tuple[Def, Exposure]]) -> None:
        here = Uncovered(leaf.stmt, leaf.header, leaf.context.why)
        exposed = [exposure for _, exposure in delegates]
        if self._is_precondition(leaf):
            tally.precondition = tally.precondition or here
        elif tally.first is None:
            tally.first = here
        # The loop dies of this leaf unless what it calls handles failures of its own (then
        # what escapes is at the edges of work the author did guard).
        dies = leaf.in_loop and not any(e.guards_some for e in exposed)
        ends_a_loop = dies or any(e.in_loop for e in exposed)
        likely = not leaf.context.io_covered and _does_io(leaf)  # not when a handler takes what I/O raises
        if ends_a_loop:
            tally.loop_leaf = tally.loop_leaf or here
            if likely or _calls_named(leaf, LIKELY_DECODE):
                tally.loop_likely_leaf = tally.loop_likely_leaf or here
        if likely:
            tally.io_leaf = tally.io_leaf or here
        tally.other_work = tally.other_work or not (
            all(e.closes_only for e in exposed) if exposed else _only_closes(leaf)
        )
        tally.in_loop = tally.in_loop or ends_a_loop
        tally.inside_loop = tally.inside_loop or leaf.inside_loop
        if tally.foreign is None or len(tally.later_foreign) < _MAX_LATER_FOREIGN:
            foreign = next(
                (
                    self._handed_on(leaf, d, e.foreign, scope)
                    for d, e in delegates
                    if e.foreign is not None and not self._hands_own_code(leaf, d, e.foreign, scope)
                ),
                None,
            )
            if foreign is None:
                foreign = self._foreign_in(leaf, scope)
            if foreign is not None and tally.foreign is None:
                tally.foreign, tally.foreign_leaf = foreign, here
            elif foreign is not None:
                tally.later_foreign.append((foreign, here))

    def _only_shows(
        self, leaf: _Leaf, scope: Scope, verdict: Verdict, exposed: list[Exposure]
    ) -> Generator[Def, Exposure | None, bool]:
        """Whether the leaf only writes to a terminal (yielding the defs that compute what it
        writes, for their exposures): what it writes can fail to compute only in defs that do
        no I/O and run no foreign code (tox's `self.stream.write(self.frame())`); or the leaf
        calls defs that only write so (`self.render_frame()`)."""
        write = terminal_write(self._index, leaf.stmt, scope) if leaf.header is None else None
        if write is None:
            return bool(exposed) and all(e.displays_only for e in exposed)
        computing = list(exposed)
        if verdict is False:  # the write itself may fail: what of it is the terminal's
            for value in (*write.args, *(keyword.value for keyword in write.keywords)):
                given = self._rules.expression(value, scope)
                if given is False:
                    return False  # `sys.stdout.write(decoder.decode(data))`: work of its own
                for delegate in given if given is not True else ():
                    found = yield delegate
                    if found is not None:
                        computing.append(found)
        return not any(e.foreign is not None or e.io_focus is not None for e in computing)

    def _hands_own_code(self, leaf: _Leaf, delegate: Def, foreign: ForeignCall, scope: Scope) -> bool:
        """The def this leaf calls runs its parameter (`def eintr_retry_call(func, *args)`), and
        every call of it here passes the program's own code (`eintr_retry_call(notifier.poll)`):
        no one else's code runs there."""
        calls = self._calls_of(leaf, delegate, scope)
        return bool(calls) and all(handed_own_code(self._module, foreign, delegate, call, scope) for call in calls)

    def _handed_on(self, leaf: _Leaf, delegate: Def, foreign: ForeignCall, scope: Scope) -> ForeignCall:
        """The delegate's foreign call, as this def's when every call of the delegate here hands
        it one and the same parameter of this def (`transition(func=func)`): whose code that is,
        this def's callers tell."""
        calls = self._calls_of(leaf, delegate, scope)
        names = {handed_on(foreign, delegate.node, call, scope) for call in calls}
        fn = scope.node
        if len(names) == 1 and isinstance(fn, FUNCTION_TYPES):
            (name,) = names
            if name is not None:
                return replace(foreign, through=(fn, name))
        return foreign

    def _calls_of(self, leaf: _Leaf, delegate: Def, scope: Scope) -> list[ast.Call]:
        """The leaf's calls of the delegate (a class's making, of its `__init__`)."""
        root: ast.AST = leaf.header if leaf.header is not None else leaf.stmt
        return [
            call for call in _calls_in(root) if any(d.node is delegate.node for d in self._called_defs(call, scope))
        ]

    def _called_defs(self, call: ast.Call, scope: Scope) -> tuple[Def, ...]:
        target = self._resolver.callable_target(call.func, scope)
        if isinstance(target, Resolved):
            return target.functions
        made = self._resolver.class_ref(call.func, scope)
        return self._resolver.methods(made, "__init__") if made is not None else ()

    def _foreign_in(self, leaf: _Leaf, scope: Scope) -> ForeignCall | None:
        if leaf.header is None and isinstance(leaf.stmt, ast.Raise):
            return None  # `raise exception(*args)`: making what it raises (aim's class looked up by name)
        root: ast.AST = leaf.header if leaf.header is not None else leaf.stmt
        for node in _calls_in(root):
            found = foreign_call(self._module, node, scope)
            if found is not None:
                return found
        return None

    def _leaf_verdict(self, leaf: _Leaf, scope: Scope) -> Verdict:
        if leaf.header is not None:
            return self._rules.expression(leaf.header, scope)
        return self._rules.statement(leaf.stmt, scope)

    def _is_precondition(self, leaf: _Leaf) -> bool:
        """`if self.spider is None: raise RuntimeError(...)`: raised on purpose, and lost all the
        same in a worker nothing reads (a discarded future's `ValueError(address)`)."""
        stmt = leaf.stmt
        if leaf.header is not None or not isinstance(stmt, ast.Raise) or stmt.exc is None:
            return False
        parent = self._index.parent(stmt)
        return isinstance(parent, ast.If) and stmt in parent.body

    # -- statements ----------------------------------------------------------

    def _leaves(self, body: list[ast.stmt], scope: Scope) -> Iterator[_Leaf]:
        """Every simple statement and header that must be harmless for `body` to be guarded,
        in source order; compound statements open into the blocks that count."""
        # Each statement with what leaves it uncovered, whether a long-lived loop dies of it,
        # whether it is inside one, and whether a `break` beside it leaves one.
        stack: list[tuple[ast.stmt, _Context, bool, bool, bool]] = [
            (stmt, OUTSIDE, False, False, False) for stmt in reversed(body)
        ]
        while stack:
            stmt, context, in_loop, inside, breaks_out = stack.pop()
            opened = self._open(stmt, context, scope)
            if opened is None:
                yield _Leaf(stmt, None, context, in_loop, inside)
                continue
            headers, blocks = opened
            unbounded = is_unbounded_loop(stmt, self._index.parent(stmt))
            # A loop with a broad guard in it guards its work: what escapes it is at the edges.
            inner_loop = in_loop or (unbounded and not self._guards_some(getattr(stmt, "body", []), scope))
            inner_inside = inside or unbounded
            for header in headers:
                # A loop's header runs on every pass: it is inside the loop it heads.
                yield _Leaf(stmt, header, context, inner_loop, inner_inside)
            for block, block_context in reversed(blocks):
                # A `break` in a loop's body leaves that loop; elsewhere, the loop around it.
                block_breaks = unbounded if isinstance(stmt, LOOP_TYPES) and block is stmt.body else breaks_out
                leaving = _leaving(block, breaks=block_breaks) if inner_loop else set()
                stack.extend(
                    (inner, block_context, inner_loop and id(inner) not in leaving, inner_inside, block_breaks)
                    for inner in reversed(block)
                )

    def _open(
        self, stmt: ast.stmt, context: _Context, scope: Scope
    ) -> tuple[list[ast.expr], list[tuple[list[ast.stmt], _Context]]] | None:
        """A compound statement's headers and the blocks that must be guarded, each with what
        leaves it uncovered; None for a simple statement. `finally:` is not inspected."""
        if isinstance(stmt, TRY_TYPES):
            handlers = [_kept_by_type(h) for h in getattr(stmt, "handlers", [])]
            if self.try_contains(handlers, scope):
                return [], []  # guarded: its `else:` and `finally:` are not inspected
            if self._fails_the_waiters(getattr(stmt, "finalbody", []), scope):
                return [], []  # its failure is delivered: whoever waits learns of it
            # Like any compound statement, except that the handlers of cancellation and exit
            # alone (clean-up on shutdown) are not inspected.
            body: list[ast.stmt] = getattr(stmt, "body", [])
            leaky = self._leaky_try(handlers, context, scope)
            blocks = [(body, self._covering(leaky, context, [h.type for h in handlers], scope))]
            # A handler runs only when the body fails: none does after a body that cannot.
            live = [] if self._cannot_fail(body, scope) else handlers
            for handler in live:
                if not self._is_exit_only(handler.type, scope):
                    blocks.append((handler.body, _Context(f"runs in the handler of {_caught(handler)}")))
            orelse = _Context("runs in a try's else:, which its handlers do not cover")
            blocks.append((getattr(stmt, "orelse", []), orelse))
            return [], blocks
        if isinstance(stmt, (ast.If, ast.While)):
            return [stmt.test], [(stmt.body, context), (stmt.orelse, context)]
        if isinstance(stmt, (ast.For, ast.AsyncFor)):
            return [stmt.iter], [(stmt.body, context), (stmt.orelse, context)]
        if isinstance(stmt, (ast.With, ast.AsyncWith)):
            headers = [item.context_expr for item in stmt.items]
            swallowing = [swallows_everything(self._module, header, scope) for header in headers]
            if any(swallowing) or self._suppresses_broadly(stmt, scope):
                # `with suppress(Exception):` contains its body; a project context manager
                # made to swallow is taken whole, the making of it included.
                return [h for h, swallows in zip(headers, swallowing) if not swallows], []
            return headers, [(stmt.body, self._with_context(stmt, context, scope))]
        if _MATCH is not None and isinstance(stmt, _MATCH):
            return [stmt.subject], [(case.body, context) for case in stmt.cases]
        return None

    def _timed_take(self, stmt: ast.stmt, scope: Scope) -> bool:
        """`msg = await asyncio.wait_for(self._messages.get(), timeout=period)`: a wait whose
        awaitable cannot fail (a queue's take) raises only TimeoutError of its own."""
        value = stmt.value if isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.Expr)) else None
        call = value.value if isinstance(value, ast.Await) else None
        if not (isinstance(call, ast.Call) and call.args and self._resolver.matches(call.func, scope, WAIT_FOR)):
            return False
        rest = [*call.args[1:], *(k.value for k in call.keywords)]
        return all(self._rules.expression(arg, scope) is True for arg in (call.args[0], *rest))

    def _fails_the_waiters(self, final: list[ast.stmt], scope: Scope) -> bool:
        """A `finally:` that fails the futures its waiters hold (`future.set_exception(...)`,
        itself or in a def of the project it calls): whoever waits learns that the worker
        ended, as the seed's WrapWithSignal tells them (jeepney's receiver thread,
        `finally: self._replies.drop_all()`)."""
        for call in (call for stmt in final for call in _calls_in(stmt)):
            if _fails_a_future(call):
                return True
            target = self._resolver.callable_target(call.func, scope)
            if isinstance(target, Resolved) and any(
                _fails_a_future(inner) for d in target.functions for stmt in d.node.body for inner in _calls_in(stmt)
            ):
                return True
        return False

    def _cannot_fail(self, body: list[ast.stmt], scope: Scope) -> bool:
        """Every statement of `body` is harmless by itself (no def it calls is taken into
        account: a call of one may fail), through `if`, `for` and `while` blocks. Iterative:
        an `elif` chain nests as deep as it is long."""
        stack = list(body)
        while stack:
            stmt = stack.pop()
            if isinstance(stmt, (ast.If, ast.While)):
                header, blocks = stmt.test, [stmt.body, stmt.orelse]
            elif isinstance(stmt, ast.For):
                header, blocks = stmt.iter, [stmt.body, stmt.orelse]
            elif hasattr(stmt, "body") or self._rules.statement(stmt, scope) is not True:
                return False  # a try, with, match or def is not looked into here
            else:
                continue
            if self._rules.expression(header, scope) is not True:
                return False
            for block in blocks:
                stack.extend(block)
        return True

    def _with_context(self, stmt: ast.With | ast.AsyncWith, context: _Context, scope: Scope) -> _Context:
        """`with contextlib.suppress(X):` is a try with a handler of X around its body."""
        suppressed = self._suppressed(stmt, scope)
        if not suppressed:
            return context
        types = ", ".join(last_name(arg) or type(arg).__name__ for arg in suppressed)
        return self._covering(_Context(f"is in a suppress() of only {types}"), context, suppressed, scope)

    def _covering(self, inner: _Context, outer: _Context, types: Sequence[ast.expr | None], scope: Scope) -> _Context:
        """`inner` (why the block's statements are uncovered) with the families of failure the
        handlers around take whole: those of `outer`, and those `types` (of a try's handlers, or
        a suppress()) name."""

        def named(family: frozenset[str]) -> bool:
            return any(self._names_any(exc_type, scope, family) for exc_type in types)

        return inner._replace(
            io_covered=outer.io_covered or named(OS_ERRORS),
            timeout_covered=outer.timeout_covered or named(TIMEOUT_ERRORS),
            decoded=outer.decoded.union(*(decoders for errors, decoders in _DECODE_FAMILIES if named(errors))),
            lookup_covered=outer.lookup_covered or named(LOOKUP_ERRORS),
        )

    def _only_calls(self, leaf: _Leaf, scope: Scope, kind: Callable[[ast.Call, str | None], bool]) -> bool:
        """Every call of the leaf is of `kind` (a socket or file call, `sock.recv(n)`; a decoder,
        `json.loads(message)`), called with its qualified name, but for builtins that only look at
        what they are given (wandb's `data += os.read(fd, len(token) - n)`), and one at least is:
        then it raises what a handler of that kind's failures catches."""
        root: ast.AST = leaf.header if leaf.header is not None else leaf.stmt
        calls = [(call, self._index.qualname(call.func, scope)) for call in _calls_in(root)]
        return any(kind(call, name) for call, name in calls) and all(
            kind(call, name) or name in PURE_BUILTINS for call, name in calls
        )

    def _guards_some(self, body: list[ast.stmt], scope: Scope) -> bool:
        """A try that contains (a broad handler), or a `with suppress(Exception)`, anywhere in
        `body`, nested defs aside: its author guards the work it holds."""
        for stmt in own_statements(body):
            if isinstance(stmt, TRY_TYPES) and self.try_contains(getattr(stmt, "handlers", []), scope):
                return True
            if isinstance(stmt, (ast.With, ast.AsyncWith)) and self._suppresses_everything(stmt, scope):
                return True
        return False

    def _suppresses_everything(self, stmt: ast.With | ast.AsyncWith, scope: Scope) -> bool:
        """`with suppress(Exception):`, or a project context manager that swallows every failure."""
        return self._suppresses_broadly(stmt, scope) or any(
            swallows_everything(self._module, item.context_expr, scope) for item in stmt.items
        )

    def _suppresses_broadly(self, stmt: ast.With | ast.AsyncWith, scope: Scope) -> bool:
        return any(self.is_broad(arg, scope) for arg in self._suppressed(stmt, scope))

    def _suppressed(self, stmt: ast.With | ast.AsyncWith, scope: Scope) -> list[ast.expr]:
        """The exception types a `with contextlib.suppress(...)` names (none for any other `with`)."""
        for item in stmt.items:
            call = item.context_expr
            if isinstance(call, ast.Call) and self._index.qualname(call.func, scope) in SUPPRESS:
                return list(call.args)
        return []

    def _leaky_try(self, handlers: list[ast.ExceptHandler], context: _Context, scope: Scope) -> _Context:
        """Why a try that does not contain lets the failure of its body out; a try's narrow
        handlers are named with those of the narrow tries around it (all of them are passed)."""
        if not handlers:  # a try/finally: what handles its failure is what did around it
            return context if context.caught else _Context("is in a try with no except")
        for number, handler in enumerate(handlers):
            if self.is_broad(handler.type, scope):
                if _ends_in_raise(handler):
                    return _Context("is in a try whose handler re-raises")
                # `except Terminate: raise` before `except Exception:`: what gets out is what
                # those handlers let out on purpose, not what the broad one would catch.
                passed = [_caught(h) for h in handlers[:number] if _ends_in_raise(h)]
                if passed:
                    return _Context(f"is in a try whose handler of {', '.join(passed)} re-raises it")
                break
        # Every handler is named, those of cancellation and exit too: what the message says
        # the try catches is all it catches.
        caught = list(dict.fromkeys(_caught(h) for h in handlers))
        if context.caught:
            caught += [c for c in context.caught if c not in caught]
            return _Context(f"is in tries whose handlers catch only {', '.join(caught)}", caught=tuple(caught))
        return _Context(f"is in a try whose handlers catch only {', '.join(caught)}", caught=tuple(caught))

    def try_contains(self, handlers: list[ast.ExceptHandler], scope: Scope) -> bool:
        """A broad handler that does not re-raise, and no earlier handler that lets a failure out.

        Handlers after the broad one only ever see what it let pass (BaseExceptions
        that are not Exceptions), so their re-raising leaks nothing.
        """
        for handler in handlers:
            reraises = _ends_in_raise(handler)
            if self.is_broad(handler.type, scope):
                return not reraises or _reports_before_raising(handler)
            if reraises and not self._is_exit_only(handler.type, scope):
                return False
        return False

    def is_broad(self, exc_type: ast.expr | None, scope: Scope) -> bool:
        """`except:`, `except Exception:`, `except BaseException:` (or a tuple naming one),
        through the module's aliases of them."""
        return exc_type is None or self._names_any(exc_type, scope, BROAD_EXCEPTIONS)

    def _names_any(self, exc_type: ast.expr | None, scope: Scope, names: frozenset[str]) -> bool:
        """Whether the handler's type (or one of a tuple of types) is one of `names`, by its
        qualified name or as written (`asyncio.TimeoutError` of an asyncio a project re-exports)."""
        if exc_type is None:
            return False
        return any(self._resolver.matches(t, s, names) for t, s in self._exception_types(exc_type, scope))

    def _exception_types(self, exc_type: ast.expr, scope: Scope, depth: int = 0) -> list[tuple[ast.expr, Scope]]:
        """The types a handler names, through the module's aliases of them
        (`CLIENT_EXCEPTIONS = Exception`, `RETRYABLE = (OSError, TimeoutError)`)."""
        found: list[tuple[ast.expr, Scope]] = []
        for part in handled_types(exc_type):
            alias = _module_alias(part, scope) if depth < _MAX_ALIASES else None
            if alias is not None:
                found += self._exception_types(alias[0], alias[1], depth + 1)
            else:
                found.append((part, scope))
        return found

    def _is_exit_only(self, exc_type: ast.expr | None, scope: Scope) -> bool:
        if exc_type is None:
            return False
        return all(_is_exit_type(t) for t in handled_types(exc_type))


def _judge(root: Def) -> Exposure | None:
    """`root`'s exposure (None: guarded): its steps and those of every def they delegate to
    run on an explicit stack, each def's verdict kept by its own module's analysis."""
    first = root.module.guards._start(root.node)
    if not isinstance(first, Generator):
        return first
    stack: list[tuple[Def, Generator[Def, Exposure | None, Exposure | None]]] = [(root, first)]
    verdict: Exposure | None = None
    started_now = True
    try:
        while stack:
            current, steps = stack[-1]
            try:
                request = next(steps) if started_now else steps.send(verdict)
            except StopIteration as done:
                stack.pop()
                verdict = done.value
                current.module.guards._finish(current.node, verdict)
                started_now = False
                continue
            started = request.module.guards._start(request.node)
            if isinstance(started, Generator):
                stack.append((request, started))
                started_now = True
            else:
                verdict = started
                started_now = False
    finally:
        for unfinished, _ in stack:  # only after an error: forget the half-done defs
            unfinished.module.guards._finish(unfinished.node, None, known=False)
    return verdict


def _leaving(block: list[ast.stmt], *, breaks: bool) -> set[int]:
    """The simple statements of `block` that run just before its `return`, or its `break` when
    that leaves the long-lived loop (`breaks`), and that statement itself: the loop ends there
    anyway, so a failure there does not end it (`await remote.abort(...)` then `return`, in a
    receive loop)."""
    found: set[int] = set()
    leaving = False
    for stmt in reversed(block):
        if isinstance(stmt, ast.Return) or (breaks and isinstance(stmt, ast.Break)) or _ends_the_process(stmt):
            leaving = True
        elif isinstance(stmt, (ast.Continue, ast.Break)) or _is_compound(stmt):
            leaving = False
        if leaving:
            found.add(id(stmt))
    return found


# What ends the process, leaving every loop (mlflow's orphan watcher: kill the group, then `os._exit(1)`).
_PROCESS_EXITS = frozenset({"os._exit", "sys.exit"})


def _ends_the_process(stmt: ast.stmt) -> bool:
    return (
        isinstance(stmt, ast.Expr)
        and isinstance(stmt.value, ast.Call)
        and dotted_text(stmt.value.func) in _PROCESS_EXITS
    )


def _is_compound(stmt: ast.stmt) -> bool:
    return any(isinstance(getattr(stmt, name, None), list) for name in ("body", "handlers", "cases"))


def _has_try(fn: FunctionNode) -> bool:
    """A try, or a `with suppress(...)`, anywhere in the def's own body."""
    return any(isinstance(stmt, TRY_TYPES) or _suppresses(stmt) for stmt in own_statements(fn.body))


def _suppresses(stmt: ast.stmt) -> bool:
    return isinstance(stmt, (ast.With, ast.AsyncWith)) and any(
        isinstance(item.context_expr, ast.Call) and last_name(item.context_expr.func) == "suppress"
        for item in stmt.items
    )


def _does_io(leaf: _Leaf) -> bool:
    """A leaf whose failure is likely, not only possible: a socket, file or network call
    (`sock.recv(n)`, `self._ws.send(data)`, `ssh.connect(host)`). The report names it before an
    earlier line that can fail only in principle (`sock.fileno()`, `log.setLevel(level)`). Not
    a `raise`: a precondition's is named last, and a handler's re-raise is its `try`'s."""
    return _calls_named(leaf, LIKELY_IO)


def _calls_named(leaf: _Leaf, names: frozenset[str]) -> bool:
    root: ast.AST = leaf.header if leaf.header is not None else leaf.stmt
    return any(last_name(call.func) in names for call in _calls_in(root))


def _fails_a_future(call: ast.Call) -> bool:
    return isinstance(call.func, ast.Attribute) and call.func.attr == "set_exception" and bool(call.args)


def _calls_in(root: ast.AST) -> Iterator[ast.Call]:
    """The calls of a statement or expression, outermost first, not inside nested defs or lambdas
    (of a def or class statement, those that run when it is defined: its decorators, defaults
    and bases)."""
    stack = _defined_with(root) if isinstance(root, (*FUNCTION_TYPES, ast.ClassDef)) else [root]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Call):
            yield node
        for child in reversed(list(ast.iter_child_nodes(node))):
            if not isinstance(child, (*FUNCTION_TYPES, ast.ClassDef, ast.Lambda)):
                stack.append(child)


def _defined_with(node: FunctionNode | ast.ClassDef) -> list[ast.AST]:
    """What a def or class statement runs when it is defined, last first (a stack)."""
    if isinstance(node, ast.ClassDef):
        parts: list[ast.AST] = [*node.decorator_list, *node.bases, *node.keywords]
    else:
        defaults = [d for d in node.args.kw_defaults if d is not None]
        parts = [*node.decorator_list, *node.args.defaults, *defaults]
    return parts[::-1]


def _caught(handler: ast.ExceptHandler) -> str:
    exc_type = handler.type
    if exc_type is None:
        return "everything"
    return ", ".join(_type_shown(t) for t in handled_types(exc_type))


def _type_shown(exc_type: ast.expr) -> str:
    """An exception type by its class's name (`ConnectionClosed`); the few named in lower case
    by their module too (`socket.error`, `socket.timeout`: a bare `error` says nothing)."""
    name = last_name(exc_type)
    if name is None:
        return type(exc_type).__name__
    return (dotted_text(exc_type) or name) if name.islower() else name


def _reports_before_raising(handler: ast.ExceptHandler) -> bool:
    """A handler that logs the failure, or hands the exception on (to a call, an attribute),
    before it re-raises: the failure is not silent, and re-raising is a choice made knowingly
    (kafka's selector stores it and fails its waiters; cheroot's workers log it, then stop)."""
    name = handler.name
    for stmt in handler.body[:-1]:
        for node in ast.walk(stmt):
            if isinstance(node, ast.Call) and _logs_a_failure(node):
                return True
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in INSPECTING_BUILTINS:
                continue  # `getattr(e, "errno", None) == 9`: a look at the exception, not a hand-over
            if name is not None and isinstance(node, (ast.Call, ast.Assign)):
                values = [*node.args, *(k.value for k in node.keywords)] if isinstance(node, ast.Call) else [node.value]
                if any(isinstance(value, ast.Name) and value.id == name for value in values):
                    return True
    return False


def _logs_a_failure(call: ast.Call) -> bool:
    """`logger.exception(...)`, `log.error(...)`: a logger's report, not its debug chatter; or
    any call given the traceback (`self.bus.log(msg, level=40, traceback=True)`, `exc_info=e`,
    aiortc's `self.__log_warning(traceback.format_exc())`, dagster's
    `handler.report_pipes_framework_exception(name, sys.exc_info())`), or `traceback.print_exc()`."""
    func = call.func
    if any(k.arg in _TRACEBACK_KEYWORDS and not _is_false(k.value) for k in call.keywords):
        return True
    if any(isinstance(arg, ast.Call) and dotted_text(arg.func) == _EXC_INFO for arg in call.args):
        return True
    if dotted_text(func) in _TRACEBACK_REPORTS:
        return True  # reached inside the call that is given its text, or printing it itself
    return (
        isinstance(func, ast.Attribute)
        and func.attr in REPORTING_LOG_METHODS
        and "log" in (last_name(func.value) or "").lower()
    )


_TRACEBACK_KEYWORDS = frozenset({"exc_info", "traceback"})
_EXC_INFO = "sys.exc_info"
_TRACEBACK_REPORTS = frozenset(
    {"traceback.format_exc", "traceback.print_exc", "traceback.format_exception", "traceback.print_exception"}
)


def _is_false(value: ast.expr) -> bool:
    return isinstance(value, ast.Constant) and not value.value


def _only_closes(leaf: _Leaf) -> bool:
    """`self.r.close()`, `await client.aclose()`: the leaf closes something, and that is all."""
    value = leaf.stmt.value if leaf.header is None and isinstance(leaf.stmt, ast.Expr) else None
    if isinstance(value, ast.Await):
        value = value.value
    return (
        isinstance(value, ast.Call)
        and isinstance(value.func, ast.Attribute)
        and value.func.attr in CLOSE_METHODS
        and not value.args
        and not value.keywords
        and calls_nothing(value.func.value)
    )


def _io_call(call: ast.Call, _: str | None) -> bool:
    """A socket, file or select call (`sock.recv(n)`, `select.select(...)`, `os.read(fd, n)`)."""
    return isinstance(call.func, ast.Attribute) and call.func.attr in IO_METHODS


# The errors a decoder raises on what it cannot read, and the decoders that raise only those.
_DECODE_FAMILIES = ((VALUE_ERRORS, DECODERS), (JSON_DECODE_ERRORS, JSON_DECODERS))


def _decoder_of(leaf: _Leaf) -> Callable[[ast.Call, str | None], bool]:
    """A call of a decoder whose failure to read the handlers around the leaf take."""
    return lambda _, qualname: qualname in leaf.context.decoded


def _only_looks_up(leaf: _Leaf) -> bool:
    """`pin = pins[num]`, `handler = self._handlers[kind]`: a statement that only reads by key or
    index (names, attributes, constants) and binds names, or deletes so (trio's `del
    self._thread_cache._idle_workers[self]`): what it raises is KeyError or IndexError. A call,
    an operator or an attribute's assignment may raise anything."""
    stmt = leaf.stmt
    if leaf.header is None and isinstance(stmt, ast.Delete):
        deleted = [node for target in stmt.targets for node in ast.walk(target)]
        return all(isinstance(target, ast.Subscript) for target in stmt.targets) and all(
            isinstance(node, (*_LOOKUP_NODES, ast.Del)) or _a_negative_index(node) for node in deleted
        )
    if leaf.header is not None or not isinstance(stmt, (ast.Assign, ast.Expr)):
        return False
    targets = [t for target in getattr(stmt, "targets", []) for t in ast.walk(target)]
    if not all(isinstance(t, (ast.Name, ast.Tuple, ast.Store)) for t in targets):
        return False
    value = list(ast.walk(stmt.value))
    return any(isinstance(node, ast.Subscript) for node in value) and all(
        isinstance(node, _LOOKUP_NODES) or _a_negative_index(node) for node in value
    )


_LOOKUP_NODES = (ast.Subscript, ast.Name, ast.Attribute, ast.Constant, ast.Tuple, ast.Load, ast.Slice)


def _a_negative_index(node: ast.AST) -> bool:
    """`items[-1]`: a constant's minus, which cannot fail."""
    return isinstance(node, ast.USub) or (isinstance(node, ast.UnaryOp) and isinstance(node.operand, ast.Constant))


def _kept_by_type(handler: ast.ExceptHandler) -> ast.ExceptHandler:
    """The handler as what it keeps: `except Exception as e: if type(e) is not socket.timeout:
    raise e` (enterprise-gateway's kernel launcher), or `if not isinstance(e, X): raise`,
    re-raises all but X, as `except socket.timeout: pass` would; any other handler, as it is."""
    kept = _type_filter(handler)
    if kept is None:
        return handler
    return ast.copy_location(ast.ExceptHandler(type=kept, name=handler.name, body=[]), handler)


def _type_filter(handler: ast.ExceptHandler) -> ast.expr | None:
    """The types the handler keeps when its whole body re-raises whatever is not of them."""
    name = handler.name
    if name is None or len(handler.body) != 1:
        return None
    test = handler.body[0]
    if not (isinstance(test, ast.If) and not test.orelse and isinstance(test.body[-1], ast.Raise)):
        return None
    raised = test.body[-1].exc
    if not (raised is None or is_name(raised, name)):
        return None
    condition = test.test
    if (  # type(e) is not X, type(e) != X
        isinstance(condition, ast.Compare)
        and len(condition.ops) == 1
        and isinstance(condition.ops[0], (ast.IsNot, ast.NotEq))
        and isinstance(condition.left, ast.Call)
        and is_name(condition.left.func, "type")
        and len(condition.left.args) == 1
        and is_name(condition.left.args[0], name)
    ):
        return condition.comparators[0]
    if (  # not isinstance(e, X)
        isinstance(condition, ast.UnaryOp)
        and isinstance(condition.op, ast.Not)
        and isinstance(condition.operand, ast.Call)
        and is_name(condition.operand.func, "isinstance")
        and len(condition.operand.args) == 2
        and is_name(condition.operand.args[0], name)
    ):
        return condition.operand.args[1]
    return None


def _ends_in_raise(handler: ast.ExceptHandler) -> bool:
    return bool(handler.body) and isinstance(handler.body[-1], ast.Raise)


_MAX_ALIASES = 3


def _module_alias(expr: ast.expr, scope: Scope) -> tuple[ast.expr, Scope] | None:
    """What a module-level name assigned once holds, when that is a name, attribute or tuple."""
    found = module_constant(expr, scope)
    return found if found is not None and isinstance(found[0], (ast.Name, ast.Attribute, ast.Tuple)) else None


def _is_exit_type(expr: ast.expr) -> bool:
    if isinstance(expr, ast.Call):  # anyio.get_cancelled_exc_class()
        return last_name(expr.func) in CANCELLED_CLASS_GETTERS
    return last_name(expr) in EXIT_EXCEPTION_NAMES
