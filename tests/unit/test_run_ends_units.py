"""RunControl: a cancel reaches only the graph, once. In-process: no server needed."""

from __future__ import annotations

import asyncio

import pytest

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
