"""Two syncs that fail the same way for two different reasons, in threads that die.

python chained.py
"""

from __future__ import annotations

import threading


class SyncError(Exception):
    pass


def fetch(source: str) -> bytes:
    if source == "disk":
        raise OSError("read failed")
    raise TimeoutError("no answer")


def sync(source: str) -> None:
    try:
        fetch(source)
    except (OSError, TimeoutError) as error:
        raise SyncError(f"cannot sync {source}") from error


def main() -> None:
    for source in ("disk", "network", "disk"):
        thread = threading.Thread(target=sync, args=(source,))  # SPAWN-sync
        thread.start()
        thread.join()


if __name__ == "__main__":
    main()
