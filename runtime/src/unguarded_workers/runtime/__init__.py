"""The runtime half: guards that run in production. Standard library only, and nothing of the linter.

- `guard`: `wrap()`, which catches, reports and contains a worker's failure;
- `supervision`: `supervise()`, which restarts it, and ends the process when it keeps failing
  (`exiting`), or when it hangs (`liveness`: `heartbeat()`, the watchdog; `hung`);
- `delivery`: `deliver=`, where a guard sends a failure so that whoever waits is released;
- `notes`: the spawn site as a note on the worker's exception (Go's `created by`);
- `safety_net`: `install()`, which reports with their spawn site the failures that escaped;
- `failure`: the `Failure` a handler receives, and where reports go;
- `callables`: the guards' callable objects.

`safety_net` loads asyncio and concurrent.futures, so it is imported on first use of
`install` / `SafetyNet` (`import unguarded_workers` stays light).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .failure import ErrorHandler, Failure, SpawnSite, set_error_handler
from .guard import wrap
from .liveness import WorkerHung, heartbeat
from .supervision import supervise

if TYPE_CHECKING:
    from .safety_net import SafetyNet, install

__all__ = [
    "ErrorHandler",
    "Failure",
    "SafetyNet",
    "SpawnSite",
    "WorkerHung",
    "heartbeat",
    "install",
    "set_error_handler",
    "supervise",
    "wrap",
]


def __getattr__(name: str) -> Any:
    if name in ("install", "SafetyNet"):
        from . import safety_net

        return getattr(safety_net, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
