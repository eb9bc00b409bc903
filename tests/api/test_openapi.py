"""The OpenAPI document declares what the server answers: the statuses of each operation,
ErrorResponse for every error, the real success shapes (the fuzz checks answers against it:
tests/fuzz)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.server import ServerProcess

Document = dict[str, Any]
ERROR_REF = "#/components/schemas/ErrorResponse"
METHODS = ("get", "put", "post", "delete", "patch")

# Representative operations and every status each declares.
STATUSES = {
    ("get", "/ok"): {"200", "422", "503"},
    ("get", "/info"): {"200"},
    ("get", "/metrics"): {"200", "422"},
    ("post", "/assistants"): {"200", "404", "409", "413", "422"},
    ("post", "/assistants/search"): {"200", "413", "422"},
    ("get", "/threads/{thread_id}"): {"200", "404", "422"},
    ("delete", "/threads/{thread_id}"): {"204", "404", "422"},
    ("get", "/threads/{thread_id}/state"): {"200", "404", "409", "422"},
    ("post", "/threads/{thread_id}/state"): {"200", "404", "409", "413", "422"},
    ("post", "/threads/{thread_id}/runs"): {"200", "404", "409", "413", "422"},
    ("post", "/threads/{thread_id}/runs/wait"): {"200", "404", "409", "413", "422", "503"},
    ("post", "/runs/wait"): {"200", "404", "413", "422", "503"},
    ("get", "/threads/{thread_id}/runs/{run_id}/join"): {"200", "422", "503"},
    ("delete", "/threads/{thread_id}/runs/{run_id}"): {"204", "404", "409", "422"},
    ("post", "/threads/{thread_id}/runs/{run_id}/cancel"): {"200", "202", "404", "422", "503"},
    ("post", "/runs/cancel"): {"204", "404", "413", "422"},
    ("post", "/threads/{thread_id}/runs/stream"): {"200", "404", "409", "413", "422"},
    ("get", "/threads/{thread_id}/runs/{run_id}/stream"): {"200", "422"},
    ("get", "/threads/{thread_id}/stream"): {"200", "404", "422"},
    ("put", "/store/items"): {"204", "400", "413", "422"},
    ("get", "/store/items"): {"200", "422"},
    ("post", "/runs/crons"): {"200", "404", "413", "422"},
    ("delete", "/runs/crons/{cron_id}"): {"204", "404", "422"},
}
STREAMS = [
    ("post", "/threads/{thread_id}/runs/stream"),
    ("post", "/runs/stream"),
    ("get", "/threads/{thread_id}/runs/{run_id}/stream"),
    ("get", "/runs/{run_id}/stream"),
    ("get", "/threads/{thread_id}/stream"),
]
# List operations that honour ``select``: their items require no field.
SELECTABLE = {
    ("post", "/assistants/search"): "AssistantSelection",
    ("post", "/threads/search"): "ThreadSelection",
    ("get", "/threads/{thread_id}/runs"): "RunSelection",
    ("post", "/runs/crons/search"): "CronSelection",
}
SINGLE = {
    ("get", "/assistants/{assistant_id}"): "Assistant",
    ("get", "/threads/{thread_id}"): "Thread",
    ("get", "/threads/{thread_id}/runs/{run_id}"): "Run",
    ("get", "/runs/crons/{cron_id}"): "Cron",
}


def operations(document: Document) -> list[tuple[str, str, Document]]:
    return [
        (method, path, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if method in METHODS
    ]


@pytest.fixture
async def document(http: httpx.AsyncClient) -> Document:
    response = await http.get("/openapi.json")
    assert response.status_code == 200
    found: Document = response.json()
    return found


def test_operations_declare_the_statuses_they_answer(document: Document) -> None:
    for (method, path), statuses in STATUSES.items():
        declared = set(document["paths"][path][method]["responses"])
        assert declared == statuses, (method, path)


def test_every_error_is_an_error_response(document: Document) -> None:
    schemas = document["components"]["schemas"]
    assert "HTTPValidationError" not in schemas  # FastAPI's own 422 is replaced everywhere
    assert "ValidationError" not in schemas
    error = schemas["ErrorResponse"]
    assert error["properties"]["detail"]["type"] == "string"  # always a message
    issues = error["properties"]["errors"]["items"]
    assert issues == {"$ref": "#/components/schemas/ValidationIssue"}
    assert error["required"] == ["detail"]
    assert schemas["ValidationIssue"]["required"] == ["loc", "msg", "type"]
    errors = 0
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            if path.endswith("/commands") and status == "400":
                continue  # thread event streaming's own error envelope (id null)
            if int(status) >= 400:
                errors += 1
                assert response["content"] == {
                    "application/json": {"schema": {"$ref": ERROR_REF}}
                }, (method, path, status)
    assert errors > 100


def test_bodies_may_be_too_large_and_invalid(document: Document) -> None:
    """JSON-RPC endpoints answer an invalid body with a JSON-RPC error: A2A's with status
    200, MCP's with 400 (as MCP's reference servers do)."""
    with_body = [(m, p, op) for m, p, op in operations(document) if "requestBody" in op]
    assert len(with_body) > 25
    for method, path, operation in with_body:
        invalid = "400" if path == "/mcp" else "422"
        assert {"413", invalid} <= set(operation["responses"]), (method, path)


def test_every_json_answer_has_a_shape(document: Document) -> None:
    for method, path, operation in operations(document):
        for status, response in operation["responses"].items():
            json_content = response.get("content", {}).get("application/json")
            if json_content is not None:
                assert json_content["schema"] not in ({}, None), (method, path, status)
    cancel = document["paths"]["/threads/{thread_id}/runs/{run_id}/cancel"]["post"]
    for status in ("200", "202"):
        schema = cancel["responses"][status]["content"]["application/json"]["schema"]
        assert schema == {"$ref": "#/components/schemas/Empty"}
    assert document["components"]["schemas"]["Empty"]["additionalProperties"] is False
    wait = document["paths"]["/threads/{thread_id}/runs/wait"]["post"]["responses"]["200"]
    assert {"$ref": "#/components/schemas/RunFailed"} in wait["content"]["application/json"][
        "schema"
    ]["anyOf"]


def test_select_lists_require_no_field(document: Document) -> None:
    schemas = document["components"]["schemas"]
    for (method, path), name in SELECTABLE.items():
        ok = document["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        assert ok["schema"]["items"] == {"$ref": f"#/components/schemas/{name}"}, path
        assert "required" not in schemas[name], name
        assert schemas[name]["properties"].keys() >= {"created_at", "metadata"}, name
        assert ok["schema"]["type"] == "array"
        if path.endswith("/search"):
            headers = document["paths"][path][method]["responses"]["200"]["headers"]
            assert headers["X-Pagination-Total"]["required"] is True, path
            assert headers["X-Pagination-Next"]["required"] is False, path
    for (method, path), name in SINGLE.items():
        ok = document["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        assert ok["schema"] == {"$ref": f"#/components/schemas/{name}"}, path
        assert "created_at" in schemas[name]["required"], name


def test_streams_declare_server_sent_events(document: Document) -> None:
    event = {"$ref": "#/components/schemas/StreamEvent"}
    for method, path in STREAMS:
        ok = document["paths"][path][method]["responses"]["200"]
        assert list(ok["content"]) == ["text/event-stream"], path
        assert ok["content"]["text/event-stream"]["itemSchema"] == event, path
    assert document["components"]["schemas"]["StreamEvent"]["required"] == ["event", "data"]


def test_auth_statuses_only_with_custom_auth(document: Document) -> None:
    """MCP's 403 is its Origin check (DNS rebinding), which MCP asks of every server."""
    for method, path, operation in operations(document):
        statuses = {"401"} if path == "/mcp" else {"401", "403"}
        assert not statuses & set(operation["responses"]), (method, path)


async def test_custom_auth_adds_401_and_403(auth_server: ServerProcess) -> None:
    async with httpx.AsyncClient(base_url=auth_server.url) as http:
        secured: Document = (await http.get("/openapi.json")).json()
    for method, path, operation in operations(secured):
        declared = set(operation["responses"])
        if path in ("/ok", "/info", "/metrics"):
            assert not {"401", "403"} & declared, path
            continue
        assert {"401", "403"} <= declared, (method, path)
        for status in ("401", "403"):
            content = operation["responses"][status]["content"]
            assert content == {"application/json": {"schema": {"$ref": ERROR_REF}}}
