"""A service logging JSON lines to stderr, through python-json-logger or structlog, whose
workers fail: a thread, a task whose exception is never retrieved, a wrapped thread.

    python json_logging.py python-json-logger|structlog|structlog-dict [--install]
"""

from __future__ import annotations

import asyncio
import gc
import logging
import sys
import threading

from unguarded_workers import install, wrap


def poll_feed() -> None:
    raise ConnectionError("feed is down")


async def refresh(name: str) -> None:
    await asyncio.sleep(0)
    raise TimeoutError(f"{name} timed out")


def send_digest() -> None:
    raise PermissionError("mailbox is full")


def configure(kind: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    if kind == "python-json-logger":
        from pythonjsonlogger.json import JsonFormatter

        handler.setFormatter(JsonFormatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    else:
        import structlog

        tracebacks = (
            structlog.processors.dict_tracebacks if kind == "structlog-dict" else structlog.processors.format_exc_info
        )
        handler.setFormatter(
            structlog.stdlib.ProcessorFormatter(
                processors=[
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    tracebacks,
                    structlog.processors.JSONRenderer(),
                ],
                foreign_pre_chain=[structlog.stdlib.add_log_level, structlog.processors.TimeStamper(fmt="iso")],
            )
        )
    logging.basicConfig(handlers=[handler], level=logging.INFO)


async def tasks() -> None:
    asyncio.create_task(refresh("prices"))  # noqa: RUF006  # SPAWN-task
    await asyncio.sleep(0.05)
    gc.collect()


def main() -> None:
    configure(sys.argv[1])
    if "--install" in sys.argv:
        install()
    logging.getLogger("app").info("service started")
    thread = threading.Thread(target=poll_feed)  # SPAWN-thread
    thread.start()
    thread.join()
    asyncio.run(tasks())
    gc.collect()
    wrapped = threading.Thread(target=wrap(send_digest))  # SPAWN-wrapped
    wrapped.start()
    wrapped.join()
    logging.getLogger("app").info("service still running")


if __name__ == "__main__":
    main()
