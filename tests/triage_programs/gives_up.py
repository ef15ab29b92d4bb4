"""A supervised worker that keeps failing until supervise() gives up and ends the process;
the same worker is spawned in two other places, which do not run here.

    python gives_up.py
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

from unguarded_workers import supervise


def reindex() -> None:
    raise ValueError("index is corrupt")


def nightly(pool: ThreadPoolExecutor) -> None:
    pool.submit(reindex)  # SPAWN-nightly


def on_demand() -> None:
    threading.Thread(target=reindex).start()  # SPAWN-demand


def main() -> None:
    worker = supervise(reindex, restarts=2, within=60, backoff=0.01)  # SUPERVISE
    threading.Thread(target=worker, name="reindexer").start()  # SPAWN-supervised
    try:
        while True:  # a service's main loop, ended by the supervisor giving up
            time.sleep(0.05)
    finally:
        print("shut down", flush=True)


if __name__ == "__main__":
    main()
