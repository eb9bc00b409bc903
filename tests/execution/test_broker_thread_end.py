"""The broker's side of a deleted thread: its streams end with an error, its runs' streams
end, and nothing of it is kept (a thread created again with its id starts afresh)."""

from __future__ import annotations

import json
import uuid

from graphport.execution.broker import END, Event, LocalBroker, Subscriber


def _drain(subscriber: Subscriber) -> list[Event]:
    events = []
    while not subscriber.queue.empty():
        events.append(subscriber.queue.get_nowait())
    return events


async def test_deleting_a_thread_ends_its_streams_and_its_runs_streams() -> None:
    broker = LocalBroker()
    thread_id, run_id, other_run = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    broker.prepare(run_id, thread_id, resumable=True)
    broker.prepare(other_run, uuid.uuid4(), resumable=False)
    watching = broker.subscribe_thread(thread_id, last_event_id=None, modes=None)
    joined = broker.subscribe_run(run_id, last_event_id=None, modes=None)
    elsewhere = broker.subscribe_run(other_run, last_event_id=None, modes=None)
    assert joined is not None and elsewhere is not None
    await broker.publish(run_id, thread_id, "values", {"n": 1})

    broker.end_thread(thread_id)

    *_, error, end = _drain(watching)
    assert error.event == "error" and end is END
    message = {"error": "NotFound", "message": f"404: Thread {thread_id} deleted"}
    assert json.loads(error.data) == message
    assert _drain(joined)[-1] is END
    assert _drain(elsewhere) == []  # another thread's run: untouched
    assert broker.subscribe_run(run_id, last_event_id="-1", modes=None) is None  # not kept
    assert broker.open_streams() == 1
    broker.end_thread(thread_id)  # idempotent

    again = broker.subscribe_thread(thread_id, last_event_id="-1", modes=None)
    assert _drain(again) == []  # the old history went with the thread
    broker.unsubscribe(watching)  # a stream of the deleted thread leaving: no effect on it
    await broker.publish(uuid.uuid4(), thread_id, "values", {"n": 2})
    assert [e.event for e in _drain(again)] == ["values"]


def test_a_stream_of_an_unknown_thread_leaves_nothing_behind() -> None:
    broker = LocalBroker()
    subscriber = broker.subscribe_thread(uuid.uuid4(), last_event_id=None, modes=None)
    broker.unsubscribe(subscriber)
    assert broker._threads == {}
