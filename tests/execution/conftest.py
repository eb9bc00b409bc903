"""The broker suite runs every test against both brokers: in-process, and Redis (a real
one, see tests/redis_server.py), each test with keys of its own."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio

from graphport.execution.broker import Broker
from graphport.execution.local_broker import LocalBroker
from graphport.execution.redis_broker import RedisBroker


@pytest.fixture
def prefix() -> str:
    return f"graphport-test-{uuid.uuid4().hex[:8]}:"


@pytest_asyncio.fixture(params=["local", "redis"], loop_scope="session")
async def broker(request: pytest.FixtureRequest, prefix: str) -> AsyncIterator[Broker]:
    made: Broker
    if request.param == "local":
        made = LocalBroker()
    else:
        made = RedisBroker(request.getfixturevalue("redis_uri"), prefix=prefix)
    await made.start()
    yield made
    await made.stop()
