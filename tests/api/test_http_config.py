"""langgraph.json ``http``: the user's own app beside the API, CORS rules, route groups left
out, request headers handed to graphs, and keys refused at startup. Servers run on the
configs in tests/fixtures/http (the custom app: tests/fixtures/http/webapp.py)."""

from __future__ import annotations

import asyncio
import json
import re
import subprocess
import sys
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from langgraph_sdk import get_client
from starlette.routing import Match
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from graphport.api.custom_app import load_custom_app
from graphport.app import create_app
from graphport.config import load_config
from graphport.errors import ConfigError
from graphport.services.configurable_headers import HeaderSelection
from graphport.settings import Settings
from tests.api.auth_helpers import bearer
from tests.server import FIXTURES, ServerProcess, create_database, drop_database, free_port
from tests.webhook_receiver import webhook_receiver

HTTP = FIXTURES / "http"
GREETING = "set by the custom app's lifespan"
TRACE = "20240101T000000000000Zabc.20240101T000000000000Zdef"
# a sample of each group's operations
SAMPLES = {
    "disable_assistants": [("post", "/assistants/search"), ("get", "/assistants/{assistant_id}")],
    "disable_threads": [
        ("post", "/threads"),
        ("get", "/threads/{thread_id}/state"),
        ("get", "/threads/{thread_id}/stream"),
    ],
    "disable_runs": [
        ("post", "/runs/wait"),
        ("post", "/threads/{thread_id}/runs/stream"),
        ("post", "/runs/crons/search"),
    ],
    "disable_store": [("put", "/store/items"), ("post", "/store/namespaces")],
    "disable_a2a": [("post", "/a2a/{assistant_id}"), ("get", "/.well-known/agent-card.json")],
    "disable_mcp": [("post", "/mcp")],
}


def _serve(database_uri: str, config: Path) -> Iterator[ServerProcess]:
    uri = create_database(database_uri)
    process = ServerProcess(database_uri=uri, config=config).start()
    yield process
    process.stop()
    drop_database(database_uri, uri)


@pytest.fixture(scope="module")
def custom_server(database_uri: str) -> Iterator[ServerProcess]:
    """The custom app, configurable headers, CORS rules, webhooks off; no auth."""
    yield from _serve(database_uri, HTTP / "custom.json")


@pytest.fixture(scope="module")
def open_routes_server(database_uri: str) -> Iterator[ServerProcess]:
    """Custom auth; the custom app's routes unauthenticated; assistants and runs off."""
    yield from _serve(database_uri, HTTP / "open_routes.json")


@pytest.fixture(scope="module")
def protected_routes_server(database_uri: str) -> Iterator[ServerProcess]:
    """Custom auth on the custom app's routes too, before its middleware; threads, store
    and meta off."""
    yield from _serve(database_uri, HTTP / "protected_routes.json")


@pytest.fixture
async def custom(custom_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=custom_server.url, timeout=30) as made:
        yield made


@pytest.fixture
async def open_routes(open_routes_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=open_routes_server.url, timeout=30) as made:
        yield made


@pytest.fixture
async def protected(protected_routes_server: ServerProcess) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=protected_routes_server.url, timeout=30) as made:
        yield made


def _paths(document: dict[str, Any]) -> set[str]:
    return set(document["paths"])


def _group(path: str) -> str | None:
    """The flag that leaves ``path`` out, as the official server groups routes."""
    parts = path.split("/")
    if parts[1] == "threads" and parts[3:4] == ["runs"]:
        return "disable_runs"
    if parts[1] == "threads" and parts[3:] in (["commands"], ["stream", "events"]):
        return "disable_runs"  # thread event streaming, as the official server groups it
    if parts[1] == ".well-known":
        return "disable_a2a"
    groups = {"assistants", "threads", "runs", "store", "a2a", "mcp"}
    return f"disable_{parts[1]}" if parts[1] in groups else None


def _served(app: Any, method: str, template: str) -> bool:
    """Whether one of ``app``'s routes takes the request (as its router decides)."""
    path = re.sub(r"\{[^}]*\}", str(uuid.uuid4()), template)
    scope = {"type": "http", "method": method.upper(), "path": path, "root_path": ""}
    return any(route.matches(scope)[0] is Match.FULL for route in app.routes)


# -- the custom app -------------------------------------------------------------------------


async def test_custom_routes_answer_beside_the_api_and_ours_win_a_clash(
    custom: httpx.AsyncClient,
) -> None:
    hello = await custom.get("/custom/hello")
    assert hello.status_code == 200
    # its lifespan ran, its state reaches its requests; no auth configured: no user
    assert hello.json() == {"hello": "world", "greeting": GREETING, "user": None}
    # /info and POST /threads/search are the custom app's too: graphport's answer
    info = await custom.get("/info")
    assert info.status_code == 200 and info.json()["version"]
    created = (await custom.post("/threads", json={"metadata": {"k": "clash"}})).json()
    found = await custom.post("/threads/search", json={"metadata": {"k": "clash"}})
    assert found.status_code == 200
    assert [t["thread_id"] for t in found.json()] == [created["thread_id"]]
    assert (await custom.get("/ok")).json() == {"ok": True}
    nowhere = await custom.get("/nowhere")
    assert (nowhere.status_code, nowhere.json()) == (404, {"detail": "Not Found"})


async def test_custom_middleware_runs_on_every_route(custom: httpx.AsyncClient) -> None:
    for response in (
        await custom.get("/custom/hello"),
        await custom.get("/ok"),
        await custom.post("/assistants/search", json={}),
        await custom.get("/nowhere"),
    ):
        assert response.headers["x-custom-middleware"] == "nobody"


async def test_custom_app_operations_join_the_openapi(custom: httpx.AsyncClient) -> None:
    document = (await custom.get("/openapi.json")).json()
    assert "get" in document["paths"]["/custom/hello"]
    # on a clash the operation is graphport's
    assert document["paths"]["/threads/search"]["post"]["operationId"] != "search_threads"
    assert "ThreadSelection" in json.dumps(document["paths"]["/threads/search"])


# -- configurable headers -------------------------------------------------------------------

SENT = {
    "x-team": "red",
    "X-Case": "Mixed",
    "x-secret-token": "hidden",  # excluded by pattern
    "authorization": "Bearer t",  # included by pattern, never passed: a credential
    "x-api-key": "k",  # a credential too
    "label": "from-header",
    "user-agent": "agent/1",  # not included
    "langsmith-trace": TRACE,  # always passed, with its baggage
    "baggage": "langsmith-project=proj,langsmith-tags=a%2Cb,other=1",
}
TRACED = {"langsmith-trace": TRACE, "langsmith-project": "proj", "langsmith-tags": ["a", "b"]}


async def test_configurable_headers_reach_the_graph(custom: httpx.AsyncClient) -> None:
    body = {
        "assistant_id": "inspector",
        "input": {},
        "config": {"configurable": {"x-team": "from-client", "mine": 1}},
    }
    waited = await custom.post("/runs/wait", json=body, headers=SENT)
    assert waited.status_code == 200, waited.text
    others = waited.json()["seen"]["others"]
    # the header wins over the client's own value, as on the official server
    assert others == {
        "x-team": "red",
        "x-case": "Mixed",
        "label": "from-header",
        "mine": 1,
        **TRACED,
    }


async def test_configurable_headers_reach_streamed_and_background_runs(
    custom_server: ServerProcess,
) -> None:
    sdk = get_client(url=custom_server.url, api_key=None, headers={"x-team": "sdk"})
    try:
        thread = await sdk.threads.create()
        values = [
            part.data
            async for part in sdk.runs.stream(
                thread["thread_id"], "inspector", input={}, stream_mode="values"
            )
            if part.event == "values"
        ]
        assert values[-1]["seen"]["others"] == {"x-team": "sdk"}
        run = await sdk.runs.create(
            thread["thread_id"], "inspector", input={}, headers={"x-team": "background"}
        )
        joined = await sdk.runs.join(thread["thread_id"], run["run_id"])
        assert joined["seen"]["others"] == {"x-team": "background"}
        stored = await sdk.runs.get(thread["thread_id"], run["run_id"])
        assert stored["kwargs"]["config"]["configurable"]["x-team"] == "background"
    finally:
        await sdk.http.client.aclose()


async def test_configurable_headers_reach_graph_factories(custom: httpx.AsyncClient) -> None:
    """The factory names its node after ``configurable["label"]``."""
    plain = (await custom.get("/assistants/factory/graph")).json()
    labelled = (await custom.get("/assistants/factory/graph", headers={"label": "hdr"})).json()
    assert "node_plain" in {n["id"] for n in plain["nodes"]}
    assert "node_hdr" in {n["id"] for n in labelled["nodes"]}

    thread_id = (await custom.post("/threads", json={})).json()["thread_id"]
    body = {"assistant_id": "factory", "input": {"answer": ""}}
    ran = await custom.post(f"/threads/{thread_id}/runs/wait", json=body, headers={"label": "a"})
    assert ran.json() == {"answer": "a"}
    # a state write as node_b: the graph built for it has that node only with the header
    update = {"values": {"answer": "b"}, "as_node": "node_b"}
    refused = await custom.post(f"/threads/{thread_id}/state", json=update)
    assert refused.status_code == 422 and "node_b" in refused.json()["detail"], refused.text
    written = await custom.post(f"/threads/{thread_id}/state", json=update, headers={"label": "b"})
    assert written.status_code == 200, written.text
    state = await custom.get(f"/threads/{thread_id}/state", headers={"label": "b"})
    assert state.json()["values"] == {"answer": "b"}


async def test_without_the_setting_only_tracing_headers_reach_the_graph(
    http: httpx.AsyncClient,
) -> None:
    body = {"assistant_id": "inspector", "input": {}}
    waited = await http.post("/runs/wait", json=body, headers=SENT)
    assert waited.status_code == 200, waited.text
    assert waited.json()["seen"]["others"] == TRACED


# -- CORS -------------------------------------------------------------------------------------


async def test_cors_settings_answer_preflights(custom: httpx.AsyncClient) -> None:
    asked = {
        "Origin": "https://app.example",
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "x-custom",
    }
    allowed = await custom.options("/threads/search", headers=asked)
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://app.example"
    assert allowed.headers["access-control-allow-methods"] == "GET, POST"
    assert "x-custom" in allowed.headers["access-control-allow-headers"]
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert allowed.headers["access-control-max-age"] == "123"

    other_origin = await custom.options(
        "/threads/search", headers={**asked, "Origin": "https://evil.example"}
    )
    assert other_origin.status_code == 400
    assert "access-control-allow-origin" not in other_origin.headers
    other_method = await custom.options(
        "/threads/search", headers={**asked, "Access-Control-Request-Method": "DELETE"}
    )
    assert other_method.status_code == 400

    simple = await custom.post(
        "/threads/search", json={}, headers={"Origin": "https://app.example"}
    )
    assert simple.headers["access-control-allow-origin"] == "https://app.example"
    assert simple.headers["access-control-expose-headers"] == "x-exposed"


# -- webhooks off -------------------------------------------------------------------------------


async def test_disabled_webhooks_are_checked_never_called(custom: httpx.AsyncClient) -> None:
    with webhook_receiver() as receiver:
        body = {"assistant_id": "inspector", "input": {}, "webhook": receiver.url}
        waited = await custom.post("/runs/wait", json=body)
        assert waited.status_code == 200
        assert not await asyncio.to_thread(receiver.arrived.wait, 1.5)
    refused = await custom.post("/runs", json={**body, "webhook": "not a url"})
    assert refused.status_code == 422
    schemas = (await custom.get("/openapi.json")).json()["components"]["schemas"]
    for name in ("RunCreateStateful", "RunCreateStateless", "CronCreate", "ThreadCronCreate"):
        assert "webhook" not in schemas[name]["properties"], name


# -- route groups left out, auth on custom routes ----------------------------------------------


async def test_disabled_groups_answer_404_and_leave_the_openapi(
    open_routes: httpx.AsyncClient,
) -> None:
    alice = bearer("alice")
    thread = await open_routes.post("/threads", json={}, headers=alice)
    assert thread.status_code == 200  # threads stay
    thread_id, some_id = thread.json()["thread_id"], str(uuid.uuid4())
    for method, path in (
        ("POST", "/runs/wait"),
        ("POST", "/runs/stream"),
        ("POST", "/runs/crons/search"),
        ("GET", f"/threads/{thread_id}/runs"),
        ("POST", f"/threads/{thread_id}/runs/wait"),
        ("GET", f"/assistants/{some_id}"),
        ("POST", "/assistants"),
    ):
        response = await open_routes.request(method, path, json={}, headers=alice)
        assert response.status_code == 404, (method, path, response.text)
    # a path left out is the custom app's to serve
    left = await open_routes.post("/assistants/search", json={})
    assert left.json() == {"mine": "assistants"}

    paths = _paths((await open_routes.get("/openapi.json")).json())
    removed = ("disable_assistants", "disable_runs")
    # left: the custom app's own operation there
    assert [p for p in paths if _group(p) in removed] == ["/assistants/search"]
    assert {"/threads", "/threads/{thread_id}/state", "/store/items"} <= paths
    flags = (await open_routes.get("/info")).json()["flags"]
    assert (flags["assistants"], flags["crons"]) == (False, False)


async def test_custom_routes_skip_auth_unless_asked(open_routes: httpx.AsyncClient) -> None:
    hello = await open_routes.get("/custom/hello")
    assert hello.status_code == 200 and hello.json()["user"] is None
    api = await open_routes.post("/threads/search", json={})
    assert api.status_code == 401  # graphport's routes still are protected
    signed_in = await open_routes.post("/threads/search", json={}, headers=bearer("alice"))
    assert signed_in.status_code == 200
    # "middleware_first" (the default): the custom middleware runs before authentication
    assert signed_in.headers["x-custom-middleware"] == "nobody"
    assert api.headers["x-custom-middleware"] == "nobody"


async def test_custom_websockets_open_unless_authentication_is_asked(
    open_routes_server: ServerProcess, protected_routes_server: ServerProcess
) -> None:
    ws_url = open_routes_server.url.replace("http://", "ws://")
    async with connect(f"{ws_url}/custom/ws") as websocket:
        assert await websocket.recv() == "hello None"
    # graphport authenticates HTTP requests only: such a WebSocket is refused
    ws_url = protected_routes_server.url.replace("http://", "ws://")
    with pytest.raises(InvalidStatus) as refused:
        async with connect(f"{ws_url}/custom/ws", additional_headers=bearer("alice")):
            pass
    assert refused.value.response.status_code == 403


async def test_custom_routes_authenticated_when_asked(protected: httpx.AsyncClient) -> None:
    refused = await protected.get("/custom/hello")
    assert (refused.status_code, refused.json()) == (401, {"detail": "Missing bearer token"})
    # "auth_first": authentication answered before the custom middleware ran
    assert "x-custom-middleware" not in refused.headers
    hello = await protected.get("/custom/hello", headers=bearer("alice"))
    assert hello.json() == {"hello": "world", "greeting": GREETING, "user": "alice"}
    assert hello.headers["x-custom-middleware"] == "alice"
    ran = await protected.post(
        "/runs/wait", json={"assistant_id": "inspector", "input": {}}, headers=bearer("alice")
    )
    assert ran.status_code == 200, ran.text
    assert ran.headers["x-custom-middleware"] == "alice"


async def test_meta_threads_and_store_left_out(protected: httpx.AsyncClient) -> None:
    alice = bearer("alice")
    # /ok stays, without its checks (as the official server documents)
    assert (await protected.get("/ok?check_db=1")).json() == {"ok": True}
    for path in ("/", "/metrics", "/docs", "/redoc", "/openapi.json", "/docs/static/redoc.js"):
        assert (await protected.get(path, headers=alice)).status_code == 404, path
    # /info and POST /threads/search: graphport's are gone, the custom app serves them
    assert (await protected.get("/info", headers=alice)).json() == {"mine": "info"}
    assert (await protected.post("/threads/search", json={}, headers=alice)).json() == {
        "mine": "threads"
    }
    some_id = str(uuid.uuid4())
    for method, path in (
        ("POST", "/threads"),
        ("GET", f"/threads/{some_id}"),
        ("GET", f"/threads/{some_id}/state"),
        ("GET", f"/threads/{some_id}/history"),
        ("GET", f"/threads/{some_id}/stream"),
        ("PUT", "/store/items"),
        ("POST", "/store/items/search"),
    ):
        response = await protected.request(method, path, json={}, headers=alice)
        assert response.status_code == 404, (method, path, response.text)


# -- each flag on its own, and the keys refused at startup ---------------------------------------


@pytest.mark.parametrize("flag", sorted(SAMPLES))
def test_each_flag_removes_its_routes_and_openapi_entries(tmp_path: Path, flag: str) -> None:
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": {}, "http": {flag: True}}))
    app = create_app(Settings(GRAPHPORT_CONFIG=config))
    documented = app.openapi()["paths"]
    for group, samples in SAMPLES.items():
        kept = group != flag
        for method, template in samples:
            assert _served(app, method, template) is kept, (flag, method, template)
            assert (method in documented.get(template, {})) is kept, (flag, method, template)
        listed = [p for p in documented if _group(p) == group]
        assert bool(listed) is kept, (flag, group, listed)


@pytest.mark.parametrize(
    ("http", "message"),
    [
        ({"bogus": True}, ["http: unknown key(s) bogus; known keys: app, cors,"]),
        ({"app": "./missing.py:app"}, ["http.app: file ", "missing.py not found"]),
    ],
)
def test_bad_http_keys_stop_startup_with_a_clear_message(
    tmp_path: Path, http: dict[str, Any], message: list[str]
) -> None:
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": {}, "http": http}))
    result = subprocess.run(
        [sys.executable, "-m", "graphport.cli", "serve", "--config", str(config)]
        + ["--port", str(free_port())],
        capture_output=True,
        text=True,
        timeout=60,
        env={"PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 2, result.stderr
    for part in message:
        assert part in result.stderr


@pytest.mark.parametrize(
    ("http", "message"),
    [
        ({"cors": {"allow_origin": ["*"]}}, "http.cors.allow_origin: unknown key"),
        ({"cors": {"allow_origin_regex": "("}}, "http.cors.allow_origin_regex: not a valid"),
        ({"mount_prefix": "/api"}, "http: mount_prefix is not supported by graphport"),
        ({"logging_headers": {"includes": ["a"]}}, "logging_headers: includes is not supported"),
        ({"configurable_headers": {"only": ["a"]}}, "configurable_headers.only: unknown key"),
        ({"middleware_order": "random"}, "http.middleware_order: Input should be 'auth_first'"),
        ({"app": "webapp"}, "http.app: 'webapp' must look like './file.py:app'"),
        ({"app": "json:dumps"}, "http.app: json:dumps is a function, not a Starlette"),
    ],
)
def test_keys_graphport_cannot_honour_are_refused(
    tmp_path: Path, http: dict[str, Any], message: str
) -> None:
    """What ``graphport serve`` checks before it starts (as the test above shows)."""
    config = tmp_path / "langgraph.json"
    config.write_text(json.dumps({"graphs": {}, "http": http}))
    with pytest.raises(ConfigError) as raised:
        load_custom_app(load_config(config))
    assert message in str(raised.value)


def test_accepted_spellings_and_no_op_flags(tmp_path: Path) -> None:
    config = tmp_path / "langgraph.json"
    http = {
        "configurable_headers": {"include": ["X-Team"], "exclude": ["x-b"]},
        "logging_headers": {"excludes": ["authorization"]},
        "middleware_order": None,
        "disable_ui": True,
    }
    config.write_text(json.dumps({"graphs": {}, "http": http}))
    loaded = load_config(config).http
    assert loaded.configurable_headers is not None
    assert loaded.configurable_headers.includes == ["X-Team"]
    assert loaded.middleware_order == "middleware_first"
    selection = HeaderSelection(loaded.configurable_headers)
    assert selection.select({"x-team": "a", "x-b": "b", "X-TEAM-2": "c"}) == {"x-team": "a"}
