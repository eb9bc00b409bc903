"""Forward compatibility: a request field no API version defines (one a newer SDK may send)
is ignored, as by the official server, never stored; each is logged once per route and
counted in ``/metrics``. A known field with a wrong value is still a 422."""

from __future__ import annotations

import re
from typing import Any

import httpx

from tests.server import ServerProcess


async def _sent_twice(http: httpx.AsyncClient, method: str, url: str, body: Any) -> Any:
    """Send ``body`` twice (the second must not be logged again); the first answer's JSON."""
    answers = [await http.request(method, url, json=body) for _ in range(2)]
    for answer in answers:
        assert answer.is_success, (method, url, answer.status_code, answer.text)
    return answers[0].json() if answers[0].content else None


async def test_unknown_fields_are_ignored_logged_once_and_counted(
    http: httpx.AsyncClient, server: ServerProcess, tag: str
) -> None:
    new = f"future_{tag[:12]}"  # a name no other test sends: the counts are this test's
    thread = await _sent_twice(http, "POST", "/threads", {"metadata": {"k": 1}, new: 1})
    assert new not in thread and thread["metadata"] == {"k": 1}
    thread_id = thread["thread_id"]
    run = await _sent_twice(
        http, "POST", f"/threads/{thread_id}/runs", {"assistant_id": "slow", new: {"x": 1}}
    )
    assert new not in run["kwargs"]
    assistant = await _sent_twice(http, "POST", "/assistants", {"graph_id": "slow", new: True})
    assert new not in assistant
    item = {"namespace": [tag], "key": "k", "value": {"a": 1}, new: "x"}
    await _sent_twice(http, "PUT", "/store/items", item)
    stored = await http.get("/store/items", params={"namespace": tag, "key": "k"})
    assert stored.json()["value"] == {"a": 1} and new not in stored.json()
    cron_body = {"assistant_id": "slow", "schedule": "0 0 1 1 *", new: 1}
    cron = await _sent_twice(http, "POST", "/runs/crons", cron_body)
    try:
        assert new not in cron and new not in cron["payload"]
        for url in ("/threads/search", "/assistants/search", "/runs/crons/search"):
            await _sent_twice(http, "POST", url, {"limit": 1, new: 1})
        await _sent_twice(http, "POST", "/store/items/search", {"namespace_prefix": [tag], new: 1})
    finally:
        await http.delete(f"/runs/crons/{cron['cron_id']}")

    routes = [
        ("POST", "/threads"),
        ("POST", "/threads/{thread_id}/runs"),
        ("POST", "/assistants"),
        ("PUT", "/store/items"),
        ("POST", "/runs/crons"),
        ("POST", "/threads/search"),
        ("POST", "/assistants/search"),
        ("POST", "/runs/crons/search"),
        ("POST", "/store/items/search"),
    ]
    data = (await http.get("/metrics", params={"format": "json"})).json()
    counted = {
        (entry["method"], entry["route"]): entry["count"]
        for entry in data["unknown_request_fields"]
        if entry["field"] == new
    }
    assert counted == dict.fromkeys(routes, 2)
    text = (await http.get("/metrics")).text
    labels = f'field="{new}",method="POST",route="/threads"'
    line = f"graphport_unknown_request_fields_total{{{labels}}}"
    assert f"{line} 2.0" in text
    logged = re.findall(rf"WARNING .*?(\w+ \S+): ignored field '{new}' of (\w+)", server.logs())
    assert sorted(where for where, _model in logged) == sorted(f"{m} {r}" for m, r in routes)


async def test_unknown_fields_inside_documented_objects(
    http: httpx.AsyncClient, server: ServerProcess, tag: str
) -> None:
    """Objects the API defines (a thread's ``ttl``, a checkpoint, a command) drop unknown
    keys too; free-form objects (``metadata``, ``config``) keep every key."""
    new = f"inner_{tag[:12]}"
    thread = (
        await http.post(
            "/threads",
            json={"ttl": {"ttl": 60, new: 1}, "metadata": {new: 1}},
            params={"include": "ttl"},
        )
    ).json()
    assert thread["metadata"] == {new: 1}
    thread_id = thread["thread_id"]
    history = await http.post(
        f"/threads/{thread_id}/history", json={"checkpoint": {"checkpoint_ns": "", new: 1}}
    )
    assert history.status_code == 200 and history.json() == []
    run = await http.post(
        f"/threads/{thread_id}/runs/wait",
        json={"assistant_id": "slow", "config": {"tags": ["t"], new: 1}, "input": {}},
    )
    assert run.status_code == 200
    (made,) = (await http.get(f"/threads/{thread_id}/runs")).json()
    assert made["kwargs"]["config"][new] == 1  # config is free-form: kept
    models = set(re.findall(rf"ignored field '{new}' of (\w+)", server.logs()))
    assert models == {"ThreadTTL", "CheckpointConfig"}


async def test_known_fields_are_still_checked(http: httpx.AsyncClient, tag: str) -> None:
    new = f"checked_{tag[:12]}"
    wrong = await http.post("/threads/search", json={"limit": "many", new: 1})
    assert wrong.status_code == 422
    assert wrong.json()["detail"] == (
        "body.limit: Input should be a valid integer, unable to parse string as an integer"
    )
    refused = await http.post("/runs", json={"assistant_id": "slow", "langsmith_tracer": {}})
    assert refused.status_code == 422  # known, not available here: refused, not ignored


async def test_unknown_query_parameters_are_ignored(http: httpx.AsyncClient) -> None:
    thread_id = (await http.post("/threads", json={})).json()["thread_id"]
    got = await http.get(f"/threads/{thread_id}", params={"future_option": "1"})
    assert got.status_code == 200 and got.json()["thread_id"] == thread_id
    listed = await http.get(f"/threads/{thread_id}/runs", params={"future_option": "1"})
    assert listed.status_code == 200 and listed.json() == []
