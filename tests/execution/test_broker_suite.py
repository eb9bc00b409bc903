"""The stream broker's contract, run against both brokers (in-process and Redis): early
joins, Last-Event-ID replays, filters, ends, deleted threads, shutdown."""

from __future__ import annotations

import asyncio
import json
import uuid

import pytest

from graphport.execution.broker import Broker
from tests.execution.broker_helpers import (
    join,
    label,
    publish,
    set_window,
    settle,
    so_far,
    until_end,
)


def ids() -> tuple[uuid.UUID, uuid.UUID]:
    return uuid.uuid4(), uuid.uuid4()


async def test_a_join_after_the_runs_first_events_gets_them_then_the_live_ones(
    broker: Broker,
) -> None:
    thread_id, run_id = ids()
    await broker.prepare(run_id, thread_id, resumable=False)
    await publish(broker, run_id, thread_id, "metadata", "values")

    joined = await join(broker, run_id, thread_id)
    assert await so_far(broker, joined) == ["metadata:1", "values:2"]
    await broker.publish(run_id, thread_id, "values", {"n": 3})
    await broker.close(run_id, thread_id)
    assert await until_end(joined) == ["values:3", "END"]


@pytest.mark.parametrize("live", [True, False])
async def test_a_join_right_after_a_fast_run_ended_gets_its_events(
    broker: Broker, live: bool
) -> None:
    thread_id, run_id = ids()
    await broker.prepare(run_id, thread_id, resumable=False)
    await publish(broker, run_id, thread_id, "metadata", "values", "error")
    await broker.close(run_id, thread_id)

    every = ["metadata:1", "values:2", "error:3", "END"]
    assert await until_end(await join(broker, run_id, thread_id, live=live)) == every
    filtered = await join(broker, run_id, thread_id, modes=["values"], live=live)
    assert await until_end(filtered) == ["values:2", "error:3", "END"]  # its modes apply
    assert broker.open_streams() == 0


async def test_every_early_join_gets_each_event_once_in_order(broker: Broker) -> None:
    thread_id, run_id = ids()
    await publish(broker, run_id, thread_id, "metadata", "values")
    first = await join(broker, run_id, thread_id)
    await broker.publish(run_id, thread_id, "values", {"n": 3})
    second = await join(broker, run_id, thread_id)
    await broker.publish(run_id, thread_id, "values", {"n": 4})
    await broker.close(run_id, thread_id)
    third = await join(broker, run_id, thread_id)

    every = ["metadata:1", "values:2", "values:3", "values:4", "END"]
    for stream in (first, second, third):
        assert await until_end(stream) == every


async def test_a_run_streamed_from_its_start_holds_nothing(broker: Broker) -> None:
    """Its stream was there before it started (the request that created it streams it): a
    join afterwards gets only what follows, as on the official server."""
    thread_id, run_id = ids()
    await broker.prepare(run_id, thread_id, resumable=False)
    streamed = await join(broker, run_id, thread_id)
    await publish(broker, run_id, thread_id, "metadata", "values")
    await settle(broker)
    later = await join(broker, run_id, thread_id)
    await broker.publish(run_id, thread_id, "values", {"n": 3})
    await broker.close(run_id, thread_id)

    assert await until_end(streamed) == ["metadata:1", "values:2", "values:3", "END"]
    assert await until_end(later) == ["values:3", "END"]
    assert await until_end(await join(broker, run_id, thread_id, live=False)) == ["END"]


async def test_the_creators_stream_gets_what_came_before_it_and_nobody_else(
    broker: Broker,
) -> None:
    """The run started (in a worker, say) before the stream of the request that created it
    subscribed: that stream still gets every event; a later join none of those."""
    thread_id, run_id = ids()
    await broker.prepare(run_id, thread_id, resumable=False, streamed=True)
    await publish(broker, run_id, thread_id, "metadata", "values")
    creator = await join(broker, run_id, thread_id, from_start=True)
    await settle(broker)
    later = await join(broker, run_id, thread_id)
    await publish(broker, run_id, thread_id, "values", start=3)
    await broker.close(run_id, thread_id)

    assert await until_end(creator) == ["metadata:1", "values:2", "values:3", "END"]
    assert await until_end(later) == ["values:3", "END"]


async def test_joins_racing_the_events_get_each_once_in_order(broker: Broker) -> None:
    """Many joins while the run publishes: each sees the run from its start, in order."""
    thread_id, run_id = ids()

    async def produce() -> None:
        for n in range(1, 41):
            await broker.publish(run_id, thread_id, "values", {"n": n})
            await asyncio.sleep(0)
        await broker.close(run_id, thread_id)

    producer = asyncio.create_task(produce())
    joins = [await join(broker, run_id, thread_id) for _ in range(10)]
    await producer
    every = [f"values:{n}" for n in range(1, 41)] + ["END"]
    for stream in joins:
        assert await until_end(stream) == every


async def test_after_the_window_a_join_gets_only_live_events(
    broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    set_window(monkeypatch, "EARLY_JOIN_SECONDS", 0.05)
    thread_id, run_id, ended = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    for each in (run_id, ended):
        await broker.prepare(each, thread_id, resumable=False)
        await publish(broker, each, thread_id, "metadata", "values")
    await broker.close(ended, thread_id)
    await asyncio.sleep(0.1)
    await broker.publish(run_id, thread_id, "values", {"n": 3})  # past it: not held
    await broker.flush()

    late = await join(broker, run_id, thread_id)
    assert await so_far(broker, late) == []
    await broker.publish(run_id, thread_id, "values", {"n": 4})
    await broker.close(run_id, thread_id)
    assert await until_end(late) == ["values:4", "END"]
    await broker.sweep()
    assert await until_end(await join(broker, ended, thread_id, live=False)) == ["END"]


async def test_the_window_starts_at_the_runs_first_event(
    broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run queued for a while holds its events from when it starts."""
    set_window(monkeypatch, "EARLY_JOIN_SECONDS", 0.05)
    thread_id, run_id = ids()
    await broker.prepare(run_id, thread_id, resumable=False)
    await asyncio.sleep(0.1)
    await publish(broker, run_id, thread_id, "metadata")
    assert await so_far(broker, await join(broker, run_id, thread_id)) == ["metadata:1"]


@pytest.mark.parametrize(("bound", "value"), [("EARLY_JOIN_EVENTS", 3), ("EARLY_JOIN_BYTES", 25)])
async def test_past_its_bound_a_run_holds_no_events_for_good(
    broker: Broker, monkeypatch: pytest.MonkeyPatch, bound: str, value: int
) -> None:
    set_window(monkeypatch, bound, value)
    thread_id, run_id, small = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await publish(broker, small, thread_id, "metadata", "values", "values")  # 3 x 7 bytes
    held = await join(broker, small, thread_id)
    assert await so_far(broker, held) == ["metadata:1", "values:2", "values:3"]

    await publish(broker, run_id, thread_id, "metadata", "values", "values", "values")
    assert await so_far(broker, await join(broker, run_id, thread_id)) == []
    await broker.publish(run_id, thread_id, "values", {"n": 5})
    # (through Redis, the live event may reach this process just after the join)
    assert await so_far(broker, await join(broker, run_id, thread_id)) in ([], ["values:5"])
    await broker.close(run_id, thread_id)
    assert await until_end(await join(broker, run_id, thread_id, live=False)) == ["END"]


async def test_last_event_id_replays_a_resumable_run(
    broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With ``Last-Event-ID`` a resumable run replays what follows it, whenever; a run that
    is not resumable replays nothing, even in its first moments."""
    set_window(monkeypatch, "EARLY_JOIN_SECONDS", 0.05)
    thread_id, plain, resumable = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await broker.prepare(plain, thread_id, resumable=False)
    await broker.prepare(resumable, thread_id, resumable=True)
    for run_id in (plain, resumable):
        await publish(broker, run_id, thread_id, "metadata", "values", "values")

    assert await so_far(broker, await join(broker, plain, thread_id, last_event_id="-1")) == []
    after_one = await join(broker, resumable, thread_id, last_event_id="1")
    assert await so_far(broker, after_one) == ["values:2", "values:3"]
    every = ["metadata:1", "values:2", "values:3"]
    assert await so_far(broker, await join(broker, resumable, thread_id)) == every
    await asyncio.sleep(0.1)
    await broker.publish(resumable, thread_id, "values", {"n": 4})
    await broker.close(resumable, thread_id)
    await broker.sweep()
    assert await until_end(await join(broker, resumable, thread_id)) == ["END"]  # no window
    replayed = await join(broker, resumable, thread_id, last_event_id="-1", live=False)
    assert await until_end(replayed) == [*every, "values:4", "END"]  # still kept
    junk = await join(broker, resumable, thread_id, last_event_id="junk", live=False)
    assert await until_end(junk) == [*every, "values:4", "END"]


async def test_thread_streams_keep_their_modes(broker: Broker) -> None:
    thread_id = uuid.uuid4()
    streams = {
        modes: await broker.subscribe_thread(thread_id, last_event_id=None, modes=modes)
        for modes in (None, ("run_modes",), ("lifecycle",), ("state_update",))
    }
    both = await broker.subscribe_thread(
        thread_id, last_event_id=None, modes=("lifecycle", "state_update")
    )
    run_id = uuid.uuid4()
    run_events = ["metadata", "values", "messages/partial|sub:1", "updates|sub:1", "error"]
    for name in run_events:
        await broker.publish(run_id, thread_id, name, {})
    await broker.close(run_id, thread_id)
    await broker.publish_thread(thread_id, "state_update", {"state": {}})

    assert await so_far(broker, streams[None]) == [*run_events, "metadata"]
    assert await so_far(broker, streams[("run_modes",)]) == [*run_events, "metadata"]
    assert await so_far(broker, streams[("lifecycle",)]) == ["metadata", "metadata"]
    assert await so_far(broker, streams[("state_update",)]) == ["state_update"]
    assert await so_far(broker, both) == ["metadata", "metadata", "state_update"]

    kept = await broker.subscribe_thread(thread_id, last_event_id="-1", modes=None)
    await settle(broker)
    kept_ids = [kept.queue.get_nowait().id for _ in range(kept.queue.qsize())]
    assert kept_ids == list(range(kept_ids[0], kept_ids[0] + len(kept_ids)))  # consecutive
    fourth = str(kept_ids[3])
    replay = await broker.subscribe_thread(thread_id, last_event_id=fourth, modes=None)
    assert await so_far(broker, replay) == ["error", "metadata"]  # run_modes: no state
    broker.end_thread(thread_id)  # its end passes every filter
    for stream in [*streams.values(), both, replay]:
        assert await until_end(stream) == ["error", "END"]


async def test_a_threads_event_ids_never_go_backwards(broker: Broker) -> None:
    """A client resumes after an id (Last-Event-ID, ``since``): once the thread's events are
    forgotten (retention, a restart; here its end) new ones still come after it."""

    async def ids_of(thread_id: uuid.UUID) -> list[int]:
        stream = await broker.subscribe_thread(thread_id, last_event_id="-1", modes=None)
        run_id = uuid.uuid4()
        for _ in range(3):
            await broker.publish(run_id, thread_id, "values", {})
        await settle(broker)
        found = [stream.queue.get_nowait().id for _ in range(stream.queue.qsize())]
        broker.unsubscribe(stream)
        return found

    thread_id = uuid.uuid4()
    first = await ids_of(thread_id)
    broker.end_thread(thread_id)
    await settle(broker)
    again = await ids_of(thread_id)
    assert len(first) == len(again) == 3
    assert min(again) > max(first)


async def test_run_streams_keep_their_modes(broker: Broker) -> None:
    thread_id, run_id = ids()
    await broker.prepare(run_id, thread_id, resumable=True)
    names = ("metadata", "values", "messages/partial|sub:1", "updates|sub:1", "error")
    for name in names:
        await broker.publish(run_id, thread_id, name, {})
    await broker.close(run_id, thread_id)

    async def joined(*modes: str) -> list[str]:
        stream = await join(broker, run_id, thread_id, last_event_id="-1", modes=modes)
        return await until_end(stream)

    assert await joined() == [*names, "END"]
    assert await joined("values") == ["values", "error", "END"]
    assert await joined("messages-tuple", "metadata") == [
        "metadata",
        "messages/partial|sub:1",
        "error",
        "END",
    ]
    assert await joined("updates") == ["updates|sub:1", "error", "END"]


async def test_deleting_a_thread_ends_its_streams_and_its_runs_streams(broker: Broker) -> None:
    thread_id, run_id, other_run, other_thread = (uuid.uuid4() for _ in range(4))
    await broker.prepare(run_id, thread_id, resumable=True)
    watching = await broker.subscribe_thread(thread_id, last_event_id=None, modes=None)
    joined = await join(broker, run_id, thread_id)
    elsewhere = await join(broker, other_run, other_thread)
    await broker.publish(run_id, thread_id, "values", {"n": 1})
    await so_far(broker, watching)

    broker.end_thread(thread_id)

    error, end = await until_end(watching)
    assert (error, end) == ("error", "END")
    assert (await until_end(joined))[-1] == "END"
    assert await so_far(broker, elsewhere) == []  # another thread's run: untouched
    assert broker.open_streams() == 1
    broker.end_thread(thread_id)  # idempotent
    await asyncio.sleep(0.1)  # the Redis broker forgets the thread's keys in the background
    kept = await join(broker, run_id, thread_id, last_event_id="-1", live=False)
    assert await until_end(kept) == ["END"]  # its runs' events went with it

    again = await broker.subscribe_thread(thread_id, last_event_id="-1", modes=None)
    assert await so_far(broker, again) == []  # the old history went with the thread
    broker.unsubscribe(watching)  # a stream of the deleted thread leaving: no effect
    await broker.publish(uuid.uuid4(), thread_id, "values", {"n": 2})
    assert await so_far(broker, again) == ["values:2"]
    broker.unsubscribe(again)
    broker.unsubscribe(elsewhere)
    assert broker.open_streams() == 0


async def test_the_deleted_threads_error_says_so(broker: Broker) -> None:
    thread_id = uuid.uuid4()
    watching = await broker.subscribe_thread(thread_id, last_event_id=None, modes=None)
    broker.end_thread(thread_id)
    error = await watching.queue.get()
    message = {"error": "NotFound", "message": f"404: Thread {thread_id} deleted"}
    assert (error.event, json.loads(error.data)) == ("error", message)


async def test_ending_a_run_closes_its_streams_once(broker: Broker) -> None:
    thread_id, run_id = ids()
    joined = await join(broker, run_id, thread_id)
    thread = await broker.subscribe_thread(thread_id, last_event_id=None, modes=None)
    broker.end(run_id)
    broker.end(run_id)
    await broker.close(run_id, thread_id)
    assert await until_end(joined) == ["END"]
    assert await so_far(broker, thread) == ["metadata"]  # one run_done


async def test_a_run_that_ended_before_its_join_gives_an_ended_stream(broker: Broker) -> None:
    thread_id, run_id = ids()
    broker.end(run_id)  # e.g. announced by another process while the join read the run
    assert await until_end(await join(broker, run_id, thread_id)) == ["END"]


async def test_a_joined_run_or_a_followed_thread_is_wanted(broker: Broker) -> None:
    thread_id, run_id = ids()
    watched = await join(broker, run_id, thread_id)
    assert await broker.wants(run_id, thread_id)
    other_run, followed_thread = ids()
    follower = await broker.subscribe_thread(followed_thread, last_event_id=None, modes=None)
    assert await broker.wants(other_run, followed_thread)
    broker.unsubscribe(watched)
    broker.unsubscribe(follower)


async def test_shutdown_ends_every_stream_with_an_error(broker: Broker) -> None:
    thread_id, run_id = ids()
    joined = await join(broker, run_id, thread_id)
    thread = await broker.subscribe_thread(thread_id, last_event_id=None, modes=None)
    broker.end_all(lambda run: {"error": "ServerShuttingDown", "run": str(run)})
    assert await until_end(joined) == ["error", "END"]
    assert await until_end(thread) == ["error", "END"]
    later = await join(broker, run_id, thread_id)
    assert [label(e) for e in [await later.queue.get()]] == ["error"]
    assert broker.open_streams() == 0


async def test_a_stream_its_client_does_not_read_ends_before_it_fills_memory(
    broker: Broker, monkeypatch: pytest.MonkeyPatch
) -> None:
    from graphport.execution import broker as broker_module

    monkeypatch.setattr(broker_module, "MAX_QUEUED_BYTES", 1000)
    thread_id, run_id = ids()
    reader, idle = await join(broker, run_id, thread_id), await join(broker, run_id, thread_id)
    for n in range(1, 21):
        await broker.publish(run_id, thread_id, "values", {"n": n, "pad": "x" * 100})
        await broker.flush()
        await settle(broker)
        while not reader.queue.empty():  # this one reads as the events come
            reader.taken(reader.queue.get_nowait())
    found = await until_end(idle)
    assert found[-2:] == ["error", "END"]
    assert len(found) < 12  # what waited went: only the last few and the error
    await broker.close(run_id, thread_id)
    assert await until_end(reader) == ["END"]
