"""The SDK pattern ``runs.create`` then ``runs.join_stream``: the join sees the run from its
start, ``metadata`` first, as on the official server (there the run starts when a worker
picks it up, a second or so later; here at once, so the broker holds the run's first
events for a join that comes a moment later)."""

from __future__ import annotations

import re
from typing import Any

import httpx
from langgraph_sdk.client import LangGraphClient

from tests.api.run_helpers import wait_for_status

TRIES = 5


async def _join(client: LangGraphClient, thread_id: str, run_id: str, **kw: Any) -> list[Any]:
    return [
        (part.event, part.data) async for part in client.runs.join_stream(thread_id, run_id, **kw)
    ]


async def test_a_join_right_after_create_sees_the_runs_first_events(
    client: LangGraphClient,
) -> None:
    """Every try: ``metadata`` (this run's) and every ``values`` event, in order, once."""
    for _ in range(TRIES):
        thread_id = str((await client.threads.create())["thread_id"])
        run = await client.runs.create(
            thread_id, "slow", input={"delay": 0.1}, stream_mode=["values"]
        )
        events = await _join(client, thread_id, run["run_id"])
        assert [name for name, _ in events] == ["metadata", "values", "values", "values"]
        assert events[0][1] == {"run_id": run["run_id"], "attempt": 1}
        logs = [data["log"] for _, data in events[1:]]
        assert logs == [[], [f"step:{run['run_id']}"], [f"step:{run['run_id']}", "after"]]


async def test_a_join_after_a_fast_run_ended_still_sees_it_whole(
    client: LangGraphClient,
) -> None:
    """The run ended before the join came (here it ran at once; on the official server it
    would not have started yet): the join still gets every event, its modes applied."""
    thread_id = str((await client.threads.create())["thread_id"])
    run = await client.runs.create(
        thread_id, "slow", input={"delay": 0}, stream_mode=["values", "updates"]
    )
    await wait_for_status(client, thread_id, run["run_id"], "success")
    events = await _join(client, thread_id, run["run_id"])
    names = ["metadata", "values", "updates", "values", "updates", "values"]
    assert [name for name, _ in events] == names
    only_values = await _join(client, thread_id, run["run_id"], stream_mode=["values"])
    assert [name for name, _ in only_values] == ["values"] * 3


async def test_a_join_right_after_a_failing_run_sees_its_error(client: LangGraphClient) -> None:
    """As on the official server: ``metadata``, the first ``values``, then the ``error``."""
    thread_id = str((await client.threads.create())["thread_id"])
    run = await client.runs.create(thread_id, "slow", input={"fail": True}, stream_mode="values")
    await wait_for_status(client, thread_id, run["run_id"], "error")
    events = await _join(client, thread_id, run["run_id"])
    assert [name for name, _ in events] == ["metadata", "values", "error"]
    assert events[-1][1] == {"error": "ValueError", "message": "boom"}


async def test_a_waited_run_produces_no_events_for_later_joins(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    """A run someone waits on (``/runs/wait``) that nobody streams skips producing events,
    as before: a join after it ended gets none."""
    thread_id = str((await client.threads.create())["thread_id"])
    body = {"assistant_id": "slow", "input": {"delay": 0}}
    waited = await http.post(f"/threads/{thread_id}/runs/wait", json=body)
    assert waited.status_code == 200
    found = re.fullmatch(r"/threads/[^/]+/runs/([^/]+)", waited.headers["content-location"])
    assert found is not None
    assert await _join(client, thread_id, found.group(1)) == []


async def test_a_join_after_the_creators_stream_gets_nothing_again(
    client: LangGraphClient,
) -> None:
    """A run its creator streamed from its start (``runs.stream``): a join after it ended
    gets an empty stream, as on the official server (the creator saw every event)."""
    thread_id = str((await client.threads.create())["thread_id"])
    streamed = [
        (part.event, part.data)
        async for part in client.runs.stream(
            thread_id, "slow", input={"delay": 0}, stream_mode="values"
        )
    ]
    assert [name for name, _ in streamed] == ["metadata", "values", "values", "values"]
    assert await _join(client, thread_id, streamed[0][1]["run_id"]) == []
