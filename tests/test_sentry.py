"""The Sentry recipe of docs/runtime.md, run as written against sentry-sdk with a capturing
transport: the event carries the spawn site, the worker and the thread, not only the exception."""

from __future__ import annotations

import asyncio
import gc
import re
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

import unguarded_workers
from unguarded_workers import set_error_handler, wrap

sentry_sdk = pytest.importorskip("sentry_sdk")
from sentry_sdk.transport import Transport  # noqa: E402

RUNTIME_DOC = Path(__file__).parent.parent / "docs" / "runtime.md"


def _recipe() -> str:
    text = RUNTIME_DOC.read_text(encoding="utf-8")
    match = re.search(r"<!-- sentry-recipe -->\n```python\n(.*?)```", text, re.DOTALL)
    assert match, "docs/runtime.md lost its Sentry recipe"
    return match.group(1)


class CapturingTransport(Transport):
    def __init__(self, options: Any = None) -> None:
        super().__init__(options)
        self.events: list[dict[str, Any]] = []

    def capture_envelope(self, envelope: Any) -> None:
        event = envelope.get_event()
        if event is not None:
            self.events.append(event)


@pytest.fixture
def events() -> Iterator[list[dict[str, Any]]]:
    transport = CapturingTransport()
    sentry_sdk.init(dsn="https://key@sentry.invalid/1", transport=transport, default_integrations=False)
    previous = set_error_handler(None)
    try:
        exec(compile(_recipe(), str(RUNTIME_DOC), "exec"), {})  # the recipe sets the handler
        yield transport.events
    finally:
        set_error_handler(previous)
        sentry_sdk.get_client().close()
        sentry_sdk.init()  # no DSN: disabled


def _fail() -> None:
    raise ValueError("card declined")


def test_a_wrapped_threads_failure_reaches_sentry_with_its_context(events: list[dict[str, Any]]) -> None:
    thread = threading.Thread(target=wrap(_fail), name="billing")  # SPAWN
    thread.start()
    thread.join()
    (event,) = events
    (exception,) = event["exception"]["values"]
    assert (exception["type"], exception["value"]) == ("ValueError", "card declined")
    line = next(n for n, text in enumerate(Path(__file__).read_text().splitlines(), 1) if text.endswith("# SPAWN"))
    assert event["tags"]["worker"] == f"{__name__}._fail"
    assert event["tags"]["spawn_site"] == f"{__file__}:{line}"
    assert event["tags"]["caught_by"] == "wrap"
    context = event["contexts"]["worker"]
    assert context["thread"] == "billing"
    assert (
        context["spawn_site"] == f"{__file__}:{line} in test_a_wrapped_threads_failure_reaches_sentry_with_its_context"
    )


def test_a_task_the_safety_net_catches_reaches_sentry_with_its_task(events: list[dict[str, Any]]) -> None:
    async def consume() -> None:
        raise KeyError("order")

    async def main() -> None:
        asyncio.get_running_loop().create_task(consume(), name="consumer")
        await asyncio.sleep(0.01)
        gc.collect()

    with unguarded_workers.install():
        asyncio.run(main())
        gc.collect()
        with ThreadPoolExecutor(max_workers=1) as pool:
            pool.submit(_fail)
        gc.collect()
    task_event, future_event = events
    assert task_event["tags"]["caught_by"] == "install"
    assert task_event["contexts"]["worker"]["task"] == "consumer"
    assert task_event["exception"]["values"][0]["type"] == "KeyError"
    assert future_event["tags"]["worker"] == f"{__name__}._fail"
    assert future_event["tags"]["spawn_site"].startswith(f"{__file__}:")
