"""Real ids for the fuzz: resources made before it starts, swapped into generated cases.

Random UUIDs and random assistant ids only ever meet a 404 or a 422. ``seed_pool`` makes
assistants, threads with runs, checkpoints and interrupts, crons and store items on the fast
test graphs, and ``substitute`` puts their ids (consistently: a run of that thread, a
checkpoint of that thread, a node of that graph) into most generated cases, so the fuzz
reaches runs, state updates, history, store and crons.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Any

import httpx
from schemathesis import Case

# Test graphs (tests/fixtures/langgraph.json) that finish at once, with an input they accept
# and their node names. "slow" sleeps for as long as its input says: never generated.
GRAPHS: dict[str, tuple[dict[str, Any], list[str]]] = {
    "chat": ({"messages": [{"role": "user", "content": "hi"}]}, ["respond"]),
    "streaming": ({"messages": [{"role": "user", "content": "hi"}]}, ["think", "reply"]),
    "nested": ({"value": "v"}, ["start", "child"]),
    "interrupting": ({"log": []}, ["prepare", "child"]),
    "memory": ({"user": "fuzz"}, ["remember"]),
    "factory": ({"answer": "a"}, ["node_plain"]),
    "uncompiled": ({"answer": "a"}, ["only"]),
    "inspector": ({}, ["inspect"]),
    "runtime_factory": ({"answer": "a"}, ["report"]),
}
# Graphs whose threads get runs before the fuzz (an interrupted one among them).
THREAD_GRAPHS = ("chat", "nested", "interrupting", "memory", "streaming")
SUBGRAPH_NAMESPACES = ("child", "child|inner", "inner", "")
NAMESPACES = (["fuzz", "a"], ["fuzz", "b", "c"], ["memories", "fuzz"])
KEYS = ("k1", "k2", "from-graph")
SCHEDULES = ("0 0 1 1 *", "30 4 * * 1-5", "0 0 29 2 *")
# The share of cases left exactly as generated (random ids, odd values everywhere).
# Hypothesis shrinks draws towards 0.0: tests read "substitute unless the draw is high".
KEEP_AS_GENERATED = 0.3


@dataclass
class ThreadRecord:
    thread_id: str
    graph_id: str
    run_ids: list[str] = field(default_factory=list)
    checkpoint_ids: list[str] = field(default_factory=list)


@dataclass
class Pool:
    """Ids that exist on the fuzzed server; ``assistants`` maps an assistant id (or a graph
    id, which the API accepts in its place) to its graph."""

    assistants: dict[str, str]
    threads: list[ThreadRecord]
    cron_ids: list[str]

    def assistant_for(self, graph_id: str, rnd: random.Random) -> str:
        return rnd.choice([a for a, g in self.assistants.items() if g == graph_id])


def seed_pool(base_url: str) -> Pool:
    """Make the resources the fuzz aims at; raises when the server refuses valid requests."""
    with httpx.Client(base_url=base_url, timeout=60) as http:
        assistants, own = _assistants(http)
        threads = [_thread_with_runs(http, g, own[g]) for g in THREAD_GRAPHS]
        threads.append(_thread(http, "chat", supersteps=True))
        threads.append(_stateless_run(http, own["chat"]))
        threads.append(_pending_run(http, own["chat"]))
        crons = [
            _cron(http, f"/threads/{threads[0].thread_id}/runs/crons", own["chat"]),
            _cron(http, "/runs/crons", own["chat"]),
        ]
        for namespace in NAMESPACES[:2]:
            for key in KEYS[:2]:
                body = {"namespace": namespace, "key": key, "value": {"text": f"{key} note"}}
                _ok(http.put("/store/items", json=body))
    return Pool(assistants, threads, crons)


def _ok(response: httpx.Response) -> Any:
    if response.status_code >= 300:
        raise RuntimeError(
            f"seeding the fuzz pool: {response.request.method} "
            f"{response.request.url} -> {response.status_code} {response.text}"
        )
    return response.json() if response.content else None


def _assistants(http: httpx.Client) -> tuple[dict[str, str], dict[str, str]]:
    """Every assistant id the fuzz may name (with its graph), and one made now per graph:
    seeding runs on those (a fuzzed request may have deleted a graph's default one)."""
    own: dict[str, str] = {}
    found = _ok(http.post("/assistants/search", json={"limit": 100}))
    assistants = {a["assistant_id"]: a["graph_id"] for a in found if a["graph_id"] in GRAPHS}
    for graph_id in GRAPHS:
        made = _ok(
            http.post("/assistants", json={"graph_id": graph_id, "name": f"fuzz {graph_id}"})
        )
        assistants[made["assistant_id"]] = graph_id
        own[graph_id] = made["assistant_id"]
        assistants[graph_id] = graph_id
    # A second version, so version endpoints have something to choose from.
    _ok(http.patch(f"/assistants/{made['assistant_id']}", json={"metadata": {"v": 2}}))
    return assistants, own


def _thread(http: httpx.Client, graph_id: str, *, supersteps: bool) -> ThreadRecord:
    body: dict[str, Any] = {"metadata": {"graph_id": graph_id}}
    if supersteps:
        node = GRAPHS[graph_id][1][0]
        body["supersteps"] = [{"updates": [{"values": GRAPHS[graph_id][0], "as_node": node}]}]
    made = _ok(http.post("/threads", json=body))
    return ThreadRecord(made["thread_id"], graph_id, [], _checkpoints(http, made["thread_id"]))


def _checkpoints(http: httpx.Client, thread_id: str) -> list[str]:
    history = _ok(http.post(f"/threads/{thread_id}/history", json={"limit": 10}))
    return [s["checkpoint"]["checkpoint_id"] for s in history if s["checkpoint"]]


def _thread_with_runs(http: httpx.Client, graph_id: str, assistant_id: str) -> ThreadRecord:
    record = _thread(http, graph_id, supersteps=False)
    for _ in range(2):
        body = {"assistant_id": assistant_id, "input": GRAPHS[graph_id][0]}
        _ok(http.post(f"/threads/{record.thread_id}/runs/wait", json=body))
    runs = _ok(http.get(f"/threads/{record.thread_id}/runs", params={"limit": 10}))
    record.run_ids = [r["run_id"] for r in runs]
    record.checkpoint_ids = _checkpoints(http, record.thread_id)
    return record


def _stateless_run(http: httpx.Client, assistant_id: str) -> ThreadRecord:
    body = {"assistant_id": assistant_id, "input": GRAPHS["chat"][0], "on_completion": "keep"}
    response = http.post("/runs/wait", json=body)
    _ok(response)
    thread_id, run_id = response.headers["Content-Location"].split("/")[2::2]
    return ThreadRecord(thread_id, "chat", [run_id], _checkpoints(http, thread_id))


def _pending_run(http: httpx.Client, assistant_id: str) -> ThreadRecord:
    """A thread whose run waits an hour before it starts: something to cancel and join."""
    record = _thread(http, "chat", supersteps=False)
    body = {"assistant_id": assistant_id, "input": GRAPHS["chat"][0], "after_seconds": 3600}
    record.run_ids = [_ok(http.post(f"/threads/{record.thread_id}/runs", json=body))["run_id"]]
    return record


def _cron(http: httpx.Client, path: str, assistant_id: str) -> str:
    body = {"assistant_id": assistant_id, "schedule": "0 0 1 1 *", "input": GRAPHS["chat"][0]}
    cron_id: str = _ok(http.post(path, json=body))["cron_id"]
    return cron_id


def substitute(pool: Pool, case: Case, rnd: random.Random) -> Case:
    """Most of the time, put pool ids into ``case`` (in place): path, query and body."""
    if rnd.random() >= 1 - KEEP_AS_GENERATED:
        return case
    record = rnd.choice(pool.threads)
    graph_id = record.graph_id if rnd.random() < 0.7 else rnd.choice(list(GRAPHS))
    values = _Values(pool, record, graph_id, rnd)
    for name in list(case.path_parameters or {}):
        value = values.path(name)
        if value is not None:
            case.path_parameters[name] = value
    if isinstance(case.query, dict):
        for name in list(case.query):
            value = values.query(name)
            if value is not None:
                case.query[name] = value
    bodies = case.body if isinstance(case.body, list) else [case.body]
    for body in bodies:
        if isinstance(body, dict):
            values.fill_body(body)
    return case


@dataclass
class _Values:
    pool: Pool
    record: ThreadRecord
    graph_id: str
    rnd: random.Random

    def path(self, name: str) -> str | None:
        pick = self.rnd.choice
        match name:
            case "thread_id":
                return self.record.thread_id
            case "run_id":
                return pick(self.record.run_ids) if self.record.run_ids else None
            case "checkpoint_id":
                return pick(self.record.checkpoint_ids) if self.record.checkpoint_ids else None
            case "assistant_id":
                return self.pool.assistant_for(self.graph_id, self.rnd)
            case "cron_id":
                return pick(self.pool.cron_ids)
            case "namespace":
                return pick(SUBGRAPH_NAMESPACES) or None
        return None

    def query(self, name: str) -> str | None:
        match name:
            case "key":
                return self.rnd.choice(KEYS)
            case "namespace":
                return ".".join(self.rnd.choice(NAMESPACES))
            case "before":
                return self.path("checkpoint_id")
        return None

    def fill_body(self, body: dict[str, Any]) -> None:
        pick = self.rnd.choice
        nodes = GRAPHS[self.graph_id][1]
        simple = {
            "assistant_id": lambda: self.pool.assistant_for(self.graph_id, self.rnd),
            "graph_id": lambda: self.graph_id,
            "thread_id": lambda: self.record.thread_id,
            "checkpoint_id": lambda: self.path("checkpoint_id"),
            "as_node": lambda: pick(nodes),
            "key": lambda: pick(KEYS),
            "namespace": lambda: list(pick(NAMESPACES)),
            "namespace_prefix": lambda: list(pick(NAMESPACES)[:1]),
            "prefix": lambda: list(pick(NAMESPACES)[:1]),
            "schedule": lambda: pick(SCHEDULES),
        }
        for name, make in simple.items():
            if name in body and self.rnd.random() < 0.8:
                body[name] = make()
        if isinstance(body.get("run_ids"), list) and self.record.run_ids:
            body["run_ids"] = [pick(self.record.run_ids)]
        for name in ("interrupt_before", "interrupt_after"):
            if isinstance(body.get(name), list):
                body[name] = [pick(nodes)]
        if isinstance(body.get("checkpoint"), dict) and self.record.checkpoint_ids:
            body["checkpoint"]["checkpoint_id"] = pick(self.record.checkpoint_ids)
        if "input" in body and self.rnd.random() < 0.5:
            body["input"] = GRAPHS[self.graph_id][0]
        # negative cases may hold anything where a list of objects belongs
        for superstep in _list(body.get("supersteps")):
            for update in _list(superstep.get("updates")) if isinstance(superstep, dict) else []:
                if isinstance(update, dict) and "as_node" in update:
                    update["as_node"] = pick(nodes)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
