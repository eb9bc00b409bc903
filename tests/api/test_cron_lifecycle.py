"""A cron lives no longer than its assistant and its thread: deleting either deletes the
cron, even while the cron is being created; a cron left from before (its assistant gone) is
dropped at its next firing, logged once, never fired into a 404."""

from __future__ import annotations

import asyncio
import uuid

import httpx
import psycopg
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError

from tests.api.run_helpers import eventually, sdk_status
from tests.server import ServerProcess

REPEATS = 20


async def test_deleting_an_assistant_deletes_its_crons(client: LangGraphClient) -> None:
    assistant = await client.assistants.create("slow")
    kept = await client.assistants.create("slow")
    thread = await client.threads.create()
    stateless = await client.crons.create(assistant["assistant_id"], schedule="0 9 * * *")
    on_thread = await client.crons.create_for_thread(
        thread["thread_id"], assistant["assistant_id"], schedule="0 9 * * *"
    )
    other = await client.crons.create(kept["assistant_id"], schedule="0 9 * * *")

    await client.assistants.delete(assistant["assistant_id"])

    assert await client.crons.search(assistant_id=assistant["assistant_id"]) == []
    assert await client.crons.count(assistant_id=assistant["assistant_id"]) == 0
    for gone in (stateless, on_thread):
        with pytest.raises(NotFoundError):
            await client.crons.delete(gone["cron_id"])
    found = await client.crons.search(assistant_id=kept["assistant_id"])
    assert [c["cron_id"] for c in found] == [other["cron_id"]]
    assert (await client.threads.get(thread["thread_id"]))["thread_id"] == thread["thread_id"]
    await client.crons.delete(other["cron_id"])


async def test_cron_create_races_assistant_delete(client: LangGraphClient) -> None:
    for _ in range(REPEATS):
        assistant_id = (await client.assistants.create("slow"))["assistant_id"]
        thread_id = (await client.threads.create())["thread_id"]
        outcomes = await asyncio.gather(
            client.crons.create(assistant_id, schedule="0 9 * * *"),
            client.assistants.delete(assistant_id),
            client.crons.create_for_thread(thread_id, assistant_id, schedule="0 9 * * *"),
            return_exceptions=True,
        )
        codes = [sdk_status(o) for o in outcomes]
        assert codes[1] == 200, outcomes[1]
        assert codes[0] in (200, 404) and codes[2] in (200, 404), outcomes
        # a cron created first went with its assistant; one created after was refused
        assert await client.crons.search(assistant_id=assistant_id) == []


async def test_deleting_a_thread_deletes_its_crons(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    cron = await client.crons.create_for_thread(thread["thread_id"], "slow", schedule="0 9 * * *")
    await client.threads.delete(thread["thread_id"])
    assert await client.crons.search(thread_id=thread["thread_id"]) == []
    with pytest.raises(NotFoundError):
        await client.crons.delete(cron["cron_id"])


async def test_thread_cron_create_races_thread_delete(client: LangGraphClient) -> None:
    for _ in range(REPEATS):
        thread_id = (await client.threads.create())["thread_id"]
        outcomes = await asyncio.gather(
            client.crons.create_for_thread(thread_id, "slow", schedule="0 9 * * *"),
            client.threads.delete(thread_id),
            client.crons.create_for_thread(thread_id, "slow", schedule="0 9 * * *"),
            return_exceptions=True,
        )
        codes = [sdk_status(o) for o in outcomes]
        assert codes[1] == 200, outcomes[1]
        assert codes[0] in (200, 404) and codes[2] in (200, 404), outcomes
        assert await client.crons.search(thread_id=thread_id) == []


async def test_a_due_cron_whose_assistant_is_gone_is_dropped_once(
    client: LangGraphClient, http: httpx.AsyncClient, server: ServerProcess, database_uri: str
) -> None:
    """A cron stored before deleting an assistant deleted its crons: at its next firing it
    is deleted and logged once, without a run, an error or a traceback."""
    orphan = uuid.uuid4()
    with psycopg.connect(database_uri, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO cron (cron_id, assistant_id, schedule, payload, next_run_date) "
            "VALUES (%s, %s, '* * * * *', '{}', now() - interval '1 minute')",
            (orphan, uuid.uuid4()),
        )
    # a change of schedules wakes the scheduler at once
    nudge = await client.crons.create("slow", schedule="0 9 * * *")

    async def dropped() -> bool:
        return (await http.get(f"/runs/crons/{orphan}")).status_code == 404

    try:
        await eventually(dropped, within=10)
    finally:
        await client.crons.delete(nudge["cron_id"])
    lines = [line for line in server.logs().splitlines() if f"cron {orphan}" in line]
    assert len(lines) == 1 and "its assistant no longer exists" in lines[0], lines
