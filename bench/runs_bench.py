"""Run engine benchmark (by hand, not in CI): the library ceiling and the server, side by side.

    python bench/runs_bench.py            # embedded Postgres (or DATABASE_URI when set)

(a) ceiling: ``graph.ainvoke`` + ``AsyncPostgresSaver`` in-process, stateful threads;
(b) server: ``POST /threads/{t}/runs/wait`` at concurrency 1 and 16, same graph, same Postgres;
(c) pending -> running delay when a worker is free (server timestamps);
(d) 1,000 background runs on 100 threads: all finish, per-thread order kept, none lost.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import psycopg
from common import (
    Conversations,
    cpu_seconds,
    database_uri,
    machine,
    new_client,
    rss_mib,
    run_bounded,
    saver_pool,
    start_server,
    summary,
)
from graphs import chain, noop
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

INPUT = {"messages": [{"role": "user", "content": "hi"}]}


async def ceiling(
    uri: str, graph_name: str, n: int, concurrency: int, meter: Any = None
) -> dict[str, Any]:
    """req/s and latencies of ``graph.ainvoke`` on ``concurrency`` threads; with a ``meter``
    (hot_path_bench.Meter), ``cpu``: its CPU per run over the measured runs."""
    graph = {"noop": noop, "chain": chain}[graph_name]
    async with saver_pool(uri, concurrency + 2) as pool:
        saver = AsyncPostgresSaver(pool)
        await saver.setup()
        bound = graph.copy(update={"checkpointer": saver})
        clients = Conversations([str(uuid.uuid4()) for _ in range(concurrency)])

        async def one(i: int) -> float:
            started = time.perf_counter()
            with clients.thread() as thread_id:
                config = {"configurable": {"thread_id": thread_id}}
                out = await bound.ainvoke(INPUT, config)
            assert out["messages"][-1].content == "ok"
            return time.perf_counter() - started

        await run_bounded(concurrency * 2, concurrency, one)  # warm up
        return await _measured(f"ceiling {graph_name} c={concurrency}", n, concurrency, one, meter)


async def server_wait(
    url: str, graph_name: str, n: int, concurrency: int, meter: Any = None
) -> dict[str, Any]:
    """As ``ceiling``, through ``POST /threads/{t}/runs/wait`` on the server at ``url``."""
    async with new_client(url, concurrency) as http:
        clients = Conversations(
            [(await http.post("/threads", json={})).json()["thread_id"] for _ in range(concurrency)]
        )
        body = {"assistant_id": graph_name, "input": INPUT}

        async def one(i: int) -> float:
            started = time.perf_counter()
            with clients.thread() as thread_id:
                response = await http.post(f"/threads/{thread_id}/runs/wait", json=body)
            assert response.status_code == 200, response.text
            assert response.json()["messages"][-1]["content"] == "ok"
            return time.perf_counter() - started

        await run_bounded(concurrency * 2, concurrency, one)
        return await _measured(
            f"server runs/wait {graph_name} c={concurrency}", n, concurrency, one, meter
        )


async def _measured(
    name: str, n: int, concurrency: int, one: Callable[[int], Awaitable[float]], meter: Any
) -> dict[str, Any]:
    if meter is not None:
        meter.start()
    seconds, latencies = await run_bounded(n, concurrency, one)
    result: dict[str, Any] = {**summary(name, seconds, latencies), "latencies": latencies}
    if meter is not None:
        result["cpu"] = meter.per(n)
    return result


async def start_delays(url: str, uri: str, n: int) -> dict[str, float]:
    """Server-side start delays: (1) a run on an idle thread (started at insert when a
    worker slot is free) and (2) a queued run after the previous run on its thread ends."""
    async with new_client(url, 1) as http:
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        pairs = []
        for _ in range(n):
            body = {"assistant_id": "noop", "input": INPUT}
            first = (await http.post(f"/threads/{thread}/runs", json=body)).json()
            second = (await http.post(f"/threads/{thread}/runs", json=body)).json()
            await http.get(f"/threads/{thread}/runs/{second['run_id']}/join")
            pairs.append((uuid.UUID(first["run_id"]), uuid.UUID(second["run_id"])))
    async with await psycopg.AsyncConnection.connect(uri) as conn:
        rows = await (
            await conn.execute(
                "SELECT a.started_at - a.created_at, b.started_at - a.ended_at "
                "FROM unnest(%s::uuid[], %s::uuid[]) AS p(a_id, b_id) "
                "JOIN run a ON a.run_id = p.a_id JOIN run b ON b.run_id = p.b_id",
                ([a for a, _ in pairs], [b for _, b in pairs]),
            )
        ).fetchall()
    direct = sorted(r[0].total_seconds() * 1000 for r in rows)
    handoff = sorted(r[1].total_seconds() * 1000 for r in rows)
    result = {
        "direct_p50_ms": direct[len(direct) // 2],
        "queued_p50_ms": handoff[len(handoff) // 2],
        "queued_p95_ms": handoff[int(len(handoff) * 0.95) - 1],
    }
    print(f"  pending -> running, idle thread + free slot  p50 {result['direct_p50_ms']:.2f} ms")
    print(
        f"  pending -> running, queued behind a run      p50 {result['queued_p50_ms']:.2f} ms"
        f"  p95 {result['queued_p95_ms']:.2f} ms"
    )
    return result


async def background_flood(url: str, n_threads: int, per_thread: int) -> dict[str, Any]:
    """Many background runs on many threads: all finish, in order per thread, none lost."""
    async with new_client(url, 16) as http:
        threads = [
            (await http.post("/threads", json={})).json()["thread_id"] for _ in range(n_threads)
        ]
        created: dict[str, list[str]] = {t: [] for t in threads}
        started = time.perf_counter()

        async def submit(i: int) -> float:
            thread = threads[i % n_threads]
            body = {
                "assistant_id": "noop",
                "input": {"messages": [{"role": "user", "content": str(i)}]},
            }
            response = await http.post(f"/threads/{thread}/runs", json=body)
            assert response.status_code == 200, response.text
            created[thread].append(response.json()["run_id"])
            return 0.0

        await run_bounded(n_threads * per_thread, 16, submit)
        for thread, run_ids in created.items():
            await http.get(f"/threads/{thread}/runs/{run_ids[-1]}/join")
        seconds = time.perf_counter() - started
        lost = out_of_order = 0
        for thread in created:
            state = (await http.get(f"/threads/{thread}/state")).json()
            humans = [m["content"] for m in state["values"]["messages"] if m["type"] == "human"]
            runs = (await http.get(f"/threads/{thread}/runs", params={"limit": 1000})).json()
            lost += sum(1 for r in runs if r["status"] != "success") + per_thread - len(runs)
            order = [int(h) for h in humans]
            out_of_order += order != sorted(order)
            lost += per_thread - len(humans)
    total = n_threads * per_thread
    print(
        f"  {total} background runs on {n_threads} threads: {total / seconds:.1f} runs/s, "
        f"lost {lost}, threads out of order {out_of_order}"
    )
    return {"runs_per_s": total / seconds, "lost": lost, "out_of_order": out_of_order}


async def compare(
    uri: str, server: Any, graph_name: str, concurrency: int, n: int, rounds: int
) -> None:
    """Ceiling and server measured alternately; medians of the rounds, and their ratio."""
    pid = server.proc.pid
    ceilings, servers, cpu = [], [], []
    for _ in range(rounds):
        ceilings.append((await ceiling(uri, graph_name, n, concurrency))["rps"])
        before = cpu_seconds(pid)
        servers.append((await server_wait(server.url, graph_name, n, concurrency))["rps"])
        cpu.append((cpu_seconds(pid) - before) * 1000 / (n + concurrency * 2))
    c, s_ = statistics.median(ceilings), statistics.median(servers)
    print(
        f"  => {graph_name} c={concurrency}: ceiling {c:.1f} req/s, server {s_:.1f} req/s, "
        f"ratio {s_ / c:.2f}x, server CPU {statistics.median(cpu):.1f} ms/run"
    )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=300, help="requests per measurement")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    uri, embedded = database_uri()
    print(f"machine: {machine()}")
    server = start_server(uri)
    try:
        for graph_name, concurrency in (("noop", 1), ("noop", 16), ("chain", 16)):
            await compare(uri, server, graph_name, concurrency, args.n, args.rounds)
        await start_delays(server.url, uri, 100)
        await background_flood(server.url, 100, 10)
        pid = server.proc.pid if server.proc else 0
        print(f"server RSS {rss_mib(pid):.0f} MiB; {machine()}")
    finally:
        server.stop()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    asyncio.run(main())
