"""RunControl (a cancel reaches only the graph, once) and the broker's run ends (idempotent,
remembered for joins that come late). In-process: no server needed."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from graphport.execution.broker import END, LocalBroker, Subscriber
from graphport.execution.control import RunControl


async def _graph(started: asyncio.Event) -> str:
    started.set()
    await asyncio.sleep(10)
    return "done"


async def test_a_cancel_stops_the_graph_once() -> None:
    control, started = RunControl(), asyncio.Event()
    after: list[str] = []

    async def run() -> str | None:
        try:
            return await control.drive(_graph(started))
        except asyncio.CancelledError:
            action = control.cancelled_by_request()
            if action is None:
                raise
            await asyncio.sleep(0.05)  # recording the end: later cancels must not land here
            after.append(action)
            return action

    task = asyncio.create_task(run())
    await started.wait()
    control.request("interrupt")
    await asyncio.sleep(0.01)
    control.request("rollback")  # a second cancel while the end is being recorded
    assert await task == "interrupt"
    assert after == ["interrupt"]
    assert task.cancelling() == 0


async def test_a_cancel_before_the_graph_starts_skips_it() -> None:
    control, started = RunControl("interrupt"), asyncio.Event()
    with pytest.raises(asyncio.CancelledError):
        await control.drive(_graph(started))
    assert not started.is_set()
    assert control.cancelled_by_request() == "interrupt"


async def test_a_cancel_after_the_graph_is_ignored() -> None:
    control = RunControl()

    async def quick() -> str:
        return "done"

    async def run() -> str:
        result = await control.drive(quick())
        await asyncio.sleep(0.05)  # recording the end
        return result

    task = asyncio.create_task(run())
    await asyncio.sleep(0.01)
    control.request("interrupt")
    assert await task == "done"


def _drain(subscriber: Subscriber) -> list[str]:
    found = []
    while not subscriber.queue.empty():
        event = subscriber.queue.get_nowait()
        found.append("END" if event is END else event.event)
    return found


async def test_ending_a_run_closes_its_streams_once() -> None:
    broker = LocalBroker()
    run_id, thread_id = uuid.uuid4(), uuid.uuid4()
    broker.prepare(run_id, thread_id, resumable=False)
    joined = broker.subscribe_run(run_id, last_event_id=None, modes=None)
    thread = broker.subscribe_thread(thread_id, last_event_id=None, modes=None)
    assert joined is not None
    broker.end(run_id)
    broker.end(run_id)
    await broker.close(run_id, thread_id)
    assert _drain(joined) == ["END"]
    assert _drain(thread) == ["metadata"]  # one run_done


async def test_a_run_that_ended_before_its_join_gives_an_ended_stream() -> None:
    broker = LocalBroker()
    run_id, thread_id = uuid.uuid4(), uuid.uuid4()
    broker.end(run_id)  # e.g. announced by another process while the join read the run
    broker.prepare(run_id, thread_id, resumable=False)
    late = broker.subscribe_run(run_id, last_event_id=None, modes=None)
    assert late is not None and _drain(late) == ["END"]
