"""Scale-out with real processes: two API processes (``serve --no-workers``) and two worker
processes (``graphport worker``) on one PostgreSQL and one Redis. Streams, resumable
replays, cancels and recovery work whichever process a client talks to."""

from __future__ import annotations

import asyncio
import json
import re
import signal
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client

from tests.server import ServerProcess, create_database, drop_database


@dataclass
class Cluster:
    apis: list[ServerProcess]
    workers: list[ServerProcess]
    uri: str
    redis: str

    def worker(self) -> ServerProcess:
        return ServerProcess(
            database_uri=self.uri, command="worker", extra_env={"REDIS_URI": self.redis}
        )


def _api(uri: str, redis: str) -> ServerProcess:
    return ServerProcess(
        database_uri=uri, extra_args=["--no-workers"], extra_env={"REDIS_URI": redis}
    )


@pytest.fixture(scope="module")
def cluster(database_uri: str, redis_uri: str) -> Iterator[Cluster]:
    uri = create_database(database_uri)
    made = Cluster([], [], uri, redis_uri)
    try:
        made.apis.append(_api(uri, redis_uri).start(timeout=60))  # migrates first
        made.apis.append(_api(uri, redis_uri).start(timeout=60))
        made.workers += [made.worker().start(timeout=60) for _ in range(2)]
        yield made
    finally:
        for process in made.apis + made.workers:
            process.stop()
        drop_database(database_uri, uri)


@dataclass
class Frame:
    id: str | None
    event: str
    data: Any


async def _frames(
    http: httpx.AsyncClient, method: str, url: str, **options: Any
) -> AsyncIterator[Frame]:
    """The SSE frames of a stream, as a client reads them."""
    async with http.stream(method, url, timeout=60, **options) as response:
        assert response.status_code == 200, await response.aread()
        fields: dict[str, str] = {}
        async for line in response.aiter_lines():
            if line:
                name, _, value = line.partition(": ")
                fields[name] = value
                continue
            if "event" in fields:
                yield Frame(fields.get("id"), fields["event"], json.loads(fields["data"]))
            fields = {}


async def _thread(http: httpx.AsyncClient) -> str:
    answer = await http.post("/threads", json={})
    thread_id: str = answer.json()["thread_id"]
    return thread_id


def _slow(delay: float, **extra: Any) -> dict[str, Any]:
    return {"assistant_id": "slow", "input": {"delay": delay}, **extra}


async def _status(http: httpx.AsyncClient, thread_id: str, run_id: str) -> str:
    status: str = (await http.get(f"/threads/{thread_id}/runs/{run_id}")).json()["status"]
    return status


async def _until_status(
    http: httpx.AsyncClient, thread_id: str, run_id: str, *wanted: str, within: float = 60
) -> str:
    deadline = time.monotonic() + within
    while (status := await _status(http, thread_id, run_id)) not in wanted:
        assert time.monotonic() < deadline, f"run {run_id} is {status}, not {wanted}"
        await asyncio.sleep(0.05)
    return status


def _ran_in(process: ServerProcess, run_id: str) -> int:
    """How many times ``process`` ended the run (its log line per run end)."""
    return len(re.findall(rf"run {run_id} ended", process.logs()))


async def test_a_run_created_on_one_api_streams_from_the_other(cluster: Cluster) -> None:
    one, two = cluster.apis
    async with (
        httpx.AsyncClient(base_url=one.url) as first,
        httpx.AsyncClient(base_url=two.url) as second,
    ):
        thread_id = await _thread(first)
        # created and streamed in one request: run by a worker, streamed by this API
        streamed = [
            f
            async for f in _frames(
                first, "POST", f"/threads/{thread_id}/runs/stream", json=_slow(0.2)
            )
        ]
        assert [f.event for f in streamed] == ["metadata", "values", "values", "values"]
        run_id = streamed[0].data["run_id"]
        assert streamed[-1].data["log"] == [f"step:{run_id}", "after"]

        # created on API-1, joined on API-2 right away: from its start, then live
        created = (await first.post(f"/threads/{thread_id}/runs", json=_slow(0.3))).json()
        path = f"/threads/{thread_id}/runs/{created['run_id']}/stream"
        joined = [f async for f in _frames(second, "GET", path)]
        assert [f.event for f in joined] == ["metadata", "values", "values", "values"]
        assert joined[-1].data["log"][-2:] == [f"step:{created['run_id']}", "after"]


async def test_a_resumable_stream_resumes_on_another_api_and_after_a_restart(
    cluster: Cluster,
) -> None:
    one, two = cluster.apis
    async with httpx.AsyncClient(base_url=one.url) as first:
        thread_id = await _thread(first)
        body = _slow(1.0, stream_resumable=True)
        seen: list[Frame] = []
        async for frame in _frames(first, "POST", f"/threads/{thread_id}/runs/stream", json=body):
            seen.append(frame)
            if len(seen) == 2:  # metadata and the input's values: then the client drops
                break
    run_id = seen[0].data["run_id"]
    assert [f.id for f in seen] == ["1", "2"]
    one.stop()  # API-1 goes away while the run goes on in a worker
    try:
        async with httpx.AsyncClient(base_url=two.url) as second:
            path = f"/threads/{thread_id}/runs/{run_id}/stream"
            rest = [f async for f in _frames(second, "GET", path, headers={"Last-Event-ID": "2"})]
        assert [f.id for f in rest] == ["3", "4"]  # each event once, in order
        assert rest[-1].data["log"] == [f"step:{run_id}", "after"]
    finally:
        one.start(timeout=60)
    # the restarted API-1 replays the whole run from Redis
    async with httpx.AsyncClient(base_url=one.url) as first:
        path = f"/threads/{thread_id}/runs/{run_id}/stream"
        replay = [f async for f in _frames(first, "GET", path, headers={"Last-Event-ID": "-1"})]
    assert [f.id for f in replay] == ["1", "2", "3", "4"]
    assert [f.event for f in replay] == ["metadata", "values", "values", "values"]


async def test_a_cancel_on_one_api_stops_the_run_wherever_it_runs(cluster: Cluster) -> None:
    one, two = cluster.apis
    async with (
        httpx.AsyncClient(base_url=one.url) as first,
        httpx.AsyncClient(base_url=two.url) as second,
    ):
        thread_id = await _thread(first)
        run = (await first.post(f"/threads/{thread_id}/runs", json=_slow(30))).json()
        run_id = run["run_id"]
        await _until_status(first, thread_id, run_id, "running")
        joining = asyncio.create_task(_collect(first, f"/threads/{thread_id}/runs/{run_id}/stream"))
        answer = await second.post(f"/threads/{thread_id}/runs/{run_id}/cancel?wait=true")
        assert answer.status_code in (200, 204), answer.text
        assert await _status(first, thread_id, run_id) == "interrupted"
        events = await asyncio.wait_for(joining, 30)  # the join on API-1 ends too
        assert events[0] == "metadata"

        # rollback: the run goes, as in one process
        run = (await second.post(f"/threads/{thread_id}/runs", json=_slow(30))).json()
        await _until_status(second, thread_id, run["run_id"], "running")
        path = f"/threads/{thread_id}/runs/{run['run_id']}/cancel?wait=true&action=rollback"
        assert (await first.post(path)).status_code in (200, 204)
        gone = await first.get(f"/threads/{thread_id}/runs/{run['run_id']}")
        assert gone.status_code == 404


async def _collect(http: httpx.AsyncClient, path: str) -> list[str]:
    return [f.event async for f in _frames(http, "GET", path)]


async def test_runs_spread_over_the_workers_each_once(cluster: Cluster) -> None:
    """200 runs created on both APIs: each ends ``success`` once, run by one worker."""
    clients = [get_client(url=api.url, api_key=None, timeout=60) for api in cluster.apis]
    limit = asyncio.Semaphore(16)

    async def one(index: int) -> tuple[str, dict[str, Any]]:
        client = clients[index % 2]
        async with limit:
            thread = await client.threads.create()
            run = await client.runs.create(thread["thread_id"], "slow", input={"delay": 0.01})
            output = await clients[(index + 1) % 2].runs.join(thread["thread_id"], run["run_id"])
        return run["run_id"], output

    try:
        done = await asyncio.gather(*(one(i) for i in range(200)))
    finally:
        for client in clients:
            await client.http.client.aclose()
    for run_id, output in done:
        assert output["log"] == [f"step:{run_id}", "after"]  # each step once
    counts = [sum(_ran_in(w, run_id) for run_id, _ in done) for w in cluster.workers]
    assert sum(counts) == 200  # none twice, none lost
    assert min(counts) > 0, counts  # both workers took runs
    assert all(_ran_in(api, done[0][0]) == 0 for api in cluster.apis)  # APIs run nothing


async def test_a_worker_killed_mid_run_has_its_run_finished_by_another(cluster: Cluster) -> None:
    one, two = cluster.apis
    async with httpx.AsyncClient(base_url=one.url) as first:
        thread_id = await _thread(first)
        run_id = (await first.post(f"/threads/{thread_id}/runs", json=_slow(2.0))).json()["run_id"]
        await _until_status(first, thread_id, run_id, "running")
        await asyncio.sleep(0.5)  # inside its first step
        holder = next(w for w in cluster.workers if _holds(w))  # the only run running
        joiner = get_client(url=two.url, api_key=None, timeout=90)
        try:
            joined = asyncio.create_task(joiner.runs.join(thread_id, run_id))
            await asyncio.sleep(0.2)
            holder.stop(signal.SIGKILL)
            output = await asyncio.wait_for(joined, 60)  # the join on API-2 gets the end
        finally:
            await joiner.http.client.aclose()
        assert output["log"] == [f"step:{run_id}", "after"]  # the attempt that finished
        assert await _status(first, thread_id, run_id) == "success"
        survivor = next(w for w in cluster.workers if w is not holder)
        assert _ran_in(survivor, run_id) == 1
    cluster.workers[cluster.workers.index(holder)] = cluster.worker().start(timeout=60)


def _holds(worker: ServerProcess) -> bool:
    metrics = httpx.get(f"{worker.url}/metrics", params={"format": "json"}).json()
    return bool(metrics.get("workers", {}).get("active"))


async def test_a_thread_stream_gets_what_happens_on_the_thread_anywhere(cluster: Cluster) -> None:
    """Followed on API-2: a run created on API-1 and run by a worker, its end, and a state
    update made on API-1; then replayed with ``Last-Event-ID`` on API-1."""
    one, two = cluster.apis
    async with (
        httpx.AsyncClient(base_url=one.url) as first,
        httpx.AsyncClient(base_url=two.url) as second,
    ):
        thread_id = await _thread(first)
        path = f"/threads/{thread_id}/stream?stream_mode=run_modes&stream_mode=state_update"
        seen: list[Frame] = []

        async def follow() -> None:
            async for frame in _frames(second, "GET", path):
                seen.append(frame)
                if frame.event == "state_update":
                    return

        following = asyncio.create_task(follow())
        await _until_streaming(second)
        run = (await first.post(f"/threads/{thread_id}/runs", json=_slow(0.1))).json()
        await _until_status(first, thread_id, run["run_id"], "success")
        update = await first.post(f"/threads/{thread_id}/state", json={"values": {"delay": 0}})
        assert update.status_code == 200, update.text
        await asyncio.wait_for(following, 30)
    names = [f.event for f in seen]
    assert names == ["metadata", "values", "values", "values", "metadata", "state_update"]
    assert seen[4].data == {"status": "run_done", "run_id": run["run_id"]}
    ids = [int(f.id) for f in seen]  # consecutive, from the clock (they never go backwards)
    assert ids == list(range(ids[0], ids[0] + 6))
    async with httpx.AsyncClient(base_url=one.url) as first:
        replay: list[str] = []
        third = {"Last-Event-ID": str(ids[2])}
        async for frame in _frames(first, "GET", path, headers=third):
            replay.append(frame.event)
            if frame.event == "state_update":
                break
    assert replay == ["values", "metadata", "state_update"]


async def _until_streaming(http: httpx.AsyncClient) -> None:
    """Until the process behind ``http`` has a stream open (subscribed: it answered)."""
    for _ in range(600):
        metrics = (await http.get("/metrics", params={"format": "json"})).json()
        if metrics["streams"]["open"]:
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the stream never opened")


async def test_stateless_runs_answer_from_any_api(cluster: Cluster) -> None:
    """A stateless run's rows go when it ends (in a worker): waits and streams on the API
    still get its output."""
    one, two = cluster.apis
    async with httpx.AsyncClient(base_url=two.url, timeout=60) as second:
        waits = [second.post("/runs/wait", json=_slow(0.01)) for _ in range(20)]
        for answer in await asyncio.gather(*waits):
            assert answer.status_code == 200
            assert answer.json()["log"][-1] == "after", answer.json()
    async with httpx.AsyncClient(base_url=one.url) as first:
        streamed = [f async for f in _frames(first, "POST", "/runs/stream", json=_slow(0.01))]
    assert [f.event for f in streamed] == ["metadata", "values", "values", "values"]
    assert streamed[-1].data["log"][-1] == "after"


async def test_a2a_and_mcp_answer_from_an_api_whose_runs_run_on_workers(cluster: Cluster) -> None:
    """A2A's send, stream, cancel and resubscribe and MCP's tool calls ride on the same
    runs, broker and notices: they work from an API process that runs nothing itself."""
    one, two = cluster.apis
    json_rpc = {"Accept": "application/json"}
    events = {"Accept": "text/event-stream"}

    def rpc(method: str, params: Any) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": 1, "method": method, "params": params}

    def message(**fields: Any) -> dict[str, Any]:
        parts = [{"kind": "text", "text": "hi"}]
        return {"role": "user", "parts": parts, "messageId": str(uuid.uuid4()), **fields}

    async with (
        httpx.AsyncClient(base_url=one.url, timeout=60) as first,
        httpx.AsyncClient(base_url=two.url, timeout=60) as second,
    ):
        sent = await first.post(
            "/a2a/agent_echoes", json=rpc("message/send", {"message": message()}), headers=json_rpc
        )
        task = sent.json()["result"]
        assert task["status"]["state"] == "completed"
        got = await second.post(
            "/a2a/agent_echoes", json=rpc("tasks/get", {"id": task["id"]}), headers=json_rpc
        )
        assert got.json()["result"]["status"]["state"] == "completed"
        streamed = await second.post(
            "/a2a/agent_echoes",
            json=rpc("message/stream", {"message": message(contextId=task["contextId"])}),
            headers=events,
        )
        kinds = [
            json.loads(line[5:])["result"]["kind"]
            for line in streamed.text.splitlines()
            if line.startswith("data:")
        ]
        assert kinds == [
            "task",
            "status-update",
            "artifact-update",
            "artifact-update",
            "status-update",
        ]
        # a run started on one API, cancelled from the other
        params = {"message": message(), "configuration": {"blocking": False}}
        started = await first.post(
            "/a2a/agent_lingers", json=rpc("message/send", params), headers=json_rpc
        )
        lingering = started.json()["result"]["id"]
        cancelled = await second.post(
            "/a2a/agent_lingers", json=rpc("tasks/cancel", {"id": lingering}), headers=json_rpc
        )
        assert cancelled.json()["result"]["status"]["state"] == "canceled"
        tool = rpc("tools/call", {"name": "agent_echoes", "arguments": {"messages": "x"}})
        called = await second.post(
            "/mcp", json=tool, headers={"Accept": "application/json, text/event-stream"}
        )
        assert called.json()["result"]["structuredContent"]["messages"][1]["content"] == "echo: x"


async def test_thread_event_streams_from_any_api(cluster: Cluster) -> None:
    """A run started over thread event streaming on one API runs on a worker; its thread's
    events stream from the other API, and replay from the start on the first."""
    one, two = cluster.apis
    thread_id = str(uuid.uuid4())
    body = {"channels": ["lifecycle", "values", "input"]}

    async def events(url: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        async with (
            asyncio.timeout(30),
            httpx.AsyncClient(base_url=url, timeout=30) as http,
            http.stream("POST", f"/threads/{thread_id}/stream/events", json=body) as stream,
        ):
            async for line in stream.aiter_lines():
                if line.startswith("data:"):
                    found.append(json.loads(line[5:]))
                    data = found[-1]["params"]["data"]
                    if found[-1]["method"] == "lifecycle" and data.get("event") == "interrupted":
                        return found
        return found

    async with httpx.AsyncClient(base_url=one.url, timeout=30) as first:
        command = {
            "id": 1,
            "method": "run.start",
            "params": {"assistant_id": "agent_asks", "input": {"messages": "hi"}},
        }
        started = await first.post(f"/threads/{thread_id}/commands", json=command)
        assert started.json()["type"] == "success"
    streamed = await events(two.url)
    methods = [e["method"] for e in streamed]
    assert methods[0] == "lifecycle" and methods[-2:] == ["input.requested", "lifecycle"]
    replayed = await events(one.url)
    assert [e["event_id"] for e in replayed] == [e["event_id"] for e in streamed]
    assert [e["seq"] for e in replayed] == [e["seq"] for e in streamed]
