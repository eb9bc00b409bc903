"""Answers the fuzz rarely or never provokes (a busy thread, a cancel that waits, a failed
run, subgraph state, a ttl), checked against the OpenAPI document with the fuzz's checks:
the declared status, content type and body schema."""

from __future__ import annotations

import uuid

import httpx
import pytest
import schemathesis
from langgraph_sdk.client import LangGraphClient
from schemathesis.specs.openapi.schemas import OpenApiSchema

from tests.api.run_helpers import wait_for_log, wait_for_status
from tests.fuzz.harness import CHECKS


@pytest.fixture(scope="module")
def document(base_url: str) -> OpenApiSchema:
    return schemathesis.openapi.from_url(f"{base_url}/openapi.json")


def conforms(document: OpenApiSchema, path: str, response: httpx.Response) -> None:
    """``response`` (to a request on the operation at ``path``) is what the document says."""
    operation = document[path][response.request.method]
    operation.Case().validate_response(response, checks=CHECKS)


async def test_a_busy_thread_refuses_state_updates_and_deletes(
    document: OpenApiSchema, client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    run = await client.runs.create(thread_id, "slow", input={"delay": 0.5})
    await wait_for_status(client, thread_id, run["run_id"], "running")

    update = await http.post(f"/threads/{thread_id}/state", json={"values": {"log": ["x"]}})
    assert update.status_code == 409
    conforms(document, "/threads/{thread_id}/state", update)
    delete = await http.delete(f"/threads/{thread_id}/runs/{run['run_id']}")
    assert delete.status_code == 409
    conforms(document, "/threads/{thread_id}/runs/{run_id}", delete)

    waited = await http.post(
        f"/threads/{thread_id}/runs/{run['run_id']}/cancel", params={"wait": "true"}
    )
    assert (waited.status_code, waited.json()) == (200, {})
    conforms(document, "/threads/{thread_id}/runs/{run_id}/cancel", waited)
    again = await http.post(f"/threads/{thread_id}/runs/{run['run_id']}/cancel")
    assert again.status_code == 404
    conforms(document, "/threads/{thread_id}/runs/{run_id}/cancel", again)


async def test_cancels_without_wait_are_accepted(
    document: OpenApiSchema, client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    first = await client.runs.create(thread_id, "slow", input={"delay": 0.5})
    second = await client.runs.create(thread_id, "slow", input={"delay": 0.5})
    await wait_for_status(client, thread_id, first["run_id"], "running")

    one = await http.post(f"/threads/{thread_id}/runs/{first['run_id']}/cancel")
    assert (one.status_code, one.json()) == (202, {})
    conforms(document, "/threads/{thread_id}/runs/{run_id}/cancel", one)
    many = await http.post(
        "/runs/cancel", json={"thread_id": thread_id, "run_ids": [second["run_id"]]}
    )
    assert (many.status_code, many.content) == (204, b"")
    conforms(document, "/runs/cancel", many)
    await wait_for_status(client, thread_id, first["run_id"], "interrupted")


async def test_failed_and_unknown_runs_answer_an_error_body(
    document: OpenApiSchema, client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    failed = await http.post(
        f"/threads/{thread_id}/runs/wait", json={"assistant_id": "slow", "input": {"fail": True}}
    )
    assert failed.status_code == 200
    assert failed.json() == {"__error__": {"error": "ValueError", "message": "boom"}}
    conforms(document, "/threads/{thread_id}/runs/wait", failed)

    unknown = await http.get(f"/threads/{thread_id}/runs/{uuid.uuid4()}/join")
    assert unknown.status_code == 200
    assert unknown.json()["__error__"]["error"] == "NotFound"
    conforms(document, "/threads/{thread_id}/runs/{run_id}/join", unknown)

    stream = await http.get(f"/threads/{thread_id}/runs/{uuid.uuid4()}/stream")
    assert stream.status_code == 200
    assert stream.text.startswith("event: error\r\n")
    conforms(document, "/threads/{thread_id}/runs/{run_id}/stream", stream)

    errored = await http.get(f"/threads/{thread_id}")
    assert errored.json()["error"] == {"error": "ValueError", "message": "boom"}
    conforms(document, "/threads/{thread_id}", errored)


async def test_subgraph_state_and_interrupts(
    document: OpenApiSchema, client: LangGraphClient, http: httpx.AsyncClient
) -> None:
    thread_id = (await client.threads.create())["thread_id"]
    await client.runs.wait(thread_id, "interrupting", input={"log": []})

    state = await http.get(f"/threads/{thread_id}/state", params={"subgraphs": "true"})
    nested = state.json()["tasks"][0]["state"]
    assert nested["interrupts"][0]["value"] == {"question": "proceed?"}
    conforms(document, "/threads/{thread_id}/state", state)
    flat = await http.get(f"/threads/{thread_id}/state")
    assert flat.json()["tasks"][0]["checkpoint"]["checkpoint_ns"].startswith("child:")
    conforms(document, "/threads/{thread_id}/state", flat)
    thread = await http.get(f"/threads/{thread_id}")
    assert thread.json()["status"] == "interrupted"
    conforms(document, "/threads/{thread_id}", thread)
    await wait_for_log(client, thread_id, "prepared")


async def test_ttl_store_and_validation_errors(
    document: OpenApiSchema, http: httpx.AsyncClient
) -> None:
    thread_id = (await http.post("/threads", json={"ttl": 60})).json()["thread_id"]
    with_ttl = await http.get(f"/threads/{thread_id}", params={"include": "ttl"})
    assert with_ttl.json()["ttl"]["strategy"] == "delete"
    conforms(document, "/threads/{thread_id}", with_ttl)

    empty = await http.put("/store/items", json={"namespace": [], "key": "k", "value": {}})
    assert empty.status_code == 400
    conforms(document, "/store/items", empty)

    listed = await http.post("/threads/search", json={"limit": 0})
    assert listed.status_code == 422
    assert listed.json()["detail"] == "body.limit: Input should be greater than or equal to 1"
    assert listed.json()["errors"][0]["loc"] == ["body", "limit"]
    conforms(document, "/threads/search", listed)
    refused = await http.get(f"/threads/{thread_id}", params={"include": "nope"})
    assert refused.status_code == 422
    assert isinstance(refused.json()["detail"], str)
    conforms(document, "/threads/{thread_id}", refused)


async def test_the_checks_refuse_what_the_document_does_not_say(
    document: OpenApiSchema, http: httpx.AsyncClient
) -> None:
    """Real answers of other operations, held against ``GET /ok``: the checks must bite."""
    conforms(document, "/ok", await http.get("/ok"))
    not_found = await http.get(f"/threads/{uuid.uuid4()}")
    with pytest.raises((AssertionError, BaseExceptionGroup)):
        conforms(document, "/ok", not_found)  # a status /ok does not declare
    with pytest.raises((AssertionError, BaseExceptionGroup)):
        conforms(document, "/ok", await http.get("/info"))  # a body that is not Ok
