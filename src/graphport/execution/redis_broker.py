"""The stream broker for many processes (``REDIS_URI``): the events a process's runs produce
go to Redis in batches, one round trip each (a Lua script: kept in a Redis Stream when the
run is resumable or while they are held for early joins, and published on the run's pub/sub
channel), whatever process runs them; each process subscribes once per run or thread its own
clients stream, and fans the events out locally. ``Last-Event-ID`` replays read the Redis
Stream, so they work from any process and after any restart, for
``GRAPHPORT_STREAM_RETENTION_SECS``.

A run's end travels on its channel too, after its last event: a process that learns of the
end some other way (Postgres' run-done notice) sends it through Redis, so its streams still
get every event published before it."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

import redis.asyncio as redis
from redis.exceptions import RedisError

from graphport.errors import Unavailable
from graphport.execution import redis_scripts as scripts
from graphport.execution.broker import (
    EARLY_JOIN_BYTES,
    EARLY_JOIN_EVENTS,
    EARLY_JOIN_SECONDS,
    END,
    ENDED_MEMORY_SECONDS,
    THREAD_HISTORY,
    ErrorFor,
    Event,
    Subscriber,
    after_id,
    ended_stream,
    run_done,
    run_filter,
    thread_filter,
)
from graphport.execution.redis_channels import PubSubChannels
from graphport.execution.redis_follow import Followed, parse_message
from graphport.execution.redis_outbox import Batch, Outbox
from graphport.serialization import dumps

logger = logging.getLogger(__name__)

_TIMEOUT = 5.0  # seconds a Redis command may take
RUN_HISTORY = 100_000  # events a resumable run keeps for Last-Event-ID (the oldest go)
_MIN_TTL_MS = 10_000  # keys outlive the early-join window even with a retention of 0
_WATCH_MS = 90_000  # a thread's "followed" flag; refreshed by ``sweep`` every 30 s
_RUN_WATCH_SECONDS = 24 * 3600  # a joined run's "produce events" flag, until it ends


_Arg = str | bytes | int


@dataclass
class _Jobs:
    """What the housekeeping task does next (sync callers hand it over)."""

    ends: set[UUID] = field(default_factory=set)
    forget_threads: set[UUID] = field(default_factory=set)
    catch_up: bool = False  # the pub/sub connection was lost and came back
    ready: asyncio.Event = field(default_factory=asyncio.Event)


class RedisBroker:
    def __init__(
        self, uri: str, *, retention_seconds: float = 600.0, prefix: str = "graphport:"
    ) -> None:
        self._uri = uri
        self._prefix = prefix
        self._ttl_ms = max(int(retention_seconds * 1000), _MIN_TTL_MS)
        self._redis: redis.Redis | None = None
        self._listening: redis.Redis | None = None
        self._channels: PubSubChannels | None = None
        self._runs: dict[UUID, Followed] = {}
        self._threads: dict[UUID, Followed] = {}
        self._ended: dict[UUID, float] = {}
        self._shutdown_error: ErrorFor | None = None
        self._jobs = _Jobs()
        self._housekeeper: asyncio.Task[None] | None = None
        self._outbox = Outbox(self._send_batch)
        self._publish_failed = 0.0  # when a failed publish was last logged
        self._closing = False

    # -- lifecycle -----------------------------------------------------------------------------

    async def start(self) -> None:
        """Connect (raises ``RedisError`` when Redis cannot be reached) and start reading."""
        # commands time out (a stuck Redis must not hold up runs); the subscriber connection
        # waits as long as nothing is published, so it has only keepalives
        self._redis = redis.Redis.from_url(
            self._uri, socket_timeout=_TIMEOUT, socket_connect_timeout=_TIMEOUT
        )
        await self._redis.ping()
        self._listening = redis.Redis.from_url(
            self._uri, socket_connect_timeout=_TIMEOUT, socket_keepalive=True
        )
        self._publish_runs = self._redis.register_script(scripts.PUBLISH_RUNS)
        self._read = self._redis.register_script(scripts.READ_RUN)
        self._end_run = self._redis.register_script(scripts.END_RUN)
        self._publish_thread = self._redis.register_script(scripts.PUBLISH_THREAD)
        self._forget_thread = self._redis.register_script(scripts.FORGET_THREAD)
        self._channels = PubSubChannels(
            self._listening,
            home=f"{self._prefix}process:{secrets.token_hex(8)}",  # this process's own
            on_message=self._dispatch,
            on_reconnect=self._reconnected,
        )
        await self._channels.start()
        self._outbox.start()
        self._housekeeper = asyncio.create_task(self._housekeep(), name="redis-broker-jobs")

    async def stop(self) -> None:
        await self._outbox.stop()
        self._closing = True  # redis-py may turn a cancel into a connection error
        self._jobs.ready.set()
        while self._housekeeper is not None and not self._housekeeper.done():
            self._housekeeper.cancel()
            await asyncio.wait([self._housekeeper], timeout=1)
        if self._channels is not None:
            await self._channels.stop()
        for client in (self._redis, self._listening):
            if client is not None:
                with contextlib.suppress(RedisError, OSError):
                    await client.aclose()

    # -- producer side (RunEvents) -------------------------------------------------------------

    async def prepare(
        self, run_id: UUID, thread_id: UUID, *, resumable: bool, streamed: bool = False
    ) -> None:
        """Mark a resumable run, before it starts, for whichever process runs it: keep all
        its events. (``streamed`` needs no mark: the creator's stream, ``from_start``,
        ends the holding for early joins when it subscribes; no round trip before the run
        starts.)"""
        if not resumable:
            return
        key = scripts.run_key(self._prefix, run_id)
        try:
            async with self._client().pipeline(transaction=False) as pipe:
                pipe.hset(key, "res", "1")
                pipe.pexpire(key, self._ttl_ms)
                await pipe.execute()
        except RedisError as exc:  # the run is created: it runs, its replays may miss events
            self._log_publish_failure(exc)

    async def wants(self, run_id: UUID, thread_id: UUID) -> bool:
        run_watch = scripts.run_key(self._prefix, run_id) + ":w"
        thread_watch = scripts.thread_key(self._prefix, thread_id) + ":w"
        try:
            return bool(await self._client().exists(run_watch, thread_watch))
        except RedisError:
            return True  # unsure: produce them (publishing copes with Redis being away)

    async def publish(self, run_id: UUID, thread_id: UUID, event: str, data: Any) -> None:
        """Handed over at once; sent with whatever else is waiting, in one round trip.
        Redis being away loses the event (logged), never the run."""
        await self._outbox.put(str(run_id), str(thread_id), event, dumps(data))

    async def flush(self) -> None:
        await self._outbox.flush()

    async def _send_batch(self, batch: Batch) -> None:
        args: list[_Arg] = [self._prefix, self._ttl_ms, int(EARLY_JOIN_SECONDS * 1000)]
        args += [EARLY_JOIN_EVENTS, EARLY_JOIN_BYTES, THREAD_HISTORY, RUN_HISTORY]
        for item in batch:
            args.extend(item)
        try:
            await self._publish_runs(args=args)
        except RedisError as exc:
            self._log_publish_failure(exc)

    async def close(self, run_id: UUID, thread_id: UUID) -> None:
        await self._outbox.flush()  # its end goes after its events
        await self._send_end(run_id, thread_id)
        self._ended.setdefault(run_id, time.monotonic())

    async def publish_thread(self, thread_id: UUID, event: str, data: Any) -> None:
        args: list[_Arg] = [self._prefix, str(thread_id), event, dumps(data), self._ttl_ms]
        args.append(THREAD_HISTORY)
        try:
            await self._publish_thread(args=args)
        except RedisError as exc:
            self._log_publish_failure(exc)

    def end(self, run_id: UUID) -> None:
        """The run ended (a run-done notice, which every process gets): its streams here end
        once every event published before has come, so the end is sent through Redis."""
        self._ended.setdefault(run_id, time.monotonic())
        if run_id in self._runs:
            self._jobs.ends.add(run_id)
            self._jobs.ready.set()

    def end_thread(self, thread_id: UUID) -> None:
        error = {"error": "NotFound", "message": f"404: Thread {thread_id} deleted"}
        followed = self._threads.pop(thread_id, None)
        if followed is not None:
            followed.end(followed.error_event(dumps(error)))
            self._idle(followed.channel)
        for run_id, run in list(self._runs.items()):
            if run.thread_id == thread_id:
                del self._runs[run_id]
                run.end(None)
                self._idle(run.channel)
        self._jobs.forget_threads.add(thread_id)
        self._jobs.ready.set()

    async def _send_end(self, run_id: UUID, thread_id: UUID | None) -> None:
        args: list[_Arg] = [self._prefix, str(run_id), str(thread_id or "")]
        args.append(dumps(run_done(run_id)))
        try:
            await self._end_run(args=[*args, self._ttl_ms, THREAD_HISTORY])
        except RedisError as exc:
            self._log_publish_failure(exc)
            self._end_here(run_id)  # its streams here must end all the same

    # -- consumer side -------------------------------------------------------------------------

    async def subscribe_run(
        self,
        run_id: UUID,
        thread_id: UUID,
        *,
        last_event_id: str | None,
        modes: Iterable[str] | None,
        live: bool,
        from_start: bool = False,
    ) -> Subscriber:
        subscriber = Subscriber(run_filter(modes))
        if live and self._shutdown_error is not None:
            return ended_stream(self._shutdown_error(run_id))
        key = scripts.run_key(self._prefix, run_id)
        followed = None
        if live and run_id not in self._ended:
            followed = self._runs.get(run_id)
            if followed is None:
                followed = self._runs[run_id] = Followed(key, run_id, thread_id)
            followed.join(subscriber)
        try:
            if followed is not None:
                await self._pubsub().subscribe(key)
            live_here = followed is not None
            after = None if last_event_id is None else after_id(last_event_id)
            kept, meta, now = await self._read_run(
                run_id, live=live_here, from_start=from_start, after=after
            )
        except BaseException as exc:
            if followed is not None:
                self.unsubscribe(subscriber)
            _raise_unavailable(exc)
            raise
        if from_start:
            replay = list(map(_entry, kept))
        else:
            replay = self._run_replay(kept, meta, now, resuming=after is not None)
        if followed is None:
            for item in replay:
                subscriber.offer(item)
            subscriber.offer(END)
            return subscriber
        ended = meta.get(b"ended") is not None or run_id in self._ended
        if ended:  # its last events may still be on their way here: let them come first
            try:
                await self._pubsub().sync()
            except BaseException as exc:
                self.unsubscribe(subscriber)
                _raise_unavailable(exc)
                raise
        followed.joined(subscriber, replay, ended=ended)
        if subscriber.ended:
            self.unsubscribe(subscriber)
        return subscriber

    async def _read_run(
        self, run_id: UUID, *, live: bool, from_start: bool, after: int | None = None
    ) -> tuple[list[Any], dict[bytes, Any], int]:
        """(kept events, the run's hash, Redis' clock in ms): one round trip (see
        ``READ_RUN``); a live stream also marks the run as watched (its worker then
        produces events). ``after``: only the events after that id; None (and not
        ``from_start``): those an early join may get at most."""
        args: list[_Arg] = [self._prefix, str(run_id), 1 if live else 0, self._ttl_ms]
        args += [_RUN_WATCH_SECONDS, 1 if from_start else 0]
        if from_start or after is not None:
            args += ["-" if after is None else f"({after}-0", 0]
        else:
            args += ["-", EARLY_JOIN_EVENTS + 1]
        kept, flat, clock = await self._read(args=args)
        meta = dict(zip(flat[::2], flat[1::2], strict=True))
        return kept, meta, int(clock[0]) * 1000 + int(clock[1]) // 1000

    @staticmethod
    def _run_replay(
        kept: list[Any], meta: dict[bytes, Any], now: int, *, resuming: bool
    ) -> list[Event]:
        """What a join replays of ``kept`` (read after its ``Last-Event-ID`` when
        ``resuming``): all of it when the run is resumable, or, without ``Last-Event-ID``,
        the events held for early joins while they are."""
        if resuming:
            return list(map(_entry, kept)) if meta.get(b"res") == b"1" else []
        first = meta.get(b"first")
        held = (
            meta.get(b"cut") is None
            and meta.get(b"seen") is None
            and (first is None or now - int(first) <= EARLY_JOIN_SECONDS * 1000)
        )
        return list(map(_entry, kept)) if held else []

    async def subscribe_thread(
        self, thread_id: UUID, *, last_event_id: str | None, modes: Iterable[str] | None
    ) -> Subscriber:
        subscriber = Subscriber(thread_filter(modes))
        if self._shutdown_error is not None:
            return ended_stream(self._shutdown_error(None))
        key = scripts.thread_key(self._prefix, thread_id)
        followed = self._threads.get(thread_id)
        if followed is None:
            followed = self._threads[thread_id] = Followed(key, thread_id, thread_id)
        followed.join(subscriber)
        try:
            await self._pubsub().subscribe(key)
            after = None if last_event_id is None else after_id(last_event_id)
            async with self._client().pipeline(transaction=False) as pipe:
                pipe.set(key + ":w", 1, px=_WATCH_MS)
                if after is not None:  # a replay: only what follows it
                    pipe.xrange(key + ":s", min=f"({after}-0")
                _, *read = await pipe.execute()
        except BaseException as exc:
            self.unsubscribe(subscriber)
            _raise_unavailable(exc)
            raise
        replay = list(map(_entry, read[0])) if read else []
        followed.joined(subscriber, replay, ended=False)
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        followed: Followed | None = subscriber.thread
        if followed is None or not followed.leave(subscriber):
            return
        # the last stream of it here left: stop listening (unless one comes back meanwhile)
        table, _ = self._locate(followed.channel)
        if table.get(followed.ident) is followed:
            del table[followed.ident]
        self._idle(followed.channel)

    async def sweep(self) -> None:
        """Keep the flags of followed threads alive; forget old ends."""
        now = time.monotonic()
        while self._ended:
            oldest = next(iter(self._ended))
            if now - self._ended[oldest] <= ENDED_MEMORY_SECONDS:
                break
            del self._ended[oldest]
        if self._threads:
            async with self._client().pipeline(transaction=False) as pipe:
                for followed in self._threads.values():
                    pipe.set(followed.channel + ":w", 1, px=_WATCH_MS)
                await pipe.execute()

    def open_streams(self) -> int:
        return self.run_streams() + sum(f.count() for f in self._threads.values())

    def run_streams(self) -> int:
        return sum(f.count() for f in self._runs.values())

    def end_all(self, error_for: ErrorFor) -> None:
        self._shutdown_error = error_for
        runs, self._runs = self._runs, {}
        for run_id, followed in runs.items():
            followed.end(followed.error_event(dumps(error_for(run_id))))
        threads, self._threads = self._threads, {}
        for followed in threads.values():
            followed.end(followed.error_event(dumps(error_for(None))))

    # -- pub/sub -------------------------------------------------------------------------------

    def _idle(self, channel: str) -> None:
        self._pubsub().idle(channel)
        self._jobs.ready.set()

    def _dispatch(self, channel: str, data: bytes) -> None:
        """A message on a run's or a thread's channel: to its streams here."""
        try:
            table, key = self._locate(channel)
        except ValueError:
            return
        for event in parse_message(data):
            followed = table.get(key)
            if followed is None:
                return
            if event is not END:
                followed.deliver(event)
            elif table is self._runs:
                self._ended.setdefault(key, time.monotonic())
                self._end_here(key)

    def _end_here(self, run_id: UUID) -> None:
        followed = self._runs.pop(run_id, None)
        if followed is not None:
            followed.end(None)
            self._idle(followed.channel)

    async def _housekeep(self) -> None:
        """Send run ends through Redis, forget deleted threads, catch up after a lost
        connection, stop listening on channels nobody here follows any more."""
        jobs = self._jobs
        while not self._closing:
            await jobs.ready.wait()
            jobs.ready.clear()
            try:
                await self._do_jobs(jobs)
            except asyncio.CancelledError:
                raise
            except Exception:  # the next jobs must still be done
                logger.exception("the stream broker's housekeeping failed; it goes on")

    async def _do_jobs(self, jobs: _Jobs) -> None:
        ends, jobs.ends = jobs.ends, set()
        for run_id in ends:
            followed = self._runs.get(run_id)
            await self._send_end(run_id, followed.thread_id if followed else None)
        forget, jobs.forget_threads = jobs.forget_threads, set()
        for thread_id in forget:
            with contextlib.suppress(RedisError):
                await self._forget_thread(args=[self._prefix, str(thread_id)])
        if jobs.catch_up:
            jobs.catch_up = False
            await self._catch_up()
        await self._pubsub().drop_idle(self._followed)

    def _reconnected(self) -> None:
        """The pub/sub connection came back: what was published meanwhile never came."""
        self._jobs.catch_up = True
        self._jobs.ready.set()

    async def _catch_up(self) -> None:
        """Hand each stream here the kept events it missed while the connection was lost,
        and end those whose run ended meanwhile (as Redis or Postgres' notices say)."""
        for run_id, followed in list(self._runs.items()):
            try:
                kept, meta, _ = await self._read_run(
                    run_id, live=False, from_start=False, after=followed.low_id()
                )
            except RedisError:
                self._jobs.catch_up = True  # lost again: the next reconnect retries
                return
            for item in map(_entry, kept):
                followed.deliver(item)
            if meta.get(b"ended") is not None or run_id in self._ended:
                self._end_here(run_id)
        for followed in list(self._threads.values()):
            with contextlib.suppress(RedisError):
                key = followed.channel + ":s"
                missed: Any = await self._client().xrange(key, min=f"({followed.low_id()}-0")
                for item in map(_entry, missed or ()):
                    followed.deliver(item)

    def _locate(self, channel: str) -> tuple[dict[UUID, Followed], UUID]:
        """Where a channel's streams are kept here: runs' (``r:<id>``) or threads'
        (``t:<id>``), and its id. Raises ``ValueError`` for a channel of neither."""
        kind, _, ident = channel.removeprefix(self._prefix).partition(":")
        return (self._runs if kind == "r" else self._threads), UUID(ident)

    def _followed(self, channel: str) -> bool:
        table, key = self._locate(channel)
        followed = table.get(key)
        return followed is not None and followed.channel == channel

    def _pubsub(self) -> PubSubChannels:
        if self._channels is None:
            raise Unavailable("The stream broker is not running")
        return self._channels

    def _client(self) -> redis.Redis:
        if self._redis is None:
            raise Unavailable("The stream broker is not running")
        return self._redis

    def _log_publish_failure(self, exc: Exception) -> None:
        now = time.monotonic()
        if now - self._publish_failed > 10:
            self._publish_failed = now
            logger.warning("stream events could not reach Redis (%s); streams miss them", exc)


def _entry(entry: Any) -> Event:
    """A Redis Stream entry ``(b"<n>-0", fields)`` as an event; its fields ``e`` and ``d``
    come as a mapping (XRANGE) or a flat list (XRANGE inside a script)."""
    ident, fields = entry
    if isinstance(fields, list):
        fields = dict(zip(fields[::2], fields[1::2], strict=True))
    return Event(int(ident.split(b"-", 1)[0]), fields[b"e"].decode(), fields[b"d"])


def _raise_unavailable(exc: BaseException) -> None:
    """A stream that cannot start because Redis does not answer is a 503, not a 500."""
    if isinstance(exc, RedisError):
        raise Unavailable(f"The stream broker (Redis) is unavailable: {exc}; try again") from None
