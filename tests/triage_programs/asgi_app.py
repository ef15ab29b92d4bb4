"""An ASGI app served by uvicorn (on a unix socket) whose request fails; on 3.11+ the failure
is its task group's: two children raise.

    python asgi_app.py SOCKET_PATH
"""

from __future__ import annotations

import asyncio
import socket
import sys
import threading
import time
from typing import Any

import uvicorn


async def fetch_rates(currency: str) -> float:
    await asyncio.sleep(0)
    raise ConnectionError(f"no rates for {currency}")


async def fetch_fees(currency: str) -> float:
    await asyncio.sleep(0)
    raise ArithmeticError(f"fees overflow for {currency}")


async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
    if scope["type"] != "http":
        return
    if sys.version_info >= (3, 11):
        async with asyncio.TaskGroup() as group:
            group.create_task(fetch_rates("EUR"))  # SPAWN-rates
            group.create_task(fetch_fees("EUR"))  # SPAWN-fees
    else:
        await fetch_rates("EUR")


def request(path: str, server: uvicorn.Server) -> None:
    deadline = time.monotonic() + 30
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    with socket.socket(socket.AF_UNIX) as client:
        client.connect(path)
        client.sendall(b"GET /quote HTTP/1.1\r\nHost: localhost\r\n\r\n")
        client.recv(65536)
    server.should_exit = True


def main() -> None:
    path = sys.argv[1]
    server = uvicorn.Server(uvicorn.Config(app, uds=path, lifespan="off", log_level="info"))
    client = threading.Thread(target=request, args=(path, server), daemon=True)
    client.start()
    server.run()


if __name__ == "__main__":
    main()
