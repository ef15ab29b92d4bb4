"""A quote whose task group's children fail in two ways, in a thread that dies with the group.

    python task_group.py [--notes]

With --notes, each child's exception carries the note the runtime adds to a failure that
escapes a worker: `spawned at FILE:LINE in FUNCTION (HOW)`.
"""

from __future__ import annotations

import asyncio
import sys
import threading
from pathlib import Path

NOTES = "--notes" in sys.argv


def spawn_line(marker: str) -> int:
    lines = Path(__file__).read_text().splitlines()
    return next(n for n, line in enumerate(lines, start=1) if line.endswith(f"# SPAWN-{marker}"))


def noted(task: asyncio.Task[object], marker: str) -> None:
    """Note on the task's failure where it was spawned, as the runtime does."""

    def note(done: asyncio.Task[object]) -> None:
        error = None if done.cancelled() else done.exception()
        if error is not None:
            error.add_note(f"spawned at {__file__}:{spawn_line(marker)} in quote (asyncio.TaskGroup.create_task)")

    if NOTES:
        task.add_done_callback(note)


async def fetch_price(item: str) -> float:
    await asyncio.sleep(0)
    raise ValueError(f"no price for {item}")


async def fetch_stock(item: str) -> int:
    await asyncio.sleep(0)
    try:
        {}[item]  # MISSING
    except KeyError as missing:
        raise LookupError(f"no stock for {item}") from missing
    return 0


async def quote(item: str) -> None:
    async with asyncio.TaskGroup() as group:
        noted(group.create_task(fetch_price(item)), "price")  # SPAWN-price
        noted(group.create_task(fetch_stock(item)), "stock")  # SPAWN-stock


async def prefetch(items: list[str]) -> None:
    """Never run here: another spawn of the same workers."""
    async with asyncio.TaskGroup() as group:
        for item in items:
            group.create_task(fetch_price(item))  # SPAWN-prefetch-price
            group.create_task(fetch_stock(item))  # SPAWN-prefetch-stock


def serve() -> None:
    asyncio.run(quote("anvil"))


if __name__ == "__main__":
    thread = threading.Thread(target=serve)  # SPAWN-serve
    thread.start()
    thread.join()
