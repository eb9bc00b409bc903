"""A run's cancel switch: the first request stops the graph; a rollback wins over an
interrupt until the run's end is recorded (its caller was told the run rolls back)."""

from __future__ import annotations

import asyncio

import pytest

from graphport.execution.control import RunControl


async def test_a_rollback_after_an_interrupt_turns_it_into_a_rollback() -> None:
    control = RunControl()
    started = asyncio.Event()

    async def graph() -> None:
        started.set()
        await asyncio.sleep(10)

    async def drive() -> str | None:
        try:
            await control.drive(graph())
        except asyncio.CancelledError:
            return control.cancelled_by_request()
        return None

    task = asyncio.create_task(drive())
    await started.wait()
    control.request("interrupt")
    control.request("rollback")
    control.request("interrupt")  # an interrupt never undoes a rollback
    assert await task == "rollback"


def test_a_request_before_the_graph_starts_stops_it_there() -> None:
    control = RunControl()
    control.request("interrupt")
    control.request("rollback")
    assert control.action == "rollback"

    async def graph() -> None:  # pragma: no cover - never started
        raise AssertionError

    with pytest.raises(asyncio.CancelledError):
        asyncio.run(control.drive(graph()))
