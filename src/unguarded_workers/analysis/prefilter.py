"""The text prefilter: whether a module can start a worker at all, decided from the shapes of
its calls before it is parsed.

Every spawn the analysis reports is a call that passes the worker, by one of a few names:
`Thread(target=...)`, `executor.submit(fn)`, `loop.create_task(coro())`, `tg.start(child)`,
a configured spawner, a call of one of the project's spawn helpers; or the `run()` of a
thread class, or a thread class's call of its base's `__init__` with a `target`. So a module
is parsed only when its text holds such a call *with an argument* (the worker) or the def: a
word alone (`Thread` in a docstring, `form.submit()`, `t.start()`, `class Timer:`) does not
make it a candidate. Where an import renames a spawner
(`from threading import Thread as Worker`), the call has another name: a rename of one
counts as a spawn shape. A task group's `start(child)` counts only in a module that names a
task group or nursery, the receivers it is known by. A spawner the analysis knows only by its
qualified name (`threading.Timer`) counts only in a module that names its module, and called
by its bare name only where the module imports that name from it (kafka's own
`Timer(timeout_ms)` does not count, though the module imports `threading` for its locks); and a
name counts only whole (`IntervalTimer(` is not `Timer(`).

Each shape is searched for by a pattern that begins with its literal name (the regular
expression engine skips to it), after a substring test of the name: on 2,183 modules of 26
real projects that took 0.09 s, where one pattern with every alternative took 0.48 s.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Iterator

from ..options import Options

# The last names of the standard spawners (`threading.Thread`, `.submit`, ...): `Process` also
# stands for `BaseProcess` and a multiprocessing context's `.Process`.
SPAWNER_NAMES = (
    "Thread",
    "Timer",
    "Process",
    "start_new",
    "start_new_thread",
    "submit",
    "apply_async",
    "run_in_executor",
    "run_coroutine_threadsafe",
    "create_task",
    "ensure_future",
    "start_soon",
)
# The spawners known only by their qualified name (`threading.Timer`, not kafka's `Timer`): a
# module calls one only through an import, so only a module whose text names that root. The
# others are methods, recognised by their receivers (`self._loop.create_task`, `pool.submit`).
_ROOTS = {
    "Thread": "threading",
    "Timer": "threading",
    "Process": "multiprocessing",  # `multiprocessing.Process`, or a `get_context()`'s `.Process`
    "start_new": "_thread",
    "start_new_thread": "_thread",
    "ensure_future": "asyncio",
    "run_coroutine_threadsafe": "asyncio",
}
# `tg.start(child)`: a spawn only on a receiver known to be a task group (by these names).
_GROUP_START = "start"
_GROUP_WORDS = ("TaskGroup", "task_group", "ursery")
# The def of a thread class's worker (its class may subclass Thread through project classes).
_RUN_DEF = re.compile(r"def run\s*\(")
# A base's `__init__` called with `target` among its arguments: a Thread subclass that makes its
# thread run a target (`super().__init__(None, target, name)`, `Thread.__init__(self, target=f)`).
_BASE_INIT = re.compile(r"\.\s*__init__\s*\(((?:[^()]|\([^()]*\))*)\)")
_TARGET = re.compile(r"\btarget\b")
_ASYNC_BEFORE = re.compile(r"async\s+$")
# What makes a parameter list too hard to split by its commas: then the def counts.
_UNSPLIT = re.compile(r"[\"'#]|\blambda\b")
_OPENING, _CLOSING = "([{", ")]}"

# A call that passes something: the name, spaces or line continuations, `(`, then anything but `)`.
_CALL_TAIL = r"(?:\s|\\\r?\n)*\(\s*[^\s)]"
# What may stand between an attribute's dot and its name.
_BETWEEN = frozenset(" \t\\\r\n")
# A rename in an import (`Thread as Worker`): then calls use the other name.
_RENAME_TAIL = r"\s+as\s"


@functools.lru_cache(maxsize=256)
def _called(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(name) + _CALL_TAIL)


@functools.lru_cache(maxsize=256)
def _renamed(name: str) -> re.Pattern[str]:
    return re.compile(re.escape(name) + _RENAME_TAIL)


_Name = tuple[str, "str | None"]  # a name, and the root its module must name (None: no need)


@functools.lru_cache(maxsize=16)
def _names(spawners: frozenset[str], helpers: frozenset[str]) -> tuple[tuple[_Name, ...], tuple[_Name, ...]]:
    """The names a spawn call may have (renamed or not), each with the word its module must hold
    (configured spawners need none), and those of helpers (called by name only)."""
    configured = {name.rpartition(".")[2] for name in spawners}
    spawn_names = sorted({*SPAWNER_NAMES, *configured})
    helper_names = sorted(helpers - configured - set(SPAWNER_NAMES))
    return (
        tuple((name, None if name in configured else _ROOTS.get(name)) for name in spawn_names),
        tuple((name, None) for name in helper_names),
    )


def _calls(text: str, names: Iterable[_Name], *, renamed: bool) -> bool:
    present: dict[str, bool] = {}  # each root looked for once: `threading` for Thread and Timer
    for name, root in names:
        if root is not None:
            found = present.get(root)
            if found is None:
                found = present[root] = root in text
            if not found:
                continue
        if name not in text:
            continue
        if renamed and _renamed(name).search(text):
            return True
        imported: bool | None = None  # asked once, at the first call by the bare name
        for start in _call_starts(text, name):
            if root is None or _of_an_attribute(text, start):
                return True
            if imported is None:
                imported = _imported_from(text, name, root)
            if imported:
                return True
    return False


def _of_an_attribute(text: str, start: int) -> bool:
    """The call is of an attribute (`threading.Timer(`, `ctx.Process(`), spaces and line
    continuations aside."""
    at = start - 1
    while at >= 0 and text[at] in _BETWEEN:
        at -= 1
    return at >= 0 and text[at] == "."


@functools.lru_cache(maxsize=16)
def _imports_from(root: str) -> re.Pattern[str]:
    """`from ROOT import ...` (or from a module of ROOT's), with the names it imports."""
    return re.compile(rf"from\s+{re.escape(root)}(?:\s*\.\s*[\w.]+)?\s+import\s+(\([^)]*\)|(?:\\\r?\n|[^\n])*)")


def _imported_from(text: str, name: str, root: str) -> bool:
    """Whether the module imports `name` from `root` (or everything): a spawner known by its
    qualified name is called by its bare name only then (kafka's own `Timer(timeout_ms)` in a
    module that imports `threading` for its locks is not `threading.Timer`)."""
    for match in _imports_from(root).finditer(text):
        names = match.group(1)
        if "*" in names or re.search(rf"\b{re.escape(name)}\b", names):
            return True
    return False


def _may_name(text: str, name: str, root: str | None) -> bool:
    """The substring tests first: the root its module must name (if any; rarer than the
    name), and the name."""
    return (root is None or root in text) and name in text


def _call_starts(text: str, name: str) -> Iterator[int]:
    """Where the calls of `name` with an argument start: the whole name only, not the end of
    another (`IntervalTimer(` is no call of `Timer`)."""
    for match in _called(name).finditer(text):
        start = match.start()
        if starts_a_word(text, start):
            yield start


def starts_a_word(text: str, start: int) -> bool:
    """Nothing of a name runs into `start` from before it."""
    return start == 0 or not (text[start - 1].isalnum() or text[start - 1] == "_")


def calls_any(source: str, names: Iterable[str]) -> bool:
    """Whether the module calls one of `names` with an argument (a helper of another module)."""
    return _calls(source, ((name, None) for name in names), renamed=False)


def spawn_calls(source: str, options: Options | None = None) -> list[int] | None:
    """Where the module's calls of a spawner's name with an argument start (offsets of the name,
    configured spawners included); None when an import renames a spawner (its calls then have
    names of the module's choosing)."""
    spawners = frozenset(options.spawners) if options is not None else frozenset()
    names, _ = _names(spawners, frozenset())
    found: list[int] = []
    for name, root in names:
        if not _may_name(source, name, root):
            continue
        if _renamed(name).search(source):
            return None
        found += _call_starts(source, name)
    return sorted(set(found))


def might_spawn(source: str, options: Options | None = None, helpers: frozenset[str] = frozenset()) -> bool:
    """False means the module certainly starts no worker: it holds no spawn call with an
    argument (nor a rename of a spawner, nor a call of one of the project's spawn helpers,
    named in `helpers`), no task group's `start(child)`, and no `def run(`."""
    spawners = frozenset(options.spawners) if options is not None else frozenset()
    names, helper_calls = _names(spawners, helpers)
    if _spawns_by_itself(source, spawners, names):
        return True
    return bool(helper_calls) and _calls(source, helper_calls, renamed=False)


# What `_spawns_by_itself` answered of each text, by its hash and length: a run asks it of every
# file twice (its first pass looks for helpers, its second for spawns), each time of the text
# read anew. Bounded: a long-lived server asks of every version of every file it is shown.
_ANSWERED: dict[tuple[int, int, frozenset[str]], bool] = {}
_ANSWERED_MAX = 1 << 16


def _spawns_by_itself(source: str, spawners: frozenset[str], names: tuple[_Name, ...]) -> bool:
    """`might_spawn` but for the helpers' calls: what the text says whatever the project's helpers."""
    key = (hash(source), len(source), spawners)
    answer = _ANSWERED.get(key)
    if answer is None:
        answer = (
            _calls(source, names, renamed=True)
            or ("def run" in source and _defines_thread_run(source))
            or bool(base_init_calls(source))
            or (
                _GROUP_START in source
                and any(word in source for word in _GROUP_WORDS)
                and _calls(source, ((_GROUP_START, None),), renamed=False)
            )
        )
        if len(_ANSWERED) >= _ANSWERED_MAX:
            _ANSWERED.clear()
        _ANSWERED[key] = answer
    return answer


def base_init_calls(source: str) -> list[int]:
    """Where the module's calls of a base's `__init__` that pass a `target` start (the offset of
    `__init__`): in a Thread subclass, a spawn of that target (`spawns.SpawnFinder._base_init`)."""
    if "__init__" not in source or "target" not in source:
        return []
    return [
        match.start() + match.group(0).index("__init__")
        for match in _BASE_INIT.finditer(source)
        if _TARGET.search(match.group(1))
    ]


def _defines_thread_run(source: str) -> bool:
    """Whether the text holds a `def run(` that a thread could start as its worker: not an
    `async def`, and callable with its instance alone (`spawns.runs_alone`). A thread calls
    `self.run()`: `def run(self, payload)` in a handler class, an `async def run(self)` of a
    service, are no thread's worker. A list of parameters this does not split (quotes, a
    comment, a lambda) counts, as does one with no parameter."""
    for match in _RUN_DEF.finditer(source):
        start = match.start()
        if not starts_a_word(source, start):
            continue  # `undef run(`
        if _ASYNC_BEFORE.search(source, max(0, start - 32), start):
            continue
        parameters = _parameters(source, match.end())
        if parameters is None or not parameters:
            return True
        if all(p in ("/", "*") or p.startswith("*") or "=" in p for p in parameters[1:]):
            return True
    return False


def _parameters(source: str, start: int) -> list[str] | None:
    """The parameters of a def whose `(` ends before `start`, split at their commas; None when
    the text does not say simply where they end."""
    depth = 0
    parts: list[str] = []
    begin = start
    for at in range(start, len(source)):
        char = source[at]
        if char in _OPENING:
            depth += 1
        elif char in _CLOSING:
            if depth == 0:
                text = source[start:at]
                if _UNSPLIT.search(text):
                    return None
                parts.append(source[begin:at])
                return [part.strip() for part in parts if part.strip()]
            depth -= 1
        elif char == "," and depth == 0:
            parts.append(source[begin:at])
            begin = at + 1
    return None
