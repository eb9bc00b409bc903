"""The Redis broker's one pub/sub connection per process: channels subscribed on demand
(confirmed before a stream replays, so no event falls in between), a reader task handing
each message on, and channels nobody follows any more dropped in the background."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable
from typing import Any

import redis.asyncio as redis
from redis.exceptions import RedisError

from graphport.errors import Unavailable

logger = logging.getLogger(__name__)

_CONFIRM_SECONDS = 10.0  # how long a stream waits for Redis to confirm its subscription
OnMessage = Callable[[str, bytes], None]


class PubSubChannels:
    def __init__(
        self,
        client: redis.Redis,
        *,
        home: str,
        on_message: OnMessage,
        on_reconnect: Callable[[], None],
    ) -> None:
        self._pubsub = client.pubsub()
        self._home = home  # always subscribed: the reader never finds the connection idle
        self._on_message = on_message
        self._on_reconnect = on_reconnect  # messages published meanwhile were lost
        self._confirmed: dict[str, asyncio.Future[None]] = {}
        self._idle: set[str] = set()
        self._lock = asyncio.Lock()  # subscribe and unsubscribe go out in a fixed order
        self._reader: asyncio.Task[None] | None = None
        self._closing = False
        self._syncs: dict[bytes, asyncio.Future[None]] = {}
        self._client = client

    async def start(self) -> None:
        await self._pubsub.subscribe(self._home)
        # every later connect is a reconnect, whether redis-py or the reader makes it
        if self._pubsub.connection is not None:
            self._pubsub.connection.register_connect_callback(self._connected)
        self._reader = asyncio.create_task(self._read(), name="redis-broker-reader")

    def _connected(self, _connection: Any) -> None:
        self._on_reconnect()

    async def stop(self) -> None:
        self._closing = True  # redis-py may turn a cancel into a connection error
        while self._reader is not None and not self._reader.done():
            self._reader.cancel()
            await asyncio.wait([self._reader], timeout=1)
        with contextlib.suppress(RedisError, OSError):
            await self._pubsub.aclose()  # type: ignore[no-untyped-call]

    async def subscribe(self, channel: str) -> None:
        """Listen on ``channel``; returns once Redis confirmed it, so every message published
        from then on reaches this process. Raises ``Unavailable`` when Redis does not
        answer."""
        async with self._lock:
            confirmed = self._confirmed.get(channel)
            if confirmed is None:
                confirmed = asyncio.get_running_loop().create_future()
                self._confirmed[channel] = confirmed
                self._idle.discard(channel)
                await self._pubsub.subscribe(channel)
        try:
            async with asyncio.timeout(_CONFIRM_SECONDS):
                await asyncio.shield(confirmed)
        except TimeoutError:
            raise Unavailable("The stream broker (Redis) did not answer; try again") from None

    async def sync(self) -> None:
        """Return once every message published to a channel subscribed here before the
        call was handed on: a marker sent to this process's own channel comes back after
        them."""
        token = secrets.token_hex(8).encode()
        arrived = self._syncs[token] = asyncio.get_running_loop().create_future()
        try:
            await self._client.publish(self._home, token)
            async with asyncio.timeout(_CONFIRM_SECONDS):
                await arrived
        except TimeoutError:
            raise Unavailable("The stream broker (Redis) did not answer; try again") from None
        finally:
            self._syncs.pop(token, None)

    def idle(self, channel: str) -> None:
        """Nobody here may follow ``channel`` any more (see ``drop_idle``)."""
        self._idle.add(channel)

    async def drop_idle(self, followed: Callable[[str], bool]) -> None:
        """Unsubscribe the idle channels that ``followed`` says nobody follows again."""
        async with self._lock:
            idle = [channel for channel in self._idle if not followed(channel)]
            self._idle.clear()
            for channel in idle:
                self._confirmed.pop(channel, None)
            if idle:
                with contextlib.suppress(RedisError, OSError):
                    await self._pubsub.unsubscribe(*idle)

    async def _read(self) -> None:
        while not self._closing:
            try:
                message = await self._pubsub.get_message(timeout=None)
            except (RedisError, OSError) as exc:
                logger.warning("lost the stream broker's Redis connection (%s); reconnecting", exc)
                await asyncio.sleep(0.5)
                with contextlib.suppress(RedisError, OSError):
                    # subscribes again to every channel
                    await self._pubsub.connect()  # type: ignore[no-untyped-call]
                    self._on_reconnect()
                continue
            if message is not None:
                self._dispatch(message)

    def _dispatch(self, message: dict[str, Any]) -> None:
        channel = message["channel"].decode()
        if message["type"] == "subscribe":
            confirmed = self._confirmed.get(channel)
            if confirmed is not None and not confirmed.done():
                confirmed.set_result(None)
        elif message["type"] == "message" and channel == self._home:
            arrived = self._syncs.get(message["data"])
            if arrived is not None and not arrived.done():
                arrived.set_result(None)
        elif message["type"] == "message":
            try:
                self._on_message(channel, message["data"])
            except Exception:  # one bad message must not stop every stream of the process
                logger.exception("a stream event from Redis could not be handed on")
