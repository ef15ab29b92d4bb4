"""Workers for the runtime tests: module-level, so child processes can import them."""

from __future__ import annotations

import logging
from pathlib import Path

from unguarded_workers import Failure


def fail(message: str = "boom") -> None:
    raise ValueError(message)


async def fail_async(message: str = "boom") -> None:
    raise ValueError(message)


def double(x: int) -> int:
    return 2 * x


def fail_logging_to(path: str) -> None:
    """Set up this process's logging to a file, then fail (as a spawned child would)."""
    logging.basicConfig(filename=path, level=logging.INFO, format="%(levelname)s %(spawn_site)s %(message)s")
    raise ValueError("child failed")


def succeed_logging_to(path: str) -> None:
    logging.basicConfig(filename=path, level=logging.INFO)
    Path(path).write_text("child ran\n")


class RecordTo:
    """A picklable error handler that writes what it got to a file."""

    def __init__(self, path: str) -> None:
        self.path = path

    def __call__(self, failure: Failure) -> None:
        Path(self.path).write_text(f"{type(failure.exception).__name__}: {failure.exception}\n")


def calls_a_guard(path: str) -> None:
    """A process target that calls a guarded function itself and carries on."""
    from unguarded_workers import wrap

    result = wrap(fail, on_error=lambda failure: None)()
    Path(path).write_text(f"{result}\n")
