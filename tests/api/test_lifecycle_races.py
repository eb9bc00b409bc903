"""Creating a thread (or a run that creates it) while the same thread is deleted: every
request answers 2xx or a clear 404, never an "already exists" 409 for a thread that no
longer exists, never a 500; every accepted run runs, or goes with the thread it was on."""

from __future__ import annotations

import asyncio
import uuid

import httpx
from langgraph_sdk.client import LangGraphClient

from tests.api.run_helpers import eventually, sdk_status

QUICK = {"delay": 0}
REPEATS = 20


async def _run_status(http: httpx.AsyncClient, thread_id: str, run_id: str) -> str | None:
    """The run's final status; None when it is gone (deleted with its thread)."""

    async def ended() -> tuple[str | None] | None:
        found = await http.get(f"/threads/{thread_id}/runs/{run_id}")
        if found.status_code == 404:
            return (None,)
        status: str = found.json()["status"]
        return None if status in ("pending", "running") else (status,)

    (status,) = await eventually(ended, within=30)
    return status


async def test_run_if_not_exists_create_races_thread_delete(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    for _ in range(REPEATS):
        thread_id = str(uuid.uuid4())
        create = [
            client.runs.create(thread_id, "slow", input=QUICK, if_not_exists="create")
            for _ in range(4)
        ]
        outcomes = await asyncio.gather(
            *create[:2], client.threads.delete(thread_id), *create[2:], return_exceptions=True
        )
        codes = [sdk_status(o) for o in outcomes]
        assert codes[2] in (200, 404), outcomes[2]  # the delete
        runs = [o for o, code in zip(outcomes, codes, strict=True) if code == 200 and o]
        assert [c for i, c in enumerate(codes) if i != 2] == [200] * 4, outcomes
        statuses = [await _run_status(http, thread_id, r["run_id"]) for r in runs]
        thread = await http.get(f"/threads/{thread_id}")
        for status in statuses:
            # ran, or was deleted (with the thread it was queued on) before it could finish
            assert status in ("success", None)
        if None in statuses:
            assert codes[2] == 200  # only the delete takes runs away
        if thread.status_code == 200:
            assert "success" in statuses
            assert thread.json()["status"] == "idle"
        else:
            assert set(statuses) == {None}


async def test_thread_create_races_thread_delete(http: httpx.AsyncClient) -> None:
    for _ in range(REPEATS):
        thread_id = str(uuid.uuid4())
        await http.post("/threads", json={"thread_id": thread_id})
        kept = {"thread_id": thread_id, "if_exists": "do_nothing"}
        responses = await asyncio.gather(
            http.post("/threads", json=kept),
            http.delete(f"/threads/{thread_id}"),
            http.post("/threads", json=kept),
            http.post("/threads", json={"thread_id": thread_id}),
        )
        codes = [r.status_code for r in responses]
        assert codes[0] == codes[2] == 200, [r.text for r in responses]
        assert codes[1] in (204, 404) and codes[3] in (200, 409), [r.text for r in responses]
        for answered in (responses[0], responses[2]):
            assert answered.json()["thread_id"] == thread_id


async def test_thread_copy_races_source_delete(http: httpx.AsyncClient) -> None:
    for _ in range(REPEATS):
        thread_id = (await http.post("/threads", json={})).json()["thread_id"]
        await http.post(
            f"/threads/{thread_id}/runs/wait", json={"assistant_id": "slow", "input": QUICK}
        )
        copy, deleted = await asyncio.gather(
            http.post(f"/threads/{thread_id}/copy", json={}),
            http.delete(f"/threads/{thread_id}"),
        )
        assert deleted.status_code == 204
        assert copy.status_code in (200, 404), copy.text
        if copy.status_code == 200:  # a whole copy: its values and its checkpoints
            made = copy.json()["thread_id"]
            state = (await http.get(f"/threads/{made}/state")).json()
            assert state["values"]["log"][-1] == "after", state
            assert state["checkpoint"]["checkpoint_id"] is not None
