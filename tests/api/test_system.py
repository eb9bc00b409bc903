"""Health, info, OpenAPI, CORS and error shapes."""

from __future__ import annotations

import httpx


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


async def test_cors_preflight(http: httpx.AsyncClient) -> None:
    response = await http.options(
        "/assistants/search",
        headers={
            "Origin": "https://studio.example",
            "Access-Control-Request-Method": "POST",
            "Access-Control-Request-Headers": "content-type,x-api-key",
            "Access-Control-Request-Private-Network": "true",
        },
    )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] in ("*", "https://studio.example")
    assert "POST" in response.headers["access-control-allow-methods"]
    assert response.headers["access-control-allow-private-network"] == "true"


async def test_cors_exposes_pagination_headers(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/assistants/search", json={}, headers={"Origin": "https://studio.example"}
    )
    exposed = response.headers["access-control-expose-headers"].lower()
    for header in ("location", "content-location", "x-pagination-total", "x-pagination-next"):
        assert header in exposed
