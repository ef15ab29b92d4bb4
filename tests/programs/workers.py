"""A service whose workers fail, run as a real program by the runtime and triage tests.

    python workers.py [--install] [--log FILE] SCENARIO...

Each scenario starts one worker that fails (or, for the `*-ok` ones, one whose failure is
contained or read). `--install` puts the safety net in place first; logs go to stderr, or to
FILE with a timestamped format, as a service's would. Spawn lines carry `# SPAWN-<scenario>`.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import logging
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from unguarded_workers import install, supervise, wrap


class Handler:
    def process(self, item: str) -> None:
        raise KeyError(item)


def poll_queue() -> None:
    Handler().process("order-17")


class Flusher(threading.Thread):
    def run(self) -> None:
        raise ConnectionError("metrics backend refused")


async def consume(queue_name: str) -> None:
    await asyncio.sleep(0)
    raise RuntimeError(f"lost {queue_name}")


def resize(path: str) -> bytes:
    raise OSError(f"cannot read {path}")


def on_resized(future: object) -> None:
    raise TypeError("callback broke")


_attempts = {"count": 0}


def flaky() -> str:
    _attempts["count"] += 1
    if _attempts["count"] <= 2:
        raise TimeoutError(f"attempt {_attempts['count']}")
    print("flaky succeeded on attempt", _attempts["count"], flush=True)
    return "ok"


def broken() -> None:
    raise ValueError("always broken")


def thread_dies() -> None:
    thread = threading.Thread(target=poll_queue)  # SPAWN-thread
    thread.start()  # STARTED-thread
    thread.join()


def thread_subclass_dies() -> None:
    flusher = Flusher(name="flusher")  # SPAWN-subclass
    flusher.start()  # STARTED-subclass
    flusher.join()


def task_never_retrieved() -> None:
    async def main() -> None:
        asyncio.create_task(consume("orders"))  # noqa: RUF006  # SPAWN-task
        await asyncio.sleep(0.05)
        gc.collect()

    asyncio.run(main())
    gc.collect()


def future_discarded() -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(resize, "/tmp/photo.jpg")  # SPAWN-future
    gc.collect()


def callback_fails() -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(len, "abc")
        future.add_done_callback(on_resized)  # SPAWN-callback
        future.result()


def wrapped_thread() -> None:
    thread = threading.Thread(target=wrap(poll_queue))  # SPAWN-wrapped
    thread.start()
    thread.join()


def result_read_ok() -> None:
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(resize, "/tmp/read.jpg")  # SPAWN-read
        try:
            future.result()
        except OSError:
            print("the program read the failure itself", flush=True)
    gc.collect()


def supervised_recovers() -> None:
    thread = threading.Thread(target=supervise(flaky, backoff=0.01), name="flaky-worker")  # SPAWN-supervised
    thread.start()
    thread.join()


def supervised_gives_up() -> None:
    worker = supervise(broken, restarts=2, within=60, backoff=0.01)  # SPAWN-gives-up
    threading.Thread(target=worker, name="broken-worker").start()  # THREAD-gives-up
    try:
        while True:  # a service's main loop, ended by the supervisor's KeyboardInterrupt
            time.sleep(0.05)
    finally:
        print("main thread shut down cleanly", flush=True)


SCENARIOS = {
    "thread": thread_dies,
    "subclass": thread_subclass_dies,
    "task": task_never_retrieved,
    "future": future_discarded,
    "callback": callback_fails,
    "wrapped": wrapped_thread,
    "read": result_read_ok,
    "supervised": supervised_recovers,
    "gives-up": supervised_gives_up,
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--install", action="store_true")
    parser.add_argument("--log")
    parser.add_argument("scenarios", nargs="+", choices=sorted(SCENARIOS))
    args = parser.parse_args()
    if args.log:
        logging.basicConfig(filename=args.log, format="%(asctime)s %(levelname)s [%(name)s] %(message)s")
        sys.stderr = open(args.log, "a", buffering=1)  # noqa: SIM115 (Python's own printers too, as under systemd)
    else:
        logging.basicConfig(format="%(levelname)s [%(name)s] %(message)s")
    if args.install:
        install()
    for name in args.scenarios:
        SCENARIOS[name]()
    print("service still running", flush=True)


if __name__ == "__main__":
    main()
