"""A thread another tenant's filter hides behaves exactly like a missing one, on every
thread and run route: same status, same body (ids aside), same stream. Otherwise an answer
would tell the caller that the thread exists."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import orjson
import pytest
from langgraph_sdk.client import LangGraphClient

from tests.api.auth_helpers import bearer

Users = dict[str, LangGraphClient]
RUN = {"assistant_id": "whoami", "input": {"question": "?"}}

# (method, path, body): {t} the thread, {r} a run of it, {c} a checkpoint of it
ROUTES: list[tuple[str, str, Any]] = [
    ("GET", "/threads/{t}", None),
    ("PATCH", "/threads/{t}", {"metadata": {"x": 1}}),
    ("POST", "/threads/{t}/copy", None),
    ("GET", "/threads/{t}/state", None),
    ("GET", "/threads/{t}/state/{c}", None),
    ("POST", "/threads/{t}/state/checkpoint", {"checkpoint": {"checkpoint_id": "{c}"}}),
    ("POST", "/threads/{t}/state", {"values": {"question": "pwned"}}),
    ("GET", "/threads/{t}/history", None),
    ("POST", "/threads/{t}/history", {"limit": 5}),
    ("GET", "/threads/{t}/runs", None),
    ("GET", "/threads/{t}/runs/{r}", None),
    ("GET", "/threads/{t}/runs/{r}/join", None),
    ("GET", "/threads/{t}/runs/{r}/stream", None),
    ("GET", "/threads/{t}/runs/{r}/stream?stream_mode=values", None),
    ("POST", "/threads/{t}/runs/{r}/cancel", None),
    ("POST", "/threads/{t}/runs/{r}/cancel?wait=1", None),
    ("DELETE", "/threads/{t}/runs/{r}", None),
    ("POST", "/threads/{t}/runs", RUN),
    ("POST", "/threads/{t}/runs/wait", RUN),
    ("POST", "/threads/{t}/runs/stream", RUN),
    ("GET", "/threads/{t}/stream", None),
    ("GET", "/threads/{t}/stream?stream_modes=lifecycle", None),
    ("POST", "/threads/{t}/runs/crons", {**RUN, "schedule": "0 0 1 1 *"}),
    ("DELETE", "/threads/{t}", None),
    ("GET", "/runs/{r}/stream", None),
    ("POST", "/runs/cancel", {"thread_id": "{t}", "run_ids": ["{r}"]}),
]


def _fill(value: Any, ids: dict[str, str]) -> Any:
    text = orjson.dumps(value).decode()
    for key, found in ids.items():
        text = text.replace("{" + key + "}", found)
    return orjson.loads(text)


def _blind(text: str, ids: dict[str, str]) -> str:
    for key, found in ids.items():
        text = text.replace(found, "{" + key + "}")
    return text


async def _answer(
    raw: httpx.AsyncClient, method: str, path: str, body: Any, ids: dict[str, str]
) -> tuple[int, str]:
    """Status and body (a stream read to its end) with the ids put back as placeholders."""
    request = raw.build_request(
        method,
        _fill(path, ids),
        json=_fill(body, ids) if body is not None else None,
        headers=bearer("bob"),
    )
    response = await raw.send(request, stream=True)
    try:
        content = (await response.aread()).decode()
    finally:
        await response.aclose()
    return response.status_code, _blind(content, ids)


@pytest.mark.parametrize(("method", "path", "body"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
async def test_a_hidden_thread_answers_as_a_missing_one(
    users: Users, raw: httpx.AsyncClient, method: str, path: str, body: Any
) -> None:
    alice = users["alice"]
    thread_id = (await alice.threads.create())["thread_id"]
    run = await alice.runs.create(thread_id, "whoami", input={"question": "hi"})
    await alice.runs.join(thread_id, run["run_id"])
    checkpoint = (await alice.threads.get_state(thread_id))["checkpoint"]["checkpoint_id"]
    hidden = {"t": thread_id, "r": run["run_id"], "c": checkpoint}
    missing = {"t": str(uuid.uuid4()), "r": str(uuid.uuid4()), "c": str(uuid.uuid4())}

    as_hidden = await _answer(raw, method, path, body, hidden)
    as_missing = await _answer(raw, method, path, body, missing)

    assert as_hidden == as_missing
    assert as_hidden[0] in (200, 404)
    assert (await alice.threads.get(thread_id))["metadata"]["owner"] == "alice"  # untouched
