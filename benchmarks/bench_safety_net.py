"""What `install()` adds to each spawn: a thread start, a `create_task`, an executor `submit`.

Each spawn is timed without the safety net and with it, in this one run, rounds interleaved
(off, on, off, on, ...), best of the rounds; printed as the time per spawn and the ratio.
The work spawned does nothing, so the figures are the spawn's own cost: what a real
worker's run adds is the same with or without the net. With uvloop installed, its tasks are
timed too (the net covers uvloop's loops since 0.2; before, they ran without it).

    python benchmarks/bench_safety_net.py [--spawns N] [--rounds N]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import unguarded_workers


def nothing() -> None:
    pass


async def anothing() -> None:
    pass


def threads(n: int) -> None:
    for _ in range(n):
        thread = threading.Thread(target=nothing)
        thread.start()
        thread.join()


async def _create_and_await(n: int) -> None:
    loop = asyncio.get_running_loop()
    for _ in range(n):
        await loop.create_task(anothing())


def tasks(n: int) -> None:
    asyncio.run(_create_and_await(n))


def uvloop_tasks(n: int) -> None:
    import uvloop

    loop = uvloop.new_event_loop()
    try:
        loop.run_until_complete(_create_and_await(n))
    finally:
        loop.close()


def submits(n: int, pool: ThreadPoolExecutor) -> None:
    for _ in range(n):
        pool.submit(nothing).result()


def timed(run: Callable[[int], None], n: int) -> float:
    started = time.perf_counter()
    run(n)
    return (time.perf_counter() - started) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spawns", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    with ThreadPoolExecutor(max_workers=1) as pool:
        kinds: dict[str, Callable[[int], None]] = {
            "thread start+join": threads,
            "create_task+await": tasks,
            "submit+result": lambda n: submits(n, pool),
        }
        if importlib.util.find_spec("uvloop") is not None:
            kinds["uvloop task+await"] = uvloop_tasks
        best: dict[tuple[str, bool], float] = {}
        for _ in range(args.rounds):
            for on in (False, True):
                net = unguarded_workers.install() if on else None
                try:
                    for name, run in kinds.items():
                        seconds = timed(run, args.spawns)
                        best[name, on] = min(best.get((name, on), seconds), seconds)
                finally:
                    if net is not None:
                        net.uninstall()
    print(f"per spawn, best of {args.rounds} rounds of {args.spawns}:")
    print(f"{'spawn':<20}{'without':>12}{'with install()':>16}{'added':>10}{'ratio':>8}")
    for name in kinds:
        off, on = best[name, False], best[name, True]
        print(f"{name:<20}{off * 1e6:>10.1f}us{on * 1e6:>14.1f}us{(on - off) * 1e6:>8.1f}us{on / off:>8.2f}x")


if __name__ == "__main__":
    main()
