"""What each stream keeps of a run's and a thread's events, by the modes it asked for; the
end of a deleted thread reaches every stream of it, whatever it filters."""

from __future__ import annotations

import uuid

from graphport.execution.broker import END, LocalBroker, Subscriber


def _names(subscriber: Subscriber) -> list[str]:
    found = []
    while not subscriber.queue.empty():
        event = subscriber.queue.get_nowait()
        found.append("END" if event is END else event.event)
    return found


async def _one_run(broker: LocalBroker, thread_id: uuid.UUID) -> None:
    run_id = uuid.uuid4()
    broker.prepare(run_id, thread_id, resumable=False)
    for name in ("metadata", "values", "messages/partial|sub:1", "updates|sub:1", "error"):
        await broker.publish(run_id, thread_id, name, {})
    await broker.close(run_id, thread_id)


async def test_thread_streams_keep_their_modes() -> None:
    broker = LocalBroker()
    thread_id = uuid.uuid4()
    streams = {
        modes: broker.subscribe_thread(thread_id, last_event_id=None, modes=modes)
        for modes in (None, ("run_modes",), ("lifecycle",), ("state_update",))
    }
    both = broker.subscribe_thread(
        thread_id, last_event_id=None, modes=("lifecycle", "state_update")
    )
    await _one_run(broker, thread_id)
    broker.publish_thread(thread_id, "state_update", {"state": {}})
    run_events = ["metadata", "values", "messages/partial|sub:1", "updates|sub:1", "error"]
    assert _names(streams[None]) == [*run_events, "metadata"]  # run_modes by default
    assert _names(streams[("run_modes",)]) == [*run_events, "metadata"]
    assert _names(streams[("lifecycle",)]) == ["metadata", "metadata"]
    assert _names(streams[("state_update",)]) == ["state_update"]
    assert _names(both) == ["metadata", "metadata", "state_update"]

    broker.end_thread(thread_id)  # its end passes every filter
    for stream in [*streams.values(), both]:
        assert _names(stream) == ["error", "END"]


async def test_run_streams_keep_their_modes() -> None:
    broker = LocalBroker()
    thread_id, run_id = uuid.uuid4(), uuid.uuid4()
    broker.prepare(run_id, thread_id, resumable=True)
    names = ("metadata", "values", "messages/partial|sub:1", "updates|sub:1", "error")
    for name in names:
        await broker.publish(run_id, thread_id, name, {})
    await broker.close(run_id, thread_id)

    def join(*modes: str) -> list[str]:
        joined = broker.subscribe_run(run_id, last_event_id="-1", modes=modes)
        assert joined is not None
        return _names(joined)

    assert join() == [*names, "END"]
    assert join("values") == ["values", "error", "END"]
    assert join("messages-tuple", "metadata") == [
        "metadata",
        "messages/partial|sub:1",
        "error",
        "END",
    ]
    assert join("updates") == ["updates|sub:1", "error", "END"]
