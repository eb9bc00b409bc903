"""Webhooks reach a real local HTTP server when a run ends, with retries."""

from __future__ import annotations

import asyncio

import httpx
from langgraph_sdk.client import LangGraphClient

from tests.webhook_receiver import webhook_receiver


async def test_webhook_receives_the_finished_run(client: LangGraphClient) -> None:
    with webhook_receiver() as receiver:
        receiver.failures_left = 1  # the first attempt fails: the sender retries
        thread = await client.threads.create()
        run = await client.runs.create(
            thread["thread_id"], "slow", input={}, webhook=receiver.url, metadata={"k": "v"}
        )
        await client.runs.join(thread["thread_id"], run["run_id"])
        arrived = await asyncio.to_thread(receiver.arrived.wait, 10)
        assert arrived
        (payload,) = receiver.received
    assert payload["run_id"] == run["run_id"]
    assert payload["thread_id"] == thread["thread_id"]
    assert payload["status"] == "success"
    assert payload["metadata"] == {"k": "v"}
    assert payload["values"]["log"][-1] == "after"
    assert payload["kwargs"]["webhook"] == receiver.url


async def test_failed_run_webhook_carries_the_error(client: LangGraphClient) -> None:
    with webhook_receiver() as receiver:
        await client.runs.wait(
            None, "slow", input={"fail": True}, webhook=receiver.url, raise_error=False
        )
        assert await asyncio.to_thread(receiver.arrived.wait, 10)
        (payload,) = receiver.received
    assert payload["status"] == "error"
    assert payload["error"] == {"error": "ValueError", "message": "boom"}


async def test_bad_webhook_url_is_422(http: httpx.AsyncClient) -> None:
    response = await http.post(
        "/runs", json={"assistant_id": "slow", "input": {}, "webhook": "ftp://example/x"}
    )
    assert response.status_code == 422
    assert "webhook" in response.json()["detail"]


async def test_metrics_count_deliveries_by_outcome(client: LangGraphClient) -> None:
    """A 4xx answer is rejected (not retried), not delivered."""

    async def counted() -> dict[str, int]:
        data = (await client.http.client.get("/metrics", params={"format": "json"})).json()
        return dict(data["webhook_deliveries"])

    before = await counted()
    with webhook_receiver() as receiver:
        receiver.answer = 404
        thread = await client.threads.create()
        run = await client.runs.create(thread["thread_id"], "slow", input={}, webhook=receiver.url)
        await client.runs.join(thread["thread_id"], run["run_id"])
        assert await asyncio.to_thread(receiver.arrived.wait, 10)
        for _ in range(50):
            after = await counted()
            if after.get("rejected", 0) > before.get("rejected", 0):
                break
            await asyncio.sleep(0.1)
    assert after.get("rejected", 0) == before.get("rejected", 0) + 1
    assert after.get("delivered", 0) == before.get("delivered", 0)
