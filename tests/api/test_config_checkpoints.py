"""Only a run's own request names the checkpoint it starts from. An assistant serves every
thread, so it cannot name one (422), and one stored before that rule never reaches a run;
a run's context never names one either. Config values LangGraph cannot read are refused up
front, and the empty ones (null id, root namespace, empty map, no callbacks) still run."""

from __future__ import annotations

import json
from typing import Any
from uuid import uuid4

import httpx
import psycopg
import pytest
from langgraph_sdk.client import LangGraphClient

from tests.api.run_helpers import eventually
from tests.server import ServerProcess

BOGUS = "1f0c0ffe-0000-6000-8000-000000000000"

NAMING = [
    {"checkpoint_id": BOGUS},
    {"checkpoint_ns": "child:nope"},
    {"checkpoint_ns": ""},
    {"checkpoint_map": {"": BOGUS}},
    {"checkpoint_map": {}},
    {"checkpoint_id": None},
]


async def _thread_with_log(client: LangGraphClient) -> str:
    """A thread whose state is one finished ``slow`` run: ``log`` = one, step, after."""
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "slow", input={"log": ["one"]})
    return str(thread["thread_id"])


async def _log(client: LangGraphClient, thread_id: str) -> list[str]:
    state: Any = await client.threads.get_state(thread_id)
    return list(state["values"]["log"])


@pytest.mark.parametrize("named", NAMING)
async def test_assistants_cannot_name_a_checkpoint(
    client: LangGraphClient, named: dict[str, Any]
) -> None:
    """In ``config.configurable`` or in ``context`` (mirrored into it), on create and on
    update: 422, and nothing is stored."""
    tag = uuid4().hex
    config: Any = {"configurable": named}
    for kwargs in ({"config": config}, {"context": named}):
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await client.assistants.create("slow", metadata={"tag": tag}, **kwargs)
        assert refused.value.response.status_code == 422
        assert "checkpoint" in refused.value.response.text
    assert await client.assistants.search(metadata={"tag": tag}) == []
    made = await client.assistants.create("slow", metadata={"tag": tag})
    for kwargs in ({"config": config}, {"context": named}):
        with pytest.raises(httpx.HTTPStatusError) as refused:
            await client.assistants.update(made["assistant_id"], **kwargs)
        assert refused.value.response.status_code == 422
    kept = await client.assistants.get(made["assistant_id"])
    assert kept["version"] == 1 and kept["config"] == made["config"]


async def test_an_assistant_naming_a_thread_cannot_redirect_its_runs(
    client: LangGraphClient,
) -> None:
    """``thread_id`` in an assistant's configurable is accepted (the server sets each run's
    own): its runs write to the thread they are made on."""
    other = await _thread_with_log(client)
    before = await client.threads.get_state(other)
    config: Any = {"configurable": {"thread_id": other}}
    assistant = await client.assistants.create("slow", config=config)
    mine = await _thread_with_log(client)
    await client.runs.wait(mine, assistant["assistant_id"], input={"log": ["two"]})
    assert (await _log(client, mine))[3:4] == ["two"]
    assert await client.threads.get_state(other) == before


async def test_a_stored_assistant_naming_a_checkpoint_runs_from_the_threads_latest(
    client: LangGraphClient, database_uri: str
) -> None:
    """An assistant stored before checkpoints were refused (written here behind the server's
    back) runs like any other: the thread's state is kept, not forked from nothing."""
    assistant = await client.assistants.create("slow")
    aid = assistant["assistant_id"]
    legacy = {"checkpoint_id": BOGUS, "checkpoint_ns": "x|y", "checkpoint_map": {"": BOGUS}}
    with psycopg.connect(database_uri, autocommit=True) as conn:
        conn.execute(
            "UPDATE assistant SET config = %s, context = %s WHERE assistant_id = %s",
            (json.dumps({"configurable": legacy}), json.dumps(legacy), aid),
        )
    thread_id = await _thread_with_log(client)
    before = await _log(client, thread_id)
    await client.runs.wait(thread_id, aid, input={"log": ["two"]})
    assert (await _log(client, thread_id))[: len(before) + 1] == [*before, "two"]
    stateless = await client.runs.wait(None, aid, input={"log": ["alone"]})
    assert stateless["log"][0] == "alone"


async def test_a_run_naming_a_missing_checkpoint_is_404_and_keeps_the_state(
    client: LangGraphClient,
) -> None:
    thread_id = await _thread_with_log(client)
    before = await client.threads.get_state(thread_id)
    config: Any = {"configurable": {"checkpoint_id": BOGUS}}
    with pytest.raises(httpx.HTTPStatusError) as refused:
        await client.runs.wait(thread_id, "slow", input={"log": ["two"]}, config=config)
    assert refused.value.response.status_code == 404
    assert await client.threads.get_state(thread_id) == before


async def test_a_run_context_never_names_a_checkpoint(client: LangGraphClient) -> None:
    """Context is the graph's own: checkpoint keys in it are not the run's checkpoint."""
    thread_id = await _thread_with_log(client)
    before = await _log(client, thread_id)
    context = {"checkpoint_id": BOGUS, "checkpoint_ns": "nope", "checkpoint_map": ""}
    await client.runs.wait(thread_id, "slow", input={"log": ["two"]}, context=context)
    assert (await _log(client, thread_id))[: len(before) + 1] == [*before, "two"]


@pytest.mark.parametrize(
    "config",
    [
        {"configurable": {"checkpoint_id": None, "checkpoint_ns": "", "checkpoint_map": {}}},
        {"callbacks": None},
        {"callbacks": []},
    ],
)
async def test_empty_checkpoint_keys_and_callbacks_run_from_the_latest(
    client: LangGraphClient, config: dict[str, Any]
) -> None:
    """Null, the root namespace and an empty map name no checkpoint; no callbacks is no
    callbacks: thread and stateless runs run, the thread's state kept."""
    thread_id = await _thread_with_log(client)
    before = await _log(client, thread_id)
    await client.runs.wait(thread_id, "slow", input={"log": ["two"]}, config=config)
    assert (await _log(client, thread_id))[: len(before) + 1] == [*before, "two"]
    stateless = await client.runs.wait(None, "slow", input={"log": ["x"]}, config=config)
    assert stateless["log"][0] == "x"


async def test_a_stored_cron_whose_run_is_not_valid_is_one_warning_per_firing(
    client: LangGraphClient, server: ServerProcess, database_uri: str
) -> None:
    """A cron stored before config values were checked: each firing logs one warning line
    (no traceback) and the cron goes on to its next time."""
    cron = await client.crons.create("slow", schedule="0 9 * * *")
    cron_id = cron["cron_id"]
    payload = {"assistant_id": "slow", "config": {"configurable": {"checkpoint_ns": 0}}}
    with psycopg.connect(database_uri, autocommit=True) as conn:
        conn.execute(
            "UPDATE cron SET payload = %s, next_run_date = now() - interval '1 minute' "
            "WHERE cron_id = %s",
            (json.dumps(payload), cron_id),
        )
    nudge = await client.crons.create("slow", schedule="0 9 * * *")  # wakes the scheduler

    async def fired() -> bool:
        return f"cron {cron_id}'s run is not valid" in server.logs()

    try:
        await eventually(fired, within=10)
    finally:
        await client.crons.delete(nudge["cron_id"])
        await client.crons.delete(cron_id)
    lines = [line for line in server.logs().splitlines() if f"cron {cron_id}" in line]
    assert len(lines) == 1 and "checkpoint_ns must be a string" in lines[0], lines
    assert "Traceback" not in server.logs().split(f"cron {cron_id}'s run", 1)[1][:2000]
    assert "WARNING" in lines[0]
