"""A small ASGI service, run by the tests under uvicorn and under gunicorn's uvicorn worker.

    uvicorn asgi_service:app --app-dir tests/programs --port 0
    gunicorn -k uvicorn.workers.UvicornWorker --chdir tests/programs asgi_service:app

It calls install() at import, as a service's start-up would. SERVICE_MODE:
- `gives-up`: its lifespan starts a worker thread under supervise() (a daemon thread: the
  form the runtime guide shows first) that fails on every attempt, GIVE_UP_AFTER seconds
  after each start: supervision gives up and ends the process;
- `ok` (default): nothing fails on its own.

GET /group answers from a request whose asyncio.TaskGroup children fail (uvicorn logs
"Exception in ASGI application"); any other path answers "ok". What ran of the cleanup is
printed: the lifespan's shutdown, the atexit handlers.
"""

from __future__ import annotations

import asyncio
import atexit
import os
import threading
import time
from typing import Any

from unguarded_workers import install, supervise

install()
MODE = os.environ.get("SERVICE_MODE", "ok")
atexit.register(lambda: print("atexit ran", flush=True))


def broker_consumer() -> None:
    time.sleep(float(os.environ.get("GIVE_UP_AFTER", "0.3")))
    raise ConnectionError("broker unreachable")


async def lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            if MODE == "gives-up":
                worker = supervise(broker_consumer, restarts=1, backoff=0.01)
                threading.Thread(target=worker, name="consumer", daemon=True).start()
            print("lifespan startup ran", flush=True)
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            print("lifespan shutdown ran", flush=True)
            await send({"type": "lifespan.shutdown.complete"})
            return


async def price(item: int) -> int:
    await asyncio.sleep(0)
    raise LookupError(f"no price for item {item}")


async def app(scope: Any, receive: Any, send: Any) -> None:
    if scope["type"] == "lifespan":
        await lifespan(receive, send)
        return
    if scope["path"] == "/group":
        async with asyncio.TaskGroup() as tg:  # type: ignore[attr-defined]
            for item in (1, 2):
                tg.create_task(price(item))  # SPAWN-group
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/plain")]})
    await send({"type": "http.response.body", "body": b"ok"})
