"""The in-process stream broker (one process: ``graphport dev``, or ``serve`` without
``REDIS_URI``): channels in memory, fanned out to this process's streams. See ``broker``
for the rules every broker follows."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from graphport.execution.broker import (
    EARLY_JOIN_BYTES,
    EARLY_JOIN_EVENTS,
    EARLY_JOIN_SECONDS,
    END,
    ENDED_MEMORY_SECONDS,
    PROTOCOL_EVENT,
    THREAD_HISTORY,
    THREAD_HISTORY_BYTES,
    ErrorFor,
    Event,
    Subscriber,
    after_id,
    ended_stream,
    first_thread_event_id,
    not_found_error,
    run_done,
    run_filter,
    thread_filter,
)
from graphport.serialization import dumps


@dataclass
class _RunChannel:
    thread_id: UUID
    resumable: bool
    # every event when resumable; else only those held for early joins
    events: list[Event] = field(default_factory=list)
    subscribers: set[Subscriber] = field(default_factory=set)
    next_id: int = 1
    closed_at: float | None = None
    first_at: float | None = None  # when its first event came
    holding: bool = True  # its first events are kept for early joins
    # streamed from before its first event: a join without Last-Event-ID replays none of
    # them (only the stream of the request that created it does, ``from_start``)
    seen: bool = False
    held_count: int = 0
    held_bytes: int = 0

    def keep(self, item: Event, now: float) -> None:
        """Keep a new event: every one when resumable, else while held for early joins."""
        if self.first_at is None:
            self.first_at = now
            self.seen = self.seen or bool(self.subscribers)
        if self.holding:
            self.held_count += 1
            self.held_bytes += len(item.data)
        if self.still_holding(now) or self.resumable:
            self.events.append(item)

    def still_holding(self, now: float) -> bool:
        """Whether early joins still get the run's events; once no, for good (the events
        of a run that is not resumable go then)."""
        if self.holding and self.first_at is not None:
            late = now - self.first_at > EARLY_JOIN_SECONDS
            if late or self.held_count > EARLY_JOIN_EVENTS or self.held_bytes > EARLY_JOIN_BYTES:
                self.holding = False
                if not self.resumable:
                    self.events = []
        return self.holding


@dataclass
class _ThreadChannel:
    thread_id: UUID
    history: deque[Event] = field(default_factory=deque)
    subscribers: set[Subscriber] = field(default_factory=set)
    next_id: int = field(default_factory=first_thread_event_id)
    idle_since: float | None = None
    history_bytes: int = 0

    def keep(self, item: Event) -> None:
        """Keep ``item``, the oldest going past ``THREAD_HISTORY`` events or
        ``THREAD_HISTORY_BYTES`` bytes."""
        self.history.append(item)
        self.history_bytes += len(item.data)
        while len(self.history) > THREAD_HISTORY or (
            self.history_bytes > THREAD_HISTORY_BYTES and len(self.history) > 1
        ):
            self.history_bytes -= len(self.history.popleft().data)


class LocalBroker:
    def __init__(self, *, retention_seconds: float = 600.0) -> None:
        self._runs: dict[UUID, _RunChannel] = {}
        self._threads: dict[UUID, _ThreadChannel] = {}
        self._ended: dict[UUID, float] = {}  # run id -> when it ended (insertion ordered)
        # ended runs, not resumable, whose channels stay for early joins (insertion ordered)
        self._held: dict[UUID, float] = {}
        self._retention = retention_seconds
        self._shutdown_error: ErrorFor | None = None  # set by end_all

    # -- producer side (RunEvents) -------------------------------------------------------------

    async def prepare(
        self, run_id: UUID, thread_id: UUID, *, resumable: bool, streamed: bool = False
    ) -> None:
        self._prepare(run_id, thread_id, resumable=resumable)
        if streamed:
            self._runs[run_id].seen = True

    def _prepare(self, run_id: UUID, thread_id: UUID, *, resumable: bool) -> None:
        """Open the run's channel before it starts, so early subscribers and replays work.
        A run that already ended gets a closed channel: its streams end at once."""
        if run_id not in self._runs:
            channel = self._runs[run_id] = _RunChannel(thread_id, resumable)
            if run_id in self._ended:
                channel.closed_at = time.monotonic()

    async def wants(self, run_id: UUID, thread_id: UUID) -> bool:
        channel = self._runs.get(run_id)
        if channel is not None and (
            channel.resumable or channel.subscribers or channel.still_holding(time.monotonic())
        ):
            return True
        thread = self._threads.get(thread_id)
        return thread is not None and bool(thread.subscribers)

    async def publish(self, run_id: UUID, thread_id: UUID, event: str, data: Any) -> None:
        channel = self._runs.get(run_id)
        if channel is None:
            channel = self._runs[run_id] = _RunChannel(thread_id, resumable=False)
        encoded = dumps(data)
        item = Event(channel.next_id, event, encoded)
        channel.next_id += 1
        channel.keep(item, time.monotonic())
        for subscriber in channel.subscribers:
            subscriber.offer(item)
        self._to_thread(thread_id, event, encoded)

    async def flush(self) -> None:
        return None  # published is delivered

    async def close(self, run_id: UUID, thread_id: UUID) -> None:
        self._close(run_id, thread_id)

    async def publish_thread(self, thread_id: UUID, event: str, data: Any) -> None:
        self._to_thread(thread_id, event, dumps(data))

    def end(self, run_id: UUID) -> None:
        channel = self._runs.get(run_id)
        if channel is None:
            self._ended.setdefault(run_id, time.monotonic())
        else:
            self._close(run_id, channel.thread_id)

    def end_thread(self, thread_id: UUID) -> None:
        """The thread was deleted: its streams get a final ``error`` event (``NotFound``)
        and end; its runs' streams end (as when a run ends) and their kept events go; its
        history goes too (a thread created again with that id starts afresh)."""
        thread = self._threads.pop(thread_id, None)
        if thread is not None and thread.subscribers:
            error = not_found_error(f"Thread {thread_id} deleted")
            _end(thread.subscribers, Event(thread.next_id, "error", dumps(error)))
        for run_id, channel in list(self._runs.items()):
            if channel.thread_id == thread_id:
                self._close(run_id, thread_id)
                self._runs.pop(run_id, None)

    def _close(self, run_id: UUID, thread_id: UUID) -> None:
        """End the run's streams and tell its thread's streams; once only."""
        if run_id in self._ended:
            return
        now = self._ended[run_id] = time.monotonic()
        channel = self._runs.get(run_id)
        if channel is not None:
            channel.closed_at = now
            for subscriber in channel.subscribers:
                subscriber.offer(END)
            channel.subscribers.clear()
            if channel.resumable:
                pass  # kept for Last-Event-ID replays (``sweep``)
            elif channel.events and channel.still_holding(now):
                self._held[run_id] = now  # kept for early joins a little longer
            else:
                del self._runs[run_id]
        self._forget_held(now)
        self._to_thread(thread_id, "metadata", dumps(run_done(run_id)))

    def _forget_held(self, now: float) -> None:
        """Drop the channels of ended runs kept for early joins once their window passed
        (it began before they ended)."""
        while self._held:
            run_id = next(iter(self._held))
            if now - self._held[run_id] <= EARLY_JOIN_SECONDS:
                break
            del self._held[run_id]
            channel = self._runs.get(run_id)
            if channel is not None and not channel.resumable:
                del self._runs[run_id]

    def _to_thread(self, thread_id: UUID, event: str, encoded: bytes) -> None:
        """A thread's event, kept while someone streams the thread; thread event
        streaming's (``PROTOCOL_EVENT``) always, for their streams replay from the start
        (swept after the retention, as idle histories are)."""
        thread = self._threads.get(thread_id)
        if event == PROTOCOL_EVENT:
            if thread is None:
                thread = self._threads[thread_id] = _ThreadChannel(thread_id)
            if not thread.subscribers:
                thread.idle_since = time.monotonic()
        elif thread is None or not thread.subscribers:
            return
        item = Event(thread.next_id, event, encoded)
        thread.next_id += 1
        thread.keep(item)
        for subscriber in thread.subscribers:
            subscriber.offer(item)

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
        channel = self._runs.get(run_id)
        if channel is None:
            if not live:
                return ended_stream()  # nothing kept here
            self._prepare(run_id, thread_id, resumable=False)  # closed when it already ended
            channel = self._runs[run_id]
        subscriber = Subscriber(run_filter(modes))
        if self._shutdown_error is not None and channel.closed_at is None:
            error = dumps(self._shutdown_error(run_id))
            _end({subscriber}, Event(channel.next_id, "error", error))
            return subscriber
        if from_start:
            _replay(subscriber, channel.events, "-1")
        elif last_event_id is not None:
            if channel.resumable:
                _replay(subscriber, channel.events, last_event_id)
        elif not channel.seen and channel.still_holding(time.monotonic()):
            for item in channel.events:
                subscriber.offer(item)
        if channel.closed_at is not None or not live:
            subscriber.offer(END)
        else:
            channel.subscribers.add(subscriber)
            subscriber.home = channel.subscribers
        return subscriber

    async def subscribe_thread(
        self, thread_id: UUID, *, last_event_id: str | None, modes: Iterable[str] | None
    ) -> Subscriber:
        thread = self._threads.get(thread_id)
        if thread is None:
            thread = self._threads[thread_id] = _ThreadChannel(thread_id)
        thread.idle_since = None
        subscriber = Subscriber(thread_filter(modes))
        if self._shutdown_error is not None:
            error = dumps(self._shutdown_error(None))
            _end({subscriber}, Event(thread.next_id, "error", error))
            return subscriber
        _replay(subscriber, thread.history, last_event_id)
        thread.subscribers.add(subscriber)
        subscriber.home, subscriber.thread = thread.subscribers, thread
        return subscriber

    def unsubscribe(self, subscriber: Subscriber) -> None:
        if subscriber.home is not None:
            subscriber.home.discard(subscriber)
            subscriber.home = None
        thread: _ThreadChannel | None = subscriber.thread
        if thread is not None and not thread.subscribers:
            thread.idle_since = time.monotonic()
            if not thread.history and self._threads.get(thread.thread_id) is thread:
                del self._threads[thread.thread_id]  # nothing to keep (or an unknown thread)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    async def sweep(self) -> None:
        """Forget finished runs' events and idle thread histories past the retention, and
        events held for early joins past their window."""
        now = time.monotonic()
        self._forget_held(now)
        for run_id, channel in list(self._runs.items()):
            if channel.closed_at is not None and now - channel.closed_at > self._retention:
                del self._runs[run_id]
            else:
                channel.still_holding(now)
        for thread_id, thread in list(self._threads.items()):
            if thread.idle_since is not None and now - thread.idle_since > self._retention:
                del self._threads[thread_id]
        while self._ended:
            oldest = next(iter(self._ended))
            if now - self._ended[oldest] <= ENDED_MEMORY_SECONDS:
                break
            del self._ended[oldest]

    def open_streams(self) -> int:
        return sum(len(c.subscribers) for c in self._runs.values()) + sum(
            len(t.subscribers) for t in self._threads.values()
        )

    def run_streams(self) -> int:
        """Open streams waiting on a run (thread streams wait on nothing in particular)."""
        return sum(len(c.subscribers) for c in self._runs.values())

    def end_all(self, error_for: ErrorFor) -> None:
        self._shutdown_error = error_for
        for run_id, channel in self._runs.items():
            if channel.subscribers:
                error = Event(channel.next_id, "error", dumps(error_for(run_id)))
                channel.next_id += 1
                _end(channel.subscribers, error)
        for thread in self._threads.values():
            if thread.subscribers:
                error = Event(thread.next_id, "error", dumps(error_for(None)))
                thread.next_id += 1
                _end(thread.subscribers, error)


def _end(subscribers: set[Subscriber], error: Event) -> None:
    for subscriber in subscribers:
        subscriber.give(error)
        subscriber.offer(END)
    subscribers.clear()


def _replay(subscriber: Subscriber, kept: Iterable[Event], last_event_id: str | None) -> None:
    """Hand a joining subscriber the kept events after ``last_event_id`` (``-1``: all)."""
    if last_event_id is None:
        return
    subscriber.last_id = after_id(last_event_id)
    for item in kept:
        subscriber.offer(item)
