"""Forty threads that die at once, two workers of them, every traceback written to one stderr.

python threads_at_once.py [COUNT]
"""

from __future__ import annotations

import sys
import threading

COUNT = int(sys.argv[1]) if len(sys.argv) > 1 else 40
barrier = threading.Barrier(COUNT)


def parse(record: int) -> None:
    raise ValueError(f"bad record {record}")


def import_records(batch: int) -> None:
    barrier.wait()
    parse(batch)


def refresh_cache(key: int) -> None:
    barrier.wait()
    raise KeyError(key)


def main() -> None:
    threads = []
    for number in range(COUNT):
        if number % 2:
            threads.append(threading.Thread(target=import_records, args=(number,)))  # SPAWN-import
        else:
            threads.append(threading.Thread(target=refresh_cache, args=(number,)))  # SPAWN-refresh
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


if __name__ == "__main__":
    main()
