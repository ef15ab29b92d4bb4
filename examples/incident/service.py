"""The incident of issue 18 as a service: request handlers that fan work out to workers, and an
input that makes a worker raise.

    INCIDENT_MODE=bare uvicorn service:app --app-dir examples/incident

    GET /quote?items=apple,pear   sync (on the server's bounded thread pool, see web.py): a thread
                                  per item prices it, the results come back through a queue.Queue;
                                  a sales count goes to an executor, fire and forget
    GET /basket?items=apple,pear  async: an asyncio.TaskGroup child per item prices it, the handler
                                  sums their results; a fire-and-forget task remembers the basket
    GET /health                   sync: "ok", if a thread of the pool is free to say it

An item the catalog does not have ("durian") makes every worker that looks it up raise.

INCIDENT_MODE picks the handlers; each mode's code is below, side by side:

    bare     no tools: the code of the day of the outage
    wrap     wrap() at every spawn line, as a first reading of the linter's advice has it
    install  the bare code, with the safety net: install() at start-up
    deliver  the fix: deliver= where someone waits for the worker, propagation from the task
             group, wrap() for fire-and-forget work; and install() for whatever still escapes

INCIDENT_THREADS (default 8) is the size of the thread pool that sync endpoints run on.
Python 3.11+ (asyncio.TaskGroup).
"""

from __future__ import annotations

import asyncio
import logging
import os
import queue
import threading
from concurrent.futures import ThreadPoolExecutor

import catalog
from web import Answer, App

from unguarded_workers import Failure, install, wrap

logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s [%(name)s] %(message)s")
log = logging.getLogger("service")

stats_pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="stats")
SALES = dict.fromkeys(catalog.PRICES, 0)
POPULAR = dict.fromkeys(catalog.PRICES, 0)
WAIT = 10.0  # seconds the fixed /quote waits for its workers at most


# The workers. Each one raises on an item the catalog does not have.


def price(item: str, results: queue.Queue[int]) -> None:
    """A thread per item: prices it (a blocking call in real life) and puts the price on the queue."""
    results.put(catalog.price_of(item))


def count_sales(items: list[str]) -> None:
    """An executor job nobody waits for: counts what was asked for."""
    for item in items:
        SALES[item] += 1


async def fetch_price(item: str) -> int:
    """A task-group child per item: its return value is the price."""
    await asyncio.sleep(0.001)
    return catalog.price_of(item)


async def remember(items: list[str]) -> None:
    """A fire-and-forget task: counts the basket's items for the recommendations."""
    await asyncio.sleep(0)
    for item in items:
        POPULAR[item] += 1


# /quote: a sync endpoint, run on the server's thread pool. ----------------------------------


def quote_bare(items: list[str]) -> Answer:
    stats_pool.submit(count_sales, items)  # fails unseen: its future is dropped, nothing is logged
    results: queue.Queue[int] = queue.Queue()
    for item in items:
        threading.Thread(target=price, args=(item, results)).start()  # dies printing a traceback: who started it?
    total = 0
    for _ in items:
        total += results.get()  # a worker died: this request thread waits for ever, its pool token with it
    return 200, {"total": total}


def quote_wrap(items: list[str]) -> Answer:
    stats_pool.submit(wrap(count_sales), items)  # right: nobody waits for it, and now its failure is logged
    results: queue.Queue[int] = queue.Queue()
    for item in items:
        threading.Thread(target=wrap(price), args=(item, results)).start()  # logged and contained: puts nothing
    total = 0
    for _ in items:
        total += results.get()  # still waits for ever: the same outage, with a log line
    return 200, {"total": total}


def quote_deliver(items: list[str]) -> Answer:
    stats_pool.submit(wrap(count_sales), items)
    results: queue.Queue[int | Failure] = queue.Queue()
    for item in items:
        # A failure comes back through the channel the result would: the Failure is put on the queue.
        threading.Thread(target=wrap(price, deliver=results), args=(item, results)).start()
    total = 0
    for _ in items:
        try:
            outcome = results.get(timeout=WAIT)  # a timeout still: a worker may hang instead of failing
        except queue.Empty:
            return 504, {"error": f"pricing took more than {WAIT:g} s"}
        if isinstance(outcome, Failure):
            return 503, {"error": f"pricing failed: {outcome.exception}"}
        total += outcome
    return 200, {"total": total}


# /basket: an async endpoint, run on the event loop. -----------------------------------------


async def basket_bare(items: list[str]) -> Answer:
    asyncio.create_task(remember(items))  # noqa: RUF006  # its failure: only in asyncio's log
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(fetch_price(item)) for item in items]
    # A failed child makes the group raise an ExceptionGroup: uvicorn logs it and answers 500.
    return 200, {"total": sum(task.result() for task in tasks)}


async def basket_wrap(items: list[str]) -> Answer:
    # Right: nobody waits for it. wrap() keeps its task referenced, which ruff's RUF006 cannot know.
    asyncio.create_task(wrap(remember(items)))  # noqa: RUF006
    async with asyncio.TaskGroup() as group:
        tasks = [group.create_task(wrap(fetch_price(item))) for item in items]  # a failed child returns None
    # wrap() made each result `int | None`, and the type checker wanted the None handled:
    return 200, {"total": sum(task.result() or 0 for task in tasks)}  # a wrong total, answered 200


async def basket_deliver(items: list[str]) -> Answer:
    asyncio.create_task(wrap(remember(items)))  # noqa: RUF006
    try:
        async with asyncio.TaskGroup() as group:  # no wrap(): the group is the children's channel back
            tasks = [group.create_task(fetch_price(item)) for item in items]
    except ExceptionGroup as failures:  # with install(), each sub-exception's note names its spawn line
        log.error("pricing the basket %s failed", items, exc_info=failures)
        return 500, {"error": f"pricing failed: {failures.exceptions[0]}"}
    return 200, {"total": sum(task.result() for task in tasks)}


def health(items: list[str]) -> Answer:
    return 200, {"status": "ok"}


HANDLERS = {
    "bare": (quote_bare, basket_bare),
    "wrap": (quote_wrap, basket_wrap),
    "install": (quote_bare, basket_bare),  # the bare code: install() below is the only change
    "deliver": (quote_deliver, basket_deliver),
}
MODE = os.environ.get("INCIDENT_MODE", "bare")
if MODE not in HANDLERS:
    raise SystemExit(f"INCIDENT_MODE must be one of {', '.join(HANDLERS)}, not {MODE!r}")
if MODE in ("install", "deliver"):
    install()  # once, at start-up: every thread, task and executor job spawned from now on is covered

app = App(threads=int(os.environ.get("INCIDENT_THREADS", "8")))
quote, basket = HANDLERS[MODE]
app.route("/quote", quote)
app.route("/basket", basket)
app.route("/health", health)
log.info("mode %s: %d threads for sync endpoints", MODE, app.threads)
