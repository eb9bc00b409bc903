"""One connection survives what goes wrong on it: an unexpected error (500) and a request
body over the limit (413) cost only their own request."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from tests.api.auth_helpers import bearer
from tests.conftest import AUTH_CONFIG
from tests.server import ServerProcess

LIMIT = 2048


def _local_port(response: httpx.Response) -> int:
    """The client side port of the connection the response came on."""
    return int(response.extensions["network_stream"].get_extra_info("client_addr")[1])


@pytest.fixture
async def one_connection(base_url: str) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=30) as raw:
        yield raw


async def test_an_unexpected_error_costs_only_its_own_request(
    one_connection: httpx.AsyncClient, server: ServerProcess
) -> None:
    # a graph factory that raises: a real server code path failing unexpectedly
    config = {"configurable": {"label": "explode"}}
    made = await one_connection.post("/assistants", json={"graph_id": "factory", "config": config})
    assistant_id = made.json()["assistant_id"]
    origin = {"Origin": "http://studio.example"}

    broken = await one_connection.get(f"/assistants/{assistant_id}/graph", headers=origin)
    assert (broken.status_code, broken.json()) == (500, {"detail": "Internal Server Error"})
    assert broken.headers["content-type"] == "application/json"
    assert broken.headers["access-control-allow-origin"] == "*"  # CORS still applies
    assert "the graph factory exploded" in server.logs()  # the traceback is logged

    after = await one_connection.get(f"/assistants/{assistant_id}")
    assert (after.status_code, after.json()["assistant_id"]) == (200, assistant_id)
    assert _local_port(after) == _local_port(broken)  # the same keep-alive connection

    again = await one_connection.get(f"/assistants/{assistant_id}/schemas")
    assert again.status_code == 500
    metrics = (await one_connection.get("/metrics")).text
    timed = 'method="GET",route="/assistants/{assistant_id}/graph",status="500"'
    assert f"graphport_http_request_duration_seconds_count{{{timed}}}" in metrics
    assert _local_port(again) == _local_port(broken)


@pytest.fixture(scope="module")
def limited_server(database_uri: str) -> Iterator[ServerProcess]:
    """A dev server with custom auth (its authenticator reads bodies) and a small limit."""
    from tests.server import create_database, drop_database

    uri = create_database(database_uri)
    process = ServerProcess(
        database_uri=uri,
        config=AUTH_CONFIG,
        command="dev",
        extra_env={"GRAPHPORT_MAX_BODY_BYTES": str(LIMIT)},
    ).start()
    yield process
    process.stop()
    drop_database(database_uri, uri)


@pytest.fixture
async def limited(limited_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    async with httpx.AsyncClient(base_url=limited_server.url, limits=limits, timeout=30) as raw:
        yield raw


def _thread_body(size: int) -> bytes:
    """A JSON thread creation body of exactly ``size`` bytes."""
    head, tail = b'{"metadata": {"pad": "', b'"}}'
    return head + b"x" * (size - len(head) - len(tail)) + tail


async def _chunked(body: bytes) -> AsyncIterator[bytes]:
    for start in range(0, len(body), 500):
        yield body[start : start + 500]


TOO_LARGE = {"detail": f"Request body too large: the limit is {LIMIT} bytes"}
JSON = {"Content-Type": "application/json"}
# Studio's sign-in skips the authenticator: the route itself reads the body
STUDIO = {"X-Auth-Scheme": "langsmith", **JSON}


@pytest.mark.parametrize("who", [bearer("alice") | JSON, STUDIO], ids=["authenticator", "route"])
async def test_bodies_over_the_limit_are_413_and_the_connection_survives(
    limited: httpx.AsyncClient, who: dict[str, str]
) -> None:
    fits = await limited.post("/threads", content=_thread_body(LIMIT), headers=who)
    assert fits.status_code == 200, fits.text
    assert fits.json()["metadata"]["pad"] == "x" * (LIMIT - 25)

    declared = await limited.post(
        "/threads", content=_thread_body(LIMIT + 1), headers=who | {"Origin": "http://x.example"}
    )
    assert (declared.status_code, declared.json()) == (413, TOO_LARGE)
    assert declared.headers["content-type"] == "application/json"
    assert declared.headers["access-control-allow-origin"] == "*"

    over = _chunked(_thread_body(LIMIT + 600))
    chunked = await limited.post("/threads", content=over, headers=who)
    assert chunked.request.headers["transfer-encoding"] == "chunked"
    assert (chunked.status_code, chunked.json()) == (413, TOO_LARGE)

    small = await limited.post("/threads", content=_chunked(_thread_body(1200)), headers=who)
    assert small.status_code == 200, small.text

    after = await limited.post("/threads/search", json={"limit": 1}, headers=who)
    assert after.status_code == 200
    ports = {_local_port(r) for r in (fits, declared, chunked, small, after)}
    assert len(ports) == 1  # one keep-alive connection throughout


async def test_a_large_body_is_refused_before_authentication(limited: httpx.AsyncClient) -> None:
    refused = await limited.post("/threads", content=_thread_body(LIMIT * 10), headers=JSON)
    assert (refused.status_code, refused.json()) == (413, TOO_LARGE)
    unauthenticated = await limited.post("/threads", content=_thread_body(100), headers=JSON)
    assert unauthenticated.status_code == 401


@pytest.fixture(scope="module")
def starved_server(database_uri: str) -> Iterator[ServerProcess]:
    """A server with two pooled connections that waits 50 ms at most for one."""
    from tests.server import create_database, drop_database

    uri = create_database(database_uri)
    env = {"GRAPHPORT_DB_POOL_SIZE": "1", "GRAPHPORT_DB_POOL_TIMEOUT_SECS": "0.05"}
    process = ServerProcess(database_uri=uri, extra_env=env).start()
    yield process
    process.stop()
    drop_database(database_uri, uri)


async def test_an_exhausted_pool_is_503_with_retry_after_and_passes(
    starved_server: ServerProcess,
) -> None:
    async with httpx.AsyncClient(base_url=starved_server.url, timeout=30) as http:
        thread_id = (await http.post("/threads", json={})).json()["thread_id"]
        body = {"assistant_id": "slow", "input": {}, "multitask_strategy": "enqueue"}
        # every create waits for the thread's row lock holding a connection: most wait long
        answers = await asyncio.gather(
            *(http.post(f"/threads/{thread_id}/runs", json=body) for _ in range(60)),
            *(http.post("/threads/search", json={"limit": 5}) for _ in range(20)),
        )
        codes = {r.status_code for r in answers}
        assert codes <= {200, 503}, [r.text for r in answers if r.status_code not in (200, 503)]
        assert 503 in codes
        busy = next(r for r in answers if r.status_code == 503)
        assert busy.json()["detail"].startswith("The server is busy")
        assert busy.headers["retry-after"] == "1"
        accepted = [r.json()["run_id"] for r in answers[:60] if r.status_code == 200]
        listed = (await http.get(f"/threads/{thread_id}/runs", params={"limit": 100})).json()
        assert sorted(accepted) == sorted(r["run_id"] for r in listed)  # refused wrote nothing
    assert "Internal Server Error" not in starved_server.logs()
    assert "Traceback" not in starved_server.logs()


async def test_a_body_is_json_whatever_its_declared_type(http: httpx.AsyncClient) -> None:
    """``curl -d '{}'`` declares a form; some clients declare nothing, or text."""
    body = b'{"metadata": {"via": "curl"}}'
    for declared in ("application/x-www-form-urlencoded", "text/plain", None):
        headers = {"Content-Type": declared} if declared else {}
        request = http.build_request("POST", "/threads", content=body, headers=headers)
        if declared is None:
            request.headers.pop("Content-Type", None)
        made = await http.send(request)
        assert made.status_code == 200, (declared, made.text)
        assert made.json()["metadata"] == {"via": "curl"}
    bad = await http.post("/threads", content=b"via=curl", headers={"Content-Type": "text/plain"})
    assert bad.status_code == 422 and "Invalid JSON" in str(bad.json()["detail"])
