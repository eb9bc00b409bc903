"""Error bodies: ``detail`` is always a message (the official clients and UIs show it as
text); a request that fails validation also lists its problems in ``errors``."""

from __future__ import annotations

import uuid

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError, UnprocessableEntityError


async def test_a_validation_error_says_which_field_and_why(http: httpx.AsyncClient) -> None:
    response = await http.post("/threads/search", json={"limit": 5000})
    assert response.status_code == 422
    assert response.json() == {
        "detail": "body.limit: Input should be less than or equal to 1000",
        "errors": [
            {
                "loc": ["body", "limit"],
                "msg": "Input should be less than or equal to 1000",
                "type": "less_than_equal",
            }
        ],
    }


async def test_several_problems_are_joined(http: httpx.AsyncClient) -> None:
    response = await http.post("/assistants/search", json={"limit": 0, "offset": -1})
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "body.limit: Input should be greater than or equal to 1; "
        "body.offset: Input should be greater than or equal to 0"
    )
    assert [e["loc"] for e in response.json()["errors"]] == [
        ["body", "limit"],
        ["body", "offset"],
    ]


async def test_nested_places_and_list_positions(http: httpx.AsyncClient) -> None:
    body = {"supersteps": [{"updates": [{"values": {}}]}]}
    response = await http.post("/threads", json=body)
    assert response.status_code == 422
    assert response.json()["detail"] == "body.supersteps[0].updates[0].as_node: Field required"


async def test_a_value_of_no_accepted_type_is_one_problem(http: httpx.AsyncClient) -> None:
    """Not the union members pydantic tried (``literal['*']``, ``list[str]``): the field."""
    body = {"assistant_id": "slow", "interrupt_before": 5}
    response = await http.post("/runs", json=body)
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "body.interrupt_before: Input should be '*', or input should be a valid list"
    )
    assert len(response.json()["errors"]) == 2


async def test_value_errors_read_plainly(http: httpx.AsyncClient) -> None:
    body = {"assistant_id": "slow", "langsmith_tracer": {"project_name": "x"}}
    response = await http.post("/runs", json=body)
    assert response.status_code == 422
    assert response.json()["detail"] == (
        "body.langsmith_tracer: LangSmith tracing is not available on this server"
    )
    assert response.json()["errors"][0]["msg"].startswith("Value error, ")


async def test_many_problems_are_counted_past_five(http: httpx.AsyncClient) -> None:
    response = await http.post("/threads/search", json={"ids": ["x"] * 8})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert detail.count("body.ids[") == 5
    assert detail.endswith("; and 3 more problems")
    assert len(response.json()["errors"]) == 8


async def test_query_and_path_parameters(http: httpx.AsyncClient) -> None:
    response = await http.get("/ok", params={"check_db": "maybe"})
    assert response.status_code == 422
    assert response.json()["detail"].startswith("query.check_db: Input should be a valid integer")
    response = await http.get("/threads/not-a-uuid/runs")
    assert response.status_code == 422
    assert response.json()["detail"].startswith("path.thread_id: ")


async def test_invalid_json_says_where(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/threads", content=b'{"metadata": NaN}', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 422
    payload = response.json()
    assert payload["detail"] == (
        "Invalid JSON: NaN and Infinity are not JSON numbers (at character 13 of the body)"
    )
    assert payload["errors"][0]["loc"] == ["body", 13]
    assert payload["errors"][0]["type"] == "json_invalid"


async def test_other_errors_carry_only_a_message(http: httpx.AsyncClient) -> None:
    missing = await http.get(f"/threads/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert list(missing.json()) == ["detail"]
    assert isinstance(missing.json()["detail"], str)
    no_route = await http.get("/no/such/route")
    assert no_route.json() == {"detail": "Not Found"}
    wrong_method = await http.put("/ok")
    assert wrong_method.status_code == 405
    assert wrong_method.json() == {"detail": "Method Not Allowed"}


async def test_the_sdk_shows_the_message(client: LangGraphClient) -> None:
    """``langgraph_sdk`` raises an ``httpx.HTTPStatusError`` whose message is ``detail``
    (a list would leave it only "422 Unprocessable Entity")."""
    with pytest.raises(UnprocessableEntityError) as refused:
        await client.threads.search(limit=5000)
    assert isinstance(refused.value, httpx.HTTPStatusError)
    assert refused.value.message == "body.limit: Input should be less than or equal to 1000"
    assert isinstance(refused.value.body, dict)
    assert refused.value.body["detail"] == refused.value.message
    with pytest.raises(NotFoundError) as missing:
        await client.threads.get(str(uuid.uuid4()))
    assert "not found" in missing.value.message


@pytest.mark.parametrize(
    ("method", "path", "params", "body"),
    [
        ("GET", "/threads/{thread_id}/stream", {"stream_mode": "z" * 20_000}, None),
        ("GET", "/threads/{thread_id}/runs/{run_id}/stream", {"stream_mode": "z" * 20_000}, None),
        ("POST", "/runs/wait", None, {"assistant_id": "z" * 1_000_000, "input": {}}),
        ("POST", "/assistants", None, {"graph_id": "z" * 1_000_000}),
        ("POST", "/runs/crons", None, {"assistant_id": "chat", "schedule": "z" * 1_000_000}),
    ],
)
async def test_error_details_do_not_echo_huge_values(
    http: httpx.AsyncClient, method: str, path: str, params: dict[str, str] | None, body: object
) -> None:
    # a message quotes the refused value: a megabyte of it is not sent back

    thread_id = str((await http.post("/threads", json={})).json()["thread_id"])
    url = path.format(thread_id=thread_id, run_id=uuid.uuid4())
    response = await http.request(method, url, params=params, json=body)
    assert 400 <= response.status_code < 500, response.text[:200]
    answer = response.json()
    assert len(answer["detail"]) < 2_100 and "more characters" in answer["detail"]
    assert len(response.content) < 10_000
