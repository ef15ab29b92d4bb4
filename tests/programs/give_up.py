"""supervise() giving up from a worker thread while the main thread is blocked, as a real program.

    python give_up.py SCENARIO

The worker is a daemon thread under supervise() that fails on every attempt; the main thread
is blocked for 30 s (much longer than the tests wait) in the way SCENARIO names: `sleep`
(time.sleep), `join` (joining a thread that never ends) or `selector` (select() on a socket
nothing writes to). `hung`: the worker hangs instead of failing (supervise(hung_after=0.5)),
the main thread sleeps. `stand-in`: no worker, supervise() only called (which puts the SIGINT
stand-in in place where SIGINT was ignored or default), the main thread sleeps; the tests send
SIGINT themselves. `--default-sigint` sets SIGINT's default action first, as gunicorn's
uvicorn worker does. Cleanup prints what ran: the main thread's `finally`, atexit.
"""

from __future__ import annotations

import atexit
import selectors
import signal
import socket
import sys
import threading
import time

from unguarded_workers import heartbeat, supervise

BLOCKED_FOR = 30.0
atexit.register(lambda: print("atexit ran", flush=True))


def broken() -> None:
    time.sleep(0.2)
    raise ConnectionError("database unreachable")


def hangs() -> None:
    heartbeat()
    threading.Event().wait()  # HANGS-HERE


def block(scenario: str) -> None:
    if scenario in ("sleep", "hung"):
        time.sleep(BLOCKED_FOR)
    elif scenario == "join":
        forever = threading.Thread(target=threading.Event().wait, name="never-ends", daemon=True)
        forever.start()
        forever.join()
    elif scenario == "selector":
        reader, _writer = socket.socketpair()
        with selectors.DefaultSelector() as selector:
            selector.register(reader, selectors.EVENT_READ)
            selector.select(BLOCKED_FOR)
    print("the main thread was not interrupted", flush=True)


def main() -> None:
    scenario = sys.argv[-1]
    if "--default-sigint" in sys.argv:
        signal.signal(signal.SIGINT, signal.SIG_DFL)
    if scenario == "stand-in":
        supervise(broken)  # puts the stand-in in place; never called
        print("ready", flush=True)
        time.sleep(BLOCKED_FOR)
        print("not interrupted", flush=True)
        return
    worker = supervise(hangs, hung_after=0.5) if scenario == "hung" else supervise(broken, restarts=1, backoff=0.01)
    threading.Thread(target=worker, name="worker", daemon=True).start()
    print("ready", flush=True)
    try:
        block(scenario)
    finally:
        print("main thread finally ran", flush=True)


if __name__ == "__main__":
    main()
