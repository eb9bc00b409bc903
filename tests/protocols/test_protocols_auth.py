"""Custom auth on A2A and MCP (tests/fixtures/auth: alice and carol are tenant acme, carol
may only read; bob is tenant globex): the caller is authenticated as everywhere, runs made
through either protocol are the caller's, and another tenant's assistants and tasks are
"not found"."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient

from tests.api.auth_helpers import bearer
from tests.protocols.a2a_helpers import JSON, error, result, user_message
from tests.protocols.mcp_helpers import mcp_session
from tests.server import ServerProcess

BOTH = {"Accept": "application/json, text/event-stream"}


@pytest.fixture
async def acme_agent(users: dict[str, LangGraphClient], tag: str) -> str:
    """An assistant of tenant acme, on a graph that greets whoever runs it."""
    made = await users["alice"].assistants.create("chatty", name=f"greeter-{tag}")
    return str(made["assistant_id"])


async def test_no_credentials_is_401_everywhere(raw: httpx.AsyncClient, acme_agent: str) -> None:
    body = {"jsonrpc": "2.0", "id": 1, "method": "message/send", "params": {}}
    for method, path, payload, headers in (
        ("POST", f"/a2a/{acme_agent}", body, JSON),
        ("GET", f"/a2a/{acme_agent}", None, {}),
        ("GET", f"/.well-known/agent-card.json?assistant_id={acme_agent}", None, {}),
        ("POST", "/mcp", {"jsonrpc": "2.0", "id": 1, "method": "tools/list"}, BOTH),
    ):
        response = await raw.request(method, path, json=payload, headers=headers)
        assert response.status_code == 401, (path, response.text)
        bad = await raw.request(
            method, path, json=payload, headers={**headers, "Authorization": "Bearer nobody"}
        )
        assert bad.status_code == 401, path


async def test_a2a_runs_are_the_callers(
    raw: httpx.AsyncClient, users: dict[str, LangGraphClient], acme_agent: str
) -> None:
    alice = bearer("alice")
    task = await result(raw, acme_agent, "message/send", {"message": user_message()}, headers=alice)
    assert task["status"]["state"] == "completed"
    assert task["artifacts"][0]["parts"][0]["text"] == "hello alice"  # the graph saw alice
    thread_id, run_id = task["id"].split(":")
    run = await users["alice"].runs.get(thread_id, run_id)
    assert run["metadata"]["owner"] == "alice"  # her create_run handler ran
    thread = await users["alice"].threads.get(thread_id)
    assert thread["metadata"]["tenant"] == "acme"
    # dave, same tenant, may read the task; bob may not even see it
    got = await result(raw, acme_agent, "tasks/get", {"id": task["id"]}, headers=bearer("dave"))
    assert got["status"]["state"] == "completed"
    streamed = await raw.post(
        f"/a2a/{acme_agent}",
        json={
            "jsonrpc": "2.0",
            "id": 1,
            "method": "message/stream",
            "params": {"message": user_message()},
        },
        headers={**bearer("dave"), "Accept": "text/event-stream"},
    )
    assert streamed.status_code == 200 and "hello dave" in streamed.text


async def test_another_tenant_sees_neither_assistant_nor_task(
    raw: httpx.AsyncClient, acme_agent: str
) -> None:
    alice, bob = bearer("alice"), bearer("bob")
    task = await result(raw, acme_agent, "message/send", {"message": user_message()}, headers=alice)
    hidden = await error(raw, acme_agent, "message/send", {"message": user_message()}, headers=bob)
    assert hidden["code"] == -32602 and "not found" in hidden["message"]
    card = await raw.get(f"/.well-known/agent-card.json?assistant_id={acme_agent}", headers=bob)
    assert card.status_code == 404
    # bob's own way to the same graph cannot reach alice's task or context either
    for method in ("tasks/get", "tasks/cancel"):
        missing = await error(raw, "chatty", method, {"id": task["id"]}, headers=bob)
        assert missing["code"] == -32001, method
    into = await error(
        raw,
        "chatty",
        "message/send",
        {"message": user_message(contextId=task["contextId"])},
        headers=bob,
    )
    assert into["code"] == -32602
    # the task is untouched
    again = await result(raw, acme_agent, "tasks/get", {"id": task["id"]}, headers=alice)
    assert again["status"]["state"] == "completed"


async def test_a_read_only_user_is_refused_by_their_handlers(
    raw: httpx.AsyncClient, auth_server: ServerProcess, acme_agent: str, tag: str
) -> None:
    carol = bearer("carol")
    refused = await error(
        raw, acme_agent, "message/send", {"message": user_message()}, headers=carol
    )
    assert refused["code"] == -32602 and "denied" in refused["message"].lower()
    # she may read what alice ran
    task = await result(
        raw, acme_agent, "message/send", {"message": user_message()}, headers=bearer("alice")
    )
    got = await result(raw, acme_agent, "tasks/get", {"id": task["id"]}, headers=carol)
    assert got["id"] == task["id"]
    # and MCP lists the tool but her call is refused, as a tool error
    async with mcp_session(f"{auth_server.url}/mcp", carol) as session:
        names = [t.name for t in (await session.list_tools()).tools]
        assert f"greeter-{tag}" in names
        called = (await session.call_tool(f"greeter-{tag}", {"messages": "hi"})).model_dump(
            by_alias=True
        )
        assert called["isError"] is True and called["content"][0]["text"].startswith("403")


async def test_mcp_lists_and_runs_only_what_the_caller_may(
    auth_server: ServerProcess, acme_agent: str, tag: str
) -> None:
    name = f"greeter-{tag}"
    async with mcp_session(f"{auth_server.url}/mcp", bearer("alice")) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert name in names
        called = (await session.call_tool(name, {"messages": "hi"})).model_dump(by_alias=True)
        assert called["isError"] is False
        messages = json.loads(called["content"][0]["text"])["messages"]
        assert messages[-1]["content"] == "hello alice"
    async with mcp_session(f"{auth_server.url}/mcp", bearer("bob")) as session:
        names = {t.name for t in (await session.list_tools()).tools}
        assert name not in names
        answer: Any = None
        try:
            answer = await session.call_tool(name, {"messages": "hi"})
        except Exception as exc:  # the client raises the JSON-RPC error -32602
            assert "Unknown tool" in str(exc)
        else:
            assert answer.model_dump(by_alias=True)["isError"] is True


async def test_thread_event_streaming_is_the_callers(
    raw: httpx.AsyncClient, auth_server: ServerProcess
) -> None:
    import websockets
    from websockets.exceptions import InvalidStatus

    thread_id = str(uuid.uuid4())
    start = {
        "id": 1,
        "method": "run.start",
        "params": {"assistant_id": "chatty", "input": {"messages": "hi"}},
    }
    url = f"/threads/{thread_id}/commands"
    refused = await raw.post(url, json=start, headers=bearer("carol"))
    assert refused.json()["error"] == "unknown_error"
    assert refused.json()["message"].startswith("403")
    assert (await raw.post(url, json=start)).status_code == 401
    started = await raw.post(url, json=start, headers=bearer("alice"))
    assert started.json()["type"] == "success"
    body = {"channels": ["values", "lifecycle"]}
    stream = f"/threads/{thread_id}/stream/events"
    # another tenant's stream answers as one on a thread not created yet (it waits), and
    # ends without an event when the thread's events come
    hidden = await raw.post(stream, json=body, headers=bearer("bob"))
    assert (hidden.status_code, hidden.text) == (200, "")
    # alice reads it; the graph saw her
    seen = False
    async with raw.stream("POST", stream, json=body, headers=bearer("alice")) as events:
        assert events.status_code == 200
        async for line in events.aiter_lines():
            if line.startswith("data:") and '"completed"' in line:
                break
            if line.startswith("data:") and "hello alice" in line:
                seen = True
    assert seen
    # the WebSocket: authenticated at its handshake; another tenant gets nothing
    socket_url = auth_server.url.replace("http://", "ws://") + stream
    with pytest.raises(InvalidStatus):  # refused before it opens
        async with websockets.connect(socket_url):
            pass
    subscribe = {"id": 1, "method": "subscription.subscribe", "params": body}
    async with websockets.connect(socket_url, additional_headers=bearer("alice")) as socket:
        await socket.send(json.dumps(subscribe))
        frames = []
        while not frames or frames[-1]["type"] == "event":  # the replay, then the reply
            frames.append(json.loads(await asyncio.wait_for(socket.recv(), 20)))
        assert frames[-1]["type"] == "success"
        assert frames[-1]["result"]["replayed_events"] == len(frames) - 1 > 0
    async with websockets.connect(socket_url, additional_headers=bearer("bob")) as socket:
        await socket.send(json.dumps(subscribe))
        with pytest.raises(websockets.ConnectionClosed) as closed:
            while True:
                json.loads(await asyncio.wait_for(socket.recv(), 20))
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4404
