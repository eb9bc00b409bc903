"""Thread event streaming against ``runs/stream`` on the same graph, side by side in one run
(by hand, not in CI):

    python bench/thread_events_bench.py    # embedded Postgres (or DATABASE_URI when set)

For the ``tokens`` graph (a fake model streaming 199 chunks): first event and first token
latency (p50) and events/s at 1 and 16 clients, (a) ``POST /threads/{id}/runs/stream``
with ``stream_mode: messages-tuple``, (b) ``run.start`` then ``POST
/threads/{id}/stream/events`` on the ``messages`` and ``lifecycle`` channels (opened
after ``run.start``, so it replays what the run already sent). Target: (b) within 1.3x
of (a).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from typing import Any

import httpx
from common import database_uri, machine, new_client, start_server

INPUT = {"messages": [{"role": "user", "content": "hi"}]}


async def classic(http: httpx.AsyncClient) -> tuple[float, float, int]:
    started = time.perf_counter()
    first = token = None
    events = 0
    body = {"assistant_id": "tokens", "input": INPUT, "stream_mode": "messages-tuple"}
    thread_id = (await http.post("/threads", json={})).json()["thread_id"]
    async with http.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("data:"):
                events += 1
                first = first or time.perf_counter() - started
            elif line.startswith("event: messages") and token is None:
                token = time.perf_counter() - started
    return first or 0.0, token or 0.0, events


async def thread_events(http: httpx.AsyncClient) -> tuple[float, float, int]:
    started = time.perf_counter()
    first = token = None
    events = 0
    thread_id = str(uuid.uuid4())
    command = {"id": 1, "method": "run.start", "params": {"assistant_id": "tokens", "input": INPUT}}
    await http.post(f"/threads/{thread_id}/commands", json=command)
    body = {"channels": ["messages", "lifecycle"]}
    async with http.stream("POST", f"/threads/{thread_id}/stream/events", json=body) as stream:
        async for line in stream.aiter_lines():
            if line.startswith("event: messages") and token is None:
                token = time.perf_counter() - started
            if not line.startswith("data:"):
                continue
            events += 1
            first = first or time.perf_counter() - started
            if '"method":"lifecycle"' in line and '"completed"' in line:
                break
    return first or 0.0, token or 0.0, events


async def measure(url: str, kind: Any, n: int, concurrency: int) -> dict[str, float]:
    firsts: list[float] = []
    tokens: list[float] = []
    total = 0
    async with new_client(url, concurrency) as http:
        await asyncio.gather(*(kind(http) for _ in range(concurrency)))  # warm up
        started = time.perf_counter()
        for _ in range(n // concurrency):
            for first, token, events in await asyncio.gather(
                *(kind(http) for _ in range(concurrency))
            ):
                firsts.append(first)
                tokens.append(token)
                total += events
        seconds = time.perf_counter() - started
    return {
        "first_event_ms": statistics.median(firsts) * 1000,
        "first_token_ms": statistics.median(tokens) * 1000,
        "events_per_s": total / seconds,
    }


async def main(n: int) -> None:
    uri, embedded = database_uri()
    server = start_server(uri)
    try:
        print(machine())
        for concurrency in (1, 16):
            a = await measure(server.url, classic, n, concurrency)
            b = await measure(server.url, thread_events, n, concurrency)
            print(f"\n{concurrency} client(s), {n} runs each way")
            for key in ("first_event_ms", "first_token_ms", "events_per_s"):
                ratio = b[key] / a[key] if a[key] else float("nan")
                print(
                    f"  {key:16s} runs/stream {a[key]:9.1f}   thread events {b[key]:9.1f}"
                    f"   ratio {ratio:.2f}x"
                )
    finally:
        server.stop()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=64)
    asyncio.run(main(parser.parse_args().runs))
