"""A request handler that fans work out, as in the incident of issue 18, run as a real program.

    python fanout.py [--install] GUARD SHAPE

GUARD is how each worker is spawned: `bare` (no guard), `wrap` (contained, nothing delivered)
or `deliver` (`wrap(..., deliver=...)`; not for a task group, whose children's failures the
group itself collects: there the answer is to let them propagate). SHAPE is how the work fans out and the results come
back: `threads` (threads, results through a queue.Queue), `executor` (executor jobs, results
through futures the handler made), `tasks` (fire-and-forget asyncio tasks, results through an
asyncio.Queue), `taskgroup` (asyncio.TaskGroup children whose return values are summed).

One of the inputs makes its worker raise. The handler waits at most WAIT seconds (a real one
would wait forever) and prints its answer: `500 ...` with the failure and its spawn note,
`200 total=N`, or `no answer after WAIT s`. Spawn lines carry `# SPAWN-<shape>`.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import queue
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor, wait
from typing import Any

from unguarded_workers import Failure, install, wrap

INPUTS = [1, 2, "bad", 4]
WAIT = 2.0


def compute(x: Any) -> int:
    if not isinstance(x, int):
        raise ValueError(f"bad input {x!r}")
    return 2 * x


def answer_failure(exception: BaseException) -> str:
    notes = "; ".join(getattr(exception, "__notes__", []))
    return f"500 {type(exception).__name__}: {exception} [{notes}]"


def handle_threads(guard: str) -> str:
    results: queue.Queue[Any] = queue.Queue()

    def work(x: Any) -> None:
        results.put(compute(x))

    deliver = results if guard == "deliver" else None
    for x in INPUTS:
        target = work if guard == "bare" else wrap(work, deliver=deliver)  # SPAWN-threads
        threading.Thread(target=target, args=(x,)).start()
    total = 0
    for _ in INPUTS:
        try:
            item = results.get(timeout=WAIT)
        except queue.Empty:
            return f"no answer after {WAIT:g} s"
        if isinstance(item, Failure):
            return answer_failure(item.exception)
        total += item
    return f"200 total={total}"


def handle_executor(guard: str, pool: ThreadPoolExecutor) -> str:
    futures: list[Future[int]] = []
    for x in INPUTS:
        done: Future[int] = Future()
        futures.append(done)

        def work(x: Any, done: Future[int] = done) -> None:
            done.set_result(compute(x))

        target = work if guard == "bare" else wrap(work, deliver=done if guard == "deliver" else None)  # SPAWN-executor
        pool.submit(target, x)
    finished, pending = wait(futures, timeout=WAIT)
    for future in futures:
        if future in finished and future.exception() is not None:
            return answer_failure(future.exception())  # type: ignore[arg-type]
    if pending:
        return f"no answer after {WAIT:g} s"
    return f"200 total={sum(f.result() for f in futures)}"


async def handle_tasks(guard: str) -> str:
    results: asyncio.Queue[Any] = asyncio.Queue()

    async def work(x: Any) -> None:
        await asyncio.sleep(0)
        results.put_nowait(compute(x))

    deliver = results if guard == "deliver" else None
    for x in INPUTS:
        asyncio.create_task(work(x) if guard == "bare" else wrap(work(x), deliver=deliver))  # noqa: RUF006  # SPAWN-tasks
    total = 0
    for _ in INPUTS:
        try:
            item = await asyncio.wait_for(results.get(), WAIT)
        except asyncio.TimeoutError:
            return f"no answer after {WAIT:g} s"
        if isinstance(item, Failure):
            return answer_failure(item.exception)
        total += item
    return f"200 total={total}"


async def handle_taskgroup(guard: str) -> str:
    async def work(x: Any) -> int:
        await asyncio.sleep(0)
        return compute(x)

    try:
        async with asyncio.TaskGroup() as tg:  # type: ignore[attr-defined]
            tasks = [tg.create_task(work(x) if guard == "bare" else wrap(work(x))) for x in INPUTS]  # SPAWN-taskgroup
    except BaseExceptionGroup as group:  # type: ignore[name-defined]  # noqa: F821
        return answer_failure(group.exceptions[0])
    # A failed child guarded by wrap() returned None: counted as 0, a wrong total.
    return f"200 total={sum(task.result() or 0 for task in tasks)}"


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--install", action="store_true")
    parser.add_argument("guard", choices=["bare", "wrap", "deliver"])
    parser.add_argument("shape", choices=["threads", "executor", "tasks", "taskgroup"])
    args = parser.parse_args()
    if args.shape == "taskgroup" and args.guard == "deliver":
        parser.error("a task group's children are awaited by the group: let their failure propagate")
    logging.basicConfig(stream=sys.stderr, format="%(levelname)s [%(name)s] %(message)s")
    if args.install:
        install()
    started = time.monotonic()
    if args.shape == "threads":
        answer = handle_threads(args.guard)
    elif args.shape == "executor":
        with ThreadPoolExecutor(max_workers=4) as pool:
            answer = handle_executor(args.guard, pool)
    elif args.shape == "tasks":
        answer = asyncio.run(handle_tasks(args.guard))
    else:
        answer = asyncio.run(handle_taskgroup(args.guard))
    print(answer, flush=True)
    print(f"answered in {time.monotonic() - started:.2f} s", file=sys.stderr, flush=True)


if __name__ == "__main__":
    main()
