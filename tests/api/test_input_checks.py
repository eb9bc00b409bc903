"""Bad input is refused with a 4xx ``{"detail": ...}`` before anything is written: numbers and
dates out of range, malformed configs and filters, checkpoints, nodes and schedules that do
not exist (or never fire). Each test snapshots what a request could have written and checks
it is unchanged after every refusal."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import uuid4

import httpx
import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import LangGraphClient

from tests.api.auth_helpers import bearer
from tests.api.thread_helpers import seeded_thread

INT4_OVER = 2**31
INT8_OVER = 2**63
INF = float("inf")


@dataclass
class World:
    """A thread with state, an assistant of its own and a cron, all tagged: what a refused
    request could have changed."""

    tag: str
    thread: str
    assistant: str
    cron: str

    def fill(self, text: str) -> str:
        return text.format(thread=self.thread, assistant=self.assistant, cron=self.cron)

    def fill_body(self, body: Any) -> Any:
        if isinstance(body, dict):
            return {k: self.fill_body(v) for k, v in body.items()}
        if isinstance(body, list):
            return [self.fill_body(v) for v in body]
        if isinstance(body, str):
            return self.fill(body).replace("TAG", self.tag)
        return body


async def _make_world(client: LangGraphClient) -> World:
    tag = uuid4().hex
    thread = await seeded_thread(client, metadata={"tag": tag})
    assistant = await client.assistants.create("chat", metadata={"tag": tag})
    cron = await client.crons.create(
        assistant["assistant_id"], schedule="0 0 1 1 *", metadata={"tag": tag}
    )
    return World(tag, thread["thread_id"], assistant["assistant_id"], cron["cron_id"])


@pytest.fixture(scope="module")
async def world(base_url: str) -> AsyncIterator[World]:
    """One world for every refusal: each must leave it as it was."""
    sdk = get_client(url=base_url, api_key=None, timeout=30)
    yield await _make_world(sdk)
    await sdk.http.client.aclose()


@pytest.fixture
async def fresh(client: LangGraphClient) -> World:
    """A world of its own, for tests whose requests succeed."""
    return await _make_world(client)


async def snapshot(http: httpx.AsyncClient, world: World) -> dict[str, Any]:
    """Everything the requests below could write, as the API shows it."""
    tagged = {"metadata": {"tag": world.tag}}
    # stateless runs make threads tagged with their assistant
    by_assistant = {"metadata": {"assistant_id": world.assistant}}
    reads = {
        "thread": http.get(f"/threads/{world.thread}", params={"include": "ttl"}),
        "state": http.get(f"/threads/{world.thread}/state"),
        "runs": http.get(f"/threads/{world.thread}/runs", params={"limit": 100}),
        "assistant": http.get(f"/assistants/{world.assistant}"),
        "cron": http.get(f"/runs/crons/{world.cron}"),
        "crons": http.post("/runs/crons/count", json=tagged),
        "threads": http.post("/threads/count", json=tagged),
        "stateless": http.post("/threads/count", json=by_assistant),
        "store": http.post("/store/items/search", json={"namespace_prefix": [world.tag]}),
    }
    responses = await asyncio.gather(*reads.values())
    assert all(r.status_code == 200 for r in responses)
    return {name: r.json() for name, r in zip(reads, responses, strict=True)}


async def refused(
    http: httpx.AsyncClient,
    world: World,
    method: str,
    path: str,
    body: Any = None,
    params: dict[str, Any] | None = None,
    *,
    status: int,
) -> Any:
    """Send the request; it must be refused with ``status`` and a ``{"detail": "..."}``
    body (request validation adds its ``errors``), and leave everything as it was."""
    reads = ("/search", "/history", "/namespaces", "/versions", "/state/checkpoint")
    writes = method != "GET" and not path.endswith(reads)
    before = await snapshot(http, world) if writes else None
    content = None if body is None else json.dumps(world.fill_body(body))  # allows Infinity
    headers = {"Content-Type": "application/json"}
    response = await http.request(
        method, world.fill(path), content=content, params=params, headers=headers
    )
    assert response.status_code == status, response.text
    payload = response.json()
    assert list(payload) in (["detail"], ["detail", "errors"]), payload
    assert isinstance(payload["detail"], str) and payload["detail"]
    if writes:  # a read cannot write: no need to look
        assert await snapshot(http, world) == before
    return payload["detail"]


RUN = {"assistant_id": "{assistant}", "input": {"messages": []}}
THREAD_RUN_PATHS = ["/threads/{thread}/runs", "/threads/{thread}/runs/wait"]
THREAD_RUN_PATHS += ["/threads/{thread}/runs/stream"]
STATELESS_RUN_PATHS = ["/runs", "/runs/wait", "/runs/stream"]
CRON_PATHS = ["/runs/crons", "/threads/{thread}/runs/crons"]


def _run_cases(extra: dict[str, Any]) -> list[tuple[str, str, Any]]:
    """The same run fields on every run endpoint (stateful, stateless, batch) and cron."""
    cases: list[tuple[str, str, Any]] = []
    cases += [("POST", p, {**RUN, **extra}) for p in THREAD_RUN_PATHS + STATELESS_RUN_PATHS]
    cases += [("POST", "/runs/batch", [RUN, {**RUN, **extra}])]
    cron = {"assistant_id": "{assistant}", "schedule": "0 0 1 1 *", "metadata": {"tag": "TAG"}}
    cases += [("POST", p, {**cron, **extra}) for p in CRON_PATHS]
    cases += [("PATCH", "/runs/crons/{cron}", extra)]
    return cases


OUT_OF_RANGE: list[tuple[str, str, Any, dict[str, Any] | None]] = [
    # offsets and limits of every listing (Postgres int4/int8)
    ("GET", "/threads/{thread}/runs", None, {"offset": INT8_OVER}),
    ("GET", "/threads/{thread}/runs", None, {"offset": INT4_OVER}),
    ("GET", "/threads/{thread}/runs", None, {"offset": "1e20"}),
    ("GET", "/threads/{thread}/runs", None, {"limit": INT4_OVER}),
    ("GET", "/threads/{thread}/history", None, {"limit": INT4_OVER}),
    *[
        ("POST", path, {field: value}, None)
        for path in (
            "/assistants/search",
            "/assistants/{assistant}/versions",
            "/threads/search",
            "/runs/crons/search",
            "/store/items/search",
            "/store/namespaces",
        )
        for field, value in (("offset", INT8_OVER), ("offset", 1e20), ("limit", INT4_OVER))
    ],
    ("POST", "/store/namespaces", {"max_depth": INT4_OVER}, None),
    ("POST", "/threads/{thread}/history", {"limit": INT4_OVER}, None),
    # assistant versions (int4), in the body or the query
    ("POST", "/assistants/{assistant}/latest", {"version": INT4_OVER}, None),
    ("POST", "/assistants/{assistant}/latest", None, {"version": INT4_OVER}),
    ("POST", "/assistants/{assistant}/latest", None, {"version": INT8_OVER}),
    # TTLs (timedelta, Postgres interval): 1 second to 100 years, finite
    *[
        ("POST", "/threads", {"metadata": {"tag": "TAG"}, "ttl": ttl}, None)
        for ttl in (1e12, {"ttl": 1e12}, INF, 1e-9, 1e300)
    ],
    ("PATCH", "/threads/{thread}", {"ttl": 1e12}, None),
    ("PATCH", "/threads/{thread}", {"ttl": {"ttl": INF}}, None),
    *[
        ("PUT", "/store/items", {"namespace": ["TAG"], "key": "k", "value": {}, "ttl": ttl}, None)
        for ttl in (1e15, 1e-10, INF)
    ],
    # after_seconds (timedelta): at most 100 years, finite
    *[(m, p, b, None) for m, p, b in _run_cases({"after_seconds": 1e12})[:7]],
    *[(m, p, b, None) for m, p, b in _run_cases({"after_seconds": INF})[:2]],
    # configs LangGraph cannot take
    *[(m, p, b, None) for m, p, b in _run_cases({"config": {"configurable": 5}})],
    *[
        (m, p, b, None)
        for config in ({"recursion_limit": INT8_OVER}, {"tags": "x"}, {"metadata": []})
        for m, p, b in _run_cases({"config": config})[::4]
    ],
    ("POST", "/assistants", {"graph_id": "chat", "config": {"recursion_limit": 0}}, None),
    ("PATCH", "/assistants/{assistant}", {"config": {"metadata": "x"}}, None),
    # webhooks whose port is not a port, or that are not http(s)
    *[(m, p, b, None) for m, p, b in _run_cases({"webhook": "http://127.0.0.1:99999/"})],
    *[
        (m, p, b, None)
        for hook in ("http://127.0.0.1:0/", "http://[::1/", "file:///x")
        for m, p, b in _run_cases({"webhook": hook})[::4]
    ],
    # webhooks the sender could not send: control characters, too long, no host name
    *[
        (m, p, b, None)
        for hook in (
            "http://127.0.0.1:9/\r\nX-Evil: 1",
            "http://127.0.0.1:9/" + "a" * 5000,
            "http://a b/",
            "http://%41:80/",
            "http://-bad.example/",
        )
        for m, p, b in _run_cases({"webhook": hook})[::4]
    ],
    # store items whose namespace, key or index fields overflow the store's primary keys
    *[
        ("PUT", "/store/items", {"namespace": ns, "key": key, "value": {}, **extra}, None)
        for ns, key, extra in (
            (["TAG"], "k" * 1025, {}),
            (["TAG"], "é" * 600, {}),  # 1,200 bytes in UTF-8
            (["TAG", "n" * 1100], "k", {}),
            (["TAG"], "k", {"index": ["f" * 300]}),
        )
    ],
    # store filters AsyncPostgresStore does not support, or values it cannot compare
    *[
        ("POST", "/store/items/search", {"namespace_prefix": ["TAG"], "filter": f}, None)
        for f in (
            {"x": {"$in": [1]}},
            {"x": {"$bogus": 1}},
            {"x": {"nested": 1}},
            {"x": {}},
            {"x": {"$gt": {"a": 1}}},
            {"x": {"$lte": [1]}},
            {"x": {"$lt": None}},
            {"x": {"$gte": True}},
        )
    ],
    # dates past what Python and Postgres hold, on create and update
    *[
        (m, p, {**b, "end_time": end}, None)
        for end in (
            "9999-12-31T23:59:59-05:00",
            "9999-12-31T23:59:59.999999+00:00",
            "0001-01-01T00:00:00+05:00",
            "0001-01-01T00:00:00",
        )
        for m, p, b in _run_cases({})[-3:]
    ],
    # command updates the graph refuses (a run would store them, fail, and poison the thread)
    *[
        ("POST", p, {**RUN, "input": None, "command": {"update": update}}, None)
        for p in THREAD_RUN_PATHS + STATELESS_RUN_PATHS
        for update in (
            {"messages": 5},
            {"nokey": 1},
            {"messages": [{"type": "remove"}]},
            [["messages", 5]],
            [["nokey", 1]],
        )
    ],
    # command updates of no shape LangGraph applies (it would drop them without a word)
    *[
        ("POST", p, {**RUN, "input": None, "command": {"update": update}}, None)
        for p in THREAD_RUN_PATHS + STATELESS_RUN_PATHS
        for update in ("text", 5, [["messages"]], [[1, []]], [["messages", [], 3]], [{"a": 1}])
    ],
    # state updates a reducer refuses
    ("POST", "/threads/{thread}/state", {"values": {"messages": 5}}, None),
    ("POST", "/threads/{thread}/state", {"values": {"messages": 5}, "as_node": "respond"}, None),
    # state keys the graph lacks (LangGraph would drop them without a word)
    ("POST", "/threads/{thread}/state", {"values": {"mesages": []}}, None),
    ("POST", "/threads/{thread}/state", {"values": {"nokey": 1}, "as_node": "respond"}, None),
    *[
        (
            "POST",
            "/threads",
            {
                "metadata": {"graph_id": "chat", "tag": "TAG"},
                "supersteps": [{"updates": [update]}],
            },
            None,
        )
        for update in (
            {"values": {"messages": 5}, "as_node": "respond"},
            {"command": {"update": {"messages": 5}}, "as_node": "respond"},
            {"command": {"goto": "ghost"}, "as_node": "respond"},
            {"values": {"nokey": 1}, "as_node": "respond"},
            {"command": {"update": {"nokey": 1}}, "as_node": "respond"},
            # update shapes and pairs a run's command refuses (LangGraph drops pairs given
            # as JSON lists without a word)
            *[
                {"command": {"update": update}, "as_node": "respond"}
                for update in (
                    "text",
                    5,
                    [["messages"]],
                    [[1, []]],
                    [["messages", [], 3]],
                    [["nokey", 1]],
                    [["messages", 5]],
                    [["__root__", 1]],
                )
            ],
            # a value the reducer refuses on the empty state a new thread starts from
            {"values": {"messages": [{"type": "remove", "id": "nope"}]}, "as_node": "respond"},
        )
    ],
]


@pytest.mark.parametrize(("method", "path", "body", "params"), OUT_OF_RANGE)
async def test_out_of_range_and_malformed_values_are_422(
    http: httpx.AsyncClient,
    world: World,
    method: str,
    path: str,
    body: Any,
    params: dict[str, Any] | None,
) -> None:
    await refused(http, world, method, path, body, params, status=422)


@pytest.mark.parametrize(
    "schedule",
    ["0 0 31 2 *", "0 0 30 2 *", "* * * * * *", "0 0 1 1 * 2099", "H * * * *", "@reboot"],
)
@pytest.mark.parametrize("where", [0, 1, 2])
async def test_schedules_that_are_not_cron_or_never_fire_are_422(
    http: httpx.AsyncClient, world: World, schedule: str, where: int
) -> None:
    method, path, body = _run_cases({"schedule": schedule})[-3:][where]
    detail = await refused(http, world, method, path, body, status=422)
    assert schedule in detail


async def test_cron_schedules_keep_five_field_aliases(
    client: LangGraphClient, fresh: World
) -> None:
    for schedule in ("@daily", "@hourly", "0 0 L * *", "0 9 * * mon-fri", "0 0 29 2 *"):
        cron = await client.crons.create(fresh.assistant, schedule=schedule)
        assert cron["next_run_date"] is not None
        await client.crons.delete(cron["cron_id"])
    updated = await client.crons.update(fresh.cron, schedule="@weekly")
    assert updated["schedule"] == "@weekly"


async def test_a_date_without_zone_is_utc(client: LangGraphClient, fresh: World) -> None:
    cron = await client.crons.create(
        fresh.assistant, schedule="0 0 1 1 *", end_time=datetime(2999, 1, 1)
    )
    assert cron["end_time"] == "2999-01-01T00:00:00+00:00"
    await client.crons.delete(cron["cron_id"])


async def test_bounds_themselves_are_accepted(client: LangGraphClient, fresh: World) -> None:
    thread = await client.threads.create(ttl=52_596_000)  # 100 years, in minutes
    assert thread["thread_id"]
    await client.store.put_item([fresh.tag], "k", {"v": 1}, ttl=1 / 60)
    found = await client.assistants.search(offset=2**31 - 1)
    assert found == []
    run = await client.runs.create(
        fresh.thread, fresh.assistant, input=None, after_seconds=3_155_760_000
    )
    assert run["status"] == "pending"
    await client.runs.cancel(fresh.thread, run["run_id"])


async def test_index_fields_named_twice_count_once(client: LangGraphClient, tag: str) -> None:
    await client.store.put_item([tag], "k", {"text": "hello"}, index=["text", "text"])
    assert (await client.store.get_item([tag], "k"))["value"] == {"text": "hello"}


async def test_input_a_reducer_refuses_fails_the_run_and_the_thread_stays_readable(
    client: LangGraphClient, http: httpx.AsyncClient, fresh: World
) -> None:
    """The input is only reduced as the run goes: the run fails, nothing answers 500."""
    bad = {"assistant_id": fresh.assistant, "input": {"messages": 5}}
    waited = await http.post(f"/threads/{fresh.thread}/runs/wait", json=bad)
    assert waited.status_code == 200
    assert waited.json()["__error__"]["error"] == "NotImplementedError"
    parts = [p async for p in client.runs.stream(fresh.thread, fresh.assistant, input=5)]
    assert parts[-1].event == "error"
    run = await client.runs.create(fresh.thread, fresh.assistant, input={"messages": 5})
    await client.runs.join(fresh.thread, run["run_id"])
    assert (await client.runs.get(fresh.thread, run["run_id"]))["status"] == "error"
    stateless = await http.post("/runs/wait", json=bad)
    assert stateless.status_code == 200
    assert stateless.json()["__error__"]["error"] == "NotImplementedError"
    state = await http.get(f"/threads/{fresh.thread}/state")
    assert state.status_code == 200, state.text
    assert [m["type"] for m in state.json()["values"]["messages"]] == ["human", "ai"]
    assert (await http.get(f"/threads/{fresh.thread}/history")).status_code == 200
    again = await client.runs.wait(fresh.thread, fresh.assistant, input={"messages": []})
    assert [m["type"] for m in again["messages"]] == ["human", "ai", "ai"]


async def test_state_holding_writes_the_graph_refuses_is_409_not_500(
    client: LangGraphClient, http: httpx.AsyncClient, database_uri: str
) -> None:
    """A command update can still fail on the state it meets (removing a message that is
    not there): the failed run leaves its update on the thread's checkpoint, as pending
    writes of no task, and every read replays them."""
    from langchain_core.messages import RemoveMessage
    from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

    no_task = "00000000-0000-0000-0000-000000000000"  # LangGraph's NULL_TASK_ID
    thread = await seeded_thread(client)
    config: Any = {"configurable": {"thread_id": thread["thread_id"], "checkpoint_ns": ""}}
    async with AsyncPostgresSaver.from_conn_string(database_uri) as saver:
        latest = await saver.aget_tuple(config)
        assert latest is not None
        await saver.aput_writes(latest.config, [("messages", [RemoveMessage(id="nope")])], no_task)
    base = f"/threads/{thread['thread_id']}"
    for response in (await http.get(f"{base}/state"), await http.get(f"{base}/history")):
        assert response.status_code == 409, response.text
        assert "cannot be read" in response.json()["detail"]
    # a command the graph refuses at once is refused before the run: 422
    remove = {"messages": [{"type": "remove", "id": "x"}]}
    refused = await http.post(
        f"{base}/runs", json={"assistant_id": "chat", "command": {"update": remove}}
    )
    assert refused.status_code == 422


# -- ids that do not exist ---------------------------------------------------------------


def _checkpoint_cases(bogus: str) -> list[tuple[str, str, Any, dict[str, Any] | None]]:
    named = [{"checkpoint_id": bogus}, {"checkpoint": {"checkpoint_id": bogus}}]
    named += [{"checkpoint": {"checkpoint_ns": "child:nope"}}]
    named += [{"checkpoint": {"checkpoint_ns": "", "checkpoint_id": bogus, "thread_id": "x"}}]
    config = {"configurable": {"thread_id": "x", "checkpoint_ns": "", "checkpoint_id": bogus}}
    return [
        *[("POST", "/threads/{thread}/state", {"values": {}, **n}, None) for n in named],
        *[
            ("POST", "/threads/{thread}/state", {"values": {}, "as_node": "__copy__", **n}, None)
            for n in named[:1]
        ],
        *[("POST", p, {**RUN, **n}, None) for p in THREAD_RUN_PATHS for n in named],
        ("GET", "/threads/{thread}/history", None, {"before": bogus}),
        ("POST", "/threads/{thread}/history", {"before": bogus}, None),
        ("POST", "/threads/{thread}/history", {"before": {"checkpoint_id": bogus}}, None),
        ("POST", "/threads/{thread}/history", {"before": config}, None),
        ("POST", "/threads/{thread}/history", {"checkpoint": {"checkpoint_id": bogus}}, None),
        ("POST", "/threads/{thread}/history", {"checkpoint": {"checkpoint_ns": "x:1"}}, None),
        ("GET", f"/threads/{{thread}}/state/{bogus}", None, None),
        (
            "POST",
            "/threads/{thread}/state/checkpoint",
            {"checkpoint": named[1]["checkpoint"]},
            None,
        ),
        (
            "POST",
            "/threads/{thread}/state/checkpoint",
            {"checkpoint": named[2]["checkpoint"]},
            None,
        ),
    ]


@pytest.mark.parametrize(
    ("method", "path", "body", "params"), _checkpoint_cases("1f0c0ffe-0000-6000-8000-000000000000")
)
async def test_unknown_checkpoints_are_404(
    http: httpx.AsyncClient,
    world: World,
    method: str,
    path: str,
    body: Any,
    params: dict[str, Any] | None,
) -> None:
    detail = await refused(http, world, method, path, body, params, status=404)
    assert detail.startswith("Checkpoint") and detail.endswith("not found")


async def test_checkpoints_of_another_thread_are_404(
    client: LangGraphClient, http: httpx.AsyncClient, world: World
) -> None:
    other = await seeded_thread(client)
    (latest, *_) = await client.threads.get_history(other["thread_id"])
    foreign = latest["checkpoint_id"]
    await refused(
        http, world, "POST", "/threads/{thread}/runs", {**RUN, "checkpoint_id": foreign}, status=404
    )
    body = {"values": {}, "checkpoint_id": foreign}
    await refused(http, world, "POST", "/threads/{thread}/state", body, status=404)


async def test_known_checkpoints_still_work(client: LangGraphClient, fresh: World) -> None:
    history = await client.threads.get_history(fresh.thread)
    first = history[-1]["checkpoint_id"]
    before = await client.threads.get_history(fresh.thread, before=history[0]["checkpoint_id"])
    assert [s["checkpoint_id"] for s in before] == [s["checkpoint_id"] for s in history[1:]]
    forked = await client.threads.update_state(fresh.thread, {}, checkpoint_id=first)
    assert forked["checkpoint"]["checkpoint_id"] not in {s["checkpoint_id"] for s in history}
    output = await client.runs.wait(
        fresh.thread, fresh.assistant, input={"messages": []}, checkpoint_id=first
    )
    assert output["messages"][-1]["type"] == "ai"


async def test_subgraph_checkpoints_are_found_by_namespace(
    client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread = await client.threads.create()
    await client.runs.wait(thread["thread_id"], "interrupting", input={"log": []})
    state = await client.threads.get_state(thread["thread_id"], subgraphs=True)
    inner = state["tasks"][0]["state"]["checkpoint"]
    assert inner["checkpoint_ns"].startswith("child:")
    base = f"/threads/{thread['thread_id']}"
    got = await http.post(f"{base}/state/checkpoint", json={"checkpoint": inner})
    assert got.status_code == 200, got.text
    assert got.json()["next"] == ["ask"]
    history = await http.post(f"{base}/history", json={"checkpoint": inner, "limit": 5})
    assert history.status_code == 200 and history.json()
    wrong_ns = {**inner, "checkpoint_ns": "child:nope"}
    missing = await http.post(f"{base}/state/checkpoint", json={"checkpoint": wrong_ns})
    assert missing.status_code == 404
    root_ns = {**inner, "checkpoint_ns": ""}  # the id exists, but in the subgraph only
    assert (await http.post(f"{base}/history", json={"before": root_ns})).status_code == 404


def _node_cases() -> list[tuple[str, str, Any]]:
    cases: list[tuple[str, str, Any]] = []
    for extra in (
        {"interrupt_before": ["ghost"]},
        {"interrupt_after": ["respond", "ghost"]},
        {"interrupt_before": ["*"]},  # a list names nodes; only the bare "*" means all
    ):
        cases += _run_cases(extra)
    for goto in ("ghost", {"node": "ghost", "input": {}}, ["respond", "ghost"]):
        command = {"command": {"goto": goto}}
        cases += [("POST", p, {**RUN, "input": None, **command}) for p in THREAD_RUN_PATHS]
        cases += [("POST", p, {**RUN, "input": None, **command}) for p in STATELESS_RUN_PATHS]
    return cases


@pytest.mark.parametrize(("method", "path", "body"), _node_cases())
async def test_unknown_nodes_are_422(
    http: httpx.AsyncClient, world: World, method: str, path: str, body: Any
) -> None:
    detail = await refused(http, world, method, path, body, status=422)
    assert "unknown node" in detail and "respond" in detail


async def test_known_nodes_and_star_are_accepted(client: LangGraphClient, fresh: World) -> None:
    for interrupt in ("*", ["respond"]):
        await client.runs.wait(
            fresh.thread, fresh.assistant, input={"messages": []}, interrupt_before=interrupt
        )
        state = await client.threads.get_state(fresh.thread)
        assert state["next"] == ["respond"]
        await client.runs.wait(fresh.thread, fresh.assistant, input=None)  # finish it
    cron = await client.crons.create(
        fresh.assistant, schedule="0 0 1 1 *", interrupt_after=["respond"]
    )
    await client.crons.delete(cron["cron_id"])


async def test_factory_graph_nodes_depend_on_its_config(
    client: LangGraphClient, http: httpx.AsyncClient, tag: str
) -> None:
    """The ``factory`` graph names its node after ``configurable.label``."""
    thread = await client.threads.create()
    path = f"/threads/{thread['thread_id']}/runs/wait"
    for label in (tag, f"{tag}x"):  # nodes no build has shown yet: built for this config
        config = {"configurable": {"label": label}}
        body = {"assistant_id": "factory", "input": {}, "config": config}
        body["interrupt_before"] = [f"node_{label}"]
        response = await http.post(path, json=body)
        assert response.status_code == 200, response.text
        refused = await http.post(path, json={**body, "interrupt_before": ["node_unheard"]})
        assert refused.status_code == 422
        assert "node_unheard" in refused.json()["detail"]
    runs = await client.runs.list(thread["thread_id"])
    assert [r["status"] for r in runs] == ["success", "success"]


async def test_cron_webhooks_are_checked_like_runs(
    client: LangGraphClient, http: httpx.AsyncClient, world: World
) -> None:
    for hook in ("file:///etc/passwd", "gopher://x/", "http://:80/"):
        for method, path, body in _run_cases({"webhook": hook})[-3:]:
            await refused(http, world, method, path, body, status=422)
    cron = await client.crons.create(
        world.assistant, schedule="0 0 1 1 *", webhook="http://127.0.0.1:9/hook"
    )
    assert cron["payload"]["webhook"] == "http://127.0.0.1:9/hook"
    await client.crons.delete(cron["cron_id"])


async def test_a_bad_run_in_a_batch_creates_none(http: httpx.AsyncClient, world: World) -> None:
    batch = [RUN, RUN, {**RUN, "interrupt_before": ["ghost"]}]
    await refused(http, world, "POST", "/runs/batch", batch, status=422)
    batch = [RUN, {**RUN, "assistant_id": "no-such-graph"}]
    await refused(http, world, "POST", "/runs/batch", batch, status=422)


async def test_unknown_assistant_on_a_cron_is_404(http: httpx.AsyncClient, world: World) -> None:
    for method, path, body in _run_cases({"assistant_id": str(uuid4())})[-3:-1]:
        await refused(http, world, method, path, body, status=404)


# -- custom auth: what the caller cannot see ---------------------------------------------


async def test_crons_on_an_assistant_the_caller_cannot_see_are_404(
    users: dict[str, LangGraphClient], raw: httpx.AsyncClient, tag: str
) -> None:
    alice, bob = users["alice"], users["bob"]
    hidden = await bob.assistants.create("whoami", metadata={"tag": tag})
    aid = hidden["assistant_id"]
    thread = (await alice.threads.create())["thread_id"]
    cron = {"assistant_id": aid, "schedule": "0 0 1 1 *", "metadata": {"tag": tag}}
    for path in ("/runs/crons", f"/threads/{thread}/runs/crons"):
        response = await raw.post(path, json=cron, headers=bearer("alice"))
        assert response.status_code == 404, response.text
        assert response.json() == {"detail": f"Assistant {aid} not found"}
    assert await alice.crons.count(metadata={"tag": tag}) == 0
    # the same payload on the system assistant everyone sees is fine
    made = await alice.crons.create("whoami", schedule="0 0 1 1 *", metadata={"tag": tag})
    patched = await raw.patch(
        f"/runs/crons/{made['cron_id']}",
        json={"interrupt_before": ["ghost"]},
        headers=bearer("alice"),
    )
    assert patched.status_code == 422
    assert (await alice.crons.search(metadata={"tag": tag}))[0]["payload"] == made["payload"]
    await alice.crons.delete(made["cron_id"])
    await bob.assistants.delete(aid)


async def test_store_keys_and_namespaces_up_to_the_limit_are_stored(
    client: LangGraphClient, tag: str
) -> None:
    """1,024 bytes of key and of namespace fit the store's primary key, random text too."""
    import secrets

    key = secrets.token_urlsafe(800)[:1024]
    label = secrets.token_urlsafe(800)[: 1024 - len(tag) - 1]
    await client.store.put_item([tag, label], key, {"text": "x"})
    found = await client.store.get_item([tag, label], key)
    assert found is not None and found["value"] == {"text": "x"}


# -- checkpoints and LangGraph internals named inside config.configurable -------------------

BOGUS = "1f0c0ffe-0000-6000-8000-000000000000"


def _configurable_checkpoint_cases() -> list[tuple[str, str, Any]]:
    """A checkpoint named in ``config.configurable`` (the run starts from it as from the
    top-level one) on every run endpoint and cron; a stateless run has a thread of its own."""
    named = [{"checkpoint_id": BOGUS}, {"checkpoint_ns": "child:nope"}]
    named += [{"checkpoint_map": {"": BOGUS}}, {"checkpoint_ns": "", "checkpoint_id": BOGUS}]
    cases = [c for n in named for c in _run_cases({"config": {"configurable": n}})]
    maps = [{"checkpoint": {"checkpoint_map": {"": BOGUS}}}]
    maps += [{"checkpoint": {"checkpoint_ns": "", "checkpoint_map": {"child:nope": BOGUS}}}]
    return cases + [("POST", p, {**RUN, **m}) for p in THREAD_RUN_PATHS for m in maps]


@pytest.mark.parametrize(("method", "path", "body"), _configurable_checkpoint_cases())
async def test_unknown_checkpoints_in_configurable_are_404(
    http: httpx.AsyncClient, world: World, method: str, path: str, body: Any
) -> None:
    detail = await refused(http, world, method, path, body, status=404)
    assert detail.startswith("Checkpoint") and "not found" in detail


# checkpoint keys of a type LangGraph cannot read: each used to pass (falsy) and fail the run
BAD_CHECKPOINT_KEYS: list[dict[str, Any]] = [
    {"checkpoint_id": 5},
    {"checkpoint_id": 0},
    {"checkpoint_id": False},
    {"checkpoint_id": ""},
    {"checkpoint_id": [BOGUS]},
    {"checkpoint_ns": []},
    {"checkpoint_ns": 0},
    {"checkpoint_ns": {}},
    {"checkpoint_ns": None},
    {"checkpoint_map": ["x"]},
    {"checkpoint_map": {"": 5}},
    {"checkpoint_map": {"": ""}},
    {"checkpoint_map": ""},
    {"checkpoint_map": []},
    {"checkpoint_map": None},
]
# JSON cannot carry a callback handler: each of these failed every run
BAD_CALLBACKS: list[Any] = [[1], "x", {}, [{"name": "h"}], 0]


def _internal_config_cases() -> list[tuple[str, str, Any]]:
    internal = [{"__pregel_checkpointer": None}, {"__pregel_send": "x", "model": "m"}]
    configs = [{"configurable": b} for b in internal + BAD_CHECKPOINT_KEYS]
    configs += [{"callbacks": c} for c in BAD_CALLBACKS]
    cases = [c for config in configs for c in _run_cases({"config": config})]
    for config in configs:
        cases += [("POST", "/assistants", {"graph_id": "chat", "config": config})]
        cases += [("PATCH", "/assistants/{assistant}", {"config": config})]
    for context in internal:  # the context is mirrored into configurable
        cases += [("POST", "/assistants", {"graph_id": "chat", "context": context})]
        cases += [("PATCH", "/assistants/{assistant}", {"context": context})]
    return cases


@pytest.mark.parametrize(("method", "path", "body"), _internal_config_cases())
async def test_langgraph_internals_and_bad_checkpoint_ids_in_configurable_are_422(
    http: httpx.AsyncClient, world: World, method: str, path: str, body: Any
) -> None:
    await refused(http, world, method, path, body, status=422)


async def test_known_checkpoints_in_configurable_work(
    client: LangGraphClient, fresh: World
) -> None:
    """A run starting from a checkpoint named in ``config.configurable``, and one naming
    the thread's checkpoints in ``checkpoint_map``, run."""
    history = await client.threads.get_history(fresh.thread)
    first = history[-1]["checkpoint_id"]
    config: Any = {"configurable": {"checkpoint_id": first}}
    output = await client.runs.wait(
        fresh.thread, fresh.assistant, input={"messages": []}, config=config
    )
    assert output["messages"][-1]["type"] == "ai"
    mapped: Any = {"configurable": {"checkpoint_map": {"": history[0]["checkpoint_id"]}}}
    again = await client.runs.wait(
        fresh.thread, fresh.assistant, input={"messages": []}, config=mapped
    )
    assert again["messages"][-1]["type"] == "ai"
