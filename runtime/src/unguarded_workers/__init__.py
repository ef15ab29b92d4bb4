"""unguarded-workers: find worker spawns whose failure escapes every guard, and guard them.

Production code imports the runtime from here (`wrap`, `supervise`, `heartbeat`, `install`); it is the
standard library only. The linter (``analysis``, ``cli``, ``flake8_plugin``, ``fix``) lives in
submodules that importing this package does not load: ``unguarded-workers-runtime`` ships this
file and ``runtime/``; a released ``unguarded-workers`` adds the linter beside them and depends
on it, one built from the repository carries both (hatch_build.py).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .runtime import (
        ErrorHandler,
        Failure,
        SafetyNet,
        SpawnSite,
        WorkerHung,
        heartbeat,
        install,
        set_error_handler,
        supervise,
        wrap,
    )


def _extend_path(path: list[str]) -> list[str]:
    """`pkgutil.extend_path` for plain directories, without its imports (15 ms of start-up).

    The linter's modules may sit in another directory of sys.path than this file: in the
    checkout's editable install (.venv, tox), runtime/src and src are both on sys.path, each
    holding part of the package. Installed from a wheel, the package is one directory and
    nothing is added.
    """
    seen = {os.path.realpath(portion) for portion in path}
    for entry in sys.path:
        if not isinstance(entry, str):
            continue
        portion = os.path.join(entry or os.curdir, "unguarded_workers")
        real = os.path.realpath(portion)
        if real not in seen and os.path.isdir(portion):
            seen.add(real)
            path.append(portion)
    return path


__path__ = _extend_path(__path__)

__version__ = "0.1.0"

__all__ = [
    "ErrorHandler",
    "Failure",
    "SafetyNet",
    "SpawnSite",
    "WorkerHung",
    "__version__",
    "heartbeat",
    "install",
    "set_error_handler",
    "supervise",
    "wrap",
]


def __getattr__(name: str) -> Any:
    # The runtime loads on first use, not on import: the linter's start-up does without it (and
    # its logging, 20 ms), and `install` loads asyncio and concurrent.futures only when called.
    if name in __all__ and name != "__version__":
        from . import runtime

        value = getattr(runtime, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
