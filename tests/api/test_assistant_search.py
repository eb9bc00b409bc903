"""Search and count: filters, sorting, select and pagination headers."""

from __future__ import annotations

import httpx
from langgraph_sdk.client import LangGraphClient


async def _make_three(client: LangGraphClient, tag: str) -> list[dict[str, object]]:
    made = []
    for i, (graph_id, name) in enumerate(
        (("chat", f"Alpha {tag}"), ("nested", f"beta {tag}"), ("chat", f"GAMMA {tag}"))
    ):
        made.append(
            await client.assistants.create(
                graph_id, name=name, metadata={"tag": tag, "i": i, "even": i % 2 == 0}
            )
        )
    return made


async def test_metadata_containment_and_graph_filter(client: LangGraphClient, tag: str) -> None:
    made = await _make_three(client, tag)
    everything = await client.assistants.search(metadata={"tag": tag})
    assert {a["assistant_id"] for a in everything} == {a["assistant_id"] for a in made}
    # default order: newest first
    assert [a["assistant_id"] for a in everything] == [a["assistant_id"] for a in reversed(made)]

    even = await client.assistants.search(metadata={"tag": tag, "even": True})
    assert {a["name"] for a in even} == {f"Alpha {tag}", f"GAMMA {tag}"}
    chats = await client.assistants.search(metadata={"tag": tag}, graph_id="chat")
    assert {a["graph_id"] for a in chats} == {"chat"}
    assert len(chats) == 2
    assert await client.assistants.count(metadata={"tag": tag}) == 3
    assert await client.assistants.count(metadata={"tag": tag}, graph_id="nested") == 1


async def test_name_is_case_insensitive_substring(client: LangGraphClient, tag: str) -> None:
    await _make_three(client, tag)
    found = await client.assistants.search(name=f"ALPHA {tag}".lower())
    assert [a["name"] for a in found] == [f"Alpha {tag}"]
    assert await client.assistants.count(name=tag.upper()) == 3
    # LIKE wildcards in the query are literal characters
    assert await client.assistants.count(name=f"%{tag}") == 0


async def test_sorting(client: LangGraphClient, tag: str) -> None:
    await _make_three(client, tag)
    by_name = await client.assistants.search(
        metadata={"tag": tag}, sort_by="name", sort_order="asc"
    )
    assert [a["name"] for a in by_name] == sorted(a["name"] for a in by_name)
    by_name_desc = await client.assistants.search(
        metadata={"tag": tag}, sort_by="name", sort_order="desc"
    )
    assert [a["name"] for a in by_name_desc] == [a["name"] for a in reversed(by_name)]
    oldest = await client.assistants.search(
        metadata={"tag": tag}, sort_by="created_at", sort_order="asc"
    )
    assert [a["metadata"]["i"] for a in oldest] == [0, 1, 2]
    by_graph = await client.assistants.search(
        metadata={"tag": tag}, sort_by="graph_id", sort_order="asc"
    )
    assert [a["graph_id"] for a in by_graph] == ["chat", "chat", "nested"]


async def test_select_returns_only_those_fields(client: LangGraphClient, tag: str) -> None:
    await _make_three(client, tag)
    rows = await client.assistants.search(metadata={"tag": tag}, select=["assistant_id", "name"])
    assert len(rows) == 3
    assert all(set(r) == {"assistant_id", "name"} for r in rows)


async def test_pagination_headers(
    http: httpx.AsyncClient, client: LangGraphClient, tag: str
) -> None:
    await _make_three(client, tag)
    body = {"metadata": {"tag": tag}, "limit": 2, "offset": 0}
    first = await http.post("/assistants/search", json=body)
    assert first.status_code == 200
    assert len(first.json()) == 2
    assert first.headers["X-Pagination-Total"] == "3"
    assert first.headers["X-Pagination-Next"] == "2"
    second = await http.post("/assistants/search", json={**body, "offset": 2})
    assert len(second.json()) == 1
    assert second.headers["X-Pagination-Total"] == "3"
    assert "X-Pagination-Next" not in second.headers
    beyond = await http.post("/assistants/search", json={**body, "offset": 10})
    assert beyond.json() == []
    assert beyond.headers["X-Pagination-Total"] == "3"

    paged = await client.assistants.search(metadata={"tag": tag}, limit=2, response_format="object")
    assert len(paged["assistants"]) == 2
    assert paged["next"] == "2"


async def test_bad_search_bodies(http: httpx.AsyncClient) -> None:
    for body in (
        {"limit": "x"},
        {"limit": 0},
        {"offset": -1},
        {"sort_by": "color"},
        {"sort_order": "sideways"},
        {"select": ["nope"]},
    ):
        response = await http.post("/assistants/search", json=body)
        assert response.status_code == 422, body
        assert response.json()["detail"]
    # fields no API version defines (count takes no limit) are ignored
    assert (await http.post("/assistants/search", json={"unknown": 1})).status_code == 200
    counted = await http.post("/assistants/count", json={"limit": 1})
    assert counted.status_code == 200 and counted.json() >= 1


async def test_empty_body_lists_everything(http: httpx.AsyncClient) -> None:
    response = await http.post("/assistants/search")
    assert response.status_code == 200
    assert isinstance(response.json(), list)
    count = await http.post("/assistants/count")
    assert count.status_code == 200
    assert count.json() >= 4
