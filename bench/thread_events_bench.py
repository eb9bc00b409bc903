"""Thread event streaming against ``runs/stream`` on the same graph, side by side in one run
(by hand, not in CI):

    python bench/thread_events_bench.py    # embedded Postgres (or DATABASE_URI when set)

The ``tokens`` graph (a fake model streaming 199 chunks), at 1 and 16 clients; first event
and first token latency (p50), events/s and server CPU per run, for two pairs:

- tokens: ``POST /threads`` then ``POST /threads/{id}/runs/stream`` with ``stream_mode:
  messages-tuple``, against ``run.start`` then ``POST /threads/{id}/stream/events`` on the
  ``messages`` and ``lifecycle`` channels (opened after ``run.start``, as ``useStream``
  does: it replays what the run sent already);
- everything: ``runs/stream`` with every mode a thread stream carries (values, updates,
  messages-tuple, custom, tasks, checkpoints), against a stream on every channel.

A run started by ``run.start`` always produces every channel (a stream may subscribe to any
later and is replayed the thread's events), through LangGraph's ``astream_events(version=
"v3")``. So the bench also prints the library's own ratio, in process with no server: CPU
per run of ``astream_events(version="v3")`` with the server's transformers against
``astream`` with the ``messages`` mode alone and with every mode. Target: the thread
stream within 1.3x of ``runs/stream``.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable

import httpx
from common import cpu_seconds, database_uri, machine, new_client, start_server

INPUT = {"messages": [{"role": "user", "content": "hi"}]}
EVERY_MODE = ["values", "updates", "messages-tuple", "custom", "tasks", "checkpoints"]
EVERY_CHANNEL = ["values", "updates", "messages", "tools", "custom", "lifecycle", "input"]
EVERY_CHANNEL += ["tasks", "checkpoints"]

Sample = tuple[float, float, int]  # first event s, first token s, events
Kind = Callable[[httpx.AsyncClient], Awaitable[Sample]]


def classic(modes: list[str]) -> Kind:
    async def run(http: httpx.AsyncClient) -> Sample:
        started = time.perf_counter()
        first = token = None
        events = 0
        body = {"assistant_id": "tokens", "input": INPUT, "stream_mode": modes}
        thread_id = (await http.post("/threads", json={})).json()["thread_id"]
        async with http.stream("POST", f"/threads/{thread_id}/runs/stream", json=body) as stream:
            async for line in stream.aiter_lines():
                if line.startswith("data:"):
                    events += 1
                    first = first or time.perf_counter() - started
                elif line.startswith("event: messages") and token is None:
                    token = time.perf_counter() - started
        return first or 0.0, token or 0.0, events

    return run


def thread_events(channels: list[str]) -> Kind:
    async def run(http: httpx.AsyncClient) -> Sample:
        started = time.perf_counter()
        first = token = None
        events = 0
        thread_id = str(uuid.uuid4())
        params = {"assistant_id": "tokens", "input": INPUT}
        await http.post(
            f"/threads/{thread_id}/commands",
            json={"id": 1, "method": "run.start", "params": params},
        )
        body = {"channels": channels}
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

    return run


async def measure(url: str, pid: int, kind: Kind, n: int, concurrency: int) -> dict[str, float]:
    firsts: list[float] = []
    tokens: list[float] = []
    total = 0
    async with new_client(url, concurrency) as http:
        await asyncio.gather(*(kind(http) for _ in range(concurrency)))  # warm up
        cpu = cpu_seconds(pid)
        started = time.perf_counter()
        for _ in range(n // concurrency):
            for first, token, events in await asyncio.gather(
                *(kind(http) for _ in range(concurrency))
            ):
                firsts.append(first)
                tokens.append(token)
                total += events
        seconds = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu
    return {
        "first_event_ms": statistics.median(firsts) * 1000,
        "first_token_ms": statistics.median(tokens) * 1000,
        "events_per_s": total / seconds,
        "cpu_ms_per_run": cpu / (n // concurrency * concurrency) * 1000,
    }


async def library(runs: int) -> dict[str, float]:
    """CPU ms per run of the ``tokens`` graph in process (no server, no checkpointer)."""
    from graphs import tokens

    from graphport.execution.thread_runs import _transformers

    async def classic_run(modes: list[str]) -> None:
        async for _ in tokens.astream(INPUT, stream_mode=modes):  # type: ignore[arg-type]
            pass

    async def v3_run() -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            stream = await tokens.astream_events(
                INPUT, version="v3", transformers=_transformers(tokens)
            )
        async with stream as running:
            async for _ in running:
                pass

    ways: dict[str, Callable[[], Awaitable[None]]] = {
        "astream messages": lambda: classic_run(["messages"]),
        "astream every mode": lambda: classic_run(
            ["values", "updates", "messages", "custom", "tasks", "checkpoints"]
        ),
        "astream_events v3": v3_run,
    }
    spent: dict[str, list[float]] = {name: [] for name in ways}
    for way in ways.values():
        await way()  # warm up
    for _ in range(runs // 4):  # interleaved, so a busy moment hits each alike
        for name, way in ways.items():
            cpu = time.process_time()
            for _ in range(4):
                await way()
            spent[name].append((time.process_time() - cpu) / 4 * 1000)
    return {name: statistics.median(values) for name, values in spent.items()}


def report(title: str, a: dict[str, float], b: dict[str, float], names: tuple[str, str]) -> None:
    print(f"  {title}")
    for key in ("first_event_ms", "first_token_ms", "events_per_s", "cpu_ms_per_run"):
        ratio = b[key] / a[key] if a[key] else float("nan")
        print(
            f"    {key:15s} {names[0]} {a[key]:8.1f}   {names[1]} {b[key]:8.1f}"
            f"   ratio {ratio:.2f}x"
        )


async def main(n: int) -> None:
    uri, embedded = database_uri()
    print(machine())
    ceiling = await library(n)
    base = ceiling["astream messages"]
    print("\nlibrary, in process: CPU ms per run (ratio to astream messages)")
    for name, ms in ceiling.items():
        print(f"  {name:20s} {ms:7.1f}   {ms / base:.2f}x")
    server = start_server(uri)
    pid = server.proc.pid if server.proc else 0
    try:
        for concurrency in (1, 16):
            print(f"\n{concurrency} client(s), {n} runs each way")
            pairs = (
                ("tokens", classic(["messages-tuple"]), thread_events(["messages", "lifecycle"])),
                ("everything", classic(EVERY_MODE), thread_events(EVERY_CHANNEL)),
            )
            for title, a_kind, b_kind in pairs:
                a = await measure(server.url, pid, a_kind, n, concurrency)
                b = await measure(server.url, pid, b_kind, n, concurrency)
                report(title, a, b, ("runs/stream", "thread events"))
    finally:
        server.stop()
        if embedded is not None:
            embedded.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=64)
    asyncio.run(main(parser.parse_args().runs))
