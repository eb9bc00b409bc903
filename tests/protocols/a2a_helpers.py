"""Raw A2A JSON-RPC calls, as an A2A client sends them."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx

JSON = {"Accept": "application/json"}
EVENTS = {"Accept": "text/event-stream"}


def user_message(*parts: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """An A2A user message; ``parts`` default to one text part ``"hi"``."""
    return {
        "kind": "message",
        "role": "user",
        "messageId": str(uuid.uuid4()),
        "parts": list(parts) or [{"kind": "text", "text": "hi"}],
        **fields,
    }


def text(value: str) -> dict[str, Any]:
    return {"kind": "text", "text": value}


def data(value: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "data", "data": value}


async def rpc(
    http: httpx.AsyncClient,
    assistant: str,
    method: str,
    params: Any = None,
    *,
    request_id: Any = 1,
    headers: dict[str, str] | None = None,
) -> dict[str, Any]:
    """The JSON-RPC response body (HTTP 200 asserted)."""
    body: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
    if params is not None:
        body["params"] = params
    response = await http.post(f"/a2a/{assistant}", json=body, headers={**JSON, **(headers or {})})
    assert response.status_code == 200, response.text
    answer: dict[str, Any] = response.json()
    assert answer["jsonrpc"] == "2.0" and answer["id"] == request_id, answer
    return answer


async def result(
    http: httpx.AsyncClient, assistant: str, method: str, params: Any, **kw: Any
) -> Any:
    answer = await rpc(http, assistant, method, params, **kw)
    assert "result" in answer, answer
    return answer["result"]


async def error(
    http: httpx.AsyncClient, assistant: str, method: str, params: Any, **kw: Any
) -> Any:
    answer = await rpc(http, assistant, method, params, **kw)
    assert "error" in answer and "result" not in answer, answer
    return answer["error"]


async def stream(
    http: httpx.AsyncClient,
    assistant: str,
    params: Any,
    *,
    request_id: Any = "s",
    headers: dict[str, str] | None = None,
    method: str = "message/stream",
) -> list[dict[str, Any]]:
    """The JSON-RPC responses of a ``message/stream`` (or ``method``), in order (each an
    SSE ``message``)."""
    body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    frames: list[dict[str, Any]] = []
    async with http.stream(
        "POST", f"/a2a/{assistant}", json=body, headers={**EVENTS, **(headers or {})}
    ) as response:
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("text/event-stream")
        event = None
        async for line in response.aiter_lines():
            if line.startswith("event:"):
                event = line.split(":", 1)[1].strip()
            elif line.startswith("data:"):
                assert event == "message"
                frame = json.loads(line.split(":", 1)[1])
                assert frame["jsonrpc"] == "2.0" and frame["id"] == request_id
                frames.append(frame)
    return frames
