"""A call-back when a module is imported after `install()`: the safety net covers uvloop and
gevent whether they are imported before it or after (`uvicorn.run(app)` imports uvloop when it
starts, long after the program's start-up called install()).

A finder first on `sys.meta_path` that finds nothing itself: for a watched name it asks the
finders after it, and wraps the loader so that the call-back runs once the module has executed.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from types import ModuleType
from typing import Any

__all__ = ["ImportWatch"]


class ImportWatch:
    def __init__(self) -> None:
        self._callbacks: dict[str, Callable[[ModuleType], None]] = {}
        self._lock = threading.Lock()

    def watch(self, name: str, callback: Callable[[ModuleType], None]) -> None:
        with self._lock:
            self._callbacks[name] = callback
            if self not in sys.meta_path:
                sys.meta_path.insert(0, self)

    def close(self) -> None:
        with self._lock:
            self._callbacks.clear()
            if self in sys.meta_path:
                sys.meta_path.remove(self)

    def find_spec(self, fullname: str, path: Any = None, target: Any = None) -> Any:
        with self._lock:
            callback = self._callbacks.pop(fullname, None)
        if callback is None:
            return None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return None  # a namespace package, or an old-style loader: the import goes on unwatched
        spec.loader = _Notifying(spec.loader, callback)
        return spec


class _Notifying:
    """The module's own loader, plus the call-back; put back on the module once it has run."""

    def __init__(self, loader: Any, callback: Callable[[ModuleType], None]) -> None:
        self._loader = loader
        self._callback = callback

    def create_module(self, spec: Any) -> Any:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        try:
            self._loader.exec_module(module)
        finally:
            module.__loader__ = self._loader
            if module.__spec__ is not None:
                module.__spec__.loader = self._loader
        self._callback(module)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._loader, name)
