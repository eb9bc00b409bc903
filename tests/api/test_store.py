"""The long-term memory store through the official SDK."""

from __future__ import annotations

import asyncio
import time

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient


async def test_put_get_delete(client: LangGraphClient, tag: str) -> None:
    namespace = ["users", tag]
    await client.store.put_item(namespace, "profile", {"name": "Ada", "text": "likes tea"})
    item = await client.store.get_item(namespace, "profile")
    assert item["namespace"] == namespace
    assert item["key"] == "profile"
    assert item["value"] == {"name": "Ada", "text": "likes tea"}
    assert item["created_at"] and item["updated_at"]
    await client.store.put_item(namespace, "profile", {"name": "Ada L."})
    updated = await client.store.get_item(namespace, "profile")
    assert updated["value"] == {"name": "Ada L."}
    assert updated["created_at"] == item["created_at"]
    await client.store.delete_item(namespace, "profile")
    assert await client.store.get_item(namespace, "profile") is None


async def test_validation(http: httpx.AsyncClient) -> None:
    dotted = await http.put("/store/items", json={"namespace": ["a.b"], "key": "k", "value": {}})
    assert dotted.status_code == 422
    empty = await http.put("/store/items", json={"namespace": [], "key": "k", "value": {}})
    assert empty.status_code == 400
    not_object = await http.put("/store/items", json={"namespace": ["a"], "key": "k", "value": 3})
    assert not_object.status_code == 422
    assert (await http.get("/store/items", params={"namespace": "a"})).status_code == 422
    missing = await http.get("/store/items", params={"namespace": "nobody.here", "key": "k"})
    assert missing.status_code == 200
    assert missing.json() is None


async def test_search_with_filters_and_paging(client: LangGraphClient, tag: str) -> None:
    for i in range(5):
        await client.store.put_item(
            ["docs", tag, f"g{i % 2}"], f"k{i}", {"i": i, "even": i % 2 == 0}
        )
    everything = await client.store.search_items(["docs", tag], limit=10)
    assert len(everything["items"]) == 5
    even = await client.store.search_items(["docs", tag], filter={"even": True})
    assert sorted(item["value"]["i"] for item in even["items"]) == [0, 2, 4]
    big = await client.store.search_items(["docs", tag], filter={"i": {"$gte": 3}})
    assert sorted(item["value"]["i"] for item in big["items"]) == [3, 4]
    page = await client.store.search_items(["docs", tag], limit=2, offset=4)
    assert len(page["items"]) == 1
    only_g1 = await client.store.search_items(["docs", tag, "g1"])
    assert sorted(item["key"] for item in only_g1["items"]) == ["k1", "k3"]


async def test_semantic_search_ranks_by_the_embedding(client: LangGraphClient, tag: str) -> None:
    namespace = ["notes", tag]
    await client.store.put_item(namespace, "zoo", {"text": "zebra zoo zigzag"})
    await client.store.put_item(namespace, "apple", {"text": "apple banana papaya"})
    await client.store.put_item(namespace, "plain", {"text": "unindexed"}, index=False)
    found = await client.store.search_items(namespace, query="banana apples", limit=3)
    keys = [item["key"] for item in found["items"]]
    assert keys[0] == "apple"
    assert "plain" not in keys
    assert found["items"][0]["score"] > found["items"][1]["score"]


async def test_list_namespaces(client: LangGraphClient, tag: str) -> None:
    for ns in (["org", tag, "a", "x"], ["org", tag, "b", "x"], ["org", tag, "b", "y"]):
        await client.store.put_item(ns, "k", {"v": 1})
    listed = await client.store.list_namespaces(prefix=["org", tag])
    assert sorted(listed["namespaces"]) == [
        ["org", tag, "a", "x"],
        ["org", tag, "b", "x"],
        ["org", tag, "b", "y"],
    ]
    shallow = await client.store.list_namespaces(prefix=["org", tag], max_depth=3)
    assert sorted(shallow["namespaces"]) == [["org", tag, "a"], ["org", tag, "b"]]
    ending = await client.store.list_namespaces(prefix=["org", tag], suffix=["y"])
    assert ending["namespaces"] == [["org", tag, "b", "y"]]


async def test_ttl_really_expires(client: LangGraphClient, tag: str) -> None:
    namespace = ["short", tag]
    await client.store.put_item(namespace, "brief", {"v": 1}, ttl=0.02)  # minutes
    await client.store.put_item(namespace, "lasting", {"v": 2}, ttl=60)
    assert (await client.store.get_item(namespace, "brief"))["value"] == {"v": 1}
    deadline = time.monotonic() + 15
    while await client.store.get_item(namespace, "brief") is not None:
        if time.monotonic() > deadline:
            pytest.fail("an item with a ttl did not expire")
        await asyncio.sleep(0.3)
    assert (await client.store.get_item(namespace, "lasting"))["value"] == {"v": 2}


async def test_graph_and_api_share_the_store(client: LangGraphClient, tag: str) -> None:
    await client.store.put_item(["memories", tag], "last", {"said": "hello"})
    output = await client.runs.wait(None, "memory", input={"user": tag})
    assert output["remembered"] == {"said": "hello"}
    written = await client.store.get_item(["memories", tag], "from-graph")
    assert written["value"] == {"note": "written by the graph"}
