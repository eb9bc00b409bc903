"""The stream broker's interface and what its implementations share: events, subscribers and
the stream filters. ``LocalBroker`` (one process) and ``RedisBroker`` (many processes,
``REDIS_URI``) implement ``Broker``; one test suite runs against both.

A broker fans a run's events out to the streams that follow the run or its thread, keeps a
resumable run's events for ``Last-Event-ID`` replays (for the retention period), and holds
the first events of every run for early joins: a run starts here as soon as it is created,
where the official server starts it when a worker picks it up (a second later or so), so a
client that creates a run and then joins its stream must still see it from its start. The
events of a run's first ``EARLY_JOIN_SECONDS`` (from its first event, up to
``EARLY_JOIN_EVENTS`` events and ``EARLY_JOIN_BYTES`` bytes: past either none from then on)
are kept that long, also after the run ended, and a join without ``Last-Event-ID`` in that
window gets them first, then the live ones."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Protocol
from uuid import UUID

from graphport.execution.events import RunEvents

THREAD_HISTORY = 10_000  # events a thread stream can replay with Last-Event-ID
THREAD_HISTORY_BYTES = 32 * 1024 * 1024  # and their bytes at most (the oldest go first)
# A thread's event ids start from the microseconds since this moment (2026-01-01 UTC), so
# they never go backwards on a thread, whose events a client resumes after an id (Last-Event-ID,
# ``since``), when its channel is forgotten past the retention and made again, or the server
# restarts. Fewer than one event per microsecond keeps them rising; the Redis scripts do the
# same (``TIME``).
THREAD_ID_EPOCH = 1_767_225_600


def first_thread_event_id() -> int:
    """The id of a new thread channel's first event (see ``THREAD_ID_EPOCH``)."""
    return int((time.time() - THREAD_ID_EPOCH) * 1_000_000)


# How long an ended run is remembered: a join that read the run as in flight just before
# it ended (its end announced meanwhile) must still find it ended.
ENDED_MEMORY_SECONDS = 60.0
EARLY_JOIN_SECONDS = 5.0
EARLY_JOIN_EVENTS = 1_000
EARLY_JOIN_BYTES = 4 * 1024 * 1024
# Bytes of events a stream may have waiting for a client that does not read them: past it
# the stream ends (the server's memory is not a client's buffer).
MAX_QUEUED_BYTES = 64 * 1024 * 1024
SLOW_READER = (
    "The client read this stream too slowly: it ended; join it again (with Last-Event-ID "
    "when the run is resumable)"
)


@dataclass(frozen=True, slots=True)
class Event:
    id: int  # the SSE id: 1, 2, ... per run (per thread on thread streams)
    event: str
    data: bytes  # JSON, encoded once for every subscriber


END = Event(-1, "", b"")  # sentinel: the stream is over


def not_found_error(what: str) -> dict[str, str]:
    """An in-band not-found error (a join's ``__error__``, a stream's ``error`` event): the
    answer is already 200, so its message starts with the status, as the official server's
    do (``404: Run not found``)."""
    return {"error": "NotFound", "message": f"404: {what}"}


def event_mode(event: str) -> str:
    """The stream mode an event belongs to: ``messages/partial|ns`` -> ``messages``."""
    return event.split("|", 1)[0].split("/", 1)[0]


Accepts = Callable[[Event], bool]
ErrorFor = Callable[[UUID | None], Any]

THREAD_MODES = ("lifecycle", "run_modes", "state_update")
STATE_UPDATE = "state_update"  # a thread event: its state written by a client
PROTOCOL_EVENT = "protocol"  # a thread event streaming event (protocols/thread_events)


def run_filter(modes: Iterable[str] | None) -> Accepts | None:
    """What a run's stream keeps of ``modes`` (None or empty: everything). The official
    server sends only the requested modes, the ``metadata`` event included (kept when
    ``metadata`` is asked); ``error`` events are kept whatever is asked, where the official
    server drops them: a client filtering ``values`` must still learn that the run failed."""
    if not modes:
        return None
    wanted = {"messages" if m == "messages-tuple" else m for m in modes}
    return lambda item: item.event == "error" or event_mode(item.event) in wanted


def thread_filter(modes: Iterable[str] | None) -> Accepts:
    """What a thread's stream keeps, by thread stream mode (default ``run_modes``), as the
    official server does: ``run_modes`` every event of the thread's runs (their
    ``metadata`` and ``error`` events included), ``lifecycle`` only the ``metadata`` events
    (a run's start, ``{"run_id", "attempt"}``, and end, ``{"status": "run_done"}``),
    ``state_update`` the thread's state writes."""
    wanted = set(modes or ("run_modes",))

    def accepts(item: Event) -> bool:
        if item.event == PROTOCOL_EVENT:  # thread event streaming's, for its streams only
            return PROTOCOL_EVENT in wanted
        if item.event == STATE_UPDATE:
            return STATE_UPDATE in wanted
        return "run_modes" in wanted or ("lifecycle" in wanted and item.event == "metadata")

    return accepts


def run_done(run_id: UUID) -> dict[str, str]:
    """The ``metadata`` event a thread's streams get when one of its runs ends."""
    return {"status": "run_done", "run_id": str(run_id)}


class Subscriber:
    """One open stream: its events queue up in ``queue`` until ``END``. ``last_id``: the id
    of the last event handed over (a replay and the live events meeting give each once)."""

    __slots__ = ("queue", "accepts", "home", "thread", "last_id", "ended", "queued_bytes")

    def __init__(self, accepts: Accepts | None = None) -> None:
        self.queue: asyncio.Queue[Event] = asyncio.Queue()
        self.accepts = accepts  # None: every event
        self.home: set[Subscriber] | None = None  # the broker's set it belongs to
        self.thread: Any = None  # the broker's record of the thread it follows
        self.last_id = 0
        self.ended = False
        self.queued_bytes = 0  # of the events waiting in ``queue`` (see ``taken``)

    def offer(self, event: Event) -> None:
        if self.ended:
            return
        if event is END:
            self.ended = True
            self.queue.put_nowait(event)
            return
        if event.id <= self.last_id:
            return  # already handed over (a replay met the live events)
        self.last_id = event.id
        if self.accepts is None or self.accepts(event):
            self.queued_bytes += len(event.data)
            if self.queued_bytes > MAX_QUEUED_BYTES:
                self._overflow()
                return
            self.queue.put_nowait(event)

    def taken(self, event: Event) -> None:
        """The stream wrote ``event`` out: its bytes no longer wait here."""
        self.queued_bytes = max(self.queued_bytes - len(event.data), 0)

    def _overflow(self) -> None:
        """A client that reads far slower than its events come: what waits goes, and the
        stream ends with an ``error`` event (it may reconnect, with Last-Event-ID)."""
        while not self.queue.empty():
            self.queue.get_nowait()
        self.queued_bytes = 0
        error = {"error": "StreamTooSlow", "message": SLOW_READER}
        from graphport.serialization import dumps

        self.queue.put_nowait(Event(self.last_id + 1, "error", dumps(error)))
        self.ended = True
        self.queue.put_nowait(END)

    def give(self, event: Event) -> None:
        """Hand over ``event`` whatever the filter: a stream's last word (its end's error)."""
        if not self.ended:
            self.queue.put_nowait(event)


def ended_stream(error: dict[str, Any] | None = None) -> Subscriber:
    """A stream that is already over: an ``error`` event first when given."""
    subscriber = Subscriber()
    if error is not None:
        from graphport.serialization import dumps

        subscriber.give(Event(1, "error", dumps(error)))
    subscriber.offer(END)
    return subscriber


def after_id(value: str | None) -> int:
    """The event id a ``Last-Event-ID`` names (``-1``: before the first; junk: 0)."""
    if value is None:
        return 0
    try:
        return max(int(value), 0)
    except ValueError:
        return 0


class Broker(RunEvents, Protocol):
    """The producer side (``RunEvents``, for workers) and the consumer side (streams)."""

    async def start(self) -> None:
        """Connect (the Redis broker raises ``RedisError`` when it cannot)."""
        ...

    async def stop(self) -> None: ...

    async def prepare(
        self, run_id: UUID, thread_id: UUID, *, resumable: bool, streamed: bool = False
    ) -> None:
        """A run was created here for someone to stream: open its channel before it starts
        (a run that already ended gets a closed one). ``streamed``: the request that
        created it streams it from its start (its events need not be held for joins)."""
        ...

    async def publish_thread(self, thread_id: UUID, event: str, data: Any) -> None:
        """An event of the thread itself, not of a run (``state_update``): to its streams."""
        ...

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
        """The run's events kept by ``run_filter(modes)``: first the kept ones following
        ``last_event_id`` (``-1``: all) when the run is resumable, or, without it, those
        held for early joins (none once someone streamed the run from before its first
        event); then, when ``live`` (the run is in flight) and it has not ended, the live
        ones until it ends. ``from_start``: the request that created the run streams it:
        every event kept so far first. Never misses an event published after it returns,
        nor one published before that is kept."""
        ...

    async def subscribe_thread(
        self, thread_id: UUID, *, last_event_id: str | None, modes: Iterable[str] | None
    ) -> Subscriber:
        """Live events of the thread (its runs' and its own) kept by ``thread_filter(modes)``,
        after replaying those following ``last_event_id`` (``-1``: all kept)."""
        ...

    def unsubscribe(self, subscriber: Subscriber) -> None: ...

    async def sweep(self) -> None:
        """Forget what is past its retention (periodic)."""
        ...

    def open_streams(self) -> int:
        """Streams open in this process."""
        ...

    def run_streams(self) -> int:
        """Open streams of this process waiting on a run."""
        ...

    def end_all(self, error_for: ErrorFor) -> None:
        """Shutdown: every open stream here gets a final ``error`` event (its data
        ``error_for(run_id)``, ``error_for(None)`` on thread streams) and ends; streams
        opened later end the same way at once."""
        ...
