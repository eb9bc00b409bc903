"""Assistants API through the official SDK (and raw HTTP where the wire matters)."""

from __future__ import annotations

import asyncio
from uuid import UUID, uuid4, uuid5

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError, UnprocessableEntityError

SYSTEM_NS = UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


async def test_system_assistant_per_graph(client: LangGraphClient) -> None:
    for graph_id in ("chat", "nested", "factory", "uncompiled"):
        found = await client.assistants.get(str(uuid5(SYSTEM_NS, graph_id)))
        assert found["graph_id"] == graph_id
        assert found["name"] == graph_id
        assert found["metadata"] == {"created_by": "system"}
        assert found["version"] == 1
        assert found["config"] == {}
        assert found["context"] == {}


async def test_create_and_get(client: LangGraphClient, tag: str) -> None:
    created = await client.assistants.create(
        "chat",
        context={"model_name": "fake"},
        metadata={"tag": tag},
        name="My bot",
        description="says hello",
    )
    assert created["graph_id"] == "chat"
    assert created["name"] == "My bot"
    assert created["description"] == "says hello"
    assert created["version"] == 1
    assert created["metadata"] == {"tag": tag}
    assert created["context"] == {"model_name": "fake"}
    assert created["config"]["configurable"] == {"model_name": "fake"}
    assert created["created_at"] == created["updated_at"]
    UUID(created["assistant_id"])
    assert await client.assistants.get(created["assistant_id"]) == created


async def test_create_defaults(client: LangGraphClient) -> None:
    created = await client.assistants.create("chat")
    assert created["name"] == "Untitled"
    assert created["description"] is None
    assert created["config"] == {}
    assert created["context"] == {}
    assert created["metadata"] == {}


async def test_configurable_is_mirrored_into_context(client: LangGraphClient) -> None:
    created = await client.assistants.create(
        "chat", config={"configurable": {"model_name": "x"}, "tags": ["t"]}
    )
    assert created["context"] == {"model_name": "x"}
    assert created["config"] == {"configurable": {"model_name": "x"}, "tags": ["t"]}


async def test_create_with_id_and_if_exists(client: LangGraphClient) -> None:
    assistant_id = str(uuid4())
    first = await client.assistants.create("chat", assistant_id=assistant_id, name="first")
    assert first["assistant_id"] == assistant_id
    with pytest.raises(ConflictError):
        await client.assistants.create("chat", assistant_id=assistant_id, name="second")
    same = await client.assistants.create(
        "chat", assistant_id=assistant_id, name="second", if_exists="do_nothing"
    )
    assert same == first


async def test_create_unknown_graph_is_404(http: httpx.AsyncClient) -> None:
    response = await http.post("/assistants", json={"graph_id": "no-such-graph"})
    assert response.status_code == 404
    assert "no-such-graph" in response.json()["detail"]


@pytest.mark.parametrize(
    "body",
    [
        {"graph_id": "chat", "if_exists": "overwrite"},
        {"graph_id": "chat", "assistant_id": "not-a-uuid"},
        {"graph_id": "chat", "config": "nope"},
        {},
    ],
)
async def test_create_rejects_bad_bodies(http: httpx.AsyncClient, body: dict[str, object]) -> None:
    response = await http.post("/assistants", json=body)
    assert response.status_code == 422
    assert response.json()["detail"]


async def test_malformed_json_is_422(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/assistants", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert "detail" in response.json()


async def test_text_plain_json_body_is_accepted(http: httpx.AsyncClient, tag: str) -> None:
    response = await http.post(
        "/assistants",
        content=f'{{"graph_id": "chat", "name": "{tag}"}}',
        headers={"content-type": "text/plain;charset=UTF-8"},
    )
    assert response.status_code == 200
    assert response.json()["name"] == tag


async def test_get_unknown_and_invalid_ids(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    with pytest.raises(NotFoundError):
        await client.assistants.get(str(uuid4()))
    with pytest.raises(UnprocessableEntityError):
        await client.assistants.get("chat")
    response = await http.get("/assistants/not-a-uuid")
    assert response.status_code == 422


async def test_update_makes_versions_and_merges_metadata(client: LangGraphClient) -> None:
    created = await client.assistants.create(
        "chat", metadata={"a": 1, "b": 1}, context={"model_name": "v1"}, name="n1"
    )
    assistant_id = created["assistant_id"]
    updated = await client.assistants.update(assistant_id, metadata={"b": 2, "c": 3})
    assert updated["version"] == 2
    assert updated["metadata"] == {"a": 1, "b": 2, "c": 3}
    assert updated["context"] == {"model_name": "v1"}
    assert updated["name"] == "n1"
    assert updated["created_at"] == created["created_at"]
    assert updated["updated_at"] > created["updated_at"]

    renamed = await client.assistants.update(
        assistant_id, name="n3", description="d3", context={"model_name": "v3"}
    )
    assert renamed["version"] == 3
    assert renamed["name"] == "n3"
    assert renamed["description"] == "d3"
    assert renamed["context"] == {"model_name": "v3"}
    assert renamed["config"]["configurable"] == {"model_name": "v3"}

    reconfigured = await client.assistants.update(
        assistant_id, config={"configurable": {"model_name": "v4"}, "recursion_limit": 7}
    )
    assert reconfigured["version"] == 4
    assert reconfigured["context"] == {"model_name": "v4"}
    assert reconfigured["config"]["recursion_limit"] == 7

    moved = await client.assistants.update(assistant_id, graph_id="nested")
    assert moved["graph_id"] == "nested"
    assert moved["version"] == 5


async def test_update_unknown_is_404_and_bad_graph_is_404(client: LangGraphClient) -> None:
    with pytest.raises(NotFoundError):
        await client.assistants.update(str(uuid4()), name="x")
    created = await client.assistants.create("chat")
    with pytest.raises(NotFoundError):
        await client.assistants.update(created["assistant_id"], graph_id="missing")
    assert (await client.assistants.get(created["assistant_id"]))["version"] == 1


async def test_concurrent_updates_get_distinct_versions(client: LangGraphClient) -> None:
    created = await client.assistants.create("chat")
    results = await asyncio.gather(
        *(
            client.assistants.update(created["assistant_id"], metadata={f"k{i}": i})
            for i in range(8)
        )
    )
    assert sorted(r["version"] for r in results) == list(range(2, 10))
    final = await client.assistants.get(created["assistant_id"])
    assert final["metadata"] == {f"k{i}": i for i in range(8)}


async def test_versions_and_set_latest(client: LangGraphClient, tag: str) -> None:
    created = await client.assistants.create(
        "chat", context={"model_name": "one"}, metadata={"tag": tag}, name="v1"
    )
    assistant_id = created["assistant_id"]
    await client.assistants.update(assistant_id, context={"model_name": "two"}, name="v2")
    await client.assistants.update(assistant_id, metadata={"extra": True}, name="v3")

    versions = await client.assistants.get_versions(assistant_id)
    assert [v["version"] for v in versions] == [3, 2, 1]
    assert [v["name"] for v in versions] == ["v3", "v2", "v1"]
    assert versions[2]["context"] == {"model_name": "one"}
    assert all(v["assistant_id"] == assistant_id for v in versions)

    page = await client.assistants.get_versions(assistant_id, limit=1, offset=1)
    assert [v["version"] for v in page] == [2]
    tagged = await client.assistants.get_versions(assistant_id, metadata={"extra": True})
    assert [v["version"] for v in tagged] == [3]

    restored = await client.assistants.set_latest(assistant_id, 1)
    assert restored["version"] == 1
    assert restored["name"] == "v1"
    assert restored["context"] == {"model_name": "one"}
    assert restored["config"]["configurable"] == {"model_name": "one"}
    assert restored["metadata"] == {"tag": tag}
    assert (await client.assistants.get(assistant_id))["version"] == 1

    # a new update after a rollback gets the next free version number
    after = await client.assistants.update(assistant_id, name="v4")
    assert after["version"] == 4
    assert after["context"] == {"model_name": "one"}


async def test_set_latest_errors(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    created = await client.assistants.create("chat")
    with pytest.raises(NotFoundError):
        await client.assistants.set_latest(created["assistant_id"], 42)
    with pytest.raises(NotFoundError):
        await client.assistants.set_latest(str(uuid4()), 1)
    by_query = await http.post(f"/assistants/{created['assistant_id']}/latest?version=1")
    assert by_query.status_code == 200
    assert by_query.json()["version"] == 1
    missing = await http.post(f"/assistants/{created['assistant_id']}/latest", json={})
    assert missing.status_code == 422


async def test_versions_of_unknown_assistant_is_404(client: LangGraphClient) -> None:
    with pytest.raises(NotFoundError):
        await client.assistants.get_versions(str(uuid4()))


async def test_delete_removes_all_versions(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    created = await client.assistants.create("chat")
    await client.assistants.update(created["assistant_id"], name="again")
    await client.assistants.delete(created["assistant_id"])
    with pytest.raises(NotFoundError):
        await client.assistants.get(created["assistant_id"])
    with pytest.raises(NotFoundError):
        await client.assistants.get_versions(created["assistant_id"])
    with pytest.raises(NotFoundError):
        await client.assistants.delete(created["assistant_id"])
    response = await http.delete(f"/assistants/{uuid4()}")
    assert response.status_code == 404
    assert "not found" in response.json()["detail"]
