"""What only the Redis broker does: several processes (here, several brokers) on one Redis,
and Redis going away and coming back."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

from graphport.errors import Unavailable
from graphport.execution.redis_broker import RedisBroker
from tests.execution.broker_helpers import join, label, publish, so_far, until_end
from tests.redis_server import RedisServer, redis_server_binary


@pytest.fixture
async def pair(redis_uri: str, prefix: str) -> AsyncIterator[tuple[RedisBroker, RedisBroker]]:
    """Two brokers on one Redis, as two processes have."""
    brokers = (RedisBroker(redis_uri, prefix=prefix), RedisBroker(redis_uri, prefix=prefix))
    for broker in brokers:
        await broker.start()
    yield brokers
    for broker in brokers:
        await broker.stop()


async def test_a_run_published_in_one_process_streams_in_another(
    pair: tuple[RedisBroker, RedisBroker],
) -> None:
    worker, api = pair
    thread_id, run_id = uuid.uuid4(), uuid.uuid4()
    joined = [await join(api, run_id, thread_id) for _ in range(50)]
    thread = await api.subscribe_thread(thread_id, last_event_id=None, modes=None)
    assert await worker.wants(run_id, thread_id)
    await publish(worker, run_id, thread_id, *["values"] * 20)
    await worker.close(run_id, thread_id)
    every = [f"values:{n}" for n in range(1, 21)] + ["END"]
    for stream in joined:
        assert await until_end(stream) == every
    assert len(await so_far(api, thread)) == 21  # the run's events and its end


async def test_a_notice_of_the_end_comes_after_every_event(
    pair: tuple[RedisBroker, RedisBroker],
) -> None:
    """Another process learns of the run's end by a Postgres notice, maybe before the last
    events reached it through Redis: its streams still get them all, then the end."""
    worker, api = pair
    thread_id, run_id = uuid.uuid4(), uuid.uuid4()
    joined = await join(api, run_id, thread_id)
    await publish(worker, run_id, thread_id, *["values"] * 200)
    api.end(run_id)  # the notice, at once
    assert len(await until_end(joined)) == 201
    await worker.close(run_id, thread_id)


async def test_a_replay_works_from_a_process_that_started_after_the_run(
    redis_uri: str, prefix: str, pair: tuple[RedisBroker, RedisBroker]
) -> None:
    worker, _ = pair
    thread_id, run_id = uuid.uuid4(), uuid.uuid4()
    await worker.prepare(run_id, thread_id, resumable=True)
    await publish(worker, run_id, thread_id, "metadata", "values", "values")
    await worker.close(run_id, thread_id)
    restarted = RedisBroker(redis_uri, prefix=prefix)
    await restarted.start()
    try:
        stream = await join(restarted, run_id, thread_id, last_event_id="1", live=False)
        assert await until_end(stream) == ["values:2", "values:3", "END"]
    finally:
        await restarted.stop()


needs_own_redis = pytest.mark.skipif(
    redis_server_binary() is None, reason="needs a redis-server of its own to stop"
)


@pytest.fixture
async def own(prefix: str) -> AsyncIterator[tuple[RedisServer, RedisBroker]]:
    """A broker on a redis-server of the test's own, which the test may stop and start."""
    with RedisServer() as server:
        broker = RedisBroker(server.uri, prefix=prefix)
        await broker.start()
        try:
            yield server, broker
        finally:
            await broker.stop()


@needs_own_redis
async def test_redis_going_away_loses_events_never_runs_nor_streams(
    own: tuple[RedisServer, RedisBroker],
) -> None:
    server, broker = own
    thread_id, run_id = uuid.uuid4(), uuid.uuid4()
    joined = await join(broker, run_id, thread_id)
    server.stop()
    await broker.publish(run_id, thread_id, "values", {"n": 1})  # lost, not raised
    assert await broker.wants(run_id, thread_id)  # unsure: produce them
    broker.end(run_id)  # the run's end, from Postgres: its stream ends all the same
    assert await until_end(joined) == ["END"]
    with pytest.raises(Unavailable):  # a new stream: a 503 to retry, not a 500
        await join(broker, uuid.uuid4(), thread_id)

    server.start()  # back: new streams work again
    other = uuid.uuid4()
    for _ in range(100):
        try:
            again = await join(broker, other, thread_id)
            break
        except Exception:
            await asyncio.sleep(0.1)
    await publish(broker, other, thread_id, "values")
    await broker.close(other, thread_id)
    assert await until_end(again) == ["values:1", "END"]


@needs_own_redis
async def test_a_lost_subscriber_connection_catches_up(
    own: tuple[RedisServer, RedisBroker],
) -> None:
    """What was published while this process's pub/sub connection was down comes after
    it reconnects (what Redis kept), and a run that ended meanwhile ends its streams."""
    import redis

    server, broker = own
    thread_id, run_id = uuid.uuid4(), uuid.uuid4()
    joined = await join(broker, run_id, thread_id)
    watching = await broker.subscribe_thread(thread_id, last_event_id=None, modes=None)
    await publish(broker, run_id, thread_id, "metadata")
    assert await so_far(broker, watching) == ["metadata:1"]
    with redis.Redis.from_url(server.uri) as admin:
        admin.client_kill_filter(_type="pubsub")
    await publish(broker, run_id, thread_id, "values", "values", start=2)
    await broker.close(run_id, thread_id)  # its end is missed too
    every = ["metadata:1", "values:2", "values:3", "END"]
    assert await until_end(joined) == every
    names = [label(await watching.queue.get()) for _ in range(3)]
    assert names == ["values:2", "values:3", "metadata"]  # the last: its run_done
