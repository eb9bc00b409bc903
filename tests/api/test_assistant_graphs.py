"""Graph drawing, schemas and subgraphs of an assistant's graph."""

from __future__ import annotations

from uuid import UUID, uuid4, uuid5

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError

SYSTEM_NS = UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")
NESTED = str(uuid5(SYSTEM_NS, "nested"))
CHAT = str(uuid5(SYSTEM_NS, "chat"))


def _ids(drawn: dict[str, list[dict[str, object]]]) -> set[object]:
    return {n["id"] for n in drawn["nodes"]}


async def test_graph_without_xray(client: LangGraphClient) -> None:
    drawn = await client.assistants.get_graph(NESTED)
    assert _ids(drawn) == {"__start__", "start", "child", "__end__"}
    edges = {(e["source"], e["target"], e.get("conditional", False)) for e in drawn["edges"]}
    assert ("__start__", "start", False) in edges
    assert ("start", "child", True) in edges
    assert ("start", "__end__", True) in edges
    assert ("child", "__end__", False) in edges
    node = next(n for n in drawn["nodes"] if n["id"] == "start")
    assert node["type"] == "runnable"


async def test_graph_xray_depths(client: LangGraphClient) -> None:
    full = await client.assistants.get_graph(NESTED, xray=True)
    assert {"child:a", "child:inner:deep"} <= _ids(full)
    assert "child" not in _ids(full)
    one = await client.assistants.get_graph(NESTED, xray=1)
    assert "child:a" in _ids(one)
    assert "child:inner" in _ids(one)
    assert "child:inner:deep" not in _ids(one)
    two = await client.assistants.get_graph(NESTED, xray=2)
    assert "child:inner:deep" in _ids(two)


async def test_graph_by_graph_id(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    assert await client.assistants.get_graph("nested") == await client.assistants.get_graph(NESTED)
    assert (await http.get("/assistants/not-a-graph/graph")).status_code == 422


async def test_graph_bad_xray_and_unknown(http: httpx.AsyncClient, client: LangGraphClient) -> None:
    response = await http.get(f"/assistants/{NESTED}/graph", params={"xray": "lots"})
    assert response.status_code == 422
    with pytest.raises(NotFoundError):
        await client.assistants.get_graph(str(uuid4()))


async def test_factory_graph_uses_assistant_config(client: LangGraphClient) -> None:
    made = await client.assistants.create("factory", context={"label": "custom"})
    drawn = await client.assistants.get_graph(made["assistant_id"])
    assert "node_custom" in _ids(drawn)
    plain = await client.assistants.get_graph(str(uuid5(SYSTEM_NS, "factory")))
    assert "node_plain" in _ids(plain)


async def test_uncompiled_state_graph_is_compiled(client: LangGraphClient) -> None:
    drawn = await client.assistants.get_graph(str(uuid5(SYSTEM_NS, "uncompiled")))
    assert "only" in _ids(drawn)


async def test_schemas(client: LangGraphClient) -> None:
    schemas = await client.assistants.get_schemas(CHAT)
    assert schemas["graph_id"] == "chat"
    assert set(schemas) == {
        "graph_id",
        "input_schema",
        "output_schema",
        "state_schema",
        "config_schema",
        "context_schema",
    }
    assert "messages" in schemas["input_schema"]["properties"]
    assert "messages" in schemas["output_schema"]["properties"]
    assert "messages" in schemas["state_schema"]["properties"]
    assert schemas["context_schema"]["properties"] == {
        "model_name": {"title": "Model Name", "type": "string"}
    }

    # Studio's assistant form reads config_schema: it is the context schema
    assert schemas["config_schema"] == schemas["context_schema"]

    nested = await client.assistants.get_schemas(NESTED)
    assert nested["state_schema"]["properties"]["value"]["type"] == "string"
    assert nested["context_schema"] is None
    assert nested["config_schema"] == {}


async def test_subgraphs(client: LangGraphClient) -> None:
    direct = await client.assistants.get_subgraphs(NESTED)
    assert set(direct) == {"child"}
    assert "value" in direct["child"]["state_schema"]["properties"]
    everything = await client.assistants.get_subgraphs(NESTED, recurse=True)
    assert set(everything) == {"child", "child|inner"}
    one = await client.assistants.get_subgraphs(NESTED, namespace="child")
    assert set(one) == {"child"}
    nested_ns = await client.assistants.get_subgraphs(NESTED, namespace="child|inner", recurse=True)
    assert set(nested_ns) == {"child|inner"}
    assert await client.assistants.get_subgraphs(CHAT) == {}
    assert await client.assistants.get_subgraphs(NESTED, namespace="nope") == {}


async def test_factory_with_server_runtime(client: LangGraphClient) -> None:
    drawn = await client.assistants.get_graph("runtime_factory")
    assert "report" in _ids(drawn)
    output = await client.runs.wait(None, "runtime_factory", input={}, context={"k": "v"})
    assert "('access_context', 'threads.create_run')" in output["answer"]
    assert "('is_for_execution', True)" in output["answer"]
    assert "('context', {'k': 'v'})" in output["answer"]
