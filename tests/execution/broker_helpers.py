"""Reading what a broker handed a stream, for the broker suite: the Redis broker delivers
through pub/sub, so the helpers wait for it (never by sleeping)."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import pytest

from graphport.execution import local_broker, redis_broker
from graphport.execution.broker import END, Broker, Event, Subscriber
from graphport.execution.local_broker import LocalBroker

WAIT_SECONDS = 10.0


def label(event: Event) -> str:
    """``name:n`` (``n`` from the data when it has one), or ``END``."""
    if event is END:
        return "END"
    data = json.loads(event.data)
    n = data.get("n") if isinstance(data, dict) else None
    return event.event if n is None else f"{event.event}:{n}"


async def settle(broker: Broker) -> None:
    """Return once everything published so far reached this broker's streams: a marker
    sent after it comes back on the same connection, after it."""
    if isinstance(broker, LocalBroker):
        return
    thread_id = uuid.uuid4()
    marker = await broker.subscribe_thread(thread_id, last_event_id=None, modes=None)
    await broker.publish_thread(thread_id, "marker", {})
    async with asyncio.timeout(WAIT_SECONDS):
        await marker.queue.get()
    broker.unsubscribe(marker)


async def so_far(broker: Broker, subscriber: Subscriber) -> list[str]:
    """What ``subscriber`` got until now."""
    await settle(broker)
    found = []
    while not subscriber.queue.empty():
        found.append(label(subscriber.queue.get_nowait()))
    return found


async def until_end(subscriber: Subscriber) -> list[str]:
    """Everything ``subscriber`` gets until its end (``END`` last)."""
    found: list[str] = []
    async with asyncio.timeout(WAIT_SECONDS):
        while not found or found[-1] != "END":
            found.append(label(await subscriber.queue.get()))
    return found


async def join(
    broker: Broker, run_id: uuid.UUID, thread_id: uuid.UUID, **options: Any
) -> Subscriber:
    settings: dict[str, Any] = {"last_event_id": None, "modes": None, "live": True, **options}
    return await broker.subscribe_run(run_id, thread_id, **settings)


async def publish(
    broker: Broker, run_id: uuid.UUID, thread_id: uuid.UUID, *names: str, start: int = 1
) -> None:
    for n, name in enumerate(names, start=start):
        await broker.publish(run_id, thread_id, name, {"n": n})
    await broker.flush()  # in the broker, as when a join comes


def set_window(monkeypatch: pytest.MonkeyPatch, name: str, value: float) -> None:
    """Change an early-join bound for both brokers."""
    for module in (local_broker, redis_broker):
        monkeypatch.setattr(module, name, value)
