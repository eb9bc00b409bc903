"""What the Redis broker keeps in each process: the runs and threads its clients stream, and
the pub/sub message format."""

from __future__ import annotations

from uuid import UUID

from graphport.execution.broker import END, Event, Subscriber


class Followed:
    """A run or thread streamed here: its open streams, and those still joining, whose live
    events wait until their replay from Redis is handed over (each event once, in order)."""

    __slots__ = ("channel", "ident", "thread_id", "active", "joining", "last_id")

    def __init__(self, channel: str, ident: UUID, thread_id: UUID) -> None:
        self.channel = channel  # its pub/sub channel (and key prefix)
        self.ident = ident  # the run's or the thread's id
        self.thread_id = thread_id
        self.active: set[Subscriber] = set()
        self.joining: dict[Subscriber, list[Event]] = {}
        self.last_id = 0  # the highest event id seen here

    def join(self, subscriber: Subscriber) -> None:
        subscriber.thread = self
        self.joining[subscriber] = []

    def joined(self, subscriber: Subscriber, replay: list[Event], *, ended: bool) -> None:
        """Hand ``subscriber`` its replay, then what came live meanwhile, then (``ended``)
        the end; from then on it gets events as they come."""
        buffered = self.joining.pop(subscriber, None)
        if buffered is None:
            return  # it left (or was ended) meanwhile
        for item in replay:
            subscriber.offer(item)
        for item in buffered:
            subscriber.offer(item)
        if ended:
            subscriber.offer(END)
        if not subscriber.ended:
            self.active.add(subscriber)

    def deliver(self, event: Event) -> None:
        self.last_id = max(self.last_id, event.id)
        for subscriber in self.active:
            subscriber.offer(event)
        for buffered in self.joining.values():
            buffered.append(event)

    def leave(self, subscriber: Subscriber) -> bool:
        """Forget ``subscriber``; True when nobody here streams this any more."""
        self.active.discard(subscriber)
        self.joining.pop(subscriber, None)
        subscriber.thread = None
        return not self.active and not self.joining

    def count(self) -> int:
        return len(self.active) + len(self.joining)

    def end(self, error: Event | None) -> None:
        """Every stream of it here ends: after ``error`` (given whatever their filter), or,
        without one, after what they still have to get (a joining one: its replay)."""
        for subscriber in self.active:
            if error is not None:
                subscriber.give(error)
            subscriber.offer(END)
            subscriber.thread = None
        self.active.clear()
        for subscriber, buffered in self.joining.items():
            if error is not None:
                subscriber.give(error)
                subscriber.offer(END)
            else:
                buffered.append(END)

    def low_id(self) -> int:
        """The lowest id its streams here got up to (what a catch-up reads after)."""
        subscribers = [*self.active, *self.joining]
        return min((s.last_id for s in subscribers), default=self.last_id)

    def error_event(self, data: bytes) -> Event:
        """An ``error`` event with an id after every id its streams here were given."""
        seen = [self.last_id, *(s.last_id for s in self.active), *(s.last_id for s in self.joining)]
        return Event(max(seen) + 1, "error", data)


def parse_message(data: bytes) -> list[Event]:
    """The events of a message: ``<id>:<len(event)>:<len(data)>:<event><data>``, repeated;
    id 0 is the end of a run."""
    events: list[Event] = []
    at, end = 0, len(data)
    while at < end:
        first = data.index(b":", at)
        second = data.index(b":", first + 1)
        third = data.index(b":", second + 1)
        ident = int(data[at:first])
        name_end = third + 1 + int(data[first + 1 : second])
        data_end = name_end + int(data[second + 1 : third])
        if ident == 0:
            events.append(END)
        else:
            name = data[third + 1 : name_end].decode()
            events.append(Event(ident, name, data[name_end:data_end]))
        at = data_end
    return events
