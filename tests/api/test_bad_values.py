"""Odd values at the request boundary (README, "Values"): every body of every resource is
strict JSON, NUL becomes U+FFFD, integers beyond 64 bits become floats, NaN/Infinity/1e400,
lone surrogates and nesting over 100 levels are refused with a 422 ``{"detail": ...}``, and
what is accepted always reads back, with the server still answering everyone afterwards.

Bodies are sent as raw bytes: the SDK could not send most of these.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import httpx
import pytest

JSON = {"content-type": "application/json"}
REFUSED = object()
REASONS = ("Invalid JSON: ", "JSON nested deeper than 100 levels")
FFFD = "\ufffd"

# name: (the JSON text sent, what reads back, or REFUSED for a 422)
TOKENS: dict[str, tuple[str, Any]] = {
    "nul": ('"a\\u0000b"', f"a{FFFD}b"),
    "escaped-backslash-u0000": ('"a\\\\u0000b"', "a\\u0000b"),
    "2**64-1": ("18446744073709551615", 2**64 - 1),
    "2**64": ("18446744073709551616", float(2**64)),
    "2**70": ("1180591620717411303424", float(2**70)),
    "-2**63-1": ("-9223372036854775809", float(-(2**63) - 1)),
    "lone-high-surrogate": ('"\\ud800"', REFUSED),
    "lone-low-surrogate": ('"x\\udfffy"', REFUSED),
    "NaN": ("NaN", REFUSED),
    "Infinity": ("Infinity", REFUSED),
    "-Infinity": ("-Infinity", REFUSED),
    "1e400": ("1e400", REFUSED),
}

Case = Callable[[httpx.AsyncClient, str], Awaitable[list[Any] | None]]
CASES: dict[str, tuple[Case, int]] = {}


def case(depth: int) -> Callable[[Case], Case]:
    """Register a case: it writes the value (JSON text) wherever it goes, then returns what
    every read gives back, or None when the first write is refused. ``depth`` is how many
    containers enclose the value in its deepest body (that body is sent first)."""

    def register(fn: Case) -> Case:
        CASES[fn.__name__] = (fn, depth)
        return fn

    return register


async def send(http: httpx.AsyncClient, method: str, path: str, body: str) -> Any:
    """Send a raw JSON body. Returns the decoded answer, or None for a 422 with a detail."""
    response = await http.request(method, path, content=body.encode(), headers=JSON)
    return answered(response)


def answered(response: httpx.Response) -> Any:
    assert response.status_code < 500, (response.request.url, response.text)
    if response.status_code == 422:  # refused by the body reader, not for another reason
        assert "detail" in response.json()
        assert any(reason in response.text for reason in REASONS), response.text
        return None
    assert response.status_code < 300, (response.request.url, response.text)
    return response.json() if response.content else {}


async def get(http: httpx.AsyncClient, path: str, **params: Any) -> Any:
    return answered(await http.get(path, params=params))


@case(depth=3)
async def assistant_create(http: httpx.AsyncClient, v: str) -> list[Any] | None:
    body = (
        '{"graph_id": "odd_values", "config": {"configurable": {"v": @V}}, "metadata": {"v": @V}}'
    )
    made = await send(http, "POST", "/assistants", body.replace("@V", v))
    if made is None:
        return None
    found = await get(http, f"/assistants/{made['assistant_id']}")
    search = '{"graph_id": "odd_values", "metadata": {"v": @V}, "limit": 1}'
    (hit,) = await send(http, "POST", "/assistants/search", search.replace("@V", v))
    return [found["config"]["configurable"]["v"], found["metadata"]["v"], hit["metadata"]["v"]]


@case(depth=2)
async def assistant_patch(http: httpx.AsyncClient, v: str) -> list[Any] | None:
    made = await send(http, "POST", "/assistants", '{"graph_id": "odd_values"}')
    path = f"/assistants/{made['assistant_id']}"
    body = '{"context": {"v": @V}, "metadata": {"v": @V}}'
    if await send(http, "PATCH", path, body.replace("@V", v)) is None:
        return None
    found = await get(http, path)
    versions = await send(http, "POST", f"{path}/versions", "{}")
    return [found["context"]["v"], found["metadata"]["v"], versions[0]["context"]["v"]]


@case(depth=2)
async def thread_create(http: httpx.AsyncClient, v: str) -> list[Any] | None:
    made = await send(http, "POST", "/threads", '{"metadata": {"v": @V}}'.replace("@V", v))
    if made is None:
        return None
    found = await get(http, f"/threads/{made['thread_id']}")
    search = '{"metadata": {"v": @V}, "limit": 1}'
    (hit,) = await send(http, "POST", "/threads/search", search.replace("@V", v))
    return [found["metadata"]["v"], hit["metadata"]["v"]]


@case(depth=2)
async def thread_patch(http: httpx.AsyncClient, v: str) -> list[Any] | None:
    made = await send(http, "POST", "/threads", "{}")
    path = f"/threads/{made['thread_id']}"
    if await send(http, "PATCH", path, '{"metadata": {"v": @V}}'.replace("@V", v)) is None:
        return None
    return [(await get(http, path))["metadata"]["v"]]


@case(depth=2)
async def thread_state_update(http: httpx.AsyncClient, v: str) -> list[Any] | None:
    made = await send(http, "POST", "/threads", '{"metadata": {"graph_id": "odd_values"}}')
    path = f"/threads/{made['thread_id']}"
    body = '{"values": {"data": @V}, "as_node": "produce"}'
    if await send(http, "POST", f"{path}/state", body.replace("@V", v)) is None:
        return None
    state = await get(http, f"{path}/state")
    history = await get(http, f"{path}/history")
    filtered = await send(
        http, "POST", f"{path}/history", '{"metadata": {"v": @V}}'.replace("@V", v)
    )
    assert filtered == []
    return [state["values"]["data"], history[0]["values"]["data"]]


@case(depth=6)
async def thread_supersteps(http: httpx.AsyncClient, v: str) -> list[Any] | None:
    update = '{"updates": [{"values": {"data": @V}, "as_node": "produce"}]}'
    body = '{"metadata": {"graph_id": "odd_values"}, "supersteps": [@U]}'.replace("@U", update)
    made = await send(http, "POST", "/threads", body.replace("@V", v))
    if made is None:
        return None
    return [(await get(http, f"/threads/{made['thread_id']}/state"))["values"]["data"]]


async def new_thread(http: httpx.AsyncClient) -> str:
    thread_id: str = (await send(http, "POST", "/threads", "{}"))["thread_id"]
    return thread_id


@case(depth=2)
async def run_wait(http: httpx.AsyncClient, v: str) -> list[Any] | None:
    thread_id = await new_thread(http)
    body = '{"assistant_id": "odd_values", "input": {"data": @V}, "metadata": {"v": @V}}'
    output = await send(http, "POST", f"/threads/{thread_id}/runs/wait", body.replace("@V", v))
    if output is None:
        return None
    thread = await get(http, f"/threads/{thread_id}")
    (run,) = await get(http, f"/threads/{thread_id}/runs")
    assert run["status"] == "success"
    return [output["data"], thread["values"]["data"], run["metadata"]["v"]]


@case(depth=3)
async def run_background_config(http: httpx.AsyncClient, v: str) -> list[Any] | None:
    thread_id = await new_thread(http)
    body = '{"assistant_id": "odd_values", "config": {"configurable": {"v": @V}}, "input": {}}'
    run = await send(http, "POST", f"/threads/{thread_id}/runs", body.replace("@V", v))
    if run is None:
        return None
    await get(http, f"/threads/{thread_id}/runs/{run['run_id']}/join")
    done = await get(http, f"/threads/{thread_id}/runs/{run['run_id']}")
    assert done["status"] == "success"
    return [done["kwargs"]["config"]["configurable"]["v"]]


def sse_events(text: str) -> list[tuple[str, Any]]:
    events = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        lines = block.split("\n")
        name = next((line[6:].strip() for line in lines if line.startswith("event:")), None)
        data = next((line[5:].strip() for line in lines if line.startswith("data:")), "null")
        if name:
            events.append((name, json.loads(data)))
    return events


@case(depth=2)
async def run_stream(http: httpx.AsyncClient, v: str) -> list[Any] | None:
    thread_id = await new_thread(http)
    body = (
        '{"assistant_id": "odd_values", "input": {"data": @V}, "stream_mode": ["values", "debug"]}'
    )
    response = await http.post(
        f"/threads/{thread_id}/runs/stream", content=body.replace("@V", v).encode(), headers=JSON
    )
    if response.status_code != 200:
        assert answered(response) is None
        return None
    events = sse_events(response.text)
    assert "error" not in [name for name, _ in events], events
    values = [data for name, data in events if name == "values"]
    return [values[-1]["data"]]


@case(depth=2)
async def stateless_wait(http: httpx.AsyncClient, v: str) -> list[Any] | None:
    body = '{"assistant_id": "odd_values", "input": {"data": @V}}'
    output = await send(http, "POST", "/runs/wait", body.replace("@V", v))
    return None if output is None else [output["data"]]


@case(depth=2)
async def command_resume(http: httpx.AsyncClient, v: str) -> list[Any] | None:
    thread_id = await new_thread(http)
    path = f"/threads/{thread_id}/runs/wait"
    await send(http, "POST", path, '{"assistant_id": "odd_values", "input": {"kind": "interrupt"}}')
    body = '{"assistant_id": "odd_values", "command": {"resume": @V}}'
    output = await send(http, "POST", path, body.replace("@V", v))
    return None if output is None else [output["answer"]]


@case(depth=3)
async def cron(http: httpx.AsyncClient, v: str) -> list[Any] | None:
    body = (
        '{"assistant_id": "odd_values", "schedule": "0 0 1 1 *", "input": {"data": @V}, '
        '"metadata": {"v": @V}, "config": {"configurable": {"v": @V}}}'
    )
    made = await send(http, "POST", "/runs/crons", body.replace("@V", v))
    if made is None:
        return None
    found = await get(http, f"/runs/crons/{made['cron_id']}")
    hits = await send(http, "POST", "/runs/crons/search", '{"limit": 1000}')
    assert made["cron_id"] in [c["cron_id"] for c in hits]
    assert (await http.delete(f"/runs/crons/{made['cron_id']}")).status_code == 204
    payload = found["payload"]
    return [
        payload["input"]["data"],
        payload["config"]["configurable"]["v"],
        found["metadata"]["v"],
    ]


@case(depth=2)
async def cron_patch(http: httpx.AsyncClient, v: str) -> list[Any] | None:
    body = '{"assistant_id": "odd_values", "schedule": "0 0 1 1 *"}'
    path = f"/runs/crons/{(await send(http, 'POST', '/runs/crons', body))['cron_id']}"
    patch = '{"input": {"data": @V}, "metadata": {"v": @V}}'
    try:
        if await send(http, "PATCH", path, patch.replace("@V", v)) is None:
            return None
        found = await get(http, path)
        return [found["payload"]["input"]["data"], found["metadata"]["v"]]
    finally:
        assert (await http.delete(path)).status_code == 204


@case(depth=2)
async def store_put(http: httpx.AsyncClient, v: str) -> list[Any] | None:
    tag = uuid.uuid4().hex
    body = '{"namespace": ["odd", "@T"], "key": "k", "value": {"v": @V}}'.replace("@T", tag)
    if await send(http, "PUT", "/store/items", body.replace("@V", v)) is None:
        return None
    item = await get(http, "/store/items", namespace=f"odd.{tag}", key="k")
    search = '{"namespace_prefix": ["odd", "@T"], "filter": {"v": @V}}'.replace("@T", tag)
    (hit,) = (await send(http, "POST", "/store/items/search", search.replace("@V", v)))["items"]
    spaces = await send(
        http, "POST", "/store/namespaces", '{"prefix": ["odd", "@T"]}'.replace("@T", tag)
    )
    assert spaces["namespaces"] == [["odd", tag]]
    return [item["value"]["v"], hit["value"]["v"]]


async def still_serving(http: httpx.AsyncClient) -> None:
    """Unrelated reads everyone makes still answer after the odd value was handled."""
    assert (await http.post("/store/items/search", json={"limit": 5})).status_code == 200
    assert (await http.post("/threads/search", json={"limit": 5})).status_code == 200


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("token", list(TOKENS))
async def test_odd_json_values(http: httpx.AsyncClient, name: str, token: str) -> None:
    text, expected = TOKENS[token]
    fn, _ = CASES[name]
    got = await fn(http, text)
    if expected is REFUSED:
        assert got is None
    else:
        assert got == [expected] * len(got)
        assert all(type(g) is type(expected) for g in got)
    await still_serving(http)


def nested(levels: int) -> str:
    """JSON text of ``levels`` nested containers, a list outside (a dict would be an
    operator filter for the store): [{"d": [{"d": ... }]}]."""
    text = "{}"
    for i in range(levels - 1, 0, -1):
        text = f"[{text}]" if i % 2 else f'{{"d": {text}}}'
    return text


@pytest.mark.parametrize("name", list(CASES))
@pytest.mark.parametrize("levels", [99, 100, 101, 300, 2000])
async def test_nesting_limit(http: httpx.AsyncClient, name: str, levels: int) -> None:
    """A body nests at most 100 containers (itself included): the value is as deep as the
    case's deepest body allows, plus ``levels - 100``."""
    fn, enclosing = CASES[name]
    text = nested(levels - enclosing)
    got = await fn(http, text)
    if levels > 100:
        assert got is None
    else:
        assert got == [json.loads(text)] * len(got)
    await still_serving(http)
