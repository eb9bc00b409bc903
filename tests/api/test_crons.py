"""Crons through the official SDK, and one firing on its minute."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from uuid import uuid4

import httpx
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import NotFoundError

from tests.webhook_receiver import webhook_receiver


async def test_create_get_update_delete(client: LangGraphClient, http: httpx.AsyncClient) -> None:
    cron = await client.crons.create(
        "slow",
        schedule="0 9 * * *",
        input={"delay": 0},
        metadata={"owner": "me"},
        timezone="Europe/Paris",
    )
    assert cron["schedule"] == "0 9 * * *"
    assert cron["timezone"] == "Europe/Paris"
    assert cron["thread_id"] is None
    assert cron["enabled"] is True
    assert cron["on_run_completed"] == "delete"
    assert cron["payload"]["input"] == {"delay": 0}
    next_run = datetime.fromisoformat(cron["next_run_date"])
    assert next_run.astimezone(datetime.now().astimezone().tzinfo) > datetime.now().astimezone()
    assert next_run.astimezone(UTC).minute == 0

    fetched = (await http.get(f"/runs/crons/{cron['cron_id']}")).json()
    assert fetched["cron_id"] == cron["cron_id"]

    updated = await client.crons.update(cron["cron_id"], schedule="30 10 * * *", enabled=False)
    assert updated["schedule"] == "30 10 * * *"
    assert updated["enabled"] is False
    assert datetime.fromisoformat(updated["next_run_date"]).minute == 30

    await client.crons.delete(cron["cron_id"])
    with pytest.raises(NotFoundError):
        await client.crons.delete(cron["cron_id"])


async def test_thread_cron_and_search(client: LangGraphClient, tag: str) -> None:
    thread = await client.threads.create()
    on_thread = await client.crons.create_for_thread(
        thread["thread_id"], "slow", schedule="*/5 * * * *", input={}, metadata={"tag": tag}
    )
    assert on_thread["thread_id"] == thread["thread_id"]
    await client.crons.create("chat", schedule="0 0 * * *", metadata={"tag": tag})
    found = await client.crons.search(metadata={"tag": tag})
    assert len(found) == 2
    by_graph = await client.crons.search(assistant_id="slow", metadata={"tag": tag})
    assert [c["cron_id"] for c in by_graph] == [on_thread["cron_id"]]
    by_thread = await client.crons.search(thread_id=thread["thread_id"])
    assert [c["cron_id"] for c in by_thread] == [on_thread["cron_id"]]
    assert await client.crons.count(metadata={"tag": tag}) == 2
    selected = await client.crons.search(metadata={"tag": tag}, select=["cron_id", "schedule"])
    assert all(set(c) == {"cron_id", "schedule"} for c in selected)
    soonest = await client.crons.search(
        metadata={"tag": tag}, sort_by="next_run_date", sort_order="asc"
    )
    assert soonest[0]["cron_id"] == on_thread["cron_id"]


async def test_bad_crons(http: httpx.AsyncClient, client: LangGraphClient) -> None:
    bad = await http.post("/runs/crons", json={"assistant_id": "slow", "schedule": "whenever"})
    assert bad.status_code == 422
    zone = await http.post(
        "/runs/crons", json={"assistant_id": "slow", "schedule": "* * * * *", "timezone": "Mars/X"}
    )
    assert zone.status_code == 422
    unknown_thread = await http.post(
        f"/threads/{uuid4()}/runs/crons", json={"assistant_id": "slow", "schedule": "* * * * *"}
    )
    assert unknown_thread.status_code == 404
    unknown_graph = await http.post(
        "/runs/crons", json={"assistant_id": "nope", "schedule": "* * * * *"}
    )
    assert unknown_graph.status_code == 422


async def test_end_time_in_the_past_never_fires(client: LangGraphClient) -> None:
    cron = await client.crons.create(
        "slow", schedule="* * * * *", end_time=datetime.now(UTC) - timedelta(minutes=1)
    )
    assert cron["next_run_date"] is None


async def test_cron_fires_on_its_minute_with_its_payload(client: LangGraphClient) -> None:
    thread = await client.threads.create()
    with webhook_receiver() as receiver:
        cron = await client.crons.create_for_thread(
            thread["thread_id"],
            "slow",
            schedule="* * * * *",
            input={"delay": 0},
            metadata={"from": "cron"},
        )
        # a stateless cron firing the same minute: a new thread per run, kept
        stateless = await client.crons.create(
            "slow",
            schedule="* * * * *",
            input={},
            webhook=receiver.url,
            on_run_completed="keep",
        )
        due = datetime.fromisoformat(cron["next_run_date"])
        deadline = time.monotonic() + 75
        runs: list[dict[str, object]] = []
        while time.monotonic() < deadline and not runs:
            runs = await client.runs.list(thread["thread_id"])
            await asyncio.sleep(0.5)
        assert runs, "the cron did not fire within its minute"
        (run,) = runs
        assert run["metadata"] == {"from": "cron", "cron_id": cron["cron_id"]}
        assert run["kwargs"]["input"] == {"delay": 0}
        created = datetime.fromisoformat(str(run["created_at"]))
        assert due <= created < due + timedelta(seconds=5)
        joined = await client.runs.join(thread["thread_id"], str(run["run_id"]))
        assert joined["log"][-1] == "after"
        after = (await client.crons.search(thread_id=thread["thread_id"]))[0]
        assert datetime.fromisoformat(after["next_run_date"]) == due + timedelta(minutes=1)

        assert await asyncio.to_thread(receiver.arrived.wait, 15)
        payload = receiver.received[0]
    assert payload["metadata"]["cron_id"] == stateless["cron_id"]
    assert payload["status"] == "success"
    kept = await client.threads.get(payload["thread_id"])  # on_run_completed="keep"
    assert kept["values"]["log"][-1] == "after"
    for made in (cron, stateless):
        await client.crons.delete(made["cron_id"])
    # /metrics counts the firings and the webhook delivered
    text = (await client.http.client.get("/metrics")).text
    counted = {
        line.split(" ")[0]: float(line.split(" ")[-1])
        for line in text.splitlines()
        if not line.startswith("#")
    }
    assert counted['graphport_cron_firings_total{outcome="started"}'] >= 2
    assert counted['graphport_webhook_deliveries_total{outcome="delivered"}'] >= 1
    data = (await client.http.client.get("/metrics", params={"format": "json"})).json()
    assert data["cron_firings"]["started"] >= 2
    assert data["webhook_deliveries"]["delivered"] >= 1
