"""What `install()` adds to each spawn: a thread start, a `create_task`, an executor `submit`;
and to a service's requests.

Each spawn is timed without the safety net and with it, in this one run, rounds interleaved
(off, on, off, on, ...), best of the rounds; printed as the time per spawn and the ratio.
The work spawned does nothing, so the figures are the spawn's own cost: what a real
worker's run adds is the same with or without the net. With uvloop installed, its tasks are
timed too (the net covers uvloop's loops since 0.2; before, they ran without it).

Then the incident's service (examples/incident, Python 3.11+ and uvicorn) runs twice under
uvicorn at once, in its `bare` mode and its `install` mode (the same code with `install()` at
start-up); good requests go to each in turn, rounds interleaved, one at a time on a kept-alive
connection: /quote starts a thread per item and submits an executor job, /basket creates a
task and a task-group child per item. Printed: requests per second without and with the net,
best of the rounds, and the ratio of the time per request (with / without).

    python benchmarks/bench_safety_net.py [--spawns N] [--rounds N] [--requests N]
"""

from __future__ import annotations

import argparse
import asyncio
import http.client
import importlib.util
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import unguarded_workers

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "incident"
GOOD = "apple,pear,fig,plum"  # four items: four threads (or children) per request


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


def _requests_per_second(port: int, url: str, count: int) -> float:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    try:
        started = time.perf_counter()
        for _ in range(count):
            connection.request("GET", url)
            response = connection.getresponse()
            body = response.read()
            if response.status != 200:
                raise SystemExit(f"{url} answered {response.status}: {body!r}")
        return count / (time.perf_counter() - started)
    finally:
        connection.close()


def service(requests: int, rounds: int) -> None:
    """Good requests per second to the example service, without install() and with it."""
    if sys.version_info < (3, 11) or importlib.util.find_spec("uvicorn") is None:
        print("\nthe example service: skipped (it needs Python 3.11+ and uvicorn)")
        return
    sys.path.insert(0, str(EXAMPLE))
    import run  # the example's driver: its Server runs uvicorn on a free port, and stops it

    urls = [f"/quote?items={GOOD}", f"/basket?items={GOOD}"]
    best: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as logs:
        servers = {mode: run.Server(mode, 8, Path(logs, f"{mode}.log")) for mode in ("bare", "install")}
        try:
            ports = {mode: server.port() for mode, server in servers.items()}
            for port in ports.values():  # warm up: threads, imports, the loop's first tasks
                for url in urls:
                    _requests_per_second(port, url, max(requests // 10, 1))
            for _ in range(rounds):
                for mode, port in ports.items():
                    for url in urls:
                        rate = _requests_per_second(port, url, requests)
                        best[mode, url] = max(best.get((mode, url), rate), rate)
        finally:
            for server in servers.values():
                server.stop()
    print(f"\nthe example service, good requests one at a time, best of {rounds} rounds of {requests}:")
    print(f"{'endpoint':<20}{'without':>12}{'with install()':>16}{'ratio':>8}")
    for url in urls:
        off, on = best["bare", url], best["install", url]
        # The ratio of the time per request, as for the spawns above: above 1, install() costs.
        print(f"{url.split('?')[0]:<20}{off:>10.0f}/s{on:>14.0f}/s{off / on:>8.2f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--spawns", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--requests", type=int, default=300, help="per endpoint and round (0: no service)")
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
    if args.requests > 0:
        service(args.requests, args.rounds)


if __name__ == "__main__":
    main()
