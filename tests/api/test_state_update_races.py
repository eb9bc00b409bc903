"""State updates racing each other and runs on one thread: each answers 200 or 409, every
update answered 200 is in the latest state, history never forks, and the thread row ends
with the head checkpoint's values."""

from __future__ import annotations

import asyncio
import time
from typing import Any
from uuid import UUID, uuid4

import httpx
import psycopg
import pytest
from langgraph_sdk.client import LangGraphClient
from langgraph_sdk.errors import ConflictError, NotFoundError, UnprocessableEntityError

QUICK_RUN = {"delay": 0}


async def _update(client: LangGraphClient, thread_id: str, entry: str, *, after: float = 0) -> int:
    """Append ``entry`` to the ``log`` (an ``operator.add`` list) ``after`` seconds: 200, or
    409 when refused."""
    await asyncio.sleep(after)
    try:
        await client.threads.update_state(thread_id, {"log": [entry]}, as_node="after")
    except ConflictError:
        return 409
    return 200


async def _new_thread(client: LangGraphClient) -> str:
    thread = await client.threads.create(graph_id="slow")
    await client.threads.update_state(thread["thread_id"], {"log": ["seed"]}, as_node="after")
    return str(thread["thread_id"])


async def _assert_consistent(client: LangGraphClient, thread_id: str) -> list[str]:
    """History is one line (each checkpoint's parent is the one before it) and the thread
    row's values are the head checkpoint's. Returns the latest ``log``."""
    state: dict[str, Any] = dict(await client.threads.get_state(thread_id))
    history: list[Any] = await client.threads.get_history(thread_id, limit=1000)
    assert history[0]["checkpoint_id"] == state["checkpoint_id"]
    parents = [s["parent_checkpoint_id"] for s in history]
    assert parents == [s["checkpoint_id"] for s in history[1:]] + [None], "history forked"
    thread = await client.threads.get(thread_id)
    assert thread["values"] == state["values"]
    assert thread["status"] == "idle"
    log: list[str] = state["values"]["log"]
    return log


async def test_concurrent_updates_never_fork_nor_lose_one(client: LangGraphClient) -> None:
    for _ in range(3):
        thread_id = await _new_thread(client)
        entries = [f"u{i}" for i in range(16)]
        codes = await asyncio.gather(*(_update(client, thread_id, e) for e in entries))
        assert set(codes) <= {200, 409}
        accepted = {e for e, code in zip(entries, codes, strict=True) if code == 200}
        assert accepted, "no update got through"
        log = await _assert_consistent(client, thread_id)
        assert log[0] == "seed"
        assert sorted(log[1:]) == sorted(accepted)  # each accepted once, refused ones absent


async def _run_to_end(
    client: LangGraphClient, thread_id: str, *, after: float = 0, **create: Any
) -> dict[str, Any]:
    """Create a quick run ``after`` seconds and wait for its end: the run as it ended."""
    await asyncio.sleep(after)
    run = await client.runs.create(
        thread_id, "slow", input=QUICK_RUN, multitask_strategy="enqueue", **create
    )
    await client.runs.join(thread_id, run["run_id"])
    return dict(await client.runs.get(thread_id, run["run_id"]))


async def test_updates_racing_run_creation(client: LangGraphClient) -> None:
    thread_id = await _new_thread(client)
    accepted: list[str] = []
    runs: list[dict[str, Any]] = []
    for i in range(12):
        # the run starts before, between or after the updates
        entries = [f"r{i}a", f"r{i}b", f"r{i}c"]
        run, *codes = await asyncio.gather(
            _run_to_end(client, thread_id, after=0.01 * (i % 4)),
            *(_update(client, thread_id, e, after=0.01 * n) for n, e in enumerate(entries)),
        )
        assert set(codes) <= {200, 409}
        accepted += [e for e, code in zip(entries, codes, strict=True) if code == 200]
        runs.append(run)
    assert [r["status"] for r in runs] == ["success"] * len(runs)
    assert accepted, "no update got through"
    log = await _assert_consistent(client, thread_id)
    updates = [e for e in log if e.startswith("r")]
    assert sorted(updates) == sorted(accepted)
    assert [e for e in log if e.startswith("step:")] == [f"step:{r['run_id']}" for r in runs]


async def _create_seeded(client: LangGraphClient, thread_id: str, *, after: float) -> int:
    """Create the thread seeded with a ``seed`` log entry: 200, or 409 when it exists."""
    await asyncio.sleep(after)
    superstep: dict[str, Any] = {"updates": [{"values": {"log": ["seed"]}, "as_node": "after"}]}
    try:
        await client.threads.create(thread_id=thread_id, graph_id="slow", supersteps=[superstep])
    except ConflictError:
        return 409
    return 200


async def test_seeding_a_new_thread_races_nothing(client: LangGraphClient) -> None:
    """A run (creating the thread if need be) and an update racing a create with supersteps
    come wholly before the thread exists (the create answers 409) or wholly after."""
    created = 0
    for i in range(12):
        thread_id = str(uuid4())

        code, run = await asyncio.gather(
            _create_seeded(client, thread_id, after=0.005 * (i % 3)),
            _run_to_end(client, thread_id, after=0.005 * (i % 4), if_not_exists="create"),
        )
        assert code in (200, 409)
        assert run["status"] == "success"
        log = await _assert_consistent(client, thread_id)
        assert (log.count("seed"), f"step:{run['run_id']}" in log) == (code == 200, True)
        created += code == 200
    assert created, "no create got through"


async def test_refused_supersteps_leave_no_checkpoints(client: LangGraphClient) -> None:
    """A superstep the graph refuses after earlier ones were written leaves nothing behind:
    a thread created later with that id starts empty."""
    thread_id = str(uuid4())
    good: dict[str, Any] = {
        "updates": [{"values": {"messages": [{"type": "human", "content": "hi"}]}}]
    }
    good["updates"][0]["as_node"] = "__start__"
    bad: dict[str, Any] = {
        "updates": [{"values": {"messages": [{"type": "nonsense"}]}, "as_node": "respond"}]
    }
    with pytest.raises(UnprocessableEntityError):
        await client.threads.create(thread_id=thread_id, graph_id="chat", supersteps=[good, bad])
    with pytest.raises(NotFoundError):
        await client.threads.get(thread_id)
    await client.threads.create(thread_id=thread_id, graph_id="chat")
    assert await client.threads.get_history(thread_id) == []
    assert (await client.threads.get_state(thread_id))["values"] == {}


async def test_update_waits_for_a_queued_run(client: LangGraphClient) -> None:
    """A pending run (a worker may claim it at any moment) refuses updates as a running one
    does: 409 until it ends, then updates apply."""
    thread_id = await _new_thread(client)
    run = await client.runs.create(thread_id, "slow", input=QUICK_RUN, after_seconds=60)
    assert run["status"] == "pending"
    assert await _update(client, thread_id, "while queued") == 409
    await client.runs.cancel(thread_id, run["run_id"], wait=True)
    assert await _update(client, thread_id, "after") == 200
    assert await _assert_consistent(client, thread_id) == ["seed", "after"]


async def _timed(coro: Any) -> tuple[Any, float]:
    """``coro``'s result (or the error it raised) and how long it took, in seconds."""
    start = time.monotonic()
    try:
        result = await coro
    except Exception as exc:  # noqa: BLE001 — returned for the test to judge
        result = exc
    return result, time.monotonic() - start


async def test_updates_queued_on_one_thread_starve_no_other_request(
    client: LangGraphClient, http: httpx.AsyncClient, database_uri: str
) -> None:
    """Updates of one thread wait for each other holding no database connection: while
    another process holds the thread's row for 3 s, 80 updates queued there (4 times the
    server's pool) leave the pool to other requests, then all apply."""
    thread_id = await _new_thread(client)
    other = (await client.threads.create())["thread_id"]
    entries = [f"u{i}" for i in range(80)]
    async with await psycopg.AsyncConnection.connect(database_uri) as conn:
        await conn.execute(
            "SELECT 1 FROM thread WHERE thread_id = %s FOR UPDATE", (UUID(thread_id),)
        )
        updates = [asyncio.create_task(_update(client, thread_id, e)) for e in entries]
        reads = []
        for _ in range(10):
            await asyncio.sleep(0.25)
            # its own client: the SDK's caps its connections at 100
            reads.append(await _timed(http.get(f"/threads/{other}")))
        await conn.rollback()
    codes = await asyncio.gather(*updates)
    assert [r.status_code for r, _ in reads] == [200] * len(reads)
    slowest = max(d for _, d in reads)
    assert slowest < 1, f"a read of another thread took {slowest:.2f} s"
    assert codes == [200] * len(entries)
    assert sorted(await _assert_consistent(client, thread_id)) == sorted(["seed", *entries])


async def test_a_row_lock_held_elsewhere_is_waited_for_10_s_at_most(
    client: LangGraphClient, database_uri: str
) -> None:
    """Another process holding the thread's row (as a run being created there does) makes
    an update wait for it, within a bound: 409 past 10 s, then updates apply again."""
    thread_id = await _new_thread(client)
    async with await psycopg.AsyncConnection.connect(database_uri) as conn:
        await conn.execute(
            "SELECT 1 FROM thread WHERE thread_id = %s FOR UPDATE", (UUID(thread_id),)
        )
        code, took = await _timed(_update(client, thread_id, "blocked"))
        assert code == 409
        assert 9 < took < 20
        waiting = asyncio.create_task(_update(client, thread_id, "waited"))
        await asyncio.sleep(0.5)
        await conn.rollback()  # let go: the waiting update goes on
        assert await waiting == 200
    assert await _assert_consistent(client, thread_id) == ["seed", "waited"]
