"""Threads API through the official SDK: CRUD, search, count, copy, TTL."""

from __future__ import annotations

import asyncio
import time
from uuid import uuid4

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError

from tests.api.run_helpers import wait_for_status
from tests.api.thread_helpers import HUMAN, seeded_thread


async def test_create_and_get_fresh_thread(client: LangGraphClient, tag: str) -> None:
    thread = await client.threads.create(metadata={"tag": tag})
    assert thread["status"] == "idle"
    assert thread["values"] is None
    assert thread["interrupts"] == {}
    assert thread["metadata"] == {"tag": tag}
    assert thread["created_at"] == thread["updated_at"]
    assert await client.threads.get(thread["thread_id"]) == thread


async def test_create_with_id_and_if_exists(client: LangGraphClient) -> None:
    thread_id = str(uuid4())
    first = await client.threads.create(thread_id=thread_id, metadata={"n": 1})
    assert first["thread_id"] == thread_id
    with pytest.raises(ConflictError):
        await client.threads.create(thread_id=thread_id)
    again = await client.threads.create(thread_id=thread_id, if_exists="do_nothing")
    assert again == first


async def test_create_with_graph_id_goes_into_metadata(client: LangGraphClient) -> None:
    thread = await client.threads.create(graph_id="chat", metadata={"a": 1})
    assert thread["metadata"] == {"a": 1, "graph_id": "chat"}


@pytest.mark.parametrize(
    "body",
    [
        {"thread_id": "nope"},
        {"if_exists": "merge"},
        {"ttl": {"ttl": 5, "strategy": "archive"}},
        {"ttl": -1},
        {"supersteps": [{"updates": [{"values": {}, "as_node": "respond"}]}]},
        {"metadata": {"graph_id": "chat"}, "supersteps": [{"updates": [{"as_node": "nope"}]}]},
    ],
)
async def test_create_rejects_bad_bodies(http: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await http.post("/threads", json=body)
    assert response.status_code == 422, response.text
    assert response.json()["detail"]


async def test_failed_supersteps_leave_no_thread(http: httpx.AsyncClient) -> None:
    thread_id = str(uuid4())
    response = await http.post(
        "/threads",
        json={
            "thread_id": thread_id,
            "metadata": {"graph_id": "chat"},
            "supersteps": [{"updates": [{"values": {}, "as_node": "ghost"}]}],
        },
    )
    assert response.status_code == 422
    assert (await http.get(f"/threads/{thread_id}")).status_code == 404


async def test_get_unknown_and_invalid(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    with pytest.raises(NotFoundError):
        await client.threads.get(str(uuid4()))
    assert (await http.get("/threads/not-a-uuid")).status_code == 422


async def test_patch_merges_metadata(client: LangGraphClient) -> None:
    thread = await client.threads.create(metadata={"a": 1, "b": 1})
    updated = await client.threads.update(thread["thread_id"], metadata={"b": 2, "c": 3})
    assert updated["metadata"] == {"a": 1, "b": 2, "c": 3}
    assert updated["updated_at"] > thread["updated_at"]
    assert updated["created_at"] == thread["created_at"]
    with pytest.raises(NotFoundError):
        await client.threads.update(str(uuid4()), metadata={"x": 1})


async def test_delete_removes_thread_and_checkpoints(client: LangGraphClient) -> None:
    thread = await seeded_thread(client)
    thread_id = thread["thread_id"]
    await client.threads.delete(thread_id)
    with pytest.raises(NotFoundError):
        await client.threads.get(thread_id)
    with pytest.raises(NotFoundError):
        await client.threads.delete(thread_id)
    # the same id starts from scratch: no checkpoint survived
    await client.threads.create(thread_id=thread_id, graph_id="chat")
    state = await client.threads.get_state(thread_id)
    assert state["values"] == {}
    assert await client.threads.get_history(thread_id) == []


async def test_search_filters(client: LangGraphClient, tag: str) -> None:
    plain = await client.threads.create(metadata={"tag": tag, "kind": "plain"})
    seeded = await seeded_thread(client, metadata={"tag": tag, "kind": "seeded"})
    found = await client.threads.search(metadata={"tag": tag})
    assert [t["thread_id"] for t in found] == [seeded["thread_id"], plain["thread_id"]]
    by_kind = await client.threads.search(metadata={"tag": tag, "kind": "plain"})
    assert [t["thread_id"] for t in by_kind] == [plain["thread_id"]]
    # values containment works beside threads whose values are null
    by_values = await client.threads.search(
        metadata={"tag": tag}, values={"messages": [{"content": HUMAN}]}
    )
    assert [t["thread_id"] for t in by_values] == [seeded["thread_id"]]
    by_ids = await client.threads.search(ids=[plain["thread_id"], str(uuid4())])
    assert [t["thread_id"] for t in by_ids] == [plain["thread_id"]]
    idle = await client.threads.search(metadata={"tag": tag}, status="idle")
    assert {t["thread_id"] for t in idle} == {plain["thread_id"], seeded["thread_id"]}
    assert await client.threads.search(metadata={"tag": tag}, status="busy") == []
    assert await client.threads.count(metadata={"tag": tag}) == 2
    assert await client.threads.count(metadata={"tag": tag}, status="error") == 0
    assert await client.threads.count(values={"messages": [{"content": HUMAN}]}) >= 1


async def test_search_sort_select_and_pages(
    client: LangGraphClient, http: httpx.AsyncClient, tag: str
) -> None:
    made = [await client.threads.create(metadata={"tag": tag, "i": i}) for i in range(3)]
    oldest_first = await client.threads.search(
        metadata={"tag": tag}, sort_by="created_at", sort_order="asc"
    )
    assert [t["metadata"]["i"] for t in oldest_first] == [0, 1, 2]
    by_id = await client.threads.search(
        metadata={"tag": tag}, sort_by="thread_id", sort_order="asc"
    )
    assert [t["thread_id"] for t in by_id] == sorted(t["thread_id"] for t in made)
    selected = await client.threads.search(metadata={"tag": tag}, select=["thread_id", "status"])
    assert all(set(t) == {"thread_id", "status"} for t in selected)

    page = await http.post("/threads/search", json={"metadata": {"tag": tag}, "limit": 2})
    assert page.headers["X-Pagination-Total"] == "3"
    assert page.headers["X-Pagination-Next"] == "2"
    last = await http.post(
        "/threads/search", json={"metadata": {"tag": tag}, "limit": 2, "offset": 2}
    )
    assert len(last.json()) == 1
    assert "X-Pagination-Next" not in last.headers
    for bad in ({"status": "sleeping"}, {"sort_by": "color"}, {"select": ["x"]}, {"limit": 0}):
        assert (await http.post("/threads/search", json=bad)).status_code == 422


async def test_copy(client: LangGraphClient) -> None:
    source = await seeded_thread(client, metadata={"origin": "source"})
    copied = await client.threads.copy(source["thread_id"])
    assert copied["thread_id"] != source["thread_id"]
    assert copied["metadata"] == source["metadata"]
    assert copied["values"] == source["values"]
    source_history = await client.threads.get_history(source["thread_id"], limit=20)
    copy_history = await client.threads.get_history(copied["thread_id"], limit=20)
    assert [s["checkpoint_id"] for s in copy_history] == [
        s["checkpoint_id"] for s in source_history
    ]
    assert all(s["checkpoint"]["thread_id"] == copied["thread_id"] for s in copy_history)
    # the copy moves on alone
    await client.threads.update_state(
        copied["thread_id"], {"messages": [{"type": "human", "content": "only in copy"}]}
    )
    assert len((await client.threads.get_state(copied["thread_id"]))["values"]["messages"]) == 3
    assert len((await client.threads.get_state(source["thread_id"]))["values"]["messages"]) == 2
    with pytest.raises(NotFoundError):
        await client.threads.copy(str(uuid4()))


async def test_ttl_deletes_thread_and_checkpoints(client: LangGraphClient) -> None:
    thread = await seeded_thread(client, ttl=0.02)  # minutes: about a second
    kept = await client.threads.create(ttl=60)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            await client.threads.get(thread["thread_id"])
        except NotFoundError:
            break
        await asyncio.sleep(0.2)
    else:
        pytest.fail("thread with a TTL was not deleted")
    assert (await client.threads.get(kept["thread_id"]))["thread_id"] == kept["thread_id"]
    await client.threads.create(thread_id=thread["thread_id"], graph_id="chat")
    assert await client.threads.get_history(thread["thread_id"]) == []


async def test_patch_ttl(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    thread = await client.threads.create()
    patched = await http.patch(
        f"/threads/{thread['thread_id']}", json={"ttl": {"ttl": 30, "strategy": "delete"}}
    )
    assert patched.status_code == 200
    bad = await http.patch(f"/threads/{thread['thread_id']}", json={"ttl": {"ttl": 0}})
    assert bad.status_code == 422
    shown = await client.threads.get(thread["thread_id"], include=["ttl"])
    assert shown["ttl"]["ttl"] == 30
    assert shown["ttl"]["strategy"] == "delete"
    assert shown["ttl"]["expires_at"] > shown["updated_at"]
    assert "ttl" not in await client.threads.get(thread["thread_id"])
    assert (await http.get(f"/threads/{thread['thread_id']}?include=nope")).status_code == 422


async def test_delete_assistant_with_its_threads(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    assistant = await client.assistants.create("chat")
    owned = await client.threads.create(
        metadata={"assistant_id": assistant["assistant_id"], "graph_id": "chat"}
    )
    other = await client.threads.create(metadata={"graph_id": "chat"})
    response = await http.delete(
        f"/assistants/{assistant['assistant_id']}", params={"delete_threads": "true"}
    )
    assert response.status_code == 204
    with pytest.raises(NotFoundError):
        await client.threads.get(owned["thread_id"])
    assert (await client.threads.get(other["thread_id"]))["thread_id"] == other["thread_id"]


async def test_deleting_a_busy_thread_stops_its_run(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    run = await client.runs.create(thread["thread_id"], "slow", input={"delay": 2})
    await wait_for_status(client, thread["thread_id"], run["run_id"], "running")
    started = time.monotonic()
    await client.threads.delete(thread["thread_id"])
    assert time.monotonic() - started < 2  # the run was stopped, not waited for
    with pytest.raises(NotFoundError):
        await client.threads.get(thread["thread_id"])
    await asyncio.sleep(2.5)  # past the moment the run would have written its steps
    await client.threads.create(thread_id=thread["thread_id"], graph_id="slow")
    assert await client.threads.get_history(thread["thread_id"]) == []
