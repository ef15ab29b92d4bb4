"""What the guards return: a `functools.partial` dressed as its target."""

from __future__ import annotations

import functools
from collections.abc import Callable
from types import FunctionType, MethodType
from typing import Any


class MethodPartial(functools.partial):  # type: ignore[type-arg]
    """The guard of a method being decorated: binds to the instance like a function.

    Kept for that case alone: a partial subclass loses vectorcall on Python < 3.12.
    """

    def __get__(self, instance: object, owner: type | None = None) -> Any:
        return self if instance is None else MethodType(self, instance)


def guard_of(runner: Callable[..., Any], target: Callable[..., Any], policy: object) -> functools.partial[Any]:
    """`runner(target, policy, *args, **kwargs)` as a callable carrying the target's metadata."""
    kind = MethodPartial if _is_method_definition(target) else functools.partial
    guard = kind(runner, target, policy)
    for name in ("__module__", "__name__", "__qualname__", "__doc__"):
        try:
            value = getattr(target, name)
        except Exception:  # absent, or a property that raises: the guard goes without it
            continue
        guard.__dict__[name] = value
    guard.__dict__["__wrapped__"] = target
    return guard


def _is_method_definition(target: object) -> bool:
    """A plain function defined directly in a class body (qualname `Class.name`)."""
    if not isinstance(target, FunctionType):
        return False
    owner, _, _ = target.__qualname__.rpartition(".")
    return bool(owner) and not owner.endswith("<locals>")
