"""The garbage collector's settings for the tool's long runs (a batch `check`, the editor server)."""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

_THRESHOLDS = (100_000, 50, 100)


def collect_less() -> None:
    """For a process that is the tool's alone (a worker, the server): a parse makes hundreds
    of thousands of objects at once, which the default thresholds (a collection every 700
    allocations, a full one every hundred of those) walk again and again while the tree is
    alive; and what was imported before the work began is never garbage. Measured: `check`
    on 26 real projects' trees, 10-15% less CPU; the server's check of the 5,000-line
    benchmark module, 274 -> 195 ms."""
    gc.freeze()
    gc.set_threshold(*_THRESHOLDS)


@contextlib.contextmanager
def collecting_less() -> Iterator[None]:
    """`collect_less` for a while, in a process that goes on afterwards (the command run
    in-process, by tests or another tool): the collector is as it was at the end. Nothing to
    do where it collects less already (the command's own process, for good: restoring the
    thresholds at the end made a full collection of every tree just before exit, 0.2-0.3 s
    of 4 s on the 26 projects of bench_cli)."""
    if gc.get_threshold() == _THRESHOLDS:
        yield
        return
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(*_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


@contextlib.contextmanager
def paused_collector() -> Iterator[None]:
    """No collection while the analysis of one module runs: its tree and index are hundreds of
    thousands of objects, all alive until it ends, which any collection meanwhile walks for
    nothing; afterwards they are freed by reference counting (`Project.forget_checked`). In
    flake8's process a collection also walks the host's whole heap, and a pause changes nothing
    the host set: on the standard library, the plugin's checks took 0.65 s instead of 1.16 s. In
    the command's workers, on 26 real projects, the collector took 0.08 s instead of 0.71 s."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


# Modules dropped from a project's cache before a full collection looks for them.
_DROPPED_PER_COLLECTION = 64


class _Dropped:
    since_collection = 0


def set_aside(dropped: int = 0) -> None:
    """After each file a run checks, where the collector collects less: what is still alive
    is what the run keeps (the project's modules, each a tree and its index), which later
    collections would otherwise walk again and again; it is moved out of their sight, as
    `collect_less` does with what was imported. Measured on the 26 projects of bench_cli at
    --jobs 1: CPU 2.9 -> 2.5 s. `dropped`: the modules a project dropped meanwhile, garbage
    in cycles that only a collection frees; once there are enough of them, everything is
    handed back to the collector, and a full collection frees them."""
    if gc.get_threshold() != _THRESHOLDS:
        return
    _Dropped.since_collection += dropped
    if _Dropped.since_collection >= _DROPPED_PER_COLLECTION:
        _Dropped.since_collection = 0
        gc.unfreeze()
        gc.collect()
    gc.freeze()
