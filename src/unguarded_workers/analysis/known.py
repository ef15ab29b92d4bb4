"""What the analysis knows of the standard library, asyncio, anyio and trio, by name."""

from __future__ import annotations

import enum
import re
from collections.abc import Callable
from dataclasses import dataclass

from ..codes import SpawnKind


class Receiver(enum.Enum):
    """What an object a method is called on is known to be."""

    EXECUTOR = "executor"
    POOL = "pool"
    LOOP = "loop"
    TASK_GROUP = "task group"
    MP_CONTEXT = "multiprocessing context"
    QUEUE = "queue"
    CONTEXT_VAR = "context variable"


@dataclass(frozen=True)
class ArgSpec:
    """Where a spawner takes its worker: by keyword and/or position."""

    keyword: str | None
    position: int | None
    coroutine: bool  # a coroutine object (worker(x)) rather than a callable (worker)


TARGET_KW_1 = ArgSpec("target", 1, coroutine=False)  # Thread(group, target) and Process alike
TARGET_KW_2 = ArgSpec("target", 2, coroutine=False)  # Thread.__init__(self, group, target) in a subclass
CALLABLE_0 = ArgSpec(None, 0, coroutine=False)
CORO_0 = ArgSpec(None, 0, coroutine=True)

# Spawning functions and classes, by qualified name.
SPAWN_FUNCTIONS: dict[str, tuple[SpawnKind, ArgSpec]] = {
    "threading.Thread": (SpawnKind.THREAD, TARGET_KW_1),
    "threading.Timer": (SpawnKind.THREAD, ArgSpec("function", 1, coroutine=False)),
    "_thread.start_new_thread": (SpawnKind.THREAD, ArgSpec("function", 0, coroutine=False)),
    "_thread.start_new": (SpawnKind.THREAD, ArgSpec("function", 0, coroutine=False)),
    "multiprocessing.Process": (SpawnKind.THREAD, TARGET_KW_1),
    "multiprocessing.context.Process": (SpawnKind.THREAD, TARGET_KW_1),
    "multiprocessing.process.BaseProcess": (SpawnKind.THREAD, TARGET_KW_1),
    "multiprocessing.dummy.Process": (SpawnKind.THREAD, TARGET_KW_1),
    "asyncio.create_task": (SpawnKind.TASK, ArgSpec("coro", 0, coroutine=True)),
    "asyncio.tasks.create_task": (SpawnKind.TASK, ArgSpec("coro", 0, coroutine=True)),
    "asyncio.ensure_future": (SpawnKind.TASK, ArgSpec("coro_or_future", 0, coroutine=True)),
    "asyncio.tasks.ensure_future": (SpawnKind.TASK, ArgSpec("coro_or_future", 0, coroutine=True)),
    "asyncio.run_coroutine_threadsafe": (SpawnKind.EXECUTOR, ArgSpec("coro", 0, coroutine=True)),
    "asyncio.tasks.run_coroutine_threadsafe": (SpawnKind.EXECUTOR, ArgSpec("coro", 0, coroutine=True)),
}

# Spawning methods, by name, whatever the receiver (the analysis checks what it is), with where
# each takes its worker.
METHOD_SPAWNERS: dict[str, ArgSpec] = {
    "start_soon": CALLABLE_0,
    "run_in_executor": ArgSpec(None, 1, coroutine=False),
    "submit": CALLABLE_0,
    "apply_async": ArgSpec("func", 0, coroutine=False),
    "create_task": ArgSpec("coro", 0, coroutine=True),
    "start": CALLABLE_0,
    "Process": TARGET_KW_1,
}

# Spawners that start a process: its failure shows in its exit status.
PROCESS_SPAWNERS = frozenset(
    {
        "multiprocessing.Process",
        "multiprocessing.context.Process",
        "multiprocessing.process.BaseProcess",
        ".Process",  # a multiprocessing context's
    }
)

# Make a task only from a coroutine; anything else awaitable is handed back or wrapped.
ENSURE_FUTURE = frozenset({"asyncio.ensure_future", "asyncio.tasks.ensure_future"})

# Classes whose subclasses' run() is the worker (UW102).
THREAD_BASES = frozenset({"threading.Thread", "threading.Timer", "multiprocessing.dummy.Process"})
PROCESS_BASES = frozenset(
    {"multiprocessing.Process", "multiprocessing.context.Process", "multiprocessing.process.BaseProcess"}
)
# What reads a process's exit status: `p.exitcode`, `p.sentinel` (to wait on), `p.is_alive()`.
EXIT_STATUS_READS = frozenset({"exitcode", "sentinel", "is_alive"})

# Calls whose result is a receiver of a known kind.
RECEIVER_FACTORIES: dict[str, Receiver] = {
    "concurrent.futures.ThreadPoolExecutor": Receiver.EXECUTOR,
    "concurrent.futures.ProcessPoolExecutor": Receiver.EXECUTOR,
    "concurrent.futures.InterpreterPoolExecutor": Receiver.EXECUTOR,
    "concurrent.futures.thread.ThreadPoolExecutor": Receiver.EXECUTOR,
    "concurrent.futures.process.ProcessPoolExecutor": Receiver.EXECUTOR,
    "multiprocessing.Pool": Receiver.POOL,
    "multiprocessing.pool.Pool": Receiver.POOL,
    "multiprocessing.pool.ThreadPool": Receiver.POOL,
    "multiprocessing.dummy.Pool": Receiver.POOL,
    "asyncio.get_event_loop": Receiver.LOOP,
    "asyncio.get_running_loop": Receiver.LOOP,
    "asyncio.new_event_loop": Receiver.LOOP,
    "asyncio.events.get_event_loop": Receiver.LOOP,
    "asyncio.events.get_running_loop": Receiver.LOOP,
    "asyncio.events.new_event_loop": Receiver.LOOP,
    "asyncio.TaskGroup": Receiver.TASK_GROUP,
    "asyncio.taskgroups.TaskGroup": Receiver.TASK_GROUP,
    "anyio.create_task_group": Receiver.TASK_GROUP,
    "trio.open_nursery": Receiver.TASK_GROUP,
    "multiprocessing.get_context": Receiver.MP_CONTEXT,
    "queue.Queue": Receiver.QUEUE,
    "queue.SimpleQueue": Receiver.QUEUE,
    "queue.LifoQueue": Receiver.QUEUE,
    "queue.PriorityQueue": Receiver.QUEUE,
    "asyncio.Queue": Receiver.QUEUE,
    "asyncio.LifoQueue": Receiver.QUEUE,
    "asyncio.PriorityQueue": Receiver.QUEUE,
    "asyncio.queues.Queue": Receiver.QUEUE,
    "multiprocessing.Queue": Receiver.QUEUE,
    "multiprocessing.SimpleQueue": Receiver.QUEUE,
    "multiprocessing.JoinableQueue": Receiver.QUEUE,
    "contextvars.ContextVar": Receiver.CONTEXT_VAR,
}
# Methods of a multiprocessing context that return a receiver.
CONTEXT_FACTORIES: dict[str, Receiver] = {"Pool": Receiver.POOL}

# Annotations, by the last segment of their qualified name.
RECEIVER_ANNOTATIONS: dict[str, Receiver] = {
    "Executor": Receiver.EXECUTOR,
    "ThreadPoolExecutor": Receiver.EXECUTOR,
    "ProcessPoolExecutor": Receiver.EXECUTOR,
    "InterpreterPoolExecutor": Receiver.EXECUTOR,
    "ThreadPool": Receiver.POOL,
    "AbstractEventLoop": Receiver.LOOP,
    "BaseEventLoop": Receiver.LOOP,
    "TaskGroup": Receiver.TASK_GROUP,
    "Nursery": Receiver.TASK_GROUP,
    "Queue": Receiver.QUEUE,
    "SimpleQueue": Receiver.QUEUE,
    "LifoQueue": Receiver.QUEUE,
    "PriorityQueue": Receiver.QUEUE,
    "JoinableQueue": Receiver.QUEUE,
    "ContextVar": Receiver.CONTEXT_VAR,
}

# The runtime's guards: `supervise` contains a failure as `wrap` does, between restarts.
GUARDS = frozenset({"unguarded_workers.wrap", "unguarded_workers.supervise"})
PARTIALS = frozenset({"functools.partial"})
# `@functools.wraps(func)` on a nested def: it copies the name and docstring, and cannot fail.
WRAPS = "functools.wraps"
# A weak reference: calling it gives the object or None, and runs none of the object's code.
WEAK_REFERENCES = frozenset({"weakref.ref", "weakref.WeakMethod"})
# Decorators after which a def's own body is what a worker runs (a thread's target decorated
# otherwise runs what the decorator returns, which the analysis does not follow).
TRANSPARENT_DECORATORS = frozenset(
    {
        "builtins.staticmethod",
        "builtins.classmethod",
        WRAPS,
        "functools.lru_cache",
        "functools.cache",
        "abc.abstractmethod",
        "typing.override",
        "typing_extensions.override",
        "typing.final",
        "types.coroutine",
        "asyncio.coroutine",
    }
)

# A logger's calls, and its level queries (`if log.isEnabledFor(logging.DEBUG):`).
# `trace` and `fatal`: the levels loguru's logger and a project's own logging class add (salt's
# `log.trace(...)`), as cheap as `debug`.
LOG_METHODS = frozenset(
    {
        "debug", "info", "warning", "warn", "error", "exception", "critical", "fatal", "trace", "log",
        "isEnabledFor", "getEffectiveLevel",
    }
)  # fmt: skip
# A logger's calls that report a failure (not its debug chatter).
REPORTING_LOG_METHODS = frozenset({"error", "exception", "critical", "fatal", "warning", "log"})
SLEEPS = frozenset({"time.sleep", "asyncio.sleep", "trio.sleep", "anyio.sleep"})
# Calls that cannot fail in a coroutine, which runs in a loop (in a thread they raise
# RuntimeError: no running loop).
INFALLIBLE_IN_COROUTINES = frozenset(
    {"asyncio.get_running_loop", "asyncio.events.get_running_loop", "asyncio.get_event_loop", "asyncio.current_task"}
)
# Calls that cannot fail: setting the thread's loop before running it (a thread-local
# assignment), reading a clock, asking which thread or process this is.
INFALLIBLE_CALLS = frozenset(
    {
        "asyncio.set_event_loop",
        "asyncio.events.set_event_loop",
        "asyncio.new_event_loop",  # a thread's own loop, made before it runs anything
        "asyncio.events.new_event_loop",
        "time.time",
        "random.random",
        "time.time_ns",
        "time.monotonic",
        "time.monotonic_ns",
        "time.perf_counter",
        "time.perf_counter_ns",
        "time.process_time",
        "time.thread_time",
        "timeit.default_timer",
        "threading.current_thread",
        "threading.get_ident",
        "threading.get_native_id",
        "os.getpid",
        "os.getppid",
        # Random bytes and identifiers from the system's source (`os.urandom(12)`).
        "os.urandom",
        "uuid.uuid4",
        "secrets.token_bytes",
        "secrets.token_hex",
        "os._exit",  # ends the process: nothing after it, and nothing to fail
        "sys.exc_info",  # the exception being handled, or Nones
        # Context managers that run nothing of their own.
        "contextlib.nullcontext",
        "contextlib.suppress",
        "trio.CancelScope",
        "anyio.CancelScope",
        # A new lock, event or queue: memory, nothing that fails (`self._ready = threading.Event()`).
        "threading.Event",
        "threading.Lock",
        "threading.RLock",
        "threading.Condition",
        "asyncio.Event",
        "asyncio.Lock",
        "asyncio.Condition",
        "asyncio.Queue",
        "queue.Queue",
        "queue.SimpleQueue",
    }
)
# Builtins that only look at what they are given: an exception a handler inspects, an object a
# worker reads an attribute of (`getattr(self._proc, "stdout")` hands the process to no one).
INSPECTING_BUILTINS = frozenset(
    {"getattr", "hasattr", "isinstance", "issubclass", "type", "len", "id", "repr", "str", "bool", "vars"}
)
# Builtins that only look at what they are given: harmless exactly when their arguments are
# (`bool(self.conn.eval(...))` is the Redis call's verdict).
PURE_BUILTINS = frozenset(
    {
        "builtins.isinstance",
        "builtins.issubclass",
        "builtins.any",  # `any(ws.processing for ws in workers.values())`: truth, counted
        "builtins.all",
        "builtins.hasattr",
        "builtins.callable",
        "builtins.id",
        "builtins.len",
        "builtins.bool",
        "builtins.type",  # `type(self._address) is tuple`
        # Copies into a builtin container (`kwargs = dict(kwargs)`).
        "builtins.dict",
        "builtins.list",
        "builtins.tuple",
        "builtins.set",
        "builtins.frozenset",
        "builtins.min",
        "builtins.max",
        "builtins.abs",
        "builtins.repr",
        "builtins.range",  # `for _ in range(self.workers)`: counting
        # Iterators over what they are given (`for item, future in zip(items, futures)`), which
        # iterate it as `list()` does.
        "builtins.zip",
        "builtins.enumerate",
        "collections.deque",
        # A thread object only holds what it is given until it is started (and starting it
        # fails only at the system's limit on threads: `harmless`).
        "threading.Thread",
        "threading.Timer",
        # A weak reference to an object: made, not followed.
        "weakref.ref",
        "weakref.WeakMethod",
        "collections.OrderedDict",
        "collections.defaultdict",
    }
)
# The thread objects a worker makes, whose `start()` cannot fail short of the system's limit.
THREAD_OBJECTS = frozenset({"threading.Thread", "threading.Timer"})
# Methods that cannot fail when called with nothing: a task's or handle's cancel(), marking a
# queue item done, a loop's clock (`loop.time()`, `IOLoop.current().time()`), asking a task,
# thread, queue or lock its state.
NO_ARGUMENT_METHODS = frozenset(
    {
        "cancel",
        "task_done",
        "time",
        "done",
        "cancelled",
        "is_alive",
        "isAlive",
        "qsize",
        "empty",
        "full",
        "locked",
        "is_running",
        "is_closed",
    }
)
# A copy or a view of a container (`for key, value in self.expirations.copy().items():`):
# harmless when what it is taken of is (`self.nameserver.list().items()` is the list() call's).
CONTAINER_VIEWS = frozenset({"copy", "items", "keys", "values"})
# Methods of the builtin containers that put in or take out without failing.
CONTAINER_METHODS = frozenset({"append", "appendleft", "add", "discard"})
# `with contextlib.suppress(...)`: a try whose handler is the types it names.
SUPPRESS = frozenset({"contextlib.suppress"})
# What socket, file and select calls raise: a handler of one of these covers them.
OS_ERRORS = frozenset(
    {
        "builtins.OSError",
        "builtins.IOError",
        "builtins.EnvironmentError",
        "socket.error",
        "select.error",
        "ssl.SSLError",
        "builtins.ConnectionError",
    }
)
# What a subscript of a builtin container raises when the key or index is not there.
LOOKUP_ERRORS = frozenset({"builtins.KeyError", "builtins.IndexError", "builtins.LookupError"})
# What a decoder raises on what it cannot read, and the decoders that raise only that (and
# RecursionError on absurd nesting): json's JSONDecodeError (orjson's and ujson's subclass it or
# ValueError), binascii.Error, msgpack's ExtraData, FormatError and StackError are all ValueErrors.
VALUE_ERRORS = frozenset({"builtins.ValueError"})
# What json's decoders raise on what they cannot read, and those that raise only that (orjson's
# JSONDecodeError subclasses json's): `except JSONDecodeError` around `orjson.loads(msg.data)`.
JSON_DECODE_ERRORS = frozenset({"json.JSONDecodeError", "json.decoder.JSONDecodeError"})
JSON_DECODERS = frozenset({"json.loads", "json.load", "orjson.loads"})
DECODERS = frozenset(
    {
        "json.loads", "json.load", "orjson.loads", "ujson.loads", "base64.b64decode", "base64.urlsafe_b64decode",
        "base64.b16decode", "base64.b32decode", "binascii.unhexlify", "binascii.a2b_base64", "bytes.fromhex",
        "msgpack.unpackb", "msgpack.loads", "uuid.UUID", "ipaddress.ip_address", "ipaddress.ip_network",
    }
)  # fmt: skip
IO_METHODS = frozenset(
    {
        "read", "readline", "readinto", "write", "writelines", "flush", "close", "recv", "recv_into", "recvfrom",
        "send", "sendall", "sendto", "accept", "connect", "shutdown", "select", "poll",
        "sock_recv", "sock_sendall", "sock_accept", "sock_connect",
        "bind", "listen", "setsockopt", "settimeout", "setblocking",
        "kill",  # `os.kill(pid, 0)`: OSError (no such process, not allowed)
    }
)  # fmt: skip
# Calls whose failure is likely (a peer goes away, a host is down), by their last name: the
# line a report names, before an earlier one that fails only in principle. Not `close()` or
# `flush()`, which clean up, nor `select()`/`poll()`, which wait.
LIKELY_IO = frozenset(
    {
        "read", "readline", "readinto", "write", "writelines", "recv", "recv_into", "recvfrom", "send", "sendall",
        "sendto", "accept", "connect", "sock_recv", "sock_sendall", "sock_accept", "sock_connect", "open",
        "urlopen", "request", "create_connection", "open_connection", "getaddrinfo",
        "bind",  # a port or path in use
        "execute", "executemany", "commit",  # a database's: locked, gone, a constraint broken
        "check_output", "check_call",  # a command that fails: CalledProcessError
        "ping",  # a keep-alive's frame to a peer that may be gone
    }
)  # fmt: skip
# Decoding what a peer sent (not UTF-8, not JSON: `json.loads(command.decode())`), by the last
# name: a loop's likely death as I/O is (the first of either that its round runs), before a line
# that fails only in principle (spyder's `fname.decode('utf-8')` before its `req.sendall(b' ')`).
LIKELY_DECODE = frozenset({"decode", "loads"})
# Closing a resource: a worker that does nothing else that can fail (a fire-and-forget close
# of a response or a client) loses only a failure to close what is going away.
CLOSE_METHODS = frozenset({"close", "aclose"})
# Putting one item on a queue: the consumer does the work, and its own failure is its own.
ENQUEUE_METHODS = frozenset({"put", "put_nowait"})
# Event/Condition methods: harmless when called with nothing but an optional timeout.
EVENT_METHODS = frozenset({"set", "clear", "is_set", "isSet", "notify", "notify_all"})
# A context variable's set and reset cannot fail (its `get()` can: LookupError, with no default).
CONTEXT_VAR_METHODS = frozenset({"set", "reset"})
# Taking and giving back a lock (`self._lock.acquire(blocking=True)`), on a receiver whose name
# says it is one: a wait, not work (releasing a lock not held is a bug, not a failure to expect).
LOCK_METHODS = frozenset({"acquire", "release"})
# `_lock`, `send_lock`, `rlock`, `_writeLock`, `LOCK`, `semaphore`, `_sem`; not `clock` or `block`.
LOCK_NAME = re.compile(r"(?:^|_)(?:r?lock|sem|semaphore|mutex)$", re.IGNORECASE)
LOCK_NAME_CAMEL = re.compile(r"[a-z0-9](?:R?Lock|Sem|Semaphore|Mutex)$")
# The classes of locks and semaphores, by their last name (`threading.BoundedSemaphore(n)`).
LOCK_CLASSES = frozenset({"Lock", "RLock", "Semaphore", "BoundedSemaphore"})


def names_a_lock(name: str) -> bool:
    """`self._lock`, `send_lock`, `_sem`, `writeLock`: a name that says it holds a lock."""
    return LOCK_NAME.search(name) is not None or LOCK_NAME_CAMEL.search(name) is not None


# A condition's wait until its predicate holds: `cond.wait_for(lambda: ready, timeout)`.
CONDITION_WAIT_FOR = "wait_for"
# Waiting: `event.wait(timeout)`, `thread.join()`, `queue.join()` (never `"".join(parts)`).
WAIT_METHODS = frozenset({"wait", "join"})
# What bounds a wait in asyncio, trio and anyio: `wait_for(event.wait(), 5)` around it, or a
# `with asyncio.timeout(5):` / `with trio.move_on_after(5):` scope it runs in.
TIMEOUT_WRAPPERS = frozenset({"wait_for"})
# `asyncio.wait_for(queue.get(), timeout)`: what it raises of its own, and what catches that.
WAIT_FOR = frozenset({"asyncio.wait_for", "asyncio.tasks.wait_for"})
TIMEOUT_ERRORS = frozenset(
    {
        "builtins.TimeoutError",
        "asyncio.TimeoutError",
        "asyncio.exceptions.TimeoutError",
        "concurrent.futures.TimeoutError",
    }
)
TIMEOUT_SCOPES = frozenset({"timeout", "timeout_at", "fail_after", "fail_at", "move_on_after", "move_on_at"})
PRINT = "builtins.print"
# What print does, spelled out: a spinner's `sys.stdout.write(frame)` (shodan's, frida-tools').
STANDARD_STREAM_WRITES = frozenset(
    f"sys.{stream}.{method}" for stream in ("stdout", "stderr") for method in ("write", "flush")
)
# The terminal, for a worker that only shows something there (`display`), and its writes.
TERMINAL_STREAMS = frozenset({"sys.stdout", "sys.stderr", "sys.__stdout__", "sys.__stderr__"})
STREAM_WRITE_METHODS = frozenset({"write", "writelines", "flush"})
# Taking the next item or reading a value: a worker's wait, not its work.
RECEIVE_METHODS = frozenset({"get", "get_nowait", "receive", "recv", "accept"})
ANEXT = "builtins.anext"
NEXT = "builtins.next"
CYCLE = "itertools.cycle"
# asyncio's coroutine functions: calling one makes a coroutine and runs none of it (what it
# raises, it raises where the coroutine is awaited).
ASYNCIO_COROUTINE_FUNCTIONS = WAIT_FOR | {"asyncio.wait", "asyncio.tasks.wait", "asyncio.sleep"}
# Running a coroutine to its end, here: `asyncio.run(main())`, `loop.run_until_complete(self._run())`.
RUN_TO_COMPLETION = frozenset({"asyncio.run", "asyncio.runners.run"})
RUN_UNTIL_COMPLETE = "run_until_complete"
ITER = "builtins.iter"
# A worker whose only work is one of these: the loop and the server log their
# handlers' errors and keep going (asyncio's loop exception handler, socketserver's
# handle_error).
SERVE_METHODS = frozenset({"run_forever", "serve_forever"})
# socketserver's one request: `self.server.handle_request()` hands its handler's failure to
# `handle_error`. Only with no argument, on another object (a project's own
# `self.handle_request(req)` is its work).
SERVE_ONE_METHOD = "handle_request"
# Conversions of constants, evaluated to know whether they fail: `float("inf")` does not.
CONSTANT_CONVERSIONS: dict[str, Callable[..., object]] = {
    "builtins.float": float,
    "builtins.int": int,
    "builtins.complex": complex,
    "builtins.str": str,
}
# Scheduling a callback on an event loop: it runs later, inside the loop, which logs its
# failure; the call itself only queues it (redis-py's loop threads: `loop.call_soon(ready.set)`
# before `loop.run_forever()`). A future's `add_done_callback` too: asyncio schedules the
# callback on the loop, concurrent.futures calls it and logs what it raises.
SCHEDULE_METHODS = frozenset({"call_soon", "call_soon_threadsafe", "call_later", "call_at", "add_done_callback"})
GET_LOGGER = "getLogger"
LOGGING_GET_LOGGER = "logging.getLogger"

BROAD_EXCEPTIONS = frozenset({"builtins.Exception", "builtins.BaseException"})
# Handlers of these alone may re-raise: cancellation and exit must propagate.
EXIT_EXCEPTION_NAMES = frozenset({"CancelledError", "KeyboardInterrupt", "SystemExit", "GeneratorExit", "Cancelled"})
CANCELLED_CLASS_GETTERS = frozenset({"get_cancelled_exc_class"})

# Calls that take futures/tasks and return one that carries their results: the
# inner ones are consumed exactly when the outer one is.
GATHER = "asyncio.gather"
FUTURE_COMBINATORS = frozenset({GATHER, "asyncio.shield", "asyncio.wrap_future"})

# Methods of a task/future/container that do not retrieve a task's exception.
NON_CONSUMING_METHODS = frozenset(
    {
        "add", "append", "discard", "remove", "clear", "cancel", "done", "cancelled",
        "set_name", "get_name", "get_coro", "get_loop", "get_stack", "print_stack",
    }
)  # fmt: skip
# Methods that put their argument into the container they are called on.
CONTAINER_INSERTS = frozenset({"add", "append", "appendleft", "discard", "remove", "insert"})
# Methods that take an item out of a container: the item's use decides.
CONTAINER_TAKES = frozenset({"pop", "popleft"})
# `.add_done_callback(SET.discard)`: the keep-a-reference idiom, which retrieves nothing.
FORGETTING_CALLBACKS = frozenset({"discard", "remove"})
