"""Multi-tenancy through custom auth: alice (acme), bob (globex), carol (acme, read-only).

Every resource a handler's filter hides behaves as if it did not exist, in every verb."""

from __future__ import annotations

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient

from graphport.graphs.registry import system_assistant_id
from tests.api.auth_helpers import bearer, status
from tests.server import ServerProcess

Users = dict[str, LangGraphClient]


async def test_threads_are_stamped_and_invisible_to_other_tenants(users: Users, tag: str) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    thread = await alice.threads.create(metadata={"tag": tag, "owner": "forged"})
    tid = thread["thread_id"]
    assert thread["metadata"] == {"tag": tag, "owner": "alice", "tenant": "acme"}
    await alice.runs.wait(tid, "whoami", input={"question": "hi"})

    assert await status(bob.threads.get(tid)) == 404
    assert await status(bob.threads.update(tid, metadata={"x": 1})) == 404
    assert await status(bob.threads.delete(tid)) == 404
    assert await status(bob.threads.copy(tid)) == 404
    assert await status(bob.threads.get_state(tid)) == 404
    assert await status(bob.threads.get_history(tid)) == 404
    assert await status(bob.threads.update_state(tid, {"question": "pwned"})) == 404
    assert await status(bob.threads.create(thread_id=tid)) == 409
    assert await status(bob.threads.create(thread_id=tid, if_exists="do_nothing")) == 409
    assert await bob.threads.search(metadata={"tag": tag}) == []
    assert await bob.threads.count(metadata={"tag": tag}) == 0

    # carol shares alice's tenant: she reads, but may not write
    assert (await carol.threads.get(tid))["metadata"]["owner"] == "alice"
    assert (await carol.threads.get_state(tid))["values"]["question"] == "hi"
    assert await status(carol.threads.update(tid, metadata={"x": 1})) == 403
    assert await status(carol.threads.delete(tid)) == 403
    assert await status(carol.runs.wait(tid, "whoami", input={"question": "?"})) == 403

    assert (await alice.threads.get(tid))["values"]["question"] == "hi"
    copied = await alice.threads.copy(tid)
    assert copied["metadata"]["tenant"] == "acme"
    await alice.threads.delete(copied["thread_id"])


async def test_search_count_and_pagination_only_see_the_callers_tenant(
    users: Users, raw: httpx.AsyncClient, tag: str
) -> None:
    for _ in range(3):
        await users["alice"].threads.create(metadata={"tag": tag})
    for _ in range(2):
        await users["bob"].threads.create(metadata={"tag": tag})
    page = await raw.post(
        "/threads/search", json={"metadata": {"tag": tag}, "limit": 2}, headers=bearer("alice")
    )
    assert [t["metadata"]["tenant"] for t in page.json()] == ["acme", "acme"]
    assert page.headers["x-pagination-total"] == "3"
    assert page.headers["x-pagination-next"] == "2"
    bob_page = await raw.post(
        "/threads/search", json={"metadata": {"tag": tag}}, headers=bearer("bob")
    )
    assert bob_page.headers["x-pagination-total"] == "2"
    assert await users["alice"].threads.count(metadata={"tag": tag}) == 3
    assert await users["carol"].threads.count(metadata={"tag": tag}) == 3
    assert await users["bob"].threads.count(metadata={"tag": tag}) == 2
    # the client's own filter is ANDed with the handler's, never replaced by it
    assert await users["bob"].threads.count(metadata={"tag": tag, "tenant": "acme"}) == 0


async def test_runs_are_scoped_by_their_thread(users: Users, raw: httpx.AsyncClient) -> None:
    alice, bob = users["alice"], users["bob"]
    tid = (await alice.threads.create())["thread_id"]
    run = await alice.runs.create(tid, "whoami", input={"question": "bg"})
    rid = run["run_id"]
    await alice.runs.join(tid, rid)

    assert await status(bob.runs.get(tid, rid)) == 404
    assert await status(bob.runs.list(tid)) == 404
    assert await status(bob.runs.delete(tid, rid)) == 404
    assert await status(bob.runs.cancel(tid, rid)) == 404
    assert await status(bob.runs.create(tid, "whoami", input={"question": "x"})) == 404
    assert await status(bob.runs.wait(tid, "whoami", if_not_exists="create")) == 404
    cancel_many = await raw.post("/runs/cancel", json={"run_ids": [rid]}, headers=bearer("bob"))
    assert cancel_many.status_code == 404
    joined = await bob.runs.join(tid, rid)
    assert joined["__error__"]["error"] == "NotFound"
    events = [e async for e in bob.runs.join_stream(tid, rid)]
    assert [e.event for e in events] == ["error"]
    assert events[0].data["error"] == "NotFound"
    thread_stream = await raw.get(f"/threads/{tid}/stream", headers=bearer("bob"))
    assert thread_stream.status_code == 404
    state = await raw.get(f"/threads/{tid}/state", headers=bearer("bob"))
    assert state.status_code == 404

    mine = await alice.runs.get(tid, rid)
    assert (mine["status"], mine["metadata"]["owner"]) == ("success", "alice")
    assert [r["run_id"] for r in await alice.runs.list(tid)] == [rid]


async def test_threads_the_server_creates_for_a_caller_belong_to_them(users: Users) -> None:
    alice, bob = users["alice"], users["bob"]
    new_id = "3f8ac5d2-3d4a-4a5e-9a51-0d2c6a1f0b7e"
    await bob.runs.wait(new_id, "whoami", input={"question": "?"}, if_not_exists="create")
    created = await bob.threads.get(new_id)
    assert created["metadata"]["tenant"] == "globex"
    assert await status(alice.threads.get(new_id)) == 404
    stateless = await bob.runs.create(None, "whoami", input={"question": "?"}, on_completion="keep")
    await bob.runs.join(stateless["thread_id"], stateless["run_id"])
    kept = await bob.threads.get(stateless["thread_id"])
    assert kept["metadata"]["tenant"] == "globex"
    assert await status(alice.threads.get(stateless["thread_id"])) == 404


async def test_assistants_use_contains_filters_and_system_ones_follow_them(
    users: Users, tag: str
) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    mine = await alice.assistants.create("whoami", metadata={"tag": tag}, name=f"a-{tag}")
    aid = mine["assistant_id"]
    assert mine["metadata"] == {"tag": tag, "owner": "alice", "tenants": ["acme"]}
    assert (await carol.assistants.get(aid))["name"] == f"a-{tag}"
    assert await status(carol.assistants.update(aid, name="nope")) == 403
    for call in (
        bob.assistants.get(aid),
        bob.assistants.update(aid, name="stolen"),
        bob.assistants.delete(aid),
        bob.assistants.get_versions(aid),
        bob.assistants.set_latest(aid, 1),
        bob.assistants.get_graph(aid),
        bob.assistants.get_schemas(aid),
    ):
        assert await status(call) == 404
    assert await status(bob.runs.wait(None, aid, input={"question": "?"})) == 404
    assert await bob.assistants.search(metadata={"tag": tag}) == []
    assert await bob.assistants.count(metadata={"tag": tag}) == 0
    assert await alice.assistants.count(metadata={"tag": tag}) == 1

    # a graph's own assistant is in no tenant: hidden from reads, as on the official
    # server, yet anyone runs the graph by its id
    assert await bob.assistants.search(graph_id="whoami") == []
    system_id = str(system_assistant_id("whoami"))
    for call in (
        bob.assistants.get(system_id),
        bob.assistants.update(system_id, name="mine now"),
        bob.assistants.delete(system_id),
    ):
        assert await status(call) == 404
    ran = await bob.runs.wait(None, "whoami", input={"question": "?"})
    assert ran["seen"]["identity"] == "bob"
    await alice.assistants.delete(aid)


async def test_crons_are_filtered_by_owner_with_eq(users: Users, tag: str) -> None:
    alice, bob = users["alice"], users["bob"]
    cron = await alice.crons.create("whoami", schedule="0 0 1 1 *", metadata={"tag": tag})
    cid = cron["cron_id"]
    assert cron["user_id"] == "alice"
    assert cron["metadata"] == {"tag": tag, "owner": "alice"}
    for call in (
        bob.crons.delete(cid),
        bob.crons.update(cid, schedule="5 4 * * *"),
    ):
        assert await status(call) == 404
    assert await bob.crons.search(metadata={"tag": tag}) == []
    assert await bob.crons.count(metadata={"tag": tag}) == 0
    assert [c["cron_id"] for c in await alice.crons.search(metadata={"tag": tag})] == [cid]
    assert await alice.crons.count(metadata={"tag": tag}) == 1
    bob_thread = (await bob.threads.create())["thread_id"]
    on_other = alice.crons.create_for_thread(bob_thread, "whoami", schedule="0 0 1 1 *")
    assert await status(on_other) == 404
    await alice.crons.delete(cid)


async def test_cron_runs_carry_their_creators_identity(
    users: Users, raw: httpx.AsyncClient, auth_server: ServerProcess
) -> None:
    alice = users["alice"]
    tid = (await alice.threads.create())["thread_id"]
    cron = await alice.crons.create_for_thread(
        tid, "whoami", schedule="* * * * *", input={"question": "cron"}
    )
    got = await raw.get(f"/runs/crons/{cron['cron_id']}", headers=bearer("alice"))
    assert got.status_code == 200
    hidden = await raw.get(f"/runs/crons/{cron['cron_id']}", headers=bearer("bob"))
    assert hidden.status_code == 404
    import asyncio

    for _ in range(140):  # fires at the next minute
        runs = await alice.runs.list(tid)
        if runs and runs[0]["status"] == "success":
            break
        await asyncio.sleep(0.5)
    else:
        pytest.fail("the cron did not fire within 70 s")
    await alice.crons.delete(cron["cron_id"])
    state = await alice.threads.get_state(tid)
    assert state["values"]["seen"]["user_id"] == "alice"
    assert state["values"]["seen"]["tenant"] == "acme"
    assert runs[0]["metadata"]["owner"] == "alice"


async def test_store_namespaces_are_prefixed_by_the_handler(users: Users, tag: str) -> None:
    alice, bob, carol = users["alice"], users["bob"], users["carol"]
    await alice.store.put_item(["notes", tag], "k", {"text": "acme secret"})
    mine = await alice.store.get_item(["notes", tag], "k")
    assert mine["namespace"] == ["acme", "notes", tag]
    assert (await carol.store.get_item(["notes", tag], "k"))["value"] == {"text": "acme secret"}
    assert await bob.store.get_item(["notes", tag], "k") is None
    assert await bob.store.get_item(["acme", "notes", tag], "k") is None  # re-prefixed
    assert (await bob.store.search_items(["notes", tag]))["items"] == []
    found = await alice.store.search_items(["notes", tag])
    assert [i["key"] for i in found["items"]] == ["k"]
    bob_spaces = (await bob.store.list_namespaces(prefix=["notes", tag]))["namespaces"]
    assert bob_spaces == []
    assert await status(carol.store.put_item(["notes", tag], "k2", {"x": 1})) == 403
    assert await status(carol.store.delete_item(["notes", tag], "k")) == 403
    await bob.store.delete_item(["notes", tag], "k")  # deletes in globex: nothing there
    assert (await alice.store.get_item(["notes", tag], "k"))["value"] == {"text": "acme secret"}
