"""A server whose Redis goes away: runs go on, new streams are refused with a 503 and
leave no run behind, and streams work again once Redis is back."""

from __future__ import annotations

import time
from collections.abc import Iterator

import httpx
import pytest

from tests.redis_server import RedisServer, redis_server_binary
from tests.server import ServerProcess

pytestmark = pytest.mark.skipif(
    redis_server_binary() is None, reason="needs a redis-server of its own to stop"
)


@pytest.fixture
def redis() -> Iterator[RedisServer]:
    with RedisServer() as server:
        yield server


def _runs(url: str, thread_id: str) -> list[dict[str, object]]:
    answer: list[dict[str, object]] = httpx.get(f"{url}/threads/{thread_id}/runs").json()
    return answer


def test_a_stream_refused_while_redis_is_away_leaves_no_run(
    fresh_database: str, redis: RedisServer
) -> None:
    server = ServerProcess(database_uri=fresh_database, extra_env={"REDIS_URI": redis.uri})
    server.start()
    try:
        thread_id = httpx.post(f"{server.url}/threads", json={}).json()["thread_id"]
        body = {"assistant_id": "slow", "input": {"delay": 0.5}}
        redis.stop()
        # a background run still runs to its end (its events are lost, with a warning)
        run = httpx.post(f"{server.url}/threads/{thread_id}/runs", json=body).json()
        waited = httpx.get(
            f"{server.url}/threads/{thread_id}/runs/{run['run_id']}/join", timeout=30
        )
        assert waited.json()["log"][-1] == "after"
        refused = httpx.post(f"{server.url}/threads/{thread_id}/runs/stream", json=body, timeout=30)
        assert refused.status_code == 503, refused.text
        assert "Redis" in refused.json()["detail"]
        deadline = time.monotonic() + 30
        while {r["status"] for r in _runs(server.url, thread_id)} - {"success", "interrupted"}:
            assert time.monotonic() < deadline, _runs(server.url, thread_id)
            time.sleep(0.1)
        statuses = sorted(str(r["status"]) for r in _runs(server.url, thread_id))
        assert statuses == ["interrupted", "success"]  # the refused stream's run went

        redis.start()  # back on the same port: streams work again
        deadline = time.monotonic() + 30
        while True:
            again = httpx.post(
                f"{server.url}/threads/{thread_id}/runs/stream", json=body, timeout=30
            )
            if again.status_code == 200 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        assert again.status_code == 200 and "event: values" in again.text
    finally:
        server.stop()
