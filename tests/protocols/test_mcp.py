"""MCP over streamable HTTP against a live server: the official client's initialize,
list_tools and call_tool, and the transport's answers to everything else."""

from __future__ import annotations

import json
from typing import Any

import httpx
from langgraph_sdk.client import LangGraphClient

from tests.protocols.mcp_helpers import mcp_session
from tests.server import ServerProcess

BOTH = {"Accept": "application/json, text/event-stream"}


def _wire(model: Any) -> Any:
    """A client model as the wire JSON (its attribute names differ between mcp 1 and 2)."""
    return model.model_dump(mode="json", by_alias=True)


def _post(http: httpx.AsyncClient, body: Any, headers: dict[str, str] = BOTH) -> Any:
    content = body if isinstance(body, bytes | str) else json.dumps(body)
    return http.post(
        "/mcp", content=content, headers={**headers, "Content-Type": "application/json"}
    )


async def test_the_official_client_lists_and_calls_assistants(
    server: ServerProcess, client: LangGraphClient
) -> None:
    async with mcp_session(f"{server.url}/mcp") as session:
        tools = {t.name: _wire(t) for t in (await session.list_tools()).tools}
        assert {"chat", "agent_echoes", "agent_fails", "interrupting"} <= set(tools)
        chat = tools["chat"]
        # a messages graph takes the user's message as a string
        assert chat["inputSchema"]["type"] == "object"
        assert chat["inputSchema"]["properties"]["messages"]["type"] == "string"
        assert "$defs" not in chat["inputSchema"]
        # other graphs keep their input schema
        assert tools["interrupting"]["inputSchema"]["properties"]["log"]["type"] == "array"

        called = _wire(await session.call_tool("agent_echoes", {"messages": "hi", "topic": "dogs"}))
        assert called["isError"] is False
        output = json.loads(called["content"][0]["text"])
        assert called["structuredContent"] == output
        assert [m["content"] for m in output["messages"]] == ["hi", "echo: hi", "topic: dogs"]
        assert output["topic"] == "dogs"

        listed = _wire(
            await session.call_tool(
                "chat", {"messages": [{"role": "user", "content": "as a list"}]}
            )
        )
        assert json.loads(listed["content"][0]["text"])["messages"][0]["content"] == "as a list"

        failed = _wire(await session.call_tool("agent_fails", {"messages": "hi"}))
        assert failed["isError"] is True
        assert failed["content"][0]["text"] == "ValueError: the agent broke"

        asked = _wire(await session.call_tool("agent_asks", {"messages": "hi"}))
        assert asked["isError"] is False
        [waiting] = json.loads(asked["content"][0]["text"])["__interrupt__"]
        assert waiting["value"] == {"question": "proceed?"}


async def test_a_tool_of_each_assistant_named_after_it(
    server: ServerProcess, client: LangGraphClient, tag: str
) -> None:
    await client.assistants.create(
        "agent_echoes", name=f"Echo bot {tag}!", description="Says it twice."
    )
    await client.assistants.create("chat", name=f"Echo bot {tag}?")
    name = f"Echo_bot_{tag}_"
    async with mcp_session(f"{server.url}/mcp") as session:
        tools = [_wire(t) for t in (await session.list_tools()).tools if t.name == name]
        [tool] = tools  # the newer assistant of the same tool name is left out
        assert tool["title"] == f"Echo bot {tag}!" and tool["description"] == "Says it twice."
        called = _wire(await session.call_tool(name, {"messages": "x"}))
        assert json.loads(called["content"][0]["text"])["messages"][1]["content"] == "echo: x"


async def test_tool_errors_and_protocol_errors(http: httpx.AsyncClient) -> None:
    async def call(method: str, params: Any = None, request_id: Any = 1) -> Any:
        body = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            body["params"] = params
        response = await _post(http, body)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"].startswith("application/json")
        answer = response.json()
        assert answer["id"] == request_id
        return answer

    unknown = await call("tools/call", {"name": "no-such-tool", "arguments": {}})
    assert unknown["error"]["code"] == -32602 and "no-such-tool" in unknown["error"]["message"]
    assert (await call("tools/call", {}))["error"]["code"] == -32602
    assert (await call("tools/call", {"name": "chat", "arguments": [1]}))["error"]["code"] == -32602
    # input the graph refuses is the tool's error, which the model can read
    refused = await call("tools/call", {"name": "chat", "arguments": {"messages": 5}})
    assert refused["result"]["isError"] is True
    for method in ("resources/list", "prompts/list", "bogus"):
        assert (await call(method, {}))["error"]["code"] == -32601
    assert (await call("ping"))["result"] == {}
    for cursor in ("nope", "-1", " 5 ", "2147483648", "9" * 40, True, 1.5, 3):
        answer = await call("tools/list", {"cursor": cursor})
        assert answer["error"]["code"] == -32602, cursor
    assert (await call("tools/list", [1]))["error"]["code"] == -32602
    for request_id in ("a", 0, 2**63 - 1):
        assert "result" in await call("ping", request_id=request_id)


async def test_initialize_negotiates_the_protocol_revision(http: httpx.AsyncClient) -> None:
    async def initialize(version: str) -> Any:
        params = {
            "protocolVersion": version,
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        }
        body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": params}
        response = await _post(http, body)
        assert response.status_code == 200
        assert "mcp-session-id" not in response.headers  # stateless
        return response.json()["result"]

    for version in ("2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"):
        result = await initialize(version)
        assert result["protocolVersion"] == version
        assert result["capabilities"]["tools"] == {"listChanged": False}
        assert result["serverInfo"]["name"] == "graphport"
    assert (await initialize("2099-01-01"))["protocolVersion"] == "2025-11-25"


async def test_transport_answers(http: httpx.AsyncClient) -> None:
    note = await _post(http, {"jsonrpc": "2.0", "method": "notifications/initialized"})
    assert note.status_code == 202 and note.content == b""
    reply = await _post(http, {"jsonrpc": "2.0", "id": 9, "result": {}})
    assert reply.status_code == 202
    for body in (b"{nope", b"[]", b'[{"jsonrpc": "2.0", "id": 1, "method": "ping"}]', b"7"):
        response = await _post(http, body)
        assert response.status_code == 400, body
        assert list(response.json()) == ["detail"]
    for raw_id in ("null", "1.5", "100000000000000000000000000000"):  # MCP: strings, integers
        body = '{"jsonrpc": "2.0", "id": ' + raw_id + ', "method": "ping"}'
        assert (await _post(http, body)).status_code == 400, raw_id
    wrong = await _post(http, {"jsonrpc": "1.0", "id": 1, "method": "ping"})
    assert wrong.status_code == 400 and "2.0" in wrong.json()["detail"]
    refused = await _post(
        http, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"Accept": "text/html"}
    )
    assert refused.status_code == 400
    only_events = await _post(
        http, {"jsonrpc": "2.0", "id": 1, "method": "ping"}, {"Accept": "text/event-stream"}
    )
    assert only_events.status_code == 200
    assert only_events.headers["content-type"].startswith("text/event-stream")
    assert b'"result":{}' in only_events.content
    version = await _post(
        http,
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {**BOTH, "MCP-Protocol-Version": "1999-01-01"},
    )
    assert version.status_code == 400
    # a page of another origin may not drive tools (DNS rebinding); loopback pages may
    ping = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
    for origin, status in (
        ("http://evil.example", 403),
        ("http://localhost:3000", 200),
        (str(http.base_url).rstrip("/"), 200),
    ):
        answer = await _post(http, ping, {**BOTH, "Origin": origin})
        assert answer.status_code == status, origin
    # a name rebound to this machine looks same-origin: still refused
    rebound = {**BOTH, "Origin": "http://attacker.example:80", "Host": "attacker.example:80"}
    assert (await _post(http, ping, rebound)).status_code == 403
    get = await http.get("/mcp")
    assert get.status_code == 405 and "POST" in get.headers["allow"]
    assert (await http.delete("/mcp")).status_code == 404
    slash = await http.post(
        "/mcp/", json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=BOTH
    )
    assert slash.status_code == 307 and slash.headers["location"].endswith("/mcp")
