"""What the server stamps on a run's ``config["configurable"]``, as the official server does:
the run's ids, the caller (``langgraph_auth_user``, ``langgraph_auth_user_id``,
``langgraph_auth_permissions``, ``user_id``) and, on a run a cron fired, ``cron_id``. A client
cannot forge the ``langgraph_auth_*`` keys nor ``cron_id``; ``user_id`` is the client's when it
sends one (the official server's default, not a proof of identity); checkpoints record the
scalar ones."""

from __future__ import annotations

from typing import Any

import psycopg
from langgraph_sdk.client import LangGraphClient

from graphport.graphs.registry import system_assistant_id
from tests.api.run_helpers import eventually
from tests.server import ServerProcess

Users = dict[str, LangGraphClient]

FORGED = {
    "user_id": "mallory",
    "langgraph_auth_user_id": "mallory",
    "langgraph_auth_permissions": ["admin"],
    "langgraph_auth_user": {"identity": "mallory", "permissions": ["admin"]},
    "cron_id": "00000000-0000-0000-0000-00000000c0de",
    "mine": 1,
}


def _caller(seen: dict[str, Any]) -> dict[str, Any]:
    keys = ("user_id", "langgraph_auth_user_id", "langgraph_auth_permissions", "cron_id")
    return {k: seen.get(k) for k in keys}


async def test_a_run_carries_its_ids_and_caller_over_what_the_client_sent(users: Users) -> None:
    alice = users["alice"]
    thread_id = (await alice.threads.create())["thread_id"]
    output = await alice.runs.wait(
        thread_id, "stamps", input={"question": "?"}, config={"configurable": FORGED}
    )
    (run,) = await alice.runs.list(thread_id)
    ids = {
        "run_id": run["run_id"],
        "thread_id": thread_id,
        "graph_id": "stamps",
        "assistant_id": str(system_assistant_id("stamps")),
    }
    caller = {
        "user_id": "mallory",  # the client's, as on the official server
        "langgraph_auth_user_id": "alice",
        "langgraph_auth_permissions": ["read", "write"],
    }
    # the graph: the forged auth keys replaced, cron_id dropped, the client's own keys kept
    assert output["seen"] == {
        **ids,
        **caller,
        "mine": 1,
        "tier": "acme-tier",  # the create_run handler's
        "user": {"identity": "alice", "type": "AuthUser"},
    }
    stored = run["kwargs"]["config"]["configurable"]
    user = stored.pop("langgraph_auth_user")
    assert stored == {**ids, **caller, "mine": 1, "tier": "acme-tier"}
    assert {k: user[k] for k in ("identity", "tenant", "permissions")} == {
        "identity": "alice",
        "tenant": "acme",
        "permissions": ["read", "write"],
    }
    # checkpoints record the scalar keys (LangGraph copies them), never the user object
    history = await alice.threads.get_history(thread_id)
    assert len(history) == 3
    for checkpoint in history:
        metadata = checkpoint["metadata"]
        assert (metadata["langgraph_auth_user_id"], metadata["user_id"]) == ("alice", "mallory")
        assert metadata["mine"] == 1
        assert not {"cron_id", "langgraph_auth_user", "langgraph_auth_permissions"} & set(metadata)


async def test_a_user_with_values_json_cannot_carry_is_stored_with_its_runs(
    users: Users,
) -> None:
    dave = users["dave"]
    output = await dave.runs.wait(None, "stamps", input={"question": "?"})
    assert output["seen"]["user"] == {"identity": "dave", "type": "AuthUser"}
    kept = await dave.runs.create(None, "stamps", input={"question": "?"}, on_completion="keep")
    await dave.runs.join(kept["thread_id"], kept["run_id"])
    run = await dave.runs.get(kept["thread_id"], kept["run_id"])
    assert run["status"] == "success"
    user = run["kwargs"]["config"]["configurable"]["langgraph_auth_user"]
    assert (user["identity"], user["badge"]) == ("dave", "gold badge")
    assert user["joined"].startswith("2024-01-02")


async def test_without_auth_the_caller_keys_are_empty_and_user_id_is_the_runs(
    client: LangGraphClient,
) -> None:
    plain = await client.runs.wait(
        None, "inspector", input={}, config={"configurable": {**FORGED, "user_id": None}}
    )
    assert _caller(plain["seen"]["configurable"]) == {
        "user_id": "",
        "langgraph_auth_user_id": "",
        "langgraph_auth_permissions": [],
        "cron_id": None,
    }
    assert plain["seen"]["configurable"]["langgraph_auth_user"] is None

    # user_id is the run's, else its assistant's (as the official)
    assistant = await client.assistants.create(
        "inspector", config={"configurable": {"user_id": "from-assistant"}}
    )
    aid = assistant["assistant_id"]
    from_assistant = await client.runs.wait(None, aid, input={})
    assert from_assistant["seen"]["configurable"]["user_id"] == "from-assistant"
    own = {"configurable": {"user_id": "from-run"}}
    from_run = await client.runs.wait(None, aid, input={}, config=own)
    assert from_run["seen"]["configurable"]["user_id"] == "from-run"
    await client.assistants.delete(aid)


async def fire_now(uri: str, cron_ids: list[str], sdk: LangGraphClient) -> None:
    """Make the crons due now, and wake the scheduler (a new cron is a change of schedules)."""
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(
            "UPDATE cron SET next_run_date = now() - interval '1 second' "
            "WHERE cron_id = ANY(%s::uuid[])",
            (cron_ids,),
        )
    nudge = await sdk.crons.create("stamps", schedule="0 0 1 1 *")
    await sdk.crons.delete(nudge["cron_id"])


async def test_cron_runs_carry_their_cron_id_and_creator(
    users: Users, auth_server: ServerProcess, tag: str
) -> None:
    alice = users["alice"]
    thread_id = (await alice.threads.create())["thread_id"]
    on_thread = await alice.crons.create_for_thread(
        thread_id,
        "stamps",
        schedule="0 0 1 1 *",
        input={"question": "thread"},
        config={"configurable": {"cron_id": "forged", "mine": 2}},
    )
    stateless = await alice.crons.create(
        "stamps",
        schedule="0 0 1 1 *",
        input={"question": "stateless"},
        metadata={"tag": tag},
        on_run_completed="keep",
    )
    crons = [on_thread["cron_id"], stateless["cron_id"]]
    # stored with its payload, as the official server shows it
    assert on_thread["payload"]["config"]["configurable"] == {"cron_id": crons[0], "mine": 2}
    assert stateless["payload"]["config"]["configurable"] == {"cron_id": crons[1]}
    # a patched config keeps it
    patched = await alice.crons.update(crons[0], config={"configurable": {"mine": 3}})
    assert patched["payload"]["config"]["configurable"] == {"cron_id": crons[0], "mine": 3}
    await fire_now(auth_server.env["DATABASE_URI"], crons, alice)

    async def fired() -> list[str] | None:
        runs = await alice.runs.list(thread_id)
        kept = await alice.threads.search(metadata={"tag": tag}, status="idle")
        if runs and runs[0]["status"] == "success" and kept and kept[0]["values"]:
            return [thread_id, kept[0]["thread_id"]]
        return None

    threads = await eventually(fired, within=20)
    for cron_id in crons:
        await alice.crons.delete(cron_id)
    for cron_id, tid in zip(crons, threads, strict=True):
        (run,) = await alice.runs.list(tid)
        assert run["metadata"]["cron_id"] == cron_id
        stored = run["kwargs"]["config"]["configurable"]
        assert (stored["cron_id"], stored["user_id"]) == (cron_id, "alice")
        state = await alice.threads.get_state(tid)
        assert _caller(state["values"]["seen"]) == {
            "user_id": "alice",
            "langgraph_auth_user_id": "alice",
            "langgraph_auth_permissions": ["read", "write"],
            "cron_id": cron_id,
        }
        assert state["metadata"]["cron_id"] == cron_id
