"""Scale-out benchmark (by hand, not in CI): API-only and worker processes on one PostgreSQL
and one Redis, figures side by side in one run.

    python bench/scale_bench.py   # embedded Postgres (or DATABASE_URI), Redis (or REDIS_URI)

(1) work spread: 400 background runs of ``burn`` (~20 ms of CPU each) from 16 submitters on
    100 threads against one ``serve --no-workers`` + 1 worker, then + 2 workers (a fresh
    database each): runs/s, each worker's share, the CPU of every process;
(2) streams: ``tokens`` runs streamed by 1 and 16 clients from (a) one ``serve`` without
    Redis, (b) one ``serve`` with Redis, (c) ``serve --no-workers`` + a worker with Redis:
    first-event latency p50/p95, events/s, ratios to (a);
(3) fan-out: one ``tokens`` run joined by 50 SDK joiners on 2 API processes, executed by a
    worker: every joiner gets every event in order.

Exits 1 when a correctness check fails (a run lost or run twice, an event lost or repeated).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import time
from typing import Any

import psycopg
from cluster import cluster, cpu_line, drop, fresh_database, meter, runs_executed
from common import database_uri, load_average, machine, new_client, run_bounded
from graphs import TOKENS
from langgraph_sdk import get_client

from tests.redis_server import redis_uri
from tests.server import remove_logs

INPUT = {"messages": [{"role": "user", "content": "hi"}]}
FAILURES: list[str] = []


def check(ok: bool, what: str) -> None:
    if not ok:
        FAILURES.append(what)
        print(f"  !! FAILED: {what}")


# -- (1) work spread ------------------------------------------------------------------------------


async def submit_runs(url: str, n_runs: int, n_threads: int, tag: str) -> list[str]:
    """``n_runs`` background ``burn`` runs on ``n_threads`` new threads, 16 at a time."""
    async with new_client(url, 16) as http:
        threads = [
            (await http.post("/threads", json={})).json()["thread_id"] for _ in range(n_threads)
        ]
        run_ids: list[str] = []

        async def submit(i: int) -> float:
            body = {"assistant_id": "burn", "input": INPUT, "metadata": {"bench": tag}}
            response = await http.post(f"/threads/{threads[i % n_threads]}/runs", json=body)
            assert response.status_code == 200, response.text
            run_ids.append(response.json()["run_id"])
            return 0.0

        await run_bounded(n_runs, 16, submit)
    return run_ids


async def wait_done(uri: str, tag: str, n_runs: int, within: float) -> dict[str, int]:
    """Poll the runs table until the ``n_runs`` runs tagged ``tag`` have ended; their count
    by status (and ``attempts>1``: runs that started more than once)."""
    query = (
        "SELECT status, count(*), count(*) FILTER (WHERE attempt > 1) FROM run "
        "WHERE metadata @> %s::jsonb GROUP BY status"
    )
    deadline = time.monotonic() + within
    async with await psycopg.AsyncConnection.connect(uri, autocommit=True) as conn:
        while True:
            rows = await (await conn.execute(query, (json.dumps({"bench": tag}),))).fetchall()
            counts = {status: count for status, count, _ in rows}
            ended = sum(c for s, c in counts.items() if s not in ("pending", "running"))
            if ended >= n_runs or time.monotonic() > deadline:
                return counts | {"attempts>1": sum(again for _, _, again in rows)}
            await asyncio.sleep(0.05)


async def spread(admin_uri: str, redis: str, workers: int, n_runs: int) -> dict[str, Any]:
    uri = fresh_database(admin_uri)
    try:
        with cluster(uri, redis) as procs:
            api = procs.api("api")
            names = [f"worker{i + 1}" for i in range(workers)]
            for name in names:
                procs.worker(name)
            await submit_runs(api.url, 4 * workers, 4 * workers, "warm-up")
            await wait_done(uri, "warm-up", 4 * workers, 60)
            before = {name: runs_executed(procs.processes[name]) for name in names}
            cpu = meter(procs, redis)
            started = time.perf_counter()
            await submit_runs(api.url, n_runs, 100, "spread")
            counts = await wait_done(uri, "spread", n_runs, 120)
            seconds = time.perf_counter() - started
            used = cpu.read()
            shares = {name: runs_executed(procs.processes[name]) - before[name] for name in names}
    finally:
        drop(admin_uri, uri)
    executed = sum(shares.values())
    check(counts.get("success") == n_runs, f"spread x{workers}: {counts} of {n_runs} runs")
    check(executed == n_runs, f"spread x{workers}: workers executed {executed} of {n_runs}")
    check(counts["attempts>1"] == 0, f"spread x{workers}: {counts['attempts>1']} runs restarted")
    rate = n_runs / seconds
    share = ", ".join(f"{name} {100 * n / max(executed, 1):.0f}%" for name, n in shares.items())
    print(f"  api + {workers} worker(s): {n_runs} runs in {seconds:.1f} s = {rate:.1f} runs/s")
    print(f"    runs executed: {share}")
    print(f"    CPU: {cpu_line(used)} (wall {seconds:.1f} s, load {load_average()})")
    per_run = ", ".join(f"{name} {1000 * t / n_runs:.1f}" for name, t in used.items())
    busy = sum(used.values()) / seconds
    print(f"    CPU ms per run: {per_run}; these processes kept {busy:.2f} CPUs busy")
    return {"runs_per_s": rate, "cpu": used, "seconds": seconds}


# -- (2) streams ---------------------------------------------------------------------------------


async def read_sse(lines: Any, started: float) -> tuple[float | None, list[tuple[str, str]]]:
    """(seconds to the first event, [(event, data), ...]) of an SSE body."""
    first: float | None = None
    events: list[tuple[str, str]] = []
    event = ""
    async for line in lines:
        if line.startswith("event: "):
            event = line[7:]
            if first is None:
                first = time.perf_counter() - started
        elif line.startswith("data: "):
            events.append((event, line[6:]))
    return first, events


CHUNKS = re.split(r"(\s)", TOKENS)  # the chunks ``tokens`` streams, in order


def stream_fault(events: list[tuple[str, str]]) -> str | None:
    """None when the stream is whole (metadata first, then every chunk of ``TOKENS`` once,
    in order); else what is wrong with it."""
    if not events or events[0][0] != "metadata":
        return f"{len(events)} events, first {events[0][0] if events else None!r}"
    chunks = [json.loads(data)[0]["content"] for name, data in events if name == "messages"]
    if chunks == CHUNKS:
        return None
    at = next((i for i, (a, b) in enumerate(zip(chunks, CHUNKS, strict=False)) if a != b), None)
    if at is None:
        at = min(len(chunks), len(CHUNKS))
    return (
        f"{len(chunks)} chunks of {len(CHUNKS)}; from chunk {at}: got {chunks[at : at + 4]}, "
        f"expected {CHUNKS[at : at + 4]}"
    )


async def stream_clients(url: str, n: int, concurrency: int) -> dict[str, float]:
    firsts: list[float] = []
    counts: list[int] = []
    delivered = 0
    faults: list[str] = []
    async with new_client(url, concurrency) as http:
        body = {"assistant_id": "tokens", "input": INPUT, "stream_mode": "messages-tuple"}

        async def one(i: int) -> float:
            nonlocal delivered
            started = time.perf_counter()
            async with http.stream("POST", "/runs/stream", json=body) as response:
                first, events = await read_sse(response.aiter_lines(), started)
            firsts.append(first or 0.0)
            counts.append(len(events))
            delivered += len(events)
            fault = stream_fault(events)
            if fault is not None:
                faults.append(f"stream {i}: {fault}")
            return 0.0

        await run_bounded(concurrency, concurrency, one)  # warm up
        firsts.clear()
        counts.clear()
        seconds, _ = await run_bounded(n, concurrency, one)
    for fault in faults[:3]:
        print(f"    broken {fault}")
    check(not faults, f"streams at {url} c={concurrency}: {len(faults)} streams broken")
    ordered = sorted(firsts)
    return {
        "p50_ms": statistics.median(ordered) * 1000,
        "p95_ms": ordered[max(int(len(ordered) * 0.95) - 1, 0)] * 1000,
        "events_per_s": sum(counts) / seconds,
        "events_per_run": statistics.mean(counts),
        "delivered": delivered,  # warm-up included
    }


async def stream_setup(
    name: str, uri: str, redis: str | None, workers: bool, n: int
) -> dict[int, dict[str, float]]:
    results: dict[int, dict[str, float]] = {}
    with cluster(uri, redis) as procs:
        url = procs.api("api").url if workers else procs.serve("serve").url
        if workers:
            procs.worker("worker")
        cpu = meter(procs, redis)
        for concurrency in (1, 16):
            count = n if concurrency > 1 else n // 2
            results[concurrency] = await stream_clients(url, count, concurrency)
        used = cpu.read()
    for concurrency, r in results.items():
        print(
            f"  {name:<26} c={concurrency:<2}  first event p50 {r['p50_ms']:6.1f} ms  "
            f"p95 {r['p95_ms']:6.1f} ms  {r['events_per_s']:7.0f} events/s  "
            f"({r['events_per_run']:.0f} events/run)"
        )
    delivered = sum(r["delivered"] for r in results.values())
    server = sum(t for name, t in used.items() if name in ("serve", "api", "worker"))
    print(
        f"    CPU: {cpu_line(used)}; graphport {1e6 * server / delivered:.0f} us per event "
        f"delivered ({delivered:.0f} events)"
    )
    return results


def stream_ratios(results: dict[str, dict[int, dict[str, float]]]) -> None:
    base = results["a"]
    for key in ("b", "c"):
        for concurrency in (1, 16):
            r, a = results[key][concurrency], base[concurrency]
            print(
                f"  ({key})/(a) c={concurrency:<2}  first event p50 "
                f"{r['p50_ms'] / a['p50_ms']:.2f}x  events/s "
                f"{r['events_per_s'] / a['events_per_s']:.2f}x"
            )


# -- (3) fan-out --------------------------------------------------------------------------------


async def join(url: str, thread: str, run: str) -> tuple[list[str], list[str], float]:
    """(event ids, event names, end time) of one SDK joiner that replays from the start."""
    client = get_client(url=url)
    ids: list[str] = []
    names: list[str] = []
    async for part in client.runs.join_stream(thread, run, last_event_id="-1"):
        ids.append(part.id or "")
        names.append(part.event)
    return ids, names, time.time()


async def fan_out(uri: str, redis: str, joiners: int) -> None:
    with cluster(uri, redis) as procs:
        apis = [procs.api("api1"), procs.api("api2")]
        procs.worker("worker")
        client = get_client(url=apis[0].url)
        thread = (await client.threads.create())["thread_id"]
        cpu = meter(procs, redis)
        run = await client.runs.create(
            thread,
            "tokens",
            input=INPUT,
            stream_mode="messages-tuple",
            stream_resumable=True,
            after_seconds=1,  # every joiner is attached before the first event
        )
        results = await asyncio.gather(
            *(join(apis[i % 2].url, thread, run["run_id"]) for i in range(joiners))
        )
        used = cpu.read()
        done = await client.runs.get(thread, run["run_id"])
    await fan_out_report(uri, run["run_id"], results, done["status"], used)


async def fan_out_report(
    uri: str, run_id: str, results: list[Any], status: str, used: dict[str, float]
) -> None:
    async with await psycopg.AsyncConnection.connect(uri) as conn:
        row = await (
            await conn.execute(
                "SELECT extract(epoch FROM started_at), extract(epoch FROM ended_at) "
                "FROM run WHERE run_id = %s",
                (run_id,),
            )
        ).fetchone()
    assert row is not None
    started, ended = float(row[0]), float(row[1])
    reference_ids, reference_names, _ = results[0]
    identical = all(ids == reference_ids and names == reference_names for ids, names, _ in results)
    in_order = reference_ids == sorted(reference_ids, key=lambda i: tuple(map(int, i.split("-"))))
    first, last = reference_names[0], reference_names[-1]
    end = max(r[2] for r in results)
    print(
        f"  {len(results)} joiners on 2 API processes x {len(reference_ids)} events: "
        f"identical {identical}, ordered {in_order}, first {first!r}, last {last!r}, run {status}"
    )
    print(
        f"    run start -> last joiner's end {1000 * (end - started):.0f} ms "
        f"(the run itself: {1000 * (ended - started):.0f} ms)"
    )
    print(f"    CPU: {cpu_line(used)}")
    check(identical and in_order, "fan-out: joiners saw different or unordered events")
    check(len(set(reference_ids)) == len(reference_ids), "fan-out: repeated event ids")
    check(first == "metadata" and last == "messages", f"fan-out: first {first}, last {last}")
    check(status == "success", f"fan-out: run {status}")


# -- main ---------------------------------------------------------------------------------------


async def streams(admin_uri: str, redis: str, n: int) -> dict[str, dict[int, dict[str, float]]]:
    uri = fresh_database(admin_uri)
    try:
        return {
            "a": await stream_setup("(a) serve, in-process", uri, None, False, n),
            "b": await stream_setup("(b) serve, Redis", uri, redis, False, n),
            "c": await stream_setup("(c) api + worker, Redis", uri, redis, True, n),
        }
    finally:
        drop(admin_uri, uri)


def summary_table(spread_1: dict[str, Any], spread_2: dict[str, Any], s: Any) -> None:
    print("summary")
    ratio = spread_2["runs_per_s"] / spread_1["runs_per_s"]
    print(
        f"  work spread      1 worker {spread_1['runs_per_s']:6.1f} runs/s   2 workers "
        f"{spread_2['runs_per_s']:6.1f} runs/s   ratio {ratio:.2f}x"
    )
    for concurrency in (1, 16):
        a, b, c = (s[key][concurrency] for key in "abc")
        print(
            f"  streams c={concurrency:<2}    first event p50 (a) {a['p50_ms']:.1f} ms  "
            f"(b) {b['p50_ms']:.1f} ms {b['p50_ms'] / a['p50_ms']:.2f}x  "
            f"(c) {c['p50_ms']:.1f} ms {c['p50_ms'] / a['p50_ms']:.2f}x"
        )
        print(
            f"                   events/s (a) {a['events_per_s']:.0f}  (b) {b['events_per_s']:.0f} "
            f"{b['events_per_s'] / a['events_per_s']:.2f}x  (c) {c['events_per_s']:.0f} "
            f"{c['events_per_s'] / a['events_per_s']:.2f}x"
        )
    first = max(s[k][1]["p50_ms"] / s["a"][1]["p50_ms"] for k in "bc")
    rate = min(s[k][16]["events_per_s"] / s["a"][16]["events_per_s"] for k in "bc")
    print(
        f"  targets: first event p50 through Redis {first:.2f}x (<= 1.5x: "
        f"{'met' if first <= 1.5 else 'missed'}), events/s at 16 clients {rate:.2f}x "
        f"(>= 0.7x: {'met' if rate >= 0.7 else 'missed'})"
    )


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=400, help="background runs per spread")
    parser.add_argument(
        "--streams", type=int, default=96, help="streams at 16 clients (half as many at 1)"
    )
    parser.add_argument("--joiners", type=int, default=50)
    args = parser.parse_args()
    admin_uri, embedded = database_uri()
    print(f"machine: {machine()}")
    began = time.perf_counter()
    try:
        with redis_uri() as redis:
            print("(1) work spread: burn runs (~20 ms CPU each), 16 submitters, 100 threads")
            one = await spread(admin_uri, redis, 1, args.runs)
            two = await spread(admin_uri, redis, 2, args.runs)
            print("(2) streams: tokens runs, POST /runs/stream, messages-tuple")
            results = await streams(admin_uri, redis, args.streams)
            stream_ratios(results)
            print(f"(3) fan-out: {args.joiners} joiners, 2 API processes, 1 worker")
            uri = fresh_database(admin_uri)
            try:
                await fan_out(uri, redis, args.joiners)
            finally:
                drop(admin_uri, uri)
            summary_table(one, two, results)
    finally:
        if embedded is not None:
            embedded.stop()
    print(f"{machine()}; {time.perf_counter() - began:.0f} s in all")
    if FAILURES:
        print(f"{len(FAILURES)} correctness checks failed:", *FAILURES, sep="\n  ")
        return 1
    print("every correctness check passed")
    remove_logs()  # the server logs stay (in $TMPDIR or /tmp) only when a check failed
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
