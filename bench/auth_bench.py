"""What custom auth costs: the same requests against a server without auth and one with a
typical owner-filter auth file (bench/auth), measured alternately on one database server.

    python bench/auth_bench.py [--n 1000] [--rounds 3]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).parent))

from common import (  # noqa: E402
    HERE,
    Conversations,
    ServerProcess,
    database_uri,
    machine,
    run_bounded,
    summary,
)

from tests.server import create_database, drop_database  # noqa: E402

INPUT = {"messages": [{"role": "user", "content": "hi"}]}
CONCURRENCY = 16
Scenario = Callable[[httpx.AsyncClient, list[str]], Callable[[int], Awaitable[float]]]


def _get_thread(http: httpx.AsyncClient, threads: list[str]) -> Callable[[int], Awaitable[float]]:
    async def one(i: int) -> float:
        started = time.perf_counter()
        response = await http.get(f"/threads/{threads[i % len(threads)]}")
        assert response.status_code == 200, response.text
        return time.perf_counter() - started

    return one


def _search(http: httpx.AsyncClient, threads: list[str]) -> Callable[[int], Awaitable[float]]:
    async def one(i: int) -> float:
        started = time.perf_counter()
        response = await http.post("/threads/search", json={"limit": 10})
        assert response.status_code == 200 and len(response.json()) == 10, response.text
        return time.perf_counter() - started

    return one


def _wait(http: httpx.AsyncClient, threads: list[str]) -> Callable[[int], Awaitable[float]]:
    body = {"assistant_id": "noop", "input": INPUT}
    clients = Conversations(threads[:CONCURRENCY])

    async def one(i: int) -> float:
        started = time.perf_counter()
        with clients.thread() as thread:
            response = await http.post(f"/threads/{thread}/runs/wait", json=body)
        assert response.status_code == 200, response.text
        return time.perf_counter() - started

    return one


async def _measure(server: ServerProcess, scenario: Scenario, name: str, n: int) -> float:
    limits = httpx.Limits(max_connections=CONCURRENCY, max_keepalive_connections=CONCURRENCY)
    headers = {"Authorization": "Bearer user-alice"}
    async with httpx.AsyncClient(
        base_url=server.url, timeout=60, limits=limits, headers=headers
    ) as http:
        threads = [(await http.post("/threads", json={})).json()["thread_id"] for _ in range(50)]
        one = scenario(http, threads)
        await run_bounded(CONCURRENCY * 2, CONCURRENCY, one)
        seconds, latencies = await run_bounded(n, CONCURRENCY, one)
    return summary(name, seconds, latencies)["rps"]


async def _seed_other_tenant(server: ServerProcess, count: int) -> None:
    """Threads that alice must never see, so the filter has work to do."""
    async with httpx.AsyncClient(
        base_url=server.url, headers={"Authorization": "Bearer user-bob"}
    ) as http:
        for _ in range(count):
            await http.post("/threads", json={})


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=1000, help="requests per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    admin, embedded = database_uri()
    print(f"machine: {machine()}")
    servers = {
        "plain": ServerProcess(
            database_uri=create_database(admin, "graphport_bench"), config=HERE / "langgraph.json"
        ),
        "auth": ServerProcess(
            database_uri=create_database(admin, "graphport_bench"),
            config=HERE / "auth/langgraph.json",
        ),
    }
    try:
        for server in servers.values():
            server.start(timeout=60)
        await _seed_other_tenant(servers["auth"], 1000)
        scenarios: list[tuple[str, Scenario, int]] = [
            ("GET /threads/{id}", _get_thread, args.n),
            ("POST /threads/search", _search, args.n),
            ("runs/wait noop", _wait, args.n // 3),
        ]
        for label, scenario, n in scenarios:
            rates: dict[str, list[float]] = {"plain": [], "auth": []}
            for _ in range(args.rounds):
                for kind, server in servers.items():
                    rates[kind].append(await _measure(server, scenario, f"{kind} {label}", n))
            plain, auth = (statistics.median(rates[k]) for k in ("plain", "auth"))
            print(f"  => {label} c={CONCURRENCY}: auth/plain {auth / plain:.2f}x")
    finally:
        for server in servers.values():
            server.stop()
            drop_database(admin, str(server.env["DATABASE_URI"]))
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    asyncio.run(main())
