"""Custom auth decides for every resource the server creates or lists: a thread made for a
run belongs to its caller as the ``threads.create_run`` handler shaped the run, and the
graphs' own assistants follow the assistant handlers like any other (tests/fixtures/
auth_readers: owners and readers lists, as the custom-auth docs write them)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from graphport.graphs.registry import system_assistant_id
from tests.api.auth_helpers import bearer, status
from tests.api.run_helpers import eventually
from tests.api.test_run_stamps import fire_now
from tests.server import FIXTURES, ServerProcess, create_database, drop_database

READERS_CONFIG = FIXTURES / "auth_readers" / "langgraph.json"
SYSTEM_ID = str(system_assistant_id("stamps"))


@pytest.fixture(scope="module")
def readers_server(database_uri: str) -> Iterator[ServerProcess]:
    uri = create_database(database_uri)
    process = ServerProcess(database_uri=uri, config=READERS_CONFIG, command="dev").start()
    yield process
    process.stop()
    drop_database(database_uri, uri)


@pytest.fixture
async def alice(readers_server: ServerProcess) -> AsyncIterator[LangGraphClient]:
    sdk = get_client(url=readers_server.url, api_key=None, timeout=30, headers=bearer("alice"))
    yield sdk
    await sdk.http.client.aclose()


@pytest.fixture
async def bob(readers_server: ServerProcess) -> AsyncIterator[LangGraphClient]:
    sdk = get_client(url=readers_server.url, api_key=None, timeout=30, headers=bearer("bob"))
    yield sdk
    await sdk.http.client.aclose()


def owned_by_alice(tag: str, **extra: Any) -> dict[str, Any]:
    """A thread's metadata: the run's, as the create_run handler left it, and the tags."""
    return {
        "owner": "alice",
        "readers": ["alice"],
        "tag": tag,
        "graph_id": "stamps",
        "assistant_id": SYSTEM_ID,
        **extra,
    }


async def test_threads_made_for_runs_belong_to_the_caller_as_the_handler_shaped_the_run(
    alice: LangGraphClient, bob: LangGraphClient, tag: str
) -> None:
    ask: dict[str, Any] = {"input": {"question": "?"}, "metadata": {"tag": tag}}
    kept = await alice.runs.create(None, "stamps", on_completion="keep", **ask)
    created_id = str(uuid.uuid4())
    created = await alice.runs.create(created_id, "stamps", if_not_exists="create", **ask)
    batch = await alice.runs.create_batch(
        [{"assistant_id": "stamps", "on_completion": "keep", **ask} for _ in range(2)]
    )
    made = [kept, created, *batch]
    for run in made:  # the caller sees the runs they just made, at once
        found = await alice.runs.get(run["thread_id"], run["run_id"])
        assert found["metadata"] == {"tag": tag, "owner": "alice", "readers": ["alice"]}
    for run in made:
        await alice.runs.join(run["thread_id"], run["run_id"])
        thread = await alice.threads.get(run["thread_id"])
        assert (thread["metadata"], thread["status"]) == (owned_by_alice(tag), "idle")
        assert (await alice.runs.get(run["thread_id"], run["run_id"]))["status"] == "success"
        assert await status(bob.threads.get(run["thread_id"])) == 404
        assert await status(bob.runs.get(run["thread_id"], run["run_id"])) == 404
    found = await alice.threads.search(metadata={"tag": tag})
    assert sorted(t["thread_id"] for t in found) == sorted(r["thread_id"] for r in made)
    assert await bob.threads.search(metadata={"tag": tag}) == []


async def test_a_stateless_crons_threads_belong_to_its_creator(
    alice: LangGraphClient, bob: LangGraphClient, readers_server: ServerProcess, tag: str
) -> None:
    cron = await alice.crons.create(
        "stamps",
        schedule="0 0 1 1 *",
        input={"question": "cron"},
        metadata={"tag": tag},
        on_run_completed="keep",
    )
    cron_id = cron["cron_id"]
    await fire_now(readers_server.env["DATABASE_URI"], [cron_id], alice)

    async def kept() -> list[Any]:
        return await alice.threads.search(metadata={"tag": tag}, status="idle")

    (thread,) = await eventually(kept, within=20)
    await alice.crons.delete(cron_id)
    assert thread["metadata"] == owned_by_alice(tag, cron_id=cron_id)
    (run,) = await alice.runs.list(thread["thread_id"])
    assert run["status"] == "success"
    # the cron's metadata (its handler stamped the owner) under the payload's
    stamped = {"owner": "alice", "readers": ["alice"], "cron_id": cron_id}
    assert run["metadata"] == {"tag": tag, **stamped}
    assert await bob.threads.search(metadata={"tag": tag}) == []
    assert await status(bob.runs.list(thread["thread_id"])) == 404


async def test_the_graphs_own_assistants_follow_the_read_handler_but_run_by_graph_id(
    alice: LangGraphClient, bob: LangGraphClient
) -> None:
    # owned by nobody: the read filter hides them, as on the official server
    assert await alice.assistants.search() == []
    assert await alice.assistants.search(graph_id="stamps") == []
    assert await alice.assistants.count() == 0
    for call in (
        alice.assistants.get(SYSTEM_ID),
        alice.assistants.get_graph(SYSTEM_ID),
        alice.assistants.get_schemas(SYSTEM_ID),
        alice.assistants.get_subgraphs(SYSTEM_ID),
        alice.assistants.get_versions(SYSTEM_ID),
        alice.assistants.update(SYSTEM_ID, name="mine now"),
        alice.assistants.delete(SYSTEM_ID),
    ):
        assert await status(call) == 404
    # ... yet anyone runs a graph by its id (or its assistant's), and schedules it
    for named in ("stamps", SYSTEM_ID):
        output = await alice.runs.wait(None, named, input={"question": "?"})
        assert output["seen"]["assistant_id"] == SYSTEM_ID
    cron = await alice.crons.create("stamps", schedule="0 0 1 1 *")
    await alice.crons.delete(cron["cron_id"])

    mine = await alice.assistants.create("stamps", name="mine")
    aid = mine["assistant_id"]
    assert [a["assistant_id"] for a in await alice.assistants.search()] == [aid]
    assert await alice.assistants.count() == 1
    assert (await alice.assistants.get_schemas(aid))["graph_id"] == "stamps"
    assert await status(bob.assistants.get(aid)) == 404
    assert await status(bob.runs.wait(None, aid, input={"question": "?"})) == 404
    assert await status(bob.crons.create(aid, schedule="0 0 1 1 *")) == 404
    assert await bob.assistants.search() == []
    await alice.assistants.delete(aid)
