"""Every way a run ends ends its streams, joins and waits, here or in another process; and
cancels are idempotent: two at once never wedge a run."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from tests.api.run_helpers import eventually
from tests.server import ServerProcess, create_database, drop_database

SLOW = {"assistant_id": "slow", "input": {"delay": 1.5}}  # busy for 3 s unless cancelled
QUICK = {"assistant_id": "slow", "input": {"delay": 0}}
ENDS_WITHIN = 2.0  # seconds; the end is signalled at once, this only absorbs a loaded machine


async def _new_thread(http: httpx.AsyncClient) -> str:
    thread_id: str = (await http.post("/threads", json={})).json()["thread_id"]
    return thread_id


async def _create(http: httpx.AsyncClient, thread_id: str, body: Any) -> str:
    response = await http.post(f"/threads/{thread_id}/runs", json=body)
    assert response.status_code == 200, response.text
    run_id: str = response.json()["run_id"]
    return run_id


async def _status(http: httpx.AsyncClient, thread_id: str, run_id: str) -> str | None:
    response = await http.get(f"/threads/{thread_id}/runs/{run_id}")
    return response.json()["status"] if response.status_code == 200 else None


async def _reaches(http: httpx.AsyncClient, thread_id: str, run_id: str, status: str) -> None:
    async def check() -> bool:
        return await _status(http, thread_id, run_id) == status

    await eventually(check, within=10)


@contextlib.asynccontextmanager
async def _joined_stream(
    http: httpx.AsyncClient, thread_id: str, run_id: str
) -> AsyncIterator[asyncio.Task[list[str]]]:
    """A join stream, open (subscribed) on entry; the task gives its event names at its end."""
    path = f"/threads/{thread_id}/runs/{run_id}/stream"
    async with http.stream("GET", path) as response:
        assert response.status_code == 200

        async def events() -> list[str]:
            return [
                line.removeprefix("event: ")
                async for line in response.aiter_lines()
                if line.startswith("event: ")
            ]

        task = asyncio.create_task(events())
        try:
            yield task
        finally:
            task.cancel()


@dataclass
class Watched:
    """What waits on two queued runs: their join streams, a join, and a /wait."""

    busy: str  # the running run they queue behind
    queued: str
    waited: str  # created by /runs/wait
    waiters: list[asyncio.Task[Any]]
    streams: list[asyncio.Task[list[str]]]


@contextlib.asynccontextmanager
async def _watch_queued(http: httpx.AsyncClient, thread_id: str) -> AsyncIterator[Watched]:
    busy = await _create(http, thread_id, SLOW)
    await _reaches(http, thread_id, busy, "running")
    queued = await _create(http, thread_id, QUICK)
    wait = asyncio.create_task(http.post(f"/threads/{thread_id}/runs/wait", json=QUICK))

    async def third() -> str | None:
        runs = (await http.get(f"/threads/{thread_id}/runs")).json()
        return runs[0]["run_id"] if len(runs) == 3 else None

    waited: str = await eventually(third)
    join = asyncio.create_task(http.get(f"/threads/{thread_id}/runs/{queued}/join"))
    async with (
        _joined_stream(http, thread_id, queued) as first,
        _joined_stream(http, thread_id, waited) as second,
    ):
        assert await _status(http, thread_id, queued) == "pending"
        yield Watched(busy, queued, waited, [wait, join], [first, second])


async def _all_end(watched: Watched) -> list[Any]:
    """The waits' answers and the streams' events, once all ended (fails if not soon)."""
    started = time.monotonic()
    done = await asyncio.wait_for(asyncio.gather(*watched.waiters, *watched.streams), ENDS_WITHIN)
    assert time.monotonic() - started < ENDS_WITHIN
    for response in done[: len(watched.waiters)]:
        assert response.status_code == 200
    return list(done)


async def test_cancelled_while_queued_ends_its_streams_joins_and_waits(
    http: httpx.AsyncClient,
) -> None:
    thread_id = await _new_thread(http)
    async with _watch_queued(http, thread_id) as watched:
        for run_id in (watched.queued, watched.waited):
            cancelled = await http.post(f"/threads/{thread_id}/runs/{run_id}/cancel")
            assert cancelled.status_code == 202
        *_, first_events, second_events = await _all_end(watched)
    assert first_events == [] and second_events == []  # never started: nothing to say
    assert await _status(http, thread_id, watched.queued) == "interrupted"
    await http.post(f"/threads/{thread_id}/runs/{watched.busy}/cancel?wait=1")


async def test_rolled_back_while_queued_ends_its_streams_joins_and_waits(
    http: httpx.AsyncClient,
) -> None:
    thread_id = await _new_thread(http)
    async with _watch_queued(http, thread_id) as watched:
        for run_id in (watched.queued, watched.waited):
            path = f"/threads/{thread_id}/runs/{run_id}/cancel?action=rollback"
            assert (await http.post(path)).status_code == 202
        *_, first_events, second_events = await _all_end(watched)
    assert first_events == [] and second_events == []  # the stream just ends, no error
    assert await _status(http, thread_id, watched.queued) is None
    await http.post(f"/threads/{thread_id}/runs/{watched.busy}/cancel?wait=1")


async def test_thread_deleted_while_runs_queue_ends_their_streams_joins_and_waits(
    http: httpx.AsyncClient,
) -> None:
    thread_id = await _new_thread(http)
    async with _watch_queued(http, thread_id) as watched:
        assert (await http.delete(f"/threads/{thread_id}")).status_code == 204
        *_, first_events, second_events = await _all_end(watched)
    assert first_events == [] and second_events == []
    assert (await http.get(f"/threads/{thread_id}")).status_code == 404


@pytest.mark.parametrize("strategy", ["interrupt", "rollback"])
async def test_multitask_ends_the_queued_runs_streams_joins_and_waits(
    http: httpx.AsyncClient, strategy: str
) -> None:
    thread_id = await _new_thread(http)
    async with _watch_queued(http, thread_id) as watched:
        follower = await _create(http, thread_id, {**QUICK, "multitask_strategy": strategy})
        await _all_end(watched)
    await _reaches(http, thread_id, follower, "success")
    assert await _status(http, thread_id, watched.busy) == (
        "interrupted" if strategy == "interrupt" else None
    )


async def _busy_run(http: httpx.AsyncClient) -> tuple[str, str]:
    thread_id = await _new_thread(http)
    run_id = await _create(http, thread_id, SLOW)
    await _reaches(http, thread_id, run_id, "running")

    async def in_its_node() -> bool:
        # a cancel before the first checkpoint leaves nothing pending: the thread is idle
        state = (await http.get(f"/threads/{thread_id}/state")).json()
        return bool(state.get("next"))

    await eventually(in_its_node, within=10)
    return thread_id, run_id


async def _ended_promptly(http: httpx.AsyncClient, thread_id: str, run_id: str) -> None:
    """Interrupted within seconds (not after the orphan sweep), and the thread not busy."""
    await _reaches(http, thread_id, run_id, "interrupted")
    thread = (await http.get(f"/threads/{thread_id}")).json()
    assert thread["status"] == "interrupted"


async def test_two_cancels_at_once_end_the_run(http: httpx.AsyncClient) -> None:
    for _ in range(5):
        thread_id, run_id = await _busy_run(http)
        path = f"/threads/{thread_id}/runs/{run_id}/cancel"
        cancels = await asyncio.gather(http.post(path), http.post(path))
        assert sorted(c.status_code for c in cancels) in ([202, 202], [202, 404])
        await _ended_promptly(http, thread_id, run_id)


async def test_two_cancels_with_wait_at_once_both_return(http: httpx.AsyncClient) -> None:
    for _ in range(3):
        thread_id, run_id = await _busy_run(http)
        path = f"/threads/{thread_id}/runs/{run_id}/cancel?wait=1"
        both = asyncio.gather(http.post(path), http.post(path))
        cancels = await asyncio.wait_for(both, ENDS_WITHIN)
        assert sorted(c.status_code for c in cancels) in ([200, 200], [200, 404])
        assert await _status(http, thread_id, run_id) == "interrupted"
        assert (await http.get(f"/threads/{thread_id}")).json()["status"] == "interrupted"


async def test_cancels_of_every_kind_at_once(http: httpx.AsyncClient) -> None:
    """Interrupt, rollback, with and without wait, and a multitask interrupt: one end."""
    thread_id, run_id = await _busy_run(http)
    path = f"/threads/{thread_id}/runs/{run_id}/cancel"
    replaced = http.post(
        f"/threads/{thread_id}/runs", json={**QUICK, "multitask_strategy": "interrupt"}
    )
    answers = await asyncio.wait_for(
        asyncio.gather(
            http.post(path),
            http.post(f"{path}?wait=1"),
            http.post(f"{path}?action=rollback"),
            http.post(f"{path}?wait=1&action=rollback"),
            replaced,
        ),
        ENDS_WITHIN * 2,
    )
    assert all(a.status_code in (200, 202, 404) for a in answers)
    follower = answers[-1].json()["run_id"]
    await _reaches(http, thread_id, follower, "success")
    assert await _status(http, thread_id, run_id) in ("interrupted", None)


# -- runs queued behind busy worker slots, and ends seen from another process --------------


@dataclass
class Pair:
    worker: str  # one worker slot
    api: str  # no worker slots: its runs run on the other process


@pytest.fixture(scope="module")
def pair(database_uri: str) -> Iterator[Pair]:
    uri = create_database(database_uri)
    one_slot = ServerProcess(database_uri=uri, extra_env={"N_JOBS_PER_WORKER": "1"}).start()
    no_slot = ServerProcess(database_uri=uri, extra_env={"N_JOBS_PER_WORKER": "0"}).start()
    try:
        yield Pair(one_slot.url, no_slot.url)
    finally:
        no_slot.stop()
        one_slot.stop()
        drop_database(database_uri, uri)


@contextlib.asynccontextmanager
async def _clients(pair: Pair) -> AsyncIterator[tuple[httpx.AsyncClient, httpx.AsyncClient]]:
    async with (
        httpx.AsyncClient(base_url=pair.worker, timeout=30) as worker,
        httpx.AsyncClient(base_url=pair.api, timeout=30) as api,
    ):
        yield worker, api


async def _ends(*waits: Awaitable[Any]) -> list[Any]:
    return list(await asyncio.wait_for(asyncio.gather(*waits), ENDS_WITHIN))


async def test_cancelled_behind_busy_slots_ends_here_and_elsewhere(pair: Pair) -> None:
    async with _clients(pair) as (worker, api):
        busy_thread, busy = await _busy_run(worker)  # takes the only slot
        thread_id = await _new_thread(api)
        queued = await _create(api, thread_id, QUICK)
        join = asyncio.create_task(api.get(f"/threads/{thread_id}/runs/{queued}/join"))
        async with (
            _joined_stream(worker, thread_id, queued) as on_worker,
            _joined_stream(api, thread_id, queued) as on_api,
        ):
            assert await _status(api, thread_id, queued) == "pending"
            await worker.post(f"/threads/{thread_id}/runs/{queued}/cancel")
            joined, *_ = await _ends(join, on_worker, on_api)
        assert joined.status_code == 200
        await worker.post(f"/threads/{busy_thread}/runs/{busy}/cancel?wait=1")


async def test_a_run_ending_in_another_process_ends_streams_and_waits_here(pair: Pair) -> None:
    async with _clients(pair) as (worker, api):
        thread_id = await _new_thread(api)
        run_id = await _create(api, thread_id, SLOW)  # runs on the worker process
        await _reaches(api, thread_id, run_id, "running")
        async with _joined_stream(api, thread_id, run_id) as stream:
            join = asyncio.create_task(api.get(f"/threads/{thread_id}/runs/{run_id}/join"))
            await asyncio.sleep(0.1)  # the join is waiting
            path = f"/threads/{thread_id}/runs/{run_id}/cancel?wait=1"
            waiting = asyncio.create_task(api.post(path))
            joined, cancelled, _ = await _ends(join, waiting, stream)
        assert joined.status_code == 200 and cancelled.status_code == 200
        assert await _status(worker, thread_id, run_id) == "interrupted"


async def test_a_run_finishing_in_another_process_ends_a_join_stream_here(pair: Pair) -> None:
    async with _clients(pair) as (worker, api):
        thread_id = await _new_thread(api)
        run_id = await _create(api, thread_id, {**QUICK, "input": {"delay": 0.3}})
        async with _joined_stream(api, thread_id, run_id) as stream:
            await asyncio.wait_for(stream, 5)
        assert await _status(worker, thread_id, run_id) == "success"


async def test_a_thread_whose_ttl_passes_during_a_run_outlives_the_run(
    http: httpx.AsyncClient,
) -> None:
    """The TTL sweep (every ~1 s in the test config) skips threads with runs in flight."""
    created = await http.post("/threads", json={"ttl": 1 / 60})  # one second
    thread_id = created.json()["thread_id"]
    run_id = await _create(http, thread_id, SLOW)
    await asyncio.sleep(2.5)  # past the TTL, a couple of sweeps
    assert (await http.get(f"/threads/{thread_id}")).status_code == 200
    joined = await http.get(f"/threads/{thread_id}/runs/{run_id}/join")
    assert joined.status_code == 200 and "__error__" not in joined.json(), joined.text

    async def gone() -> bool:
        return (await http.get(f"/threads/{thread_id}")).status_code == 404

    await eventually(gone, within=10)


async def test_deleting_an_assistant_with_its_threads_stops_their_runs(
    http: httpx.AsyncClient,
) -> None:
    """The runs of threads deleted with their assistant stop, and their joins return."""
    assistant = (await http.post("/assistants", json={"graph_id": "slow"})).json()
    thread_id = await _new_thread(http)
    body = {"assistant_id": assistant["assistant_id"], "input": {"delay": 30}}
    run_id = await _create(http, thread_id, body)
    await _reaches(http, thread_id, run_id, "running")
    join = asyncio.create_task(http.get(f"/threads/{thread_id}/runs/{run_id}/join"))
    await asyncio.sleep(0.2)
    deleted = await http.delete(
        f"/assistants/{assistant['assistant_id']}", params={"delete_threads": "true"}
    )
    assert deleted.status_code == 204
    started = time.monotonic()
    await asyncio.wait_for(join, timeout=10)
    assert time.monotonic() - started < ENDS_WITHIN * 2
    assert (await http.get(f"/threads/{thread_id}")).status_code == 404
