"""Tasks of one coroutine function started from two places, in asyncio's debug mode: its
report names the line that created the task whose exception was never retrieved.

    python debug_tasks.py
"""

from __future__ import annotations

import asyncio
import gc

running: set[asyncio.Task[None]] = set()


async def consume(queue: str) -> None:
    await asyncio.sleep(0)
    if queue == "orders":
        raise RuntimeError(f"lost {queue}")


def start_consumers() -> None:
    asyncio.create_task(consume("orders"))  # noqa: RUF006  # SPAWN-orders


async def main() -> None:
    task = asyncio.create_task(consume("audit"))  # SPAWN-audit
    running.add(task)
    task.add_done_callback(running.discard)
    start_consumers()
    await asyncio.sleep(0.05)
    gc.collect()


if __name__ == "__main__":
    asyncio.run(main(), debug=True)
    gc.collect()
