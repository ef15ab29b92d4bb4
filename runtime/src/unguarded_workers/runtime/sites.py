"""Where a spawn happened: the first frame outside the concurrency machinery, and which spawner.

Recorded on every spawn while the safety net is installed, so it is kept cheap: a walk over
the machinery's frames and a tuple. Naming the spawner (`asyncio.TaskGroup.create_task`,
`loop.run_in_executor`...) is left until a failure needs it.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import importlib.util
import os
import threading
from types import CodeType, FrameType
from typing import Optional

from .failure import SpawnSite

__all__ = ["RUNNERS", "Site", "Sites", "how_of", "spawn_site"]

# (file, line, function, the patch's own name for the spawner, the outermost machinery frame's
# code and module): a plain tuple per spawn.
Site = tuple[str, int, str, str, Optional[CodeType], Optional[str]]

# Spawners whose task's failure propagates synchronously to the line that called them (the
# traceback shows that line already): no note.
RUNNERS = frozenset({"asyncio.run", "asyncio.Runner.run", "loop.run_until_complete", "uvloop.run"})

_RUNTIME = os.path.dirname(os.path.abspath(__file__)) + os.sep
# Our own patches, named for the spawner the program called.
_PATCHES = {"run_in_executor": "loop.run_in_executor"}


def _package_dir(name: str) -> str | None:
    """A package's directory, found without importing it (it may be imported later)."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    origin = spec.origin if spec is not None else None
    if not origin or not origin.endswith("__init__.py"):
        return None
    return os.path.dirname(origin) + os.sep


class Sites:
    """Finds spawn sites; the machinery is the standard library's and the loops' it runs on."""

    def __init__(self) -> None:
        paths = [threading.__file__, os.path.dirname(asyncio.__file__) + os.sep]
        paths.append(os.path.dirname(concurrent.futures.__file__) + os.sep)
        paths.append(_RUNTIME)
        # anyio's task groups and uvloop's run() spawn for the program; gevent's pools too.
        paths.extend(path for path in map(_package_dir, ("anyio", "uvloop", "gevent")) if path)
        self.machinery = tuple(paths)
        # A spawn whose every frame is machinery up to the loop's dispatch of a callback was made
        # by the loop itself (a server's connection task): the program has no line for it.
        self._dispatch = asyncio.events.Handle._run.__code__

    def site(self, frame: FrameType | None, how: str) -> Site | None:
        machinery = self.machinery
        outer = None
        while frame is not None and frame.f_code.co_filename.startswith(machinery):
            if frame.f_code is self._dispatch:
                return None
            outer = frame
            frame = frame.f_back
        if frame is None:
            return None
        code = frame.f_code
        if outer is None:
            return (code.co_filename, frame.f_lineno, code.co_name, how, None, None)
        namespace = outer.f_globals  # None in gevent's records of a greenlet's spawning stack
        module = namespace.get("__name__") if namespace is not None else self._package_of(outer.f_code.co_filename)
        return (code.co_filename, frame.f_lineno, code.co_name, how, outer.f_code, module)

    def _package_of(self, filename: str) -> str | None:
        for prefix in self.machinery:
            if filename.startswith(prefix) and prefix.endswith(os.sep):
                return os.path.basename(prefix.rstrip(os.sep))
        return None


def how_of(site: Site) -> str:
    """The spawner's name: the public name of the outermost machinery function the program
    called (`asyncio.TaskGroup.create_task`), else the patched method's (`loop.create_task`)."""
    _, _, _, how, code, module = site
    if code is None or not module:
        return how
    if code.co_filename.startswith(_RUNTIME):
        return _PATCHES.get(code.co_name, how)
    top = module.partition(".")[0]
    if top == "concurrent":
        return how  # Executor.map and the like: the executor's submit
    if code.co_filename.endswith("base_events.py"):
        return f"loop.{code.co_name}"
    qualname: str = getattr(code, "co_qualname", code.co_name)  # 3.11+: TaskGroup.create_task
    return f"{top}.{qualname}"


def spawn_site(site: Site | None) -> SpawnSite | None:
    return SpawnSite(site[0], site[1], site[2]) if site is not None else None
