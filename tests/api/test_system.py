"""Health, info, OpenAPI, CORS and error shapes."""

from __future__ import annotations

import asyncio

import httpx

from graphport.settings import Settings
from tests.server import ServerProcess

SLOTS = Settings.model_fields["n_jobs_per_worker"].default  # run slots by default


async def test_ok(http: httpx.AsyncClient) -> None:
    assert (await http.get("/ok")).json() == {"ok": True}
    checked = await http.get("/ok", params={"check_db": 1})
    assert checked.status_code == 200
    assert checked.json() == {"ok": True}


async def test_info(http: httpx.AsyncClient) -> None:
    info = (await http.get("/info")).json()
    major, minor, _patch = (int(p) for p in info["version"].split("."))
    assert (major, minor) >= (0, 16)
    assert info["langgraph_py_version"]
    assert info["flags"]["assistants"] is True
    assert info["flags"]["langsmith"] is False
    assert info["host"]["kind"] == "self-hosted"


async def test_openapi_and_docs(http: httpx.AsyncClient) -> None:
    spec = (await http.get("/openapi.json")).json()
    paths = spec["paths"]
    for path in (
        "/assistants",
        "/assistants/search",
        "/assistants/count",
        "/assistants/{assistant_id}",
        "/assistants/{assistant_id}/graph",
        "/assistants/{assistant_id}/schemas",
        "/assistants/{assistant_id}/subgraphs",
        "/assistants/{assistant_id}/subgraphs/{namespace}",
        "/assistants/{assistant_id}/versions",
        "/assistants/{assistant_id}/latest",
        "/ok",
        "/info",
    ):
        assert path in paths, path
    docs = await http.get("/docs")
    assert docs.status_code == 200
    assert "swagger" in docs.text.lower()


async def test_unknown_route_is_404_with_detail(http: httpx.AsyncClient) -> None:
    response = await http.get("/no/such/route")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not Found"}


PREFLIGHT = {
    "Origin": "https://studio.example",
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type,x-api-key",
}
PRIVATE = {**PREFLIGHT, "Access-Control-Request-Private-Network": "true"}


async def test_cors_preflight(http: httpx.AsyncClient, auth_server: ServerProcess) -> None:
    response = await http.options("/assistants/search", headers=PREFLIGHT)
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "https://studio.example")
    assert "POST" in response.headers["access-control-allow-methods"]
    # a public page may reach a server on a private network only under dev (Studio on the
    # user's own machine) or ALLOW_PRIVATE_NETWORK, as on the official server
    refused = await http.options("/assistants/search", headers=PRIVATE)
    assert refused.status_code == 400
    assert "access-control-allow-private-network" not in refused.headers
    async with httpx.AsyncClient(base_url=auth_server.url) as dev:
        answered = await dev.options("/assistants/search", headers=PRIVATE)
    assert answered.status_code == 200
    assert answered.headers["access-control-allow-private-network"] == "true"


async def test_cors_exposes_pagination_headers(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/assistants/search", json={}, headers={"Origin": "https://studio.example"}
    )
    exposed = response.headers["access-control-expose-headers"].lower()
    for header in ("location", "content-location", "x-pagination-total", "x-pagination-next"):
        assert header in exposed


async def test_metrics_prometheus_and_json(http: httpx.AsyncClient) -> None:
    thread = (await http.post("/threads", json={})).json()
    await http.post(
        f"/threads/{thread['thread_id']}/runs/wait", json={"assistant_id": "slow", "input": {}}
    )
    text = await http.get("/metrics")
    assert text.status_code == 200
    assert text.headers["content-type"].startswith("text/plain")
    body = text.text
    for name in (
        'graphport_runs{status="success"}',
        "graphport_worker_slots ",
        "graphport_worker_slots_used ",
        "graphport_queue_pending ",
        "graphport_open_streams ",
        "graphport_run_duration_seconds_bucket",
        "graphport_run_queue_wait_seconds_count",
        'graphport_http_request_duration_seconds_count{method="POST",route="/threads/{thread_id}/runs/wait",status="200"}',
        'graphport_runs_by_graph{graph="slow",status="success"}',
        'graphport_run_duration_seconds_count{graph="slow",status="success"}',
        'graphport_run_queue_wait_seconds_count{graph="slow"}',
        'graphport_stream_subscribers{kind="run"}',
        'graphport_stream_subscribers{kind="thread"}',
        'graphport_db_pool{state="pool_size"}',
        "# TYPE graphport_webhook_deliveries_total counter",
        "# TYPE graphport_cron_firings_total counter",
    ):
        assert name in body, name
    data = (await http.get("/metrics", params={"format": "json"})).json()
    assert data["runs"]["success"] >= 1
    assert data["runs_by_graph"]["slow"]["success"] >= 1
    assert sum(n for graph in data["runs_by_graph"].values() for n in graph.values()) == sum(
        data["runs"].values()
    )
    assert data["streams"]["runs"] <= data["streams"]["open"]
    assert data["timings"]["run_duration"]["count"] >= 1
    assert data["timings"]["http_requests"]["count"] >= 1
    # a format it does not know is Prometheus text, as on the official server
    for odd in ("xml", "JSON", ""):
        text = await http.get("/metrics", params={"format": odd})
        assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")


OFFICIAL_QUEUE_KEYS = {
    "n_pending",
    "n_running",
    "pending_runs_wait_time_max_secs",
    "pending_runs_wait_time_med_secs",
    "pending_unblocked_runs_wait_time_max_secs",
}


async def test_metrics_json_has_the_official_keys(http: httpx.AsyncClient) -> None:
    """The official server's ``/metrics?format=json`` keys, with their meaning: queue
    depth and waits, this process's worker slots, HTTP requests by route and status,
    database pool; graphport's own keys after them."""
    await http.get("/ok")
    thread = (await http.post("/threads", json={})).json()
    await http.post(
        f"/threads/{thread['thread_id']}/runs/wait", json={"assistant_id": "slow", "input": {}}
    )
    data = (await http.get("/metrics", params={"format": "json"})).json()
    assert list(data) == [
        "postgres",
        "queue",
        "api",
        "workers",
        "runs",
        "runs_by_graph",
        "streams",
        "timings",
        "webhook_deliveries",
        "cron_firings",
        "unknown_request_fields",
    ]
    assert set(data["queue"]) == OFFICIAL_QUEUE_KEYS
    assert data["workers"]["max"] == SLOTS
    assert data["workers"]["active"] + data["workers"]["available"] == SLOTS
    assert set(data["postgres"]) == {
        "pool_max",
        "pool_size",
        "pool_available",
        "requests_queued",
        "requests_errors",
    }
    assert data["postgres"]["pool_max"] >= data["postgres"]["pool_size"] >= 1
    counted = data["api"]["http_requests_total"]
    assert all(set(entry) == {"method", "path", "status", "count"} for entry in counted)
    waited = [
        entry
        for entry in counted
        if (entry["method"], entry["path"], entry["status"])
        == ("POST", "/threads/{thread_id}/runs/wait", 200)
    ]
    assert len(waited) == 1 and waited[0]["count"] >= 1
    # health checks and scrapes are left out, as on the official server
    assert not {"/ok", "/metrics", "/info"} & {entry["path"] for entry in counted}


async def test_metrics_json_queue_while_runs_wait(http: httpx.AsyncClient) -> None:
    """A running run and one queued behind it on the same thread: counted, and the queued
    one's wait measured (it waits for its thread, not for a worker)."""
    thread_id = (await http.post("/threads", json={})).json()["thread_id"]
    body = {"assistant_id": "slow", "input": {"delay": 1.5}}
    first = (await http.post(f"/threads/{thread_id}/runs", json=body)).json()
    second = (await http.post(f"/threads/{thread_id}/runs", json=body)).json()
    try:
        for _ in range(100):
            got = (await http.get(f"/threads/{thread_id}/runs/{first['run_id']}")).json()
            if got["status"] == "running":
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.2)
        data = (await http.get("/metrics", params={"format": "json"})).json()
        queue = data["queue"]
        assert queue["n_running"] >= 1 and queue["n_pending"] >= 1
        assert queue["pending_runs_wait_time_max_secs"] >= 0.2
        assert queue["pending_runs_wait_time_med_secs"] >= 0
        assert queue["pending_runs_wait_time_max_secs"] >= queue["pending_runs_wait_time_med_secs"]
        assert data["workers"]["active"] >= 1
        text = (await http.get("/metrics")).text
        assert "graphport_queue_wait_max_seconds " in text
    finally:
        for run in (second, first):
            await http.post(f"/threads/{thread_id}/runs/{run['run_id']}/cancel")
