"""How much `wrap()` adds to a worker call, against a bare call and the hand-written guard.

The hand-written guard is the closure the post-mortem recommends:

    def guarded(*args, **kwargs):
        try:
            return f(*args, **kwargs)
        except Exception:
            log.exception(...)

Every variant is timed in this one run, interleaved, best of several repeats, and
the ratios are printed. Target: wrap() within 1.2x of the hand-written closure.

A task spawned with `asyncio.create_task(wrap(worker(x)))` is timed too, spawn line
included (wrap() of the coroutine, the task, awaiting it): the guard keeps its task
referenced while it runs, and that is part of the cost. `deliver=` and the spawn note cost
nothing until a worker fails; `wrap(f, deliver=q)` at the spawn line is printed beside `wrap(f)`.

    python benchmarks/bench_wrap.py [--calls N] [--repeats N]
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import queue
import time
from collections.abc import Awaitable, Callable
from typing import Any

from unguarded_workers import wrap

log = logging.getLogger("bench")


def work(x: int) -> int:
    return x + 1


async def awork(x: int) -> int:
    return x + 1


async def asuspends(x: int) -> int:
    await asyncio.sleep(0)  # a task's worker waits for something: it suspends
    return x + 1


def hand_guard(f: Callable[..., Any]) -> Callable[..., Any]:
    def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return f(*args, **kwargs)
        except Exception:
            log.exception("worker failed")
            return None

    return guarded


def hand_guard_async(f: Callable[..., Awaitable[Any]]) -> Callable[..., Awaitable[Any]]:
    async def guarded(*args: Any, **kwargs: Any) -> Any:
        try:
            return await f(*args, **kwargs)
        except Exception:
            log.exception("worker failed")
            return None

    return guarded


# Each variant gets its own copy of the timing loop: CPython 3.11+ specialises a
# call site for the first kind of callable it sees, and a shared loop would
# favour whichever variant ran first.
_TIMER_SOURCE = """
def time_sync(f, calls):
    start = perf_counter()
    for i in range(calls):
        f(i)
    return perf_counter() - start

def time_sync_keyword(f, calls):
    start = perf_counter()
    for i in range(calls):
        f(x=i)
    return perf_counter() - start

async def _loop(f, calls):
    start = perf_counter()
    for i in range(calls):
        await f(i)
    return perf_counter() - start

def time_async(f, calls):
    return asyncio.run(_loop(f, calls))

async def _tasks(make, calls):
    create_task = asyncio.create_task
    start = perf_counter()
    for i in range(calls):
        await create_task(make(i))
    return perf_counter() - start

def time_tasks(make, calls):
    return asyncio.run(_tasks(make, calls))
"""


def fresh_timer(name: str) -> Callable[[Any, int], float]:
    """A new copy of one timing loop: "time_sync", "time_sync_keyword", "time_async" or "time_tasks"."""
    namespace: dict[str, Any] = {"perf_counter": time.perf_counter, "asyncio": asyncio}
    exec(_TIMER_SOURCE, namespace)
    timer: Callable[[Any, int], float] = namespace[name]
    return timer


def best_of(variants: dict[str, Callable[[], float]], repeats: int) -> dict[str, float]:
    best = dict.fromkeys(variants, float("inf"))
    for _ in range(repeats):
        for name, run in variants.items():  # interleaved, so drift hits every variant alike
            best[name] = min(best[name], run())
    return best


def report(title: str, best: dict[str, float], calls: int, target: str = "   (target <= 1.2)") -> float:
    print(f"\n{title} ({calls:,} calls, best of repeats)")
    for name, seconds in best.items():
        print(f"  {name:<14} {seconds * 1e9 / calls:8.1f} ns/call")
    ratio = best["wrap()"] / best["hand closure"]
    print(f"  wrap() / hand closure = {ratio:.3f}{target}")
    print(f"  wrap() / bare call    = {best['wrap()'] / best['bare']:.3f}")
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300_000)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    calls = args.calls

    def timed(f: Any, loop: str) -> Callable[[], float]:
        timer = fresh_timer(loop)
        return lambda: timer(f, calls)

    def variants(bare: Any, hand: Any, loop: str) -> dict[str, Callable[[], float]]:
        return {"bare": timed(bare, loop), "hand closure": timed(hand, loop), "wrap()": timed(wrap(bare), loop)}

    sync = best_of(variants(work, hand_guard(work), "time_sync"), args.repeats)
    keyword = best_of(variants(work, hand_guard(work), "time_sync_keyword"), args.repeats)
    asynchronous = best_of(variants(awork, hand_guard_async(awork), "time_async"), args.repeats)
    spawns = calls // 10
    hand_task = hand_guard_async(asuspends)
    tasks = best_of(
        {
            "bare": lambda: fresh_timer("time_tasks")(asuspends, spawns),
            "hand closure": lambda: fresh_timer("time_tasks")(hand_task, spawns),
            "wrap()": lambda: fresh_timer("time_tasks")(lambda i: wrap(asuspends(i)), spawns),
        },
        args.repeats,
    )
    time_wrap = fresh_timer("time_sync")
    results: queue.Queue[object] = queue.Queue()
    at_spawn = {"wrap(f)": lambda: time_wrap(lambda i: wrap(work), spawns)}
    try:
        wrap(work, deliver=results)  # type: ignore[call-overload]
        at_spawn["wrap(f, deliver=q)"] = lambda: time_wrap(lambda i: wrap(work, deliver=results), spawns)
    except TypeError:  # a runtime from before deliver= (to compare against it)
        pass
    wrap_cost = best_of(at_spawn, args.repeats)
    report("sync worker call", sync, calls)
    report("sync worker call with a keyword argument", keyword, calls)
    report("async worker call (await)", asynchronous, calls)
    # No target: most of it is wrap() of the coroutine at the spawn line, printed below.
    report("task spawned and awaited: create_task(wrap(worker(x)))", tasks, spawns, target="")
    print(f"\nwrap(f) at the spawn line: {wrap_cost['wrap(f)'] * 1e9 / spawns:.0f} ns")
    if "wrap(f, deliver=q)" in wrap_cost:
        print(f"wrap(f, deliver=q) at the spawn line: {wrap_cost['wrap(f, deliver=q)'] * 1e9 / spawns:.0f} ns")


if __name__ == "__main__":
    main()
