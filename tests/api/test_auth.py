"""Custom auth: authentication, fail-closed errors, Studio, and what the graph receives."""

from __future__ import annotations

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient

from tests.api.auth_helpers import bearer
from tests.server import ServerProcess


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/threads"),
        ("POST", "/threads/search"),
        ("GET", "/threads/00000000-0000-0000-0000-000000000001"),
        ("POST", "/assistants/search"),
        ("POST", "/runs/wait"),
        ("POST", "/runs/crons/search"),
        ("PUT", "/store/items"),
        ("GET", "/threads/00000000-0000-0000-0000-000000000001/stream"),
    ],
)
async def test_no_token_is_401_with_the_authenticators_headers(
    raw: httpx.AsyncClient, method: str, path: str
) -> None:
    response = await raw.request(method, path, json={})
    assert response.status_code == 401
    assert response.json() == {"detail": "Missing bearer token"}
    assert response.headers["www-authenticate"] == "Bearer"
    bad = await raw.request(method, path, json={}, headers={"Authorization": "Bearer nope"})
    assert (bad.status_code, bad.json()) == (401, {"detail": "Invalid token"})


async def test_public_paths_and_preflights_need_no_token(raw: httpx.AsyncClient) -> None:
    for path in ("/ok", "/info", "/openapi.json", "/docs", "/metrics"):
        assert (await raw.get(path)).status_code == 200, path
    preflight = await raw.options(
        "/threads/search",
        headers={"Origin": "http://studio.example", "Access-Control-Request-Method": "POST"},
    )
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] in ("*", "http://studio.example")


async def test_authenticator_statuses_are_kept_and_its_bugs_fail_closed(
    raw: httpx.AsyncClient, auth_server: ServerProcess
) -> None:
    limited = await raw.post("/threads/search", headers={"Authorization": "Bearer slow-down"})
    assert (limited.status_code, limited.json()) == (429, {"detail": "Too many requests"})
    broken = await raw.post("/threads/search", headers={"Authorization": "Bearer boom"})
    assert (broken.status_code, broken.json()) == (500, {"detail": "Internal Server Error"})
    assert "a bug in the authenticator" in auth_server.logs()


async def test_the_authenticator_may_read_the_body(raw: httpx.AsyncClient) -> None:
    refused = await raw.post("/threads", json={"impersonate": "bob"}, headers=bearer("alice"))
    assert (refused.status_code, refused.json()) == (400, {"detail": "No impersonation"})
    created = await raw.post("/threads", json={"metadata": {"a": 1}}, headers=bearer("alice"))
    assert created.status_code == 200
    assert created.json()["metadata"] == {"a": 1, "owner": "alice", "tenant": "acme"}


async def test_a_handler_that_raises_is_500_without_its_message(
    raw: httpx.AsyncClient, auth_server: ServerProcess
) -> None:
    response = await raw.post(
        "/threads/search", json={"metadata": {"explode": True}}, headers=bearer("alice")
    )
    assert (response.status_code, response.json()) == (500, {"detail": "Internal Server Error"})
    assert "secret internal detail" not in response.text
    assert "secret internal detail" in auth_server.logs()


async def test_a_handler_returning_false_is_403(users: dict[str, LangGraphClient]) -> None:
    with pytest.raises(httpx.HTTPStatusError) as denied:
        await users["carol"].threads.create()
    assert denied.value.response.status_code == 403
    assert denied.value.response.json() == {"detail": "Forbidden"}


async def test_the_graph_sees_the_user_and_cannot_be_lied_to(
    users: dict[str, LangGraphClient],
) -> None:
    alice = users["alice"]
    thread = await alice.threads.create()
    spoof = {"langgraph_auth_user_id": "mallory", "langgraph_auth_permissions": ["admin"]}
    output = await alice.runs.wait(
        thread["thread_id"], "whoami", input={"question": "who?"}, config={"configurable": spoof}
    )
    assert output["seen"] == {
        "user_id": "alice",
        "permissions": ["read", "write"],
        "identity": "alice",
        "tenant": "acme",
        "tenant_attr": "acme",
        "runtime_identity": "alice",
        "tier": "acme-tier",  # set by the create_run handler in value["kwargs"]
    }
    run = (await alice.runs.list(thread["thread_id"]))[0]
    assert run["metadata"]["owner"] == "alice"  # the create_run handler stamped it


async def test_a_factory_gets_the_user_in_its_server_runtime(
    users: dict[str, LangGraphClient],
) -> None:
    output = await users["bob"].runs.wait(None, "whoami_factory", input={"question": "?"})
    assert output["seen"]["identity"] == "bob"
    assert output["seen"]["runtime_identity"] == "bob"


async def test_studio_requests_become_the_studio_user(raw: httpx.AsyncClient) -> None:
    studio = {"x-auth-scheme": "langsmith"}
    created = await raw.post("/threads", json={}, headers=studio)
    assert created.status_code == 200, created.text
    thread_id = created.json()["thread_id"]
    waited = await raw.post(
        f"/threads/{thread_id}/runs/wait",
        json={"assistant_id": "whoami", "input": {"question": "?"}},
        headers=studio,
    )
    assert waited.status_code == 200, waited.text
    seen = waited.json()["seen"]
    assert seen["user_id"] == "langgraph-studio-user"
    assert seen["permissions"] == []
    assert seen["runtime_identity"] == "langgraph-studio-user"
    # any other scheme value is just a request without a token
    other = await raw.post("/threads", json={}, headers={"x-auth-scheme": "LangSmith"})
    assert other.status_code == 401
