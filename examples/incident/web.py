"""Just enough of a web framework for the incident, written against the ASGI spec: routes that
take `?items=a,b`, JSON answers, and sync endpoints run on a bounded thread pool, as Starlette
runs them.

Starlette runs a sync endpoint (`def`, not `async def`) through `run_in_threadpool`, which is
anyio's `to_thread.run_sync`: the call first takes a token of anyio's default CapacityLimiter
(40 tokens), then runs in a worker thread, and the token comes back only when the call returns.
A call that never returns keeps its token for ever: the awaiting request is shielded from
cancellation, and uvicorn does not cancel a request whose client went away. Once every token is
held by such a call, every sync endpoint waits for a token that never comes — the health check
too — while async endpoints go on answering.

`App.run_sync` models exactly that, with `threads` tokens (the service's default is 8, so that a
handful of bad requests is enough): an asyncio.Semaphore is the limiter, each call runs in a
thread, and the token is given back when the thread's call has returned, not when the awaiting
request gives up. One difference: our threads are daemon threads, so that the demo's server
still exits when it is stopped; anyio's are not, and a real server with stuck threads also
hangs at exit.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import threading
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar, cast
from urllib.parse import parse_qs

Answer = tuple[int, dict[str, Any]]  # an HTTP status and a JSON body
SyncEndpoint = Callable[[list[str]], Answer]
AsyncEndpoint = Callable[[list[str]], Awaitable[Answer]]
Endpoint = SyncEndpoint | AsyncEndpoint
T = TypeVar("T")


class App:
    """An ASGI application: `app.route("/quote", quote)`, then `uvicorn module:app`."""

    def __init__(self, *, threads: int) -> None:
        self.threads = threads
        self._routes: dict[str, Endpoint] = {}
        self._limiter: asyncio.Semaphore | None = None  # made on the server's loop, at first use

    def route(self, path: str, endpoint: Endpoint) -> None:
        self._routes[path] = endpoint

    async def run_sync(self, function: Callable[[list[str]], T], items: list[str]) -> T:
        """`function(items)` in a thread, once one of the pool's tokens is free (see above)."""
        if self._limiter is None:
            self._limiter = asyncio.Semaphore(self.threads)
        limiter = self._limiter
        await limiter.acquire()
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()

        def settle(result: T | None, error: BaseException | None) -> None:
            limiter.release()  # the token comes back when the call has returned, never before
            if done.cancelled():
                return
            if error is not None:
                done.set_exception(error)
            else:
                done.set_result(result)  # type: ignore[arg-type]  # None only with an error

        def call() -> None:
            try:
                try:
                    result = function(items)
                except BaseException as error:  # handed to the request, which answers or raises
                    loop.call_soon_threadsafe(settle, None, error)
                else:
                    loop.call_soon_threadsafe(settle, result, None)
            except RuntimeError:
                pass  # the loop closed while the call ran: the server is gone, nobody is waiting

        name = getattr(function, "__name__", "endpoint")
        threading.Thread(target=call, name=f"request thread ({name})", daemon=True).start()
        return await done

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        endpoint = self._routes.get(scope["path"])
        if endpoint is None:
            await _respond(send, 404, {"error": f"no route {scope['path']}"})
            return
        query = parse_qs(scope["query_string"].decode("latin-1"))
        items = [item for value in query.get("items", []) for item in value.split(",") if item]
        # An exception from the endpoint propagates: uvicorn logs it ("Exception in ASGI
        # application") and answers 500, as behind Starlette's ServerErrorMiddleware.
        if inspect.iscoroutinefunction(endpoint):
            status, body = await cast(AsyncEndpoint, endpoint)(items)
        else:
            status, body = await self.run_sync(cast(SyncEndpoint, endpoint), items)
        await _respond(send, status, body)


async def _respond(send: Any, status: int, body: dict[str, Any]) -> None:
    data = json.dumps(body).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(data)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": data})


async def _lifespan(receive: Any, send: Any) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
