"""Streaming benchmark (by hand, not in CI), the library ceiling and the server side by side.

    python bench/stream_bench.py          # embedded Postgres (or DATABASE_URI when set)

(a) first event and first token (``messages`` event) latency, 1 and 16 clients;
(b) events/s delivered to 16 clients;
(c) 100 joiners on one resumable run: every event, in order, to every joiner;
(d) server memory per idle open stream (500 thread streams).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from typing import Any

from common import database_uri, machine, new_client, rss_mib, saver_pool, start_server
from graphs import tokens
from langgraph.checkpoint.postgres.aio import AsyncPostgresSaver

INPUT = {"messages": [{"role": "user", "content": "hi"}]}
TOKEN_CHUNKS = 199


async def ceiling(uri: str, n: int, concurrency: int) -> dict[str, float]:
    async with saver_pool(uri, concurrency + 2) as pool:
        saver = AsyncPostgresSaver(pool)
        await saver.setup()
        graph = tokens.copy(update={"checkpointer": saver})
        firsts: list[float] = []
        events = 0

        async def one() -> None:
            nonlocal events
            started = time.perf_counter()
            config = {"configurable": {"thread_id": str(uuid.uuid4())}}
            first = None
            async for _chunk in graph.astream(INPUT, config, stream_mode="messages"):
                events += 1
                if first is None:
                    first = time.perf_counter() - started
            firsts.append(first or 0.0)

        started = time.perf_counter()
        for _ in range(n // concurrency):
            await asyncio.gather(*(one() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return {"first_token_ms": statistics.median(firsts) * 1000, "events_per_s": events / seconds}


async def server(url: str, n: int, concurrency: int) -> dict[str, float]:
    firsts_byte: list[float] = []
    firsts_token: list[float] = []
    events = 0
    async with new_client(url, concurrency) as http:
        body = {"assistant_id": "tokens", "input": INPUT, "stream_mode": "messages-tuple"}

        async def one() -> None:
            nonlocal events
            started = time.perf_counter()
            first_byte = first_token = None
            tokens_seen = 0
            async with http.stream("POST", "/runs/stream", json=body) as response:
                async for chunk in response.aiter_bytes():
                    now = time.perf_counter() - started
                    first_byte = first_byte or now
                    found = chunk.count(b"event: messages\r\n")
                    if found and first_token is None:
                        first_token = now
                    tokens_seen += found
            assert tokens_seen >= TOKEN_CHUNKS, tokens_seen
            events += tokens_seen
            firsts_byte.append(first_byte or 0.0)
            firsts_token.append(first_token or 0.0)

        started = time.perf_counter()
        for _ in range(n // concurrency):
            await asyncio.gather(*(one() for _ in range(concurrency)))
        seconds = time.perf_counter() - started
    return {
        "first_event_ms": statistics.median(firsts_byte) * 1000,
        "first_token_ms": statistics.median(firsts_token) * 1000,
        "events_per_s": events / seconds,
    }


async def fan_out(url: str, joiners: int) -> dict[str, Any]:
    async with new_client(url, joiners + 2) as http:
        thread = (await http.post("/threads", json={})).json()["thread_id"]
        body = {
            "assistant_id": "tokens",
            "input": INPUT,
            "stream_mode": "messages-tuple",
            "stream_resumable": True,
            "after_seconds": 1,  # every joiner is attached before the first event
        }
        run = (await http.post(f"/threads/{thread}/runs", json=body)).json()
        path = f"/threads/{thread}/runs/{run['run_id']}/stream"
        latencies: list[float] = []

        async def join() -> list[int]:
            ids: list[int] = []
            async with http.stream("GET", path, headers={"Last-Event-ID": "-1"}) as response:
                async for line in response.aiter_lines():
                    if line.startswith("id: "):
                        ids.append(int(line[4:]))
            return ids

        results = await asyncio.gather(*(join() for _ in range(joiners)))
        del latencies
    reference = results[0]
    complete = all(r == reference for r in results)
    in_order = reference == sorted(reference) and len(reference) == len(set(reference))
    print(
        f"  fan-out: {joiners} joiners x {len(reference)} events: "
        f"identical={complete} ordered={in_order}"
    )
    return {"events": len(reference), "identical": complete, "ordered": in_order}


async def idle_memory(url: str, pid: int, streams: int) -> float:
    async with new_client(url, streams + 2) as http:
        threads = [
            (await http.post("/threads", json={})).json()["thread_id"] for _ in range(streams)
        ]
        await asyncio.sleep(1)
        before = rss_mib(pid)
        opened: list[Any] = []
        for thread in threads:
            context = http.stream("GET", f"/threads/{thread}/stream")
            opened.append((context, await context.__aenter__()))
        await asyncio.sleep(2)
        after = rss_mib(pid)
        open_now = (await http.get("/metrics", params={"format": "json"})).json()["streams"]["open"]
        for context, _response in opened:
            await context.__aexit__(None, None, None)
    per_stream_kib = (after - before) * 1024 / streams
    print(
        f"  {streams} idle streams open ({open_now} seen by the server): "
        f"{per_stream_kib:.1f} KiB each"
    )
    return per_stream_kib


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=64)
    args = parser.parse_args()
    uri, embedded = database_uri()
    print(f"machine: {machine()}")
    proc = start_server(uri)
    try:
        pid = proc.proc.pid if proc.proc else 0
        for concurrency in (1, 16):
            c = await ceiling(uri, args.n, concurrency)
            s = await server(proc.url, args.n, concurrency)
            print(
                f"  c={concurrency}: first event {s['first_event_ms']:.1f} ms; first token "
                f"{s['first_token_ms']:.1f} ms (ceiling {c['first_token_ms']:.1f} ms); "
                f"events/s {s['events_per_s']:.0f} (ceiling {c['events_per_s']:.0f}, "
                f"ratio {s['events_per_s'] / c['events_per_s']:.2f}x)"
            )
        await fan_out(proc.url, 100)
        await idle_memory(proc.url, pid, 500)
        print(f"server RSS {rss_mib(pid):.0f} MiB; {machine()}")
    finally:
        proc.stop()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    asyncio.run(main())
